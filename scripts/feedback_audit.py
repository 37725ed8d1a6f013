"""Feedback quality of the rubric coach, from a hand audit plus automated checks -> results/feedback_quality.json.

    python scripts/feedback_audit.py              # labels + automated checks (runs the coach on the test split)
    python scripts/feedback_audit.py --labels-only   # only the hand labels (no model, a second)

The hand audit (`data/feedback_audit.jsonl`) covers one held-out test answer per test question (29), the quality
tier cycling weak, middling, strong over the questions in id order. For each answer a person read the question,
the answer and the coach's feedback and labelled:
- every key point the feedback shows under "Not covered yet": `missing` (the answer does not state it), `partly`
  (it states part of it) or `covered` (it states it: the feedback is wrong);
- the follow-up: `follow_up_sensible` (a question a good interviewer could ask next, given this answer: it does
  not ask for what the answer already gave and it makes sense for this answer) and `follow_up_reads_naturally`
  (grammatical, a quote that is a whole phrase, no rubric wording pasted in).
One rater, one pass; each row names who labelled it and the scorer file the coach ran with. When the follow-up
wording changed, the follow-ups whose text changed were labelled again (`follow_up_labelled_by` names that pass).

The automated checks run the rubric coach on every test answer: each phrase the feedback or follow-up puts in
quotation marks is either one of the question's key points or must appear verbatim in the answer (whitespace and
case aside); and the coach's output for the audited answers is compared with the one that was labelled, so labels
made on an older scorer are reported as such. Shares come with 95% intervals from resampling answers (one per
question). A script that writes results, never a test.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LABELS = ROOT / "data" / "feedback_audit.jsonl"
OUT = ROOT / "results" / "feedback_quality.json"
KEY_POINT_LABELS = ("missing", "partly", "covered")
QUOTE_RE = re.compile(r"\u201c([^\u201d]+)\u201d")


def read_labels(path: Path = LABELS) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for i, r in enumerate(rows, 1):
        bad = [k["label"] for k in r["not_covered_shown"] if k["label"] not in KEY_POINT_LABELS]
        flags = (r["follow_up_sensible"], r["follow_up_reads_naturally"])
        if bad or not all(isinstance(f, bool) for f in flags):
            raise ValueError(f"{path}:{i}: labels must be {KEY_POINT_LABELS} and booleans, got {bad or r}")
    return rows


def share(values: list[float], clusters: list[str]) -> dict:
    """Mean of 0/1 values with a 95% interval from resampling clusters (answers)."""
    import numpy as np

    from interviewmate import metrics as M

    v = np.asarray(values, float)
    if not len(v):
        return {"value": None, "ci95": [None, None], "n": 0}
    lo, hi = M.bootstrap(clusters, lambda idx, _: float(v[idx].mean()))
    return {"value": round(float(v.mean()), 4), "ci95": [round(lo, 4), round(hi, 4)], "n": len(v)}


def summarise_labels(rows: list[dict]) -> dict:
    """The hand audit's figures: key points shown as missing that really are, and sensible follow-ups."""
    points = [(r["id"], k["label"]) for r in rows for k in r["not_covered_shown"]]
    ids = [i for i, _ in points]
    counts = {lab: sum(x == lab for _, x in points) for lab in KEY_POINT_LABELS}
    with_shown = [r for r in rows if r["not_covered_shown"]]
    tiers: dict[str, dict] = {}
    for r in rows:
        t = tiers.setdefault(r["tier"], {"answers": 0, "points_shown": 0, "points_covered": 0, "sensible": 0})
        t["answers"] += 1
        t["points_shown"] += len(r["not_covered_shown"])
        t["points_covered"] += sum(k["label"] == "covered" for k in r["not_covered_shown"])
        t["sensible"] += r["follow_up_sensible"]
    answer_ids = [r["id"] for r in rows]
    return {
        "answers": len(rows),
        "questions": len({r["question_id"] for r in rows}),
        "labelled_by": sorted({r["labelled_by"] for r in rows} | {r["follow_up_labelled_by"] for r in rows
                                                                  if "follow_up_labelled_by" in r}),
        "scorer_sha256": sorted({r["scorer_sha256"] for r in rows}),
        "key_points": {
            "answers_showing_some": len(with_shown),
            "shown": len(points),
            **counts,
            "share_really_missing": share([x == "missing" for _, x in points], ids),
            "share_missing_or_partly": share([x != "covered" for _, x in points], ids),
            "answers_with_a_covered_point_shown": sum(
                any(k["label"] == "covered" for k in r["not_covered_shown"]) for r in rows
            ),
        },
        "follow_ups": {
            "share_sensible": share([r["follow_up_sensible"] for r in rows], answer_ids),
            "share_reads_naturally": share([r["follow_up_reads_naturally"] for r in rows], answer_ids),
            "share_both": share(
                [r["follow_up_sensible"] and r["follow_up_reads_naturally"] for r in rows], answer_ids
            ),
        },
        "by_tier": tiers,
    }


