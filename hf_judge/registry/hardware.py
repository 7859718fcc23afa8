"""What the hardware computes natively: the dtype ``--dtype auto`` picks."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch

from ..core.errors import InputError

__all__ = ["DTYPES", "check_device", "cpu_flags", "native_bf16", "resolve_dtype"]

DTYPES = ("auto", "float32", "bfloat16", "float16")


def check_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device``, or an InputError naming it when torch does not know the name or this
    torch build or machine has no such device (torch's own word for a CPU-only build is an AssertionError)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"device={device!r} is not a torch device (cpu, cuda, cuda:1, ...): {e}") from None
    backend = getattr(torch, dev.type, None)  # torch.cuda, torch.xpu, torch.mps: each counts its devices
    if dev.type != "cpu" and hasattr(backend, "device_count"):
        n = backend.device_count() if backend.is_available() else 0
        if n == 0:
            raise InputError(f"device={device!r}: this torch ({torch.__version__}) sees no {dev.type} device")
        if dev.index is not None and dev.index >= n:
            raise InputError(f"device={device!r}: this machine has {n} {dev.type} device(s), 0..{n - 1}")
    return dev


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def native_bf16(device: str | torch.device = "cpu", flags: frozenset[str] | None = None) -> bool:
    """Whether ``device`` multiplies bfloat16 matrices natively (CUDA with bf16, CPUs with AVX512-BF16 or AMX).

    Without it bfloat16 is emulated: fine for one token at a time, slow for multi-token verification.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        flags = cpu_flags() if flags is None else flags
        return bool({"avx512_bf16", "amx_bf16"} & flags)
    return False


def resolve_dtype(name: str, device: str | torch.device = "cpu") -> torch.dtype:
    """``torch.float32`` / ``bfloat16`` / ``float16`` by name; ``"auto"``: bfloat16 where native, else float32."""
    if name not in DTYPES:
        raise InputError(f"dtype={name!r} is not one of {DTYPES}")
    if name == "auto":
        return torch.bfloat16 if native_bf16(device) else torch.float32
    return getattr(torch, name)
