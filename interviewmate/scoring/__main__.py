"""Command line of the scorer: `fit` the scorer file, or `score` one answer.

python -m interviewmate.scoring fit                 # train + validation (choices) -> interviewmate/scorer.json
python -m interviewmate.scoring score "What is a deadlock?" "Two threads each hold a lock the other needs."
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from interviewmate.dataset import (
        CONTRAST_PATH,
        DATASET_PATH,
        SPLITS_PATH,
        file_sha256,
        load_contrast,
        load_rows,
        load_splits,
        split_rows,
    )
    from interviewmate.scoring.scorer import SCORER_PATH

    parser = argparse.ArgumentParser(prog="python -m interviewmate.scoring", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit", help=f"fit on train (choices on validation) and write {SCORER_PATH.name}")
    f.add_argument("--data", default=str(DATASET_PATH))
    f.add_argument("--contrast", default=str(CONTRAST_PATH), help="contrast set ('' to leave it out)")
    f.add_argument("--splits", default=str(SPLITS_PATH))
    f.add_argument("--out", default=str(SCORER_PATH))
    s = sub.add_parser("score", help="score one answer given on the command line (JSON out)")
    s.add_argument("question")
    s.add_argument("answer")
    s.add_argument("--category", default="general")
    s.add_argument("--ideal-answer", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    if args.command == "score":
        from interviewmate.questions import Question
        from interviewmate.scoring.scorer import Scorer

        q = Question("cli", args.question, args.category, ideal_answer=args.ideal_answer)
        print(json.dumps(Scorer.load().score(args.answer, q).to_dict(), indent=1, default=str))
        return 0

    from interviewmate.scoring.fit import fit

    rows = load_rows(args.data)
    splits = load_splits(args.splits)
    parts = split_rows(rows, splits)
    owner = {q: name for name in ("train", "validation", "test") for q in splits[name]}
    contrast = [dict(r, split=owner[r["question_id"]]) for r in load_contrast(args.contrast)] if args.contrast else []
    t0 = time.perf_counter()
    scorer = fit(parts["train"], parts["validation"], contrast, progress=True)  # the test split is never read
    scorer.params["trained_on"].update(
        {
            "dataset": Path(args.data).name,
            "dataset_sha256": file_sha256(args.data),
            "contrast_sha256": file_sha256(args.contrast) if args.contrast else None,
        }
    )
    out = scorer.save(args.out)
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s (key-point threshold {scorer.kp_threshold})")
    for mode, c in scorer.combine.items():
        print(
            f"  {mode:>12}: content:delivery {c['w_content']:g}:{c['w_delivery']:g}, headroom {c['headroom']:g}, "
            f"validation Spearman {c.get('validation_spearman')}, likely range {c['band']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
