"""Put the coaches side by side on the held-out test questions, from evaluations already run: the rubric scorer,
SmolLM2-135M-Instruct zero-shot and with the shipped adapter (guided header), and both without the guide (the
share of free replies that parse). Writes `results/engines_comparison.json` and `results/engines_comparison.md`
(the table, eval loss before and after fine-tuning, and 10 answers with each coach's follow-up).

    python -m interviewmate.evaluate                                         # -> eval_rubric.json
    python -m interviewmate.evaluate --engines local --splits test --no-contrast --max-new-tokens 220 \
        --adapter adapters/smollm2-135m-interviewmate --tag finetuned         # -> eval_local_finetuned.json
    python -m interviewmate.evaluate --engines local --splits test --no-contrast --max-new-tokens 220 \
        --adapter none --tag zeroshot                                         # -> eval_local_zeroshot.json
    (the same two with --unguided --limit-questions 10 --tag finetuned_free / zeroshot_free)
    python scripts/compare_engines.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from interviewmate.dataset import load_rows, load_splits, split_rows  # noqa: E402
from interviewmate.evaluate import follow_up_examples  # noqa: E402

GRADERS = {  # file tag -> what the table calls it
    "rubric": "rubric scorer",
    "local_zeroshot": "SmolLM2-135M zero-shot, guided header",
    "local_finetuned": "SmolLM2-135M + adapter, guided header",
    "local_zeroshot_free": "SmolLM2-135M zero-shot, free",
    "local_finetuned_free": "SmolLM2-135M + adapter, free",
}


def _interval(m: dict | None) -> str:
    if not m or m.get("value") is None:
        return "n/a"
    lo, hi = m.get("ci95") or (None, None)
    return f"{m['value']:.2f} [{lo:.2f}, {hi:.2f}]" if lo is not None else f"{m['value']:.2f}"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def summarize(tag: str, res: dict) -> dict:
    test = res["splits"]["test"]
    main, fu = test["main"], test.get("follow_ups") or {}
    return {
        "grader": tag,
        "label": GRADERS[tag],
        "command": res.get("command"),
        "n": main["n"],
        "questions": len({r["question_id"] for r in test["rows"]}),
        "parse_rate": main["n_scored"] / main["n"] if main["n"] else None,
        "mae": main.get("mae"),  # absent when no reply parsed
        "spearman": main.get("spearman"),
        "pair_accuracy": main.get("pair_accuracy"),
        "mean_pred": main["mean_pred"],
        "mean_true": main["mean_true"],
        "criteria_mae": main.get("criteria_mae"),
        "latency_p50_ms": (main.get("latency") or {}).get("p50_ms"),
        # no follow-up block when no scored reply had one: then none was given, and none refers to the answer
        "follow_up_present": round(1 - fu["share_empty"], 4) if fu else (0.0 if main["n_scored"] else None),
        "follow_up_refers_to_answer": fu.get("share_refers_to_answer", 0.0 if main["n_scored"] else None),
        "follow_up_margin": fu.get("mean_margin_answer_vs_question"),
    }


def markdown(rows: list[dict], train: dict | None, examples: str) -> str:
    lines = [
        "# The coaches side by side on the held-out test questions",
        "",
        "Scores: MAE, Spearman and within-question pair accuracy against the human score, with 95% intervals from "
        "resampling questions. *Parsed*: replies that give a valid score and four criteria (the rubric scorer "
        "always does; the guided header forces the format and leaves every digit to the model). *Follow-up "
        "refers*: share of graded answers whose follow-up quotes the answer or names something it said that the "
        "question did not.",
        "",
        "| coach | answers (questions) | parsed | MAE | Spearman | pair accuracy | mean score (human) | criteria MAE "
        "| follow-up given | follow-up refers | p50 latency |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        crit = r["criteria_mae"] or {}
        crit_s = " / ".join(f"{v:.2f}" for v in crit.values()) if crit else "n/a"
        fu = "n/a" if r["follow_up_present"] is None else f"{r['follow_up_present']:.2f}"
        refers = "n/a" if r["follow_up_refers_to_answer"] is None else f"{r['follow_up_refers_to_answer']:.2f}"
        lat = "n/a" if r["latency_p50_ms"] is None else f"{r['latency_p50_ms'] / 1000:.2f} s"
        lines.append(
            f"| {r['label']} | {r['n']} ({r['questions']}) | {r['parse_rate']:.2f} | {_interval(r['mae'])} "
            f"| {_interval(r['spearman'])} | {_interval(r['pair_accuracy'])} | {_num(r['mean_pred'])} "
            f"({_num(r['mean_true'])}) | {crit_s} | {fu} | {refers} | {lat} |"
        )
    lines += ["", "Criteria MAE is relevance / structure / specificity / communication (1-5 each)."]
    if train:
        lines += [
            "",
            f"Fine-tuning (`{train['config']['script']['results_path']}`): eval loss on the validation questions "
            f"{train['eval_loss_before']:.3f} before and {train['eval_loss']:.3f} after {train['epochs']:g} epoch "
            f"({train['n_train']} train answers, {train['trainable_parameters']:,} LoRA parameters, "
            f"{train['train_runtime_s']:.0f} s on {train['hardware']['device']}).",
        ]
    return "\n".join(lines) + "\n\n" + examples.split("\n", 2)[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--results", type=Path, default=ROOT / "results", help="where eval_*.json are and the output goes")
    args = p.parse_args(argv)
    found = {t: json.loads((args.results / f"eval_{t}.json").read_text()) for t in GRADERS
             if (args.results / f"eval_{t}.json").exists()}  # fmt: skip
    if "rubric" not in found or len(found) < 2:
        sys.exit(f"need eval_rubric.json and at least one eval_local_*.json in {args.results}; run the commands "
                 "in this script's docstring first")  # fmt: skip
    rows = [summarize(t, res) for t, res in found.items()]
    test_rows = split_rows(load_rows(), load_splits())["test"]
    by_id = {r["id"]: r for r in test_rows}
    # every coach that graded the whole test split, aligned on the answers in the rubric's order
    full = {t: res for t, res in found.items() if len(res["splits"]["test"]["rows"]) == len(test_rows)}
    order = [r["id"] for r in full["rubric"]["splits"]["test"]["rows"]]
    by_grader = {t: {r["id"]: r for r in res["splits"]["test"]["rows"]} for t, res in full.items()}
    preds = {GRADERS[t]: [recs[i] for i in order] for t, recs in by_grader.items()}
    examples = follow_up_examples([by_id[i] for i in order], preds)
    train_path = args.results / "train_smollm2-135m-qlora.json"
    train = json.loads(train_path.read_text()) if train_path.exists() else None
    (args.results / "engines_comparison.json").write_text(json.dumps({"graders": rows}, indent=1) + "\n")
    (args.results / "engines_comparison.md").write_text(markdown(rows, train, examples))
    print(f"wrote {args.results}/engines_comparison.json and engines_comparison.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
