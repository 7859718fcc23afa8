"""Packaged models (offline aliases, verified downloads, conversion) and the judge heads that ship with hf_judge."""
