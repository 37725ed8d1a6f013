"""Loaders for the NLI/correctness experiment: e-SNLI pairs, SemEval-2013 Task 7 (2-way) and InterviewMate rows.

Outside data is read from local copies (never committed); `source_commit` records which commit each came from.
Not a library module: nothing under `interviewmate/` imports it.
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

NLI_LABELS = ("entailment", "neutral", "contradiction")  # head index 0 is read as P(correct)
SEMEVAL_SUBDIR = "src/main/resources/corpus/semeval2013-task7"
SEMEVAL_TRAIN = {"sciEntsBank": "training/2way/sciEntsBank", "beetle": "training/2way/beetle"}
SEMEVAL_TEST = {  # the sets whose questions (or domains) were never seen in training
    "sciEntsBank_unseen_questions": "test/2way/sciEntsBank/test-unseen-questions",
    "sciEntsBank_unseen_domains": "test/2way/sciEntsBank/test-unseen-domains",
    "beetle_unseen_questions": "test/2way/beetle/test-unseen-questions",
}
REPO = Path(__file__).resolve().parents[2]


def source_commit(path: Path | str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _detok(s: str) -> str:
    """e-SNLI's preprocessed text has spaces before punctuation and clitics ("packages ." / "do n't")."""
    s = re.sub(r" ([.,!?;:%)])", r"\1", s.strip())
    return re.sub(r" (n't|'s|'re|'ll|'ve|'d|'m)\b", r"\1", s)


def load_esnli(folder: Path | str, splits: tuple[str, ...] = ("dev", "test")) -> list[dict]:
    """Premise/hypothesis/label rows from the e-SNLI `dataset/eSNLI/{s1,s2,labels}.{split}` files."""
    folder, rows = Path(folder), []
    for split in splits:
        s1 = (folder / f"esnli_s1.{split}").read_text().splitlines()
        s2 = (folder / f"esnli_s2.{split}").read_text().splitlines()
        lab = (folder / f"esnli_labels.{split}").read_text().splitlines()
        assert len(s1) == len(s2) == len(lab), split
        for p, h, y in zip(s1, s2, lab, strict=True):
            if y.strip() in NLI_LABELS:
                rows.append({"premise": _detok(p), "hypothesis": _detok(h), "label": NLI_LABELS.index(y.strip())})
    return rows


def load_semeval(root: Path | str, sets: dict[str, str]) -> dict[str, list[dict]]:
    """Rows per set: question, every reference answer (the first is the one the project's outside check uses),
    the reference the student answer was matched to (Beetle only, else None), the answer and label 1 = correct."""
    root = Path(root)
    base = root / SEMEVAL_SUBDIR if (root / SEMEVAL_SUBDIR).is_dir() else root
    out = {}
    for name, sub in sets.items():
        rows = []
        for f in sorted((base / sub).glob("*.xml")):
            q = ET.parse(f).getroot()
            refs = {r.get("id"): (r.text or "").strip() for r in q.find("referenceAnswers")}
            for s in q.find("studentAnswers"):
                rows.append(
                    {
                        "question_id": q.get("id"),
                        "question": q.find("questionText").text.strip(),
                        "references": list(refs.values()),
                        "matched_reference": refs.get(s.get("answerMatch") or ""),
                        "answer": (s.text or "").strip(),
                        "label": int(s.get("accuracy") == "correct"),
                    }
                )
        out[name] = rows
    return out


def semeval_train_pairs(root: Path | str) -> list[dict]:
    """Training pairs: the matched reference (Beetle) or the first reference as premise, the answer as hypothesis."""
    pairs = []
    for rows in load_semeval(root, SEMEVAL_TRAIN).values():
        for r in rows:
            premise = r["matched_reference"] or r["references"][0]
            pairs.append({"premise": premise, "hypothesis": r["answer"], "label": r["label"]})
    return pairs


def interviewmate_rows(file: str, split: str) -> list[dict]:
    """Rows of `data/<file>` whose question is in the given split of `data/splits.json`."""
    ids = set(json.loads((REPO / "data/splits.json").read_text())[split])
    lines = (REPO / "data" / file).read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["question_id"] in ids]
