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

from interviewmate.prompts import CRITERIA, coach_messages, format_feedback

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DATASET_PATH = DATA_DIR / "interview_qa.jsonl"
SPLITS_PATH = DATA_DIR / "splits.json"
SPLIT_FILES_DIR = DATA_DIR / "splits"
CARD_PATH = DATA_DIR / "README.md"

CATEGORIES = (
    "behavioral", "situational", "general", "technical", "data_ml",
    "system_design", "leadership", "product", "analytical", "values",
)  # fmt: skip
ROLES = (
    "software engineer", "data scientist", "ml engineer", "product manager", "engineering manager",
    "data analyst", "devops/sre", "staff engineer", "general",
)  # fmt: skip
DIFFICULTIES = ("easy", "medium", "hard")
SPLIT_NAMES = ("train", "validation", "test")
SCORE_BANDS = ("1-2", "3-4", "5-6", "7-8", "9-10")

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


def band(score: int) -> str:
    """The quality band of an overall score: strong (8-10), middling (5-7) or weak (1-4)."""
    return "strong" if score >= 8 else "middling" if score >= 5 else "weak"


def histogram_band(score: int) -> str:
    lo = (score - 1) // 2 * 2 + 1
    return f"{lo}-{lo + 1}"


def check_row(row: object) -> list[tuple[str | None, str]]:
    """Schema, type and range checks for one row. Returns (field, message) pairs; empty when valid."""
    if not isinstance(row, dict):
        return [(None, f"expected a JSON object, got {type(row).__name__}")]
    problems: list[tuple[str | None, str]] = []
    for name in sorted(set(FIELDS) - row.keys()):
        problems.append((name, "missing"))
    for name in sorted(row.keys() - set(FIELDS)):
        problems.append((name, "unknown field"))
    for name, kind in FIELDS.items():
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
    if not re.fullmatch(re.escape(row["question_id"]) + r"-[a-z]", row["id"]):
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


def read_jsonl(path: Path | str) -> tuple[list[dict], list[int], list[Issue]]:
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
            row_problems = check_row(row)
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
        bands = Counter(band(rows[k]["score"]) for k in idx)
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
        hist = Counter(histogram_band(r["score"]) for r in rows)
        for b in SCORE_BANDS:
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


def statistics_of(rows: list[dict]) -> dict:
    """Counts and distributions the dataset card reports."""
    words_by_band: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        words_by_band[band(r["score"])].append(len(r["answer"].split()))
    hist = Counter(histogram_band(r["score"]) for r in rows)
    return {
        "rows": len(rows),
        "questions": len({r["question_id"] for r in rows}),
        "categories": dict(sorted(Counter(r["category"] for r in rows).items())),
        "roles": dict(sorted(Counter(r["role"] for r in rows).items())),
        "difficulties": {d: sum(r["difficulty"] == d for r in rows) for d in DIFFICULTIES},
        "score_histogram": {b: hist[b] for b in SCORE_BANDS},
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


def update_card(card: Path, stats: dict, splits: dict | None) -> bool:
    """Replace the generated statistics block of the dataset card; True when the card changed."""
    text = card.read_text(encoding="utf-8")
    if STATS_BEGIN not in text or STATS_END not in text:
        raise ValueError(f"{card} has no {STATS_BEGIN} ... {STATS_END} block to update")
    head, rest = text.split(STATS_BEGIN, 1)
    _, tail = rest.split(STATS_END, 1)
    new = f"{head}{STATS_BEGIN}\n{stats_markdown(stats, splits)}\n{STATS_END}{tail}"
    if new != text:
        card.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interviewmate.dataset", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check the file; print statistics; exit 1 on any problem")
    v.add_argument("path", nargs="?", default=str(DATASET_PATH))
    v.add_argument("--no-whole-set", action="store_true", help="skip the band-share and length checks")
    v.add_argument("--json", action="store_true", help="print statistics as JSON")
    s = sub.add_parser("split", help="write data/splits.json and data/splits/*.jsonl")
    s.add_argument("path", nargs="?", default=str(DATASET_PATH))
    s.add_argument("--seed", type=int, default=17)
    c = sub.add_parser("card", help="regenerate the statistics block of data/README.md")
    c.add_argument("path", nargs="?", default=str(DATASET_PATH))
    args = parser.parse_args(argv)

    try:
        rows = validate_file(args.path, whole_set=not getattr(args, "no_whole_set", False))
    except (DatasetError, FileNotFoundError) as e:
        print(e, file=sys.stderr)
        return 1
    stats = statistics_of(rows)
    if args.command == "validate":
        print(json.dumps(stats, indent=2) if args.json else stats_markdown(stats))
        print(f"OK: {stats['rows']} rows, {stats['questions']} questions, no problems found")
    elif args.command == "split":
        splits = make_splits(rows, seed=args.seed)
        SPLITS_PATH.write_text(json.dumps(splits, indent=1) + "\n")
        write_split_files(rows, splits)
        print(
            f"wrote {SPLITS_PATH} and {SPLIT_FILES_DIR}/: " + ", ".join(f"{n}={len(splits[n])}" for n in SPLIT_NAMES)
        )
    elif args.command == "card":
        splits = load_splits() if SPLITS_PATH.exists() else None
        changed = update_card(CARD_PATH, stats, splits)
        print(f"{CARD_PATH}: {'updated' if changed else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
