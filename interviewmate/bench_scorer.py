"""Benchmark of the calibrated scorer on this CPU: load time, per-answer latency, throughput, peak memory.

    python -m interviewmate.bench_scorer [--n 300]

Writes `results/bench_scorer.json` and prints it. A script that measures, never a test that asserts timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "results" / "bench_scorer.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m interviewmate.bench_scorer", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="answers to time (cycled from the dataset)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    import numpy as np

    from interviewmate import scoring
    from interviewmate.dataset import load_rows
    from interviewmate.questions import Question

    t_import = time.perf_counter()
    scorer = scoring.Scorer.load()
    t_file = time.perf_counter()
    scoring.get_embedder()
    t_model = time.perf_counter()
    rows = load_rows()
    def score_row(r: dict):
        return scorer.score(r["answer"], Question.from_row(r))

    first = score_row(rows[0])  # first call: lazy paths, question-bank embeddings
    t_first = time.perf_counter()

    bench = [rows[i % len(rows)] for i in range(args.n)]
    # a new question costs its ideal answer / key points / question embeddings once (then cached)
    new_q = []
    seen = {rows[0]["question_id"]}
    for r in bench:
        if r["question_id"] in seen:
            continue
        seen.add(r["question_id"])
        t0 = time.perf_counter()
        score_row(r)
        new_q.append(time.perf_counter() - t0)
        if len(new_q) >= 30:
            break
    for r in bench[: args.warmup]:
        score_row(r)
    for r in bench:  # every question's references cached: the steady state of an interview
        scoring.reference(r["question"], r["ideal_answer"], tuple(r["key_points"]))
    times = []
    t_loop = time.perf_counter()
    for r in bench:
        t0 = time.perf_counter()
        score_row(r)
        times.append(time.perf_counter() - t0)
    loop_s = time.perf_counter() - t_loop
    ms = np.asarray(times) * 1000
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import torch

    result = {
        "answers": len(times),
        "answers_per_s": round(len(times) / loop_s, 2),
        "latency_ms": {"mean": round(float(ms.mean()), 2), "p50": round(float(np.percentile(ms, 50)), 2),
                       "p95": round(float(np.percentile(ms, 95)), 2), "max": round(float(ms.max()), 2)},
        "latency_new_question_ms": {"p50": round(float(np.percentile(new_q, 50) * 1000), 2),
                                    "p95": round(float(np.percentile(new_q, 95) * 1000), 2)} if new_q else None,
        "load_s": {
            "imports": round(t_import - t_start, 3),
            "scorer_file": round(t_file - t_import, 3),
            "embedding_model": round(t_model - t_file, 3),
            "first_score": round(t_first - t_model, 3),
            "total_to_first_score": round(t_first - t_start, 3),
            "scorer_load_excluding_imports": round(t_model - t_import, 3),
        },
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "first_score_ok": bool(first.scored),
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine(), "python": platform.python_version(),
                    "torch": torch.__version__},
        "command": "python -m interviewmate.bench_scorer " + " ".join(argv or sys.argv[1:]),
        "note": "latency_ms: per answer after warm-up with the question's references cached; "
        "latency_new_question_ms: first answer to a question (embeds its ideal answer and key points once)",
    }  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
