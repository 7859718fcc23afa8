"""The core: the accept rule, the decoding loop inside generate(), the judge head model, transformers compatibility.

Nothing here imports the rest of hf_judge.
"""
