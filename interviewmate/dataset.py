"""The interview dataset: schema, line-numbered loading, validation, question-level splits, SFT rows.

One JSON object per line of `data/interview_qa.jsonl`, one graded answer per row (see DESIGN.md).
This module knows nothing about models; `python -m interviewmate.dataset --help` lists its commands.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from interviewmate.prompts import coach_messages, format_feedback
from interviewmate.rubric import (
    CATEGORIES,
    CONTRAST_ID_CODES,
    CONTRAST_KINDS,
    CONTRAST_MINIMUMS,
    CRITERIA,
    DIFFICULTIES,
    ROLES,
    SCORE_RANGES,
    quality_tier,
    score_range,
)

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DATASET_PATH = DATA_DIR / "interview_qa.jsonl"
SPLITS_PATH = DATA_DIR / "splits.json"
SPLIT_FILES_DIR = DATA_DIR / "splits"
CARD_PATH = DATA_DIR / "README.md"
CONTRAST_PATH = DATA_DIR / "contrast_qa.jsonl"

SPLIT_NAMES = ("train", "validation", "test")

# field -> (type, required non-empty); question-level fields are repeated on every row of a question
FIELDS: dict[str, type] = {
    "id": str, "question_id": str, "category": str, "role": str, "difficulty": str, "question": str,
    "ideal_answer": str, "key_points": list, "answer": str, "score": int, "criteria": dict,
    "feedback": str, "follow_up": str,
}  # fmt: skip
QUESTION_FIELDS = ("category", "role", "difficulty", "question", "ideal_answer", "key_points")

MAX_SCORE_CRITERIA_GAP = 2.0  # |score - 2 x mean(criteria)|; factual errors pull the overall score down
MIN_BAND_SHARE = 0.08  # every score band holds at least this share of rows (whole-set check)
MAX_LENGTH_RHO = 0.4  # |Spearman(answer length, score)| must stay below this
NEAR_DUP_QUESTION = 0.7  # Jaccard on word bigrams
NEAR_DUP_TEXT = 0.6  # Jaccard on word trigrams (answers, feedback)


@dataclass(frozen=True)
class Issue:
    """One problem found in the dataset, located by file line (1-based) and field."""

    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "dataset"
        return f"{where}: {self.field + ': ' if self.field else ''}{self.message}"


class DatasetError(ValueError):
    """Raised when a dataset file has problems; `.issues` lists them all, not just the first."""

    def __init__(self, path: Path | str, issues: list[Issue]):
        self.path, self.issues = Path(path), issues
        shown = "\n".join(f"  {self.path}:{i}" if i.line is None else f"  {self.path}, {i}" for i in issues[:50])
        more = f"\n  ... and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(f"{len(issues)} problem(s) in {self.path}:\n{shown}{more}")


def _contrast_fields(row: dict) -> dict[str, type]:
    fields = {**FIELDS, "kind": str}
    if row.get("kind") == "follow_up_answer":
        fields["source_id"] = str
    return fields


def check_row(row: object, contrast: bool = False) -> list[tuple[str | None, str]]:
    """Schema, type and range checks for one row. Returns (field, message) pairs; empty when valid.

    `contrast` checks a row of the contrast set instead: the same schema plus `kind` (and `source_id` for
    follow-up answers), an id like 'tec-012-cs1', and the word and score range of its kind.
    """
    if not isinstance(row, dict):
        return [(None, f"expected a JSON object, got {type(row).__name__}")]
    problems: list[tuple[str | None, str]] = []
    fields = _contrast_fields(row) if contrast else FIELDS
    for name in sorted(set(fields) - row.keys()):
        problems.append((name, "missing"))
    for name in sorted(row.keys() - set(fields)):
        problems.append((name, "unknown field"))
    for name, kind in fields.items():
        if name not in row:
            continue
        value = row[name]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append((name, f"must be an integer, got {value!r}"))
        elif kind is not int and not isinstance(value, kind):
            problems.append((name, f"must be {kind.__name__}, got {type(value).__name__}"))
        elif kind is str and not value.strip():
            problems.append((name, "is empty"))
    if problems:
        return problems
    if not re.fullmatch(r"[a-z]+-\d{3}", row["question_id"]):
        problems.append(("question_id", f"{row['question_id']!r} does not look like 'beh-017'"))
    if contrast:
        problems += _check_contrast_kind(row)
    elif not re.fullmatch(re.escape(row["question_id"]) + r"-[a-z]", row["id"]):
        problems.append(("id", f"{row['id']!r} must be the question_id plus '-a', '-b', ..."))
    for name, allowed in (("category", CATEGORIES), ("role", ROLES), ("difficulty", DIFFICULTIES)):
        if row[name] not in allowed:
            problems.append((name, f"{row[name]!r} is not one of {', '.join(allowed)}"))
    if not 1 <= row["score"] <= 10:
        problems.append(("score", f"{row['score']} is outside 1-10"))
    crit = row["criteria"]
    if set(crit) != set(CRITERIA):
        problems.append(("criteria", f"keys must be exactly {', '.join(CRITERIA)}; got {', '.join(sorted(crit))}"))
    for name in CRITERIA:
        value = crit.get(name)
        if name in crit and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5):
            problems.append((f"criteria.{name}", f"must be an integer 1-5, got {value!r}"))
    if not problems and abs(row["score"] - sum(crit.values()) / 2) > MAX_SCORE_CRITERIA_GAP:
        problems.append(("score", f"{row['score']} disagrees with the criteria (twice their mean is "
                         f"{sum(crit.values()) / 2:.1f}; allowed gap {MAX_SCORE_CRITERIA_GAP})"))  # fmt: skip
    kp = row["key_points"]
    if not 3 <= len(kp) <= 6 or not all(isinstance(k, str) and k.strip() for k in kp):
        problems.append(("key_points", "must be a list of 3-6 non-empty strings"))
    if not row["follow_up"].rstrip().endswith("?"):
        problems.append(("follow_up", "must be a question ending in '?'"))
    return problems


def _check_contrast_kind(row: dict) -> list[tuple[str | None, str]]:
    kind = row["kind"]
    if kind not in CONTRAST_KINDS:
        return [("kind", f"{kind!r} is not one of {', '.join(CONTRAST_KINDS)}")]
    problems: list[tuple[str | None, str]] = []
    code = CONTRAST_ID_CODES[kind]
    if not re.fullmatch(re.escape(row["question_id"]) + "-" + code + r"\d{1,2}", row["id"]):
        problems.append(("id", f"{row['id']!r} must be the question_id plus '-{code}1', '-{code}2', ... for {kind}"))
    lo_words, hi_words, lo_score, hi_score = CONTRAST_KINDS[kind]
    n = len(row["answer"].split())
    if not lo_words <= n <= hi_words:
        problems.append(("answer", f"{n} words; {kind} answers have {lo_words}-{hi_words}"))
    if not lo_score <= row["score"] <= hi_score:
        problems.append(("score", f"{row['score']} is outside {lo_score}-{hi_score}, the range of {kind} answers"))
    return problems


def read_jsonl(path: Path | str, contrast: bool = False) -> tuple[list[dict], list[int], list[Issue]]:
    """Read rows and their 1-based line numbers; JSON and schema problems are collected, not raised."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset file not found: {path}")
    rows, lines, issues = [], [], []
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                issues.append(Issue(lineno, None, f"not valid UTF-8 (byte {e.start + 1})"))
                continue
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                issues.append(Issue(lineno, None, f"invalid JSON ({e.msg} at column {e.colno})"))
                continue
            row_problems = check_row(row, contrast=contrast)
            issues += [Issue(lineno, fld, msg) for fld, msg in row_problems]
            if not row_problems:
                rows.append(row)
                lines.append(lineno)
    return rows, lines, issues