def quotes_of(texts: list[str]) -> list[str]:
    return [q.strip().strip("\u2026").strip() for t in texts for q in QUOTE_RE.findall(t or "")]


def check_quotes(answer: str, key_points: list[str], texts: list[str]) -> dict:
    """Each quoted phrase: a key point (quoted on purpose, maybe cut), found verbatim in the answer, or neither."""
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    ans, kps = norm(answer), {norm(k) for k in key_points}
    out = {"key_point": 0, "verbatim": 0, "not_in_answer": []}
    for q in quotes_of(texts):
        if any(k.startswith(norm(q)) for k in kps):  # a key point, whole or cut with an ellipsis
            out["key_point"] += 1
        elif norm(q) in ans:
            out["verbatim"] += 1
        else:
            out["not_in_answer"].append(q)
    return out


def automated(rows: list[dict]) -> dict:
    """Run the rubric coach on every test answer: verbatim quotes, and whether the audited output is still current."""
    from interviewmate.coach import RubricCoach
    from interviewmate.dataset import file_sha256, load_rows, load_splits, split_rows
    from interviewmate.questions import Question

    test = split_rows(load_rows(), load_splits())["test"]
    coach = RubricCoach()
    audited = {r["id"]: r for r in rows}
    total = {"answers": len(test), "scored": 0, "quotes": 0, "key_point_quotes": 0, "answer_quotes": 0,
             "verbatim": 0, "answers_all_verbatim": 0, "failures": []}  # fmt: skip
    same_follow_up = same_points = 0
    for r in test:
        g = coach.grade(Question.from_row(r), r["answer"])
        if not g.scored:
            continue
        total["scored"] += 1
        c = check_quotes(r["answer"], r["key_points"], [g.feedback, *g.strengths, *g.improvements, g.follow_up])
        total["key_point_quotes"] += c["key_point"]
        total["verbatim"] += c["verbatim"]
        total["answer_quotes"] += c["verbatim"] + len(c["not_in_answer"])
        total["answers_all_verbatim"] += not c["not_in_answer"]
        total["failures"] += [{"id": r["id"], "quote": q} for q in c["not_in_answer"]]
        if r["id"] in audited:
            a = audited[r["id"]]
            same_follow_up += g.follow_up == a["follow_up"]
            shown = next((i for i in g.improvements if i.startswith("Not covered yet")), "")
            same_points += all(k["key_point"] in shown for k in a["not_covered_shown"]) and (
                bool(shown) == bool(a["not_covered_shown"])
            )
    total["quotes"] = total["key_point_quotes"] + total["answer_quotes"]
    total["share_verbatim"] = round(total["verbatim"] / total["answer_quotes"], 4) if total["answer_quotes"] else None
    scorer_sha = file_sha256(ROOT / "interviewmate" / "scorer.json")
    current = {"scorer_sha256": scorer_sha, "answers": len(rows), "same_follow_up": same_follow_up,
               "same_not_covered": same_points}  # fmt: skip
    return {"quotes": total, "audit_is_current": current}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labels", type=Path, default=LABELS)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--labels-only", action="store_true", help="skip the automated checks (no model)")
    args = p.parse_args(argv)
    rows = read_labels(args.labels)
    out = {
        "what": "hand audit of the rubric coach's feedback on held-out test answers, plus automated quote checks",
        "labels": str(args.labels.relative_to(ROOT)) if args.labels.is_relative_to(ROOT) else str(args.labels),
        "audit": summarise_labels(rows),
    }
    if not args.labels_only:
        out.update(automated(rows))
    out["command"] = "python scripts/feedback_audit.py " + " ".join(argv if argv is not None else sys.argv[1:])
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in out["audit"].items() if k != "by_tier"}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
