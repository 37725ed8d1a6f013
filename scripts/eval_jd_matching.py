"""Job-description matching on a labelled set: precision@5 and whether "little fits" fires when it should.

`data/jd_eval.jsonl` holds 16 job descriptions written for this check (a senior data engineer, a barista, a
nurse, a sales executive, ...), each with the role a user would choose and the bank questions a recruiter
would pick for it (`relevant`), and whether the bank has little that fits (`little_fits`). The "tuning" split
was used to set the matcher's lexicon and thresholds; the "held_out" split was written and labelled before
the matcher was first run on it. Each description is planned as the app plans it (5 questions, seed 0), and
compared with the previous matcher (cosine of the whole description with each question, same candidates).

    python scripts/eval_jd_matching.py            # writes results/jd_matching.json (make jd-eval)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def baseline(jd: str, candidates, bank_vectors: dict, n: int) -> list[str]:
    """The matcher this replaced: the whole description against each question's text and key points."""
    from interviewmate.scoring import get_embedder

    sims = np.stack([bank_vectors[q.question_id] for q in candidates]) @ get_embedder().encode([jd])[0]
    return [candidates[int(i)].question_id for i in np.argsort(-sims, kind="stable")[:n]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT / "data" / "jd_eval.jsonl"))
    p.add_argument("--n", type=int, default=5)
    p.add_argument("--out", default=str(ROOT / "results" / "jd_matching.json"))
    args = p.parse_args()

    from interviewmate import matching
    from interviewmate.dataset import load_rows
    from interviewmate.interview import InterviewConfig, plan_interview
    from interviewmate.matching import BankIndex
    from interviewmate.questions import question_bank
    from interviewmate.rubric import bank_roles

    bank = question_bank(load_rows())
    index = BankIndex(bank)
    t0 = time.perf_counter()
    index.warm()
    warm_s = time.perf_counter() - t0
    from interviewmate.scoring import get_embedder

    texts = [f"{q.text} {' '.join(q.key_points)}" for q in bank]
    bank_vectors = dict(zip([q.question_id for q in bank], get_embedder().encode(texts), strict=True))
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    out, plan_times = [], []
    for row in rows:
        config = InterviewConfig(role=row["role"], n_questions=args.n, job_description=row["job_description"], seed=0)
        t0 = time.perf_counter()
        plan = plan_interview(bank, config, index=index)
        plan_times.append(time.perf_counter() - t0)
        relevant = set(row["relevant"])
        picked = [p.item.question_id for p in plan.questions]
        roles = bank_roles(row["role"])
        candidates = [q for q in bank if not roles or q.role in roles or q.role == "general"]
        base = baseline(row["job_description"], candidates, bank_vectors, args.n)
        out.append({
            "id": row["id"],
            "title": row["title"],
            "role": row["role"],
            "split": row["split"],
            "precision_at_5": sum(i in relevant for i in picked) / args.n,
            "little_fits_expected": row["little_fits"],
            "little_fits_said": plan.little_fits,
            "statement": plan.statement,
            "questions": [{"id": p.item.question_id, "question": p.item.text, "level": p.level, "score": p.match,
                           "relevant": p.item.question_id in relevant, "reason": p.reason} for p in plan.questions],
            "baseline_precision_at_5": sum(i in relevant for i in base) / args.n,
            "baseline_questions": base,
        })  # fmt: skip

    def summary(split: str | None) -> dict:
        rs = [r for r in out if split is None or r["split"] == split]
        fits = [r for r in rs if not r["little_fits_expected"]]
        return {
            "descriptions": len(rs),
            "precision_at_5": round(float(np.mean([r["precision_at_5"] for r in rs])), 3),
            "precision_at_5_where_the_bank_fits": round(float(np.mean([r["precision_at_5"] for r in fits])), 3),
            "baseline_precision_at_5": round(float(np.mean([r["baseline_precision_at_5"] for r in rs])), 3),
            "little_fits_correct": sum(r["little_fits_said"] == r["little_fits_expected"] for r in rs),
            "little_fits_expected": sum(r["little_fits_expected"] for r in rs),
            "little_fits_said": sum(r["little_fits_said"] for r in rs),
        }

    report = {
        "what": "precision@5 of the questions planned for each labelled job description (share of the 5 that a "
        "recruiter picked for it), and whether the 'little in the bank fits' statement fired when it should",
        "data": str(Path(args.data).resolve().relative_to(ROOT) if Path(args.data).resolve().is_relative_to(ROOT)
                    else args.data),  # fmt: skip
        "n_questions": args.n,
        "settings": {"strong_at": matching.STRONG_AT, "partial_at": matching.PARTIAL_AT,
                     "skill_bonus": matching.SKILL_BONUS, "min_fitting": matching.MIN_FITTING},  # fmt: skip
        "summary": {"all": summary(None), "tuning": summary("tuning"), "held_out": summary("held_out")},
        "baseline": "the previous matcher: cosine of the whole description with each question's text and key "
        "points, over the same candidates, top 5 (it never says that little fits)",
        "timing_s": {"embed_bank_once": round(warm_s, 2), "plan_mean": round(float(np.mean(plan_times)), 3)},
        "descriptions": out,
        "command": "python scripts/eval_jd_matching.py " + " ".join(sys.argv[1:]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report["summary"], indent=2))
    for r in out:
        said = f"{r['little_fits_said']} ({'ok' if r['little_fits_said'] == r['little_fits_expected'] else 'WRONG'})"
        p5, base = r["precision_at_5"], r["baseline_precision_at_5"]
        print(f"{r['id']:32s} {r['split']:9s} p@5 {p5:.1f} (baseline {base:.1f})  little fits: {said}")


if __name__ == "__main__":
    main()