def load_rows(path: Path | str = DATASET_PATH) -> list[dict]:
    """Load and schema-check every row; raise `DatasetError` naming each bad line and field."""
    rows, _, issues = read_jsonl(path)
    if issues:
        raise DatasetError(path, issues)
    return rows


def _shingles(text: str, n: int) -> set[str]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def near_duplicates(texts: list[str], n: int, threshold: float) -> list[tuple[int, int, float]]:
    """Index pairs whose word n-gram Jaccard similarity is >= threshold (MinHash LSH, then exact check)."""
    from datasketch import MinHash, MinHashLSH

    sets = [_shingles(t, n) for t in texts]
    lsh = MinHashLSH(threshold=threshold * 0.8, num_perm=64)
    pairs = []
    for i, s in enumerate(sets):
        mh = MinHash(num_perm=64, seed=1)
        mh.update_batch([x.encode() for x in s])
        for j in lsh.query(mh):
            jac = len(s & sets[j]) / max(1, len(s | sets[j]))
            if jac >= threshold:
                pairs.append((j, i, jac))
        lsh.insert(i, mh)
    return sorted(pairs)


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman's rank correlation; nan when it is undefined (fewer than 3 pairs, or a side is constant)."""
    from scipy.stats import spearmanr

    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return float("nan")
    return float(spearmanr(xs, ys).statistic)


