"""The reference bank: unit vectors of the train questions and their ideal answers, shipped in the scorer file.

An answer written for another question fits that question (or its ideal answer) better than this one: the
contrast features measure by how much. Entries that are this very question (cosine > `SAME`) are skipped.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from interviewmate.scoring.embed import reference


@dataclass(frozen=True)
class ReferenceBank:
    question_ids: tuple[str, ...]
    question: np.ndarray  # n x d
    ideal: np.ndarray  # n x d

    SAME = 0.995

    def best_other(self, whole: np.ndarray, q_vec: np.ndarray | None, ideal: np.ndarray | None) -> tuple[float, float]:
        """(max cosine of `whole` to another question's ideal answer, ... to another question)."""
        other = np.ones(len(self.question_ids), bool)
        if q_vec is not None:
            other &= self.question @ q_vec < self.SAME
        if ideal is not None:
            other &= self.ideal @ ideal < self.SAME
        if not other.any():
            return 0.0, 0.0
        return float((self.ideal[other] @ whole).max()), float((self.question[other] @ whole).max())

    def without(self, question_id: str) -> ReferenceBank:
        keep = np.array([q != question_id for q in self.question_ids], bool)
        return ReferenceBank(
            tuple(q for q in self.question_ids if q != question_id), self.question[keep], self.ideal[keep]
        )

    @classmethod
    def build(cls, questions) -> ReferenceBank:
        """One entry per `Question` (stored as float16, so fitting sees what the file gives back)."""
        refs = [reference(q.text, q.ideal_answer, tuple(q.key_points)) for q in questions]
        qv = np.array([r.question for r in refs], np.float16)
        iv = np.array([r.ideal.whole for r in refs], np.float16)
        return cls(tuple(q.question_id for q in questions), qv.astype(np.float32), iv.astype(np.float32))

    def to_params(self) -> dict:
        enc = lambda a: base64.b64encode(np.asarray(a, "<f2").tobytes()).decode("ascii")  # noqa: E731
        return {
            "question_ids": list(self.question_ids),
            "dim": int(self.question.shape[1]),
            "dtype": "float16 little-endian, base64",
            "question": enc(self.question),
            "ideal": enc(self.ideal),
        }

    @classmethod
    def from_params(cls, p: dict) -> ReferenceBank:
        n, d = len(p["question_ids"]), int(p["dim"])
        dec = lambda t: np.frombuffer(base64.b64decode(t), "<f2").astype(np.float32).reshape(n, d)  # noqa: E731
        return cls(tuple(p["question_ids"]), dec(p["question"]), dec(p["ideal"]))
