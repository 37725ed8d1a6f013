"""Shared fixtures: tiny local models (no network), the fixture dataset and its splits."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# `import app` builds the module-level demo: its history database (and the browser-state secret beside it) must
# not land in the working tree
os.environ.setdefault("INTERVIEWMATE_DB", os.path.join(tempfile.mkdtemp(prefix="interviewmate-tests-"), "history.db"))

FIXTURE_ROWS = ROOT / "tests" / "fixtures" / "rows.jsonl"


def free_port() -> int:
    """A free TCP port on loopback for a test server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running test (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "gpu: needs a CUDA device; skipped without one")


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_flush_denormal_leak():
    """The fast CPU path and sft.py call torch.set_flush_denormal(True) process-wide; no test may inherit it."""
    import torch

    torch.set_flush_denormal(False)
    yield
    torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def fixture_rows() -> list[dict]:
    from interviewmate.dataset import load_rows

    return load_rows(FIXTURE_ROWS)


@pytest.fixture(scope="session")
def fixture_data(tmp_path_factory, fixture_rows) -> dict[str, Path]:
    """The fixture dataset and a splits file that puts every fixture question in train."""
    from interviewmate.dataset import make_splits

    out = tmp_path_factory.mktemp("data")
    splits = make_splits(fixture_rows)
    assert sorted(splits["train"]) == sorted({r["question_id"] for r in fixture_rows})
    (out / "splits.json").write_text(json.dumps(splits))
    return {"dataset": FIXTURE_ROWS, "splits": out / "splits.json"}


@pytest.fixture(scope="session")
def tiny_texts(fixture_rows) -> list[str]:
    return [r["question"] + " " + r["answer"] + " " + r["feedback"] + " " + r["ideal_answer"] for r in fixture_rows]


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, tiny_texts) -> Path:
    """A Falcon3-shaped (Llama) model with hidden size 64 and 2 layers, and a locally trained BPE tokenizer."""
    from interviewmate.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), arch="llama", texts=tiny_texts)


@pytest.fixture(scope="session")
def tiny_falcon(tmp_path_factory, tiny_texts) -> Path:
    """A classic-Falcon (falcon-rw-1b layout: ALiBi, FalconLinear) model with 2 layers."""
    from interviewmate.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-falcon"), arch="falcon", texts=tiny_texts)