def validate_rows(rows: list[dict], lines: list[int] | None = None, whole_set: bool = True) -> list[Issue]:
    """Cross-row checks: unique ids, consistent question fields, score bands, duplicates, balance.

    `whole_set` adds the distribution checks (band shares, length/score correlation) that only make
    sense on the full dataset, not on a handful of fixture rows.
    """
    lines = lines or list(range(1, len(rows) + 1))
    issues: list[Issue] = []
    seen_ids: dict[str, int] = {}
    by_question: dict[str, list[int]] = defaultdict(list)
    for k, row in enumerate(rows):
        if row["id"] in seen_ids:
            issues.append(Issue(lines[k], "id", f"duplicate id {row['id']!r} (first on line {seen_ids[row['id']]})"))
        seen_ids.setdefault(row["id"], lines[k])
        by_question[row["question_id"]].append(k)
    for qid, idx in by_question.items():
        first = rows[idx[0]]
        for k in idx[1:]:
            for name in QUESTION_FIELDS:
                if rows[k][name] != first[name]:
                    issues.append(
                        Issue(lines[k], name, f"differs from line {lines[idx[0]]} of the same question {qid}")
                    )
        bands = Counter(quality_tier(rows[k]["score"]) for k in idx)
        if len(idx) == 3 and set(bands) != {"strong", "middling", "weak"}:
            issues.append(Issue(lines[idx[0]], "score", f"question {qid} needs one strong (8-10), one middling (5-7) "
                                f"and one weak (1-4) answer; got {dict(bands)}"))  # fmt: skip
        elif len(idx) == 2 and set(bands) != {"strong", "weak"}:
            issues.append(Issue(lines[idx[0]], "score", f"question {qid} has two answers: they must be one strong "
                                f"and one weak; got {dict(bands)}"))  # fmt: skip
        elif len(idx) not in (2, 3):
            issues.append(Issue(lines[idx[0]], "question_id", f"question {qid} has {len(idx)} answers (want 3, or 2)"))
    # exact and near duplicates: questions across question ids, answers and feedback across rows
    firsts = [idx[0] for idx in by_question.values()]
    for i, j, jac in near_duplicates([rows[k]["question"] for k in firsts], 2, NEAR_DUP_QUESTION):
        a, b = firsts[i], firsts[j]
        issues.append(Issue(lines[b], "question", f"near-duplicate of question {rows[a]['question_id']} on line "
                            f"{lines[a]} (Jaccard {jac:.2f})"))  # fmt: skip
    for name in ("answer", "feedback"):
        for i, j, jac in near_duplicates([r[name] for r in rows], 3, NEAR_DUP_TEXT):
            issues.append(Issue(lines[j], name, f"{'identical to' if jac == 1 else 'near-duplicate of'} the {name} "
                                f"on line {lines[i]} (Jaccard {jac:.2f})"))  # fmt: skip
    if whole_set and rows:
        hist = Counter(score_range(r["score"]) for r in rows)
        for b in SCORE_RANGES:
            if hist[b] / len(rows) < MIN_BAND_SHARE:
                issues.append(Issue(None, "score", f"score band {b} holds {hist[b] / len(rows):.1%} of rows "
                                    f"(at least {MIN_BAND_SHARE:.0%} required)"))  # fmt: skip
        rho = spearman([len(r["answer"].split()) for r in rows], [r["score"] for r in rows])
        if abs(rho) >= MAX_LENGTH_RHO:
            issues.append(Issue(None, "answer", f"|Spearman(answer length, score)| = {abs(rho):.3f} >= "
                                f"{MAX_LENGTH_RHO}: length gives the score away"))  # fmt: skip
    return issues


