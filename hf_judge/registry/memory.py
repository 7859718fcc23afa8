"""Giving weight memory back to the OS once a layer has been converted (Linux).

transformers memory-maps a safetensors checkpoint and the model's tensors are views of that map. When a
layer is converted (oneDNN layout, int8), the copy is new memory, but the pages of the original stay in
the process's resident set for as long as the file stays mapped (the embeddings and norms keep it
mapped): a float32 target converted to oneDNN used to peak at twice its weights. Advising the kernel
that those pages are not needed (``MADV_DONTNEED``) drops them at once. The map is private: a page
never written is a clean copy of the file and a later read would fault it in again; a written page
would be lost. So only tensors that nothing reads any more are dropped, and never one whose memory
another tensor of the model (a tied embedding, say) still uses.
"""

from __future__ import annotations

import ctypes
import mmap
import sys

import torch

__all__ = ["drop_file_pages", "file_backed"]

_MADV_DONTNEED = 4


def _mapped_checkpoints() -> list[tuple[int, int]]:
    """(start, end) of this process's mappings of safetensors files."""
    spans = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6 and parts[5].strip().endswith(".safetensors") and "s" not in parts[1]:
                start, end = (int(x, 16) for x in parts[0].split("-"))
                spans.append((start, end))
    return spans


def file_backed(t: torch.Tensor, spans: list[tuple[int, int]] | None = None) -> bool:
    """Whether ``t``'s memory lies in a private mapping of a safetensors file."""
    if not sys.platform.startswith("linux") or t.device.type != "cpu" or t.is_mkldnn or t.is_quantized:
        return False
    spans = _mapped_checkpoints() if spans is None else spans
    ptr, n = t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()
    return any(s <= ptr and ptr + n <= e for s, e in spans)


def drop_file_pages(tensors, keep=()) -> int:
    """Drop the resident pages of file-backed ``tensors`` that nothing reads any more; returns bytes advised.

    Only whole pages inside a private safetensors mapping are touched, and none of a tensor whose
    storage one of ``keep`` shares: the model's parameters after the replacement, which are what is
    still read (a tied embedding, a layer not converted yet). Ordinary memory is left alone.
    """
    if not sys.platform.startswith("linux"):
        return 0
    spans = _mapped_checkpoints()
    kept = {k.untyped_storage().data_ptr() for k in keep if k is not None and not (k.is_mkldnn or k.is_quantized)}
    libc = ctypes.CDLL(None, use_errno=True)
    page, dropped = mmap.PAGESIZE, 0
    for t in tensors:
        if t is None or not file_backed(t, spans) or t.untyped_storage().data_ptr() in kept:
            continue
        ptr, n = t.untyped_storage().data_ptr(), t.untyped_storage().nbytes()
        start, end = -(-ptr // page) * page, (ptr + n) // page * page
        if end > start and libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_DONTNEED) == 0:
            dropped += end - start
    return dropped
