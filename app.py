"""InterviewMate app: composes the coach, the question bank, the history store and the UI.

`demo` is the Hugging Face Space entry point. Settings come from flags or environment variables:

    python app.py                                             # offline rubric coach (the default)
    python app.py --engine local --adapter runs/falcon3-1b-instruct-qlora/adapter   # base: Falcon3-1B-Instruct
    python app.py --engine remote --remote-url http://localhost:8000/v1 --remote-model interviewmate

| flag | environment variable | default |
| --- | --- | --- |
| --engine | INTERVIEWMATE_ENGINE | rubric |
| --base-model | INTERVIEWMATE_BASE_MODEL | tiiuae/Falcon3-1B-Instruct |
| --adapter | INTERVIEWMATE_ADAPTER | (none) |
| --quantization | INTERVIEWMATE_QUANTIZATION | 4bit |
| --remote-url / --remote-model | INTERVIEWMATE_REMOTE_URL / INTERVIEWMATE_REMOTE_MODEL | (none) |
| --db | INTERVIEWMATE_DB | /data/interviewmate.db on a Space, else .interviewmate/history.db |
| --concurrency / --queue-size | INTERVIEWMATE_CONCURRENCY / INTERVIEWMATE_QUEUE_SIZE | 4 / 64 |
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import sys
import threading

logger = logging.getLogger("interviewmate.app")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description="InterviewMate: mock interviews with scored feedback.")
    p.add_argument("--engine", choices=["rubric", "local", "remote"], default=env("INTERVIEWMATE_ENGINE", "rubric"))
    p.add_argument("--base-model", default=env("INTERVIEWMATE_BASE_MODEL", "tiiuae/Falcon3-1B-Instruct"))
    p.add_argument("--adapter", default=env("INTERVIEWMATE_ADAPTER"))
    p.add_argument(
        "--quantization", default=env("INTERVIEWMATE_QUANTIZATION", "4bit"), choices=["4bit", "8bit", "bf16", "fp32"]
    )
    p.add_argument("--max-new-tokens", type=int, default=int(env("INTERVIEWMATE_MAX_NEW_TOKENS", "400")))
    p.add_argument("--remote-url", default=env("INTERVIEWMATE_REMOTE_URL"))
    p.add_argument("--remote-model", default=env("INTERVIEWMATE_REMOTE_MODEL", "interviewmate"))
    p.add_argument("--db", default=env("INTERVIEWMATE_DB"))
    p.add_argument("--no-history", action="store_true", default=env("INTERVIEWMATE_NO_HISTORY") == "1")
    p.add_argument("--concurrency", type=int, default=int(env("INTERVIEWMATE_CONCURRENCY", "4")))
    p.add_argument("--queue-size", type=int, default=int(env("INTERVIEWMATE_QUEUE_SIZE", "64")))
    p.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", "7860")))
    return p.parse_args(argv)


def create_demo(args: argparse.Namespace):
    """Build the app. A model that fails to load leaves a working rubric coach and says why."""
    from interviewmate.coach import make_coach, question_bank
    from interviewmate.dataset import load_rows
    from interviewmate.scoring import warm_references
    from interviewmate.store import HistoryStore
    from interviewmate.ui import AppContext, build_ui

    bank = question_bank(load_rows())
    notice, label = "", "rubric"
    rubric = make_coach("rubric")
    warm = bank[0]
    rubric.grade(warm, warm.reference_answers[0]["answer"])  # load the embedding model now, not on a user's turn
    questions = [(q.question, q.ideal_answer, tuple(q.key_points)) for q in bank]
    stop = threading.Event()
    warm_bank = threading.Thread(target=warm_references, args=(questions, stop), name="warm-bank", daemon=True)
    warm_bank.start()
    # torch must not be mid-forward while the interpreter shuts down (that aborts the process)
    atexit.register(lambda: (stop.set(), warm_bank.join(timeout=10)))
    if os.environ.get("INTERVIEWMATE_WARM_WAIT") == "1":  # benchmarks measure the steady state
        warm_bank.join()
    coach = rubric
    if args.engine != "rubric":
        try:
            coach = make_coach(
                args.engine,
                scorer=rubric.scorer,  # the LLM's scores are checked against the scorer already loaded
                base_model=args.base_model,
                adapter=args.adapter,
                quantization=args.quantization,
                max_new_tokens=args.max_new_tokens,
                remote_url=args.remote_url,
                remote_model=args.remote_model,
            )
            label = f"{args.engine} ({args.remote_model if args.engine == 'remote' else args.base_model}"
            label += f" + {args.adapter})" if args.engine == "local" and args.adapter else ")"
        except Exception as e:  # the app must still run: fall back to the offline coach and say so
            logger.exception("could not start the %s engine", args.engine)
            notice = (
                f"The {args.engine} engine could not be started ({type(e).__name__}: {e}). "
                "Running on the offline rubric coach instead."
            )
    store = None if args.no_history else HistoryStore(args.db)
    demo = build_ui(AppContext(coach=coach, bank=bank, store=store, engine_label=label, notice=notice))
    demo.queue(default_concurrency_limit=args.concurrency, max_size=args.queue_size)
    return demo


logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
_args = parse_args(sys.argv[1:] if __name__ == "__main__" else [])
demo = create_demo(_args)

if __name__ == "__main__":
    demo.launch(server_name=_args.host, server_port=_args.port, enable_monitoring=False, show_error=True)