def validate_file(path: Path | str = DATASET_PATH, whole_set: bool = True) -> list[dict]:
    """Load, schema-check and cross-check a dataset file; raise `DatasetError` listing every problem."""
    rows, lines, issues = read_jsonl(path)
    issues += validate_rows(rows, lines, whole_set=whole_set)
    if issues:
        raise DatasetError(path, sorted(issues, key=lambda i: (i.line or 0, i.field or "")))
    return rows


def validate_contrast_rows(
    rows: list[dict], lines: list[int], main_rows: list[dict], splits: dict | None, whole_set: bool = True
) -> list[Issue]:
    """Cross-row checks of the contrast set against the main set: ids, question fields, the follow-up a
    follow-up answer answers, split membership, duplicates (within the set and against the main set), counts."""
    issues: list[Issue] = []
    questions = {r["question_id"]: r for r in main_rows}
    main_by_id = {r["id"]: r for r in main_rows}
    owner = {q: name for name in SPLIT_NAMES for q in (splits or {}).get(name, [])}
    seen: dict[str, int] = {}
    for row, line in zip(rows, lines, strict=True):
        if row["id"] in seen:
            issues.append(Issue(line, "id", f"duplicate id {row['id']!r} (first on line {seen[row['id']]})"))
        seen.setdefault(row["id"], line)
        q = questions.get(row["question_id"])
        if q is None:
            issues.append(Issue(line, "question_id", f"{row['question_id']!r} is not a question of the main set"))
            continue
        if splits is not None and row["question_id"] not in owner:
            issues.append(Issue(line, "question_id", f"{row['question_id']!r} is in no split of splits.json"))
        own = ("category", "role", "difficulty")
        for name in own if row["kind"] == "follow_up_answer" else QUESTION_FIELDS:
            if row[name] != q[name]:
                issues.append(Issue(line, name, f"differs from question {row['question_id']} of the main set"))
        if row["kind"] == "follow_up_answer":
            source = main_by_id.get(row["source_id"])
            if source is None or source["question_id"] != row["question_id"]:
                issues.append(Issue(line, "source_id", f"{row['source_id']!r} is not a main-set row of question "
                                    f"{row['question_id']}"))  # fmt: skip
            elif row["question"].strip() != source["follow_up"].strip():
                issues.append(Issue(line, "question", f"must be the follow-up of {row['source_id']} (the question "
                                    "a follow-up answer answers)"))  # fmt: skip
    n_main = len(main_rows)
    for name in ("answer", "feedback"):
        texts = [r[name] for r in main_rows] + [r[name] for r in rows]
        for i, j, jac in near_duplicates(texts, 3, NEAR_DUP_TEXT):
            if j < n_main:  # both in the main set: the main validator's business
                continue
            where = f"main-set row {main_rows[i]['id']}" if i < n_main else f"line {lines[i - n_main]}"
            issues.append(Issue(lines[j - n_main], name, f"{'identical to' if jac == 1 else 'near-duplicate of'} the "
                                f"{name} of {where} (Jaccard {jac:.2f})"))  # fmt: skip
    if whole_set:
        kinds = Counter(r["kind"] for r in rows)
        for kind, minimum in CONTRAST_MINIMUMS.items():
            if kinds[kind] < minimum:
                issues.append(Issue(None, "kind", f"{kinds[kind]} {kind} rows; at least {minimum} required"))
        if splits is not None:
            for kind in CONTRAST_KINDS:
                in_splits = {owner.get(r["question_id"]) for r in rows if r["kind"] == kind}
                for name in SPLIT_NAMES:
                    if name not in in_splits:
                        issues.append(Issue(None, "question_id", f"no {kind} row for a {name} question"))
    return issues


