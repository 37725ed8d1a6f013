"""Concurrency benchmark: N simulated users run whole interviews against a local app server.

Each user is a `gradio_client.Client` in its own thread: start a 5-question interview, answer every
question (answers drawn from the dataset, so scores vary), move on, finish. A reply that says "Grading
failed" counts as an error, like an exception. Reports errors and the
p50/p95 latency of a graded turn, prints them and writes `results/bench_app_concurrency.json`.

    python scripts/bench_app_concurrency.py                 # 20 users x 5 questions, rubric engine
    python scripts/bench_app_concurrency.py --users 50 --questions 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_user(url: str, answers: list[str], n_questions: int, seed: int, out: dict) -> None:
    from gradio_client import Client

    rng = random.Random(seed)
    latencies, errors = [], []
    try:
        client = Client(url, verbose=False)
        client.predict("general", [], "any", n_questions, "", 0, api_name="/start")
        for _ in range(n_questions):
            t0 = time.perf_counter()
            reply = client.predict(rng.choice(answers), api_name="/answer")
            latencies.append(time.perf_counter() - t0)
            failed = [x for x in reply if isinstance(x, str) and "Grading failed" in x]
            if failed:  # the app caught an engine error and said so: a failed turn, not a graded one
                errors.append(failed[0][:200])
            client.predict(api_name="/next_question")
    except Exception as e:  # counted, not raised: the point is to see how many requests fail
        errors.append(f"{type(e).__name__}: {e}")
    out[seed] = {"latencies": latencies, "errors": errors}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--questions", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=4, help="the app's default_concurrency_limit")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_app_concurrency.json"))
    args = p.parse_args()

    from interviewmate.dataset import load_rows

    # the server runs in its own process, as in production: clients and server must not share one GIL
    port = free_port()
    env = dict(os.environ, INTERVIEWMATE_DB=str(Path(tempfile.mkdtemp()) / "bench.db"),
               INTERVIEWMATE_CONCURRENCY=str(args.concurrency), INTERVIEWMATE_WARM_WAIT="1")  # fmt: skip
    log = Path(env["INTERVIEWMATE_DB"]).with_name("server.log")
    server = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=log.open("w"))  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2):
                break
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"the app exited: {log.read_text()[-2000:]}") from None
            time.sleep(1)
    else:
        server.kill()
        raise SystemExit("the app did not start within 300 s")
    answers = [r["answer"] for r in load_rows()]
    results: dict = {}
    threads = [threading.Thread(target=run_user, args=(url, answers, args.questions, i, results))
               for i in range(args.users)]  # fmt: skip
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    wall = time.perf_counter() - t0
    server.terminate()
    server.wait(timeout=30)

    lat = [x for r in results.values() for x in r["latencies"]]
    errors = [e for r in results.values() for e in r["errors"]] + ["user thread did not report"] * (
        args.users - len(results)
    )
    report = {
        "users": args.users,
        "questions_per_user": args.questions,
        "app_concurrency_limit": args.concurrency,
        "engine": "rubric",
        "graded_turns": len(lat),
        "expected_turns": args.users * args.questions,
        "errors": len(errors),
        "error_samples": errors[:5],
        "turn_latency_s": {
            "p50": round(float(np.percentile(lat, 50)), 4) if lat else None,
            "p95": round(float(np.percentile(lat, 95)), 4) if lat else None,
            "max": round(max(lat), 4) if lat else None,
            "mean": round(statistics.fmean(lat), 4) if lat else None,
        },
        "wall_time_s": round(wall, 2),
        "turns_per_second": round(len(lat) / wall, 2) if wall else None,
        "hardware": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "command": "python scripts/bench_app_concurrency.py " + " ".join(sys.argv[1:]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
