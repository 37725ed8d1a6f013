"""Ablations of the scorer's parts and a learning curve over the training-set size -> results/scorer_ablations.json.

    python scripts/scorer_ablations.py [--semeval ../score-freetext-answer] [--out results/scorer_ablations.json]

Every variant is refitted exactly as `python -m interviewmate.scoring fit` fits the shipped scorer (train for
statistics and calibration, validation for the weight choices) with one part changed, then measured on the
validation and test splits (MAE, Spearman, pair accuracy), on the stress set (mean of the gaming families) and,
given a path, on SemEval's unseen questions (AUC). Every variant scores every answer again (about six minutes on
a 2-core CPU). A script that writes results, never a test.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



def main(argv: list[str] | None = None) -> int:
    from interviewmate import metrics as M
    from interviewmate import stress
    from interviewmate.dataset import load_contrast, load_rows, load_splits, split_rows
    from interviewmate.evaluate import load_semeval, metrics_for
    from interviewmate.questions import Question
    from interviewmate.scoring import fit as F
    from interviewmate.scoring import scorer as S

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--semeval", default=None, help="checkout of leocomelli/score-freetext-answer")
    p.add_argument("--out", default=str(ROOT / "results" / "scorer_ablations.json"))
    p.add_argument("--seeds", type=int, default=3, help="learning-curve resamples per fraction")
    args = p.parse_args(argv)

    rows = load_rows()
    sp = load_splits()
    parts = split_rows(rows, sp)
    owner = {q: n for n in ("train", "validation", "test") for q in sp[n]}
    contrast = [dict(r, split=owner[r["question_id"]]) for r in load_contrast()]
    semeval = None
    if args.semeval:
        sets, commit = load_semeval(Path(args.semeval))
        semeval = {"commit": commit, "rows": sets["sciEntsBank_unseen_questions"]}
    stress_rows = stress.build(rows, set(sp["validation"]) | set(sp["test"]))

    def measure(scorer) -> dict:
        out = {}
        for split in ("validation", "test"):
            rs = parts[split]
            res = [scorer.score(r["answer"], Question.from_row(r)) for r in rs]
            m = metrics_for(rs, [{"score": x.score, "raw": x.raw} for x in res], with_intervals=False)
            # refused answers are left out of the measures, as in the evaluation, and counted
            out[split] = {k: (m.get(k) or {}).get("value") for k in ("mae", "spearman", "pair_accuracy")}
            out[split]["abstention_rate"] = m["abstention_rate"]
        fam: dict[str, list] = {}
        for r in stress_rows:
            if r["family"] in stress.GAMING:
                res = scorer.score(r["answer"], Question.from_row(r))
                fam.setdefault(r["family"], []).append(res.score if res.scored else 1)
        out["stress_gaming_mean"] = float(np.mean([np.mean(v) for v in fam.values()]))
        out["stress_worst_family"] = max((float(np.mean(v)), k) for k, v in fam.items())
        if semeval:
            srs = semeval["rows"]
            res = [scorer.score(r["answer"], Question(r["question_id"], r["question"], "technical",
                                                      ideal_answer=r["ideal_answer"])) for r in srs]  # fmt: skip
            out["semeval_unseen_questions_auc"] = M.auc(
                [r["label"] for r in srs], [x.raw if x.scored else 0.0 for x in res]
            )
        return out

    t0 = time.perf_counter()
    base = F.fit(parts["train"], parts["validation"], contrast)
    variants: dict[str, dict] = {"full": {"what": "the shipped design", **measure(base)}}

    def refit(name: str, what: str, **kw) -> None:
        variants[name] = {"what": what, **measure(F.fit(parts["train"], parts["validation"], contrast, **kw))}
        print(name, json.dumps(variants[name]), flush=True)

    def edited(name: str, what: str, change) -> None:
        scorer = S.Scorer(copy.deepcopy(base.params))
        change(scorer)
        variants[name] = {"what": what, **measure(scorer)}
        print(name, json.dumps(variants[name]), flush=True)

    content_only = ((1.0, 0.0),)
    refit("content_only", "delivery weight 0 in every mode", weight_grid=content_only)
    refit("delivery_only", "content weight 0 in every mode", weight_grid=((0.0, 1.0),))
    refit("no_headroom", "delivery never capped by content", headroom_grid=(99.0,))
    refit("cosine_recall_content", "content = cosine to the ideal answer + its words recalled, nothing else",
          content_signals={"knowledge": {"ideal_similarity": 1, "substance_recall": 1},
                           "story": {"ideal_similarity": 1, "substance_recall": 1}})  # fmt: skip
    def without_abstract(spec: dict) -> dict:
        return {style: {n: v for n, v in signals.items() if n != "abstract"} for style, signals in spec.items()}

    refit("no_abstract_signal", "no placeholder-sentence signal", content_signals=without_abstract(S.CONTENT_SIGNALS),
          content_signals_no_reference=without_abstract(S.CONTENT_SIGNALS_NO_REFERENCE))

    def no_gates(s):
        s.gates.update(no_content_cap=10, mostly_described_cap=10, mostly_abstract_cap=10, off_topic_cap=10,
                       near_topic_cap=10)  # fmt: skip

    def linear_calibration(s):
        for c in s.combine.values():  # the raw combination mapped linearly onto the calibration's range
            c["calibration"] = {"x": [c["calibration"]["x"][0], c["calibration"]["x"][-1]],
                                "y": [c["calibration"]["y"][0], c["calibration"]["y"][-1]]}  # fmt: skip

    edited("no_gates", "no caps for echoes, descriptions, placeholders, off-topic or near-topic answers", no_gates)
    edited("linear_calibration", "a straight line instead of the isotonic curve", linear_calibration)
    saved = S.DELIVERY_EVIDENCE_WORDS
    S.DELIVERY_EVIDENCE_WORDS = 1  # delivery always at full weight, however short the answer
    refit("no_evidence_weighting", "delivery weighted fully even for very short answers")
    S.DELIVERY_EVIDENCE_WORDS = saved

    curve = []
    train_q = sorted({r["question_id"] for r in parts["train"]})
    for frac in (0.25, 0.5, 0.75, 1.0):
        for seed in range(args.seeds if frac < 1 else 1):
            rng = np.random.default_rng(seed)
            keep = set(rng.choice(train_q, size=max(10, int(round(frac * len(train_q)))), replace=False))
            train = [r for r in parts["train"] if r["question_id"] in keep]
            con = [r for r in contrast if r["split"] != "train" or r["question_id"] in keep]
            m = measure(F.fit(train, parts["validation"], con))
            curve.append({"fraction": frac, "seed": seed, "train_questions": len(keep), "train_rows": len(train), **m})
            print("curve", frac, seed, json.dumps(m), flush=True)
    out = {"variants": variants, "learning_curve": curve, "semeval_commit": semeval["commit"] if semeval else None,
           "wall_s": round(time.perf_counter() - t0, 1),
           "command": "python scripts/scorer_ablations.py " + " ".join(argv or sys.argv[1:])}  # fmt: skip
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