def validate_contrast_file(
    path: Path | str = CONTRAST_PATH,
    main_path: Path | str = DATASET_PATH,
    splits_path: Path | str | None = SPLITS_PATH,
    whole_set: bool = True,
) -> list[dict]:
    """Load and check the contrast set against the main set and its splits; raise `DatasetError` on problems."""
    rows, lines, issues = read_jsonl(path, contrast=True)
    splits = load_splits(splits_path) if splits_path else None
    issues += validate_contrast_rows(rows, lines, load_rows(main_path), splits, whole_set=whole_set)
    if issues:
        raise DatasetError(path, sorted(issues, key=lambda i: (i.line or 0, i.field or "")))
    return rows


def load_contrast(path: Path | str = CONTRAST_PATH) -> list[dict]:
    """The contrast rows (schema-checked; `validate_contrast_file` runs the cross-checks too)."""
    rows, _, issues = read_jsonl(path, contrast=True)
    if issues:
        raise DatasetError(path, issues)
    return rows


def contrast_statistics(rows: list[dict], splits: dict) -> dict:
    """Counts per kind and split, score distribution and answer length per kind (for the card)."""
    owner = {q: name for name in SPLIT_NAMES for q in splits.get(name, [])}
    out = {}
    for kind in CONTRAST_KINDS:
        part = [r for r in rows if r["kind"] == kind]
        if not part:
            continue
        words = [len(r["answer"].split()) for r in part]
        scores = [r["score"] for r in part]
        out[kind] = {
            "rows": len(part),
            "questions": len({r["question_id"] for r in part}),
            "splits": {name: sum(owner.get(r["question_id"]) == name for r in part) for name in SPLIT_NAMES},
            "score_mean": round(statistics.fmean(scores), 2),
            "score_min": min(scores),
            "score_max": max(scores),
            "words_median": statistics.median(words),
            "words_min": min(words),
            "words_max": max(words),
            "categories": dict(sorted(Counter(r["category"] for r in part).items())),
        }
    return out


def contrast_markdown(stats: dict) -> str:
    """The contrast section's generated statistics."""
    out = ["| kind | rows | questions | train / validation / test rows | score mean (min-max) | words median "
           "(min-max) |", "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for kind, d in stats.items():
        sp = " / ".join(str(d["splits"][n]) for n in SPLIT_NAMES)
        out.append(f"| `{kind}` | {d['rows']} | {d['questions']} | {sp} | {d['score_mean']} ({d['score_min']}-"
                   f"{d['score_max']}) | {d['words_median']} ({d['words_min']}-{d['words_max']}) |")  # fmt: skip
    out += ["", "| kind | rows per category |", "| --- | --- |"]
    out += [f"| `{k}` | " + ", ".join(f"{c} {n}" for c, n in d["categories"].items()) + " |" for k, d in stats.items()]
    return "\n".join(out)


def statistics_of(rows: list[dict]) -> dict:
    """Counts and distributions the dataset card reports."""
    words_by_band: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        words_by_band[quality_tier(r["score"])].append(len(r["answer"].split()))
    hist = Counter(score_range(r["score"]) for r in rows)
    return {
        "rows": len(rows),
        "questions": len({r["question_id"] for r in rows}),
        "categories": dict(sorted(Counter(r["category"] for r in rows).items())),
        "roles": dict(sorted(Counter(r["role"] for r in rows).items())),
        "difficulties": {d: sum(r["difficulty"] == d for r in rows) for d in DIFFICULTIES},
        "score_histogram": {b: hist[b] for b in SCORE_RANGES},
        "scores": {s: sum(r["score"] == s for r in rows) for s in range(1, 11)},
        "answer_words_by_band": {
            b: {"mean": round(statistics.fmean(v), 1), "median": statistics.median(v), "min": min(v), "max": max(v)}
            for b in ("weak", "middling", "strong")
            if (v := words_by_band[b])
        },
        "spearman_length_score": round(
            spearman([len(r["answer"].split()) for r in rows], [r["score"] for r in rows]), 3
        ),
    }


def make_splits(rows: list[dict], seed: int = 17, fractions: tuple[float, float] = (0.8, 0.1)) -> dict:
    """Deterministic question-level splits, stratified by category: no question is in two splits.

    Questions are ordered by a salted hash of their id within each category, so adding questions
    to one category never moves questions of another.
    """
    by_cat: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["question_id"] not in by_cat[r["category"]]:
            by_cat[r["category"]].append(r["question_id"])
    splits: dict[str, list[str]] = {name: [] for name in SPLIT_NAMES}
    for cat in sorted(by_cat):
        qids = sorted(by_cat[cat], key=lambda q: hashlib.sha256(f"{seed}:{q}".encode()).hexdigest())
        n_val = max(1, round(len(qids) * fractions[1])) if len(qids) >= 3 else 0
        n_test = max(1, round(len(qids) * (1 - fractions[0] - fractions[1]))) if len(qids) >= 3 else 0
        splits["test"] += qids[:n_test]
        splits["validation"] += qids[n_test : n_test + n_val]
        splits["train"] += qids[n_test + n_val :]
    return {"seed": seed, **{name: sorted(q) for name, q in splits.items()}}


def load_splits(path: Path | str = SPLITS_PATH) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"splits file not found: {path} (run `python -m interviewmate.dataset split`)")
    return json.loads(path.read_text())


def split_rows(rows: list[dict], splits: dict) -> dict[str, list[dict]]:
    """Rows of each split. Raises if a question is in two splits or in none."""
    owner: dict[str, str] = {}
    for name in SPLIT_NAMES:
        for qid in splits[name]:
            if qid in owner:
                raise ValueError(f"question {qid} is in both {owner[qid]!r} and {name!r} splits")
            owner[qid] = name
    missing = sorted({r["question_id"] for r in rows} - owner.keys())
    if missing:
        raise ValueError(f"{len(missing)} question(s) are in no split, e.g. {missing[:3]}; regenerate the splits")
    out: dict[str, list[dict]] = {name: [] for name in SPLIT_NAMES}
    for r in rows:
        out[owner[r["question_id"]]].append(r)
    return out


def to_conversation(row: dict) -> dict:
    """A TRL prompt/completion example: system + user prompt, the graded feedback as the completion."""
    completion = format_feedback(row["score"], row["criteria"], row["feedback"], row["follow_up"], row["ideal_answer"])
    return {
        "prompt": coach_messages(row["question"], row["answer"], row["role"], row["category"]),
        "completion": [{"role": "assistant", "content": completion}],
    }


def file_sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_split_files(rows: list[dict], splits: dict, out_dir: Path = SPLIT_FILES_DIR) -> None:
    """Write one JSONL per split (the files the dataset card's `configs:` points at)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, part in split_rows(rows, splits).items():
        tmp = out_dir / f".{name}.jsonl.tmp"
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
        tmp.replace(out_dir / f"{name}.jsonl")


def stats_markdown(stats: dict, splits: dict | None = None) -> str:
    """The statistics section of the dataset card."""
    out = [f"- Rows (graded answers): **{stats['rows']}**; questions: **{stats['questions']}**"]
    if splits:
        out.append("- Splits (by question): " + ", ".join(f"{n} {len(splits[n])} questions" for n in SPLIT_NAMES))
    out.append(f"- Spearman correlation of answer length (words) and score: **{stats['spearman_length_score']}**")
    out += ["", "| category | rows |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in stats["categories"].items()]
    out += ["", "| role | rows |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in stats["roles"].items()]
    out += ["", "| difficulty | rows |", "| --- | --- |"] + [
        f"| {k} | {v} |" for k, v in stats["difficulties"].items()
    ]
    n = max(1, stats["rows"])
    out += ["", "| score band | rows | share |", "| --- | --- | --- |"]
    out += [f"| {k} | {v} | {v / n:.1%} |" for k, v in stats["score_histogram"].items()]
    out += ["", "| answer quality | mean words | median | min | max |", "| --- | --- | --- | --- | --- |"]
    out += [
        f"| {b} ({'8-10' if b == 'strong' else '5-7' if b == 'middling' else '1-4'}) | {d['mean']} | {d['median']} "
        f"| {d['min']} | {d['max']} |"
        for b, d in stats["answer_words_by_band"].items()
    ]
    return "\n".join(out)


STATS_BEGIN, STATS_END = "<!-- stats:begin -->", "<!-- stats:end -->"
CONTRAST_BEGIN, CONTRAST_END = "<!-- contrast:begin -->", "<!-- contrast:end -->"


def update_card(card: Path, body: str, begin: str = STATS_BEGIN, end: str = STATS_END) -> bool:
    """Replace one generated block (between `begin` and `end`) of the dataset card; True when the card changed."""
    text = card.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise ValueError(f"{card} has no {begin} ... {end} block to update")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n{body}\n{end}{tail}"
    if new != text:
        card.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interviewmate.dataset", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check the file and the contrast set; print statistics; exit 1 on a problem")
    v.add_argument("path", nargs="?", default=str(DATASET_PATH))
    v.add_argument("--no-whole-set", action="store_true", help="skip the band-share and length checks")
    v.add_argument("--json", action="store_true", help="print statistics as JSON")
    vc = sub.add_parser("validate-contrast", help="check a contrast file (or a draft of one) against the main set")
    vc.add_argument("path", nargs="?", default=str(CONTRAST_PATH))
    vc.add_argument("--partial", action="store_true", help="a draft: skip the per-kind counts and split coverage")
    s = sub.add_parser("split", help="write data/splits.json and data/splits/*.jsonl")
    s.add_argument("path", nargs="?", default=str(DATASET_PATH))
    s.add_argument("--seed", type=int, default=17)
    c = sub.add_parser("card", help="regenerate the statistics blocks of data/README.md")
    c.add_argument("path", nargs="?", default=str(DATASET_PATH))
    args = parser.parse_args(argv)

    if args.command == "validate-contrast":
        try:
            rows = validate_contrast_file(args.path, whole_set=not args.partial)
        except (DatasetError, FileNotFoundError) as e:
            print(e, file=sys.stderr)
            return 1
        print(contrast_markdown(contrast_statistics(rows, load_splits())))
        print(f"OK: {len(rows)} contrast rows, no problems found")
        return 0
    try:
        rows = validate_file(args.path, whole_set=not getattr(args, "no_whole_set", False))
        # the contrast set belongs to the shipped main set; a different main file is checked alone
        shipped = Path(args.path).resolve() == DATASET_PATH.resolve()
        contrast = validate_contrast_file() if shipped and CONTRAST_PATH.exists() else None
    except (DatasetError, FileNotFoundError) as e:
        print(e, file=sys.stderr)
        return 1
    stats = statistics_of(rows)
    if args.command == "validate":
        print(json.dumps(stats, indent=2) if args.json else stats_markdown(stats))
        print(f"OK: {stats['rows']} rows, {stats['questions']} questions, no problems found")
        if contrast is not None:
            print(f"OK: {len(contrast)} contrast rows ({CONTRAST_PATH.name}), no problems found")
    elif args.command == "split":
        splits = make_splits(rows, seed=args.seed)
        SPLITS_PATH.write_text(json.dumps(splits, indent=1) + "\n")
        write_split_files(rows, splits)
        print(
            f"wrote {SPLITS_PATH} and {SPLIT_FILES_DIR}/: " + ", ".join(f"{n}={len(splits[n])}" for n in SPLIT_NAMES)
        )
    elif args.command == "card":
        splits = load_splits() if SPLITS_PATH.exists() else None
        changed = update_card(CARD_PATH, stats_markdown(stats, splits))
        if contrast is not None and splits is not None:
            body = contrast_markdown(contrast_statistics(contrast, splits))
            changed |= update_card(CARD_PATH, body, CONTRAST_BEGIN, CONTRAST_END)
        print(f"{CARD_PATH}: {'updated' if changed else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
