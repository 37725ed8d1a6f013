"""Held-out evaluation of every available grading engine into `results/eval_<engine>.json` + `results/eval_summary.md`.

    python -m interviewmate.evaluate                                  # baseline + rubric, test and validation
    python -m interviewmate.evaluate --engines baseline,rubric,local \
        --base tiiuae/Falcon3-1B-Instruct --adapter adapters/falcon3-1b-coach

Engines: `baseline` (cosine of answer and ideal answer, mapped to 1-10 by isotonic regression fitted on train),
`rubric` (the shipped calibrated scorer), `local` (base + adapter) and `remote` (OpenAI-compatible server).
Each split also gets an off-topic check: every question scored against another question's strong answer of the
same category (share <= 4 reported) and of another category (share <= 2). The metric functions are pure.
This module never fits the rubric scorer (`scoring fit` does).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from interviewmate.dataset import spearman  # one definition: nan when a side is constant
from interviewmate.prompts import CRITERIA

logger = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
EVAL_SPLITS = ("test", "validation")


# ---------------------------------------------------------------- metrics (pure)


def mae(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.abs(y - p).mean()) if len(y) else float("nan")


def rmse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.sqrt(((y - p) ** 2).mean())) if len(y) else float("nan")


def quadratic_weighted_kappa(y_true: Sequence[int], y_pred: Sequence[int], lo: int = 1, hi: int = 10) -> float:
    """Cohen's kappa with quadratic weights over the integer labels lo..hi (1 = perfect, 0 = chance)."""
    y, p = np.asarray(y_true, int) - lo, np.asarray(y_pred, int) - lo
    k = hi - lo + 1
    if not len(y):
        return float("nan")
    observed = np.zeros((k, k))
    for a, b in zip(y, p, strict=True):
        observed[a, b] += 1
    expected = np.outer(np.bincount(y, minlength=k), np.bincount(p, minlength=k)) / len(y)
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    denom = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denom) if denom else float("nan")


def ranking_accuracy(question_ids: Sequence[str], y_true: Sequence[float], y_pred: Sequence[float]) -> dict:
    """Within-question ordering: share of answer pairs (different true scores) the prediction orders correctly
    (a tie counts half), and share of questions whose answers are all strictly ordered correctly."""
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(question_ids):
        by_q[q].append(i)
    pairs = correct = 0.0
    full = n_q = 0
    for idx in by_q.values():
        q_pairs = q_correct = 0
        for i in idx:
            for j in idx:
                if y_true[i] > y_true[j]:
                    q_pairs += 1
                    q_correct += 1.0 if y_pred[i] > y_pred[j] else 0.5 if y_pred[i] == y_pred[j] else 0.0
        if q_pairs:
            pairs += q_pairs
            correct += q_correct
            n_q += 1
            full += q_correct == q_pairs
    return {
        "pair_accuracy": correct / pairs if pairs else float("nan"),
        "questions_fully_ordered": full / n_q if n_q else float("nan"),
        "pairs": int(pairs),
        "questions": n_q,
    }


def calibration_table(y_true: Sequence[float], y_pred: Sequence[float]) -> list[dict]:
    """Predicted-score bins (1-2, 3-4, ..., 9-10) against the mean true score and counts."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    out = []
    for lo in (1, 3, 5, 7, 9):
        sel = (p >= lo) & (p <= lo + 1)
        out.append({"predicted": f"{lo}-{lo + 1}", "n": int(sel.sum()),
                    "mean_true": round(float(y[sel].mean()), 2) if sel.any() else None})  # fmt: skip
    return out


def latency_stats(seconds: Sequence[float]) -> dict:
    s = np.asarray(seconds, float)
    if not len(s):
        return {"mean_ms": None, "p50_ms": None, "p95_ms": None}
    return {"mean_ms": round(float(s.mean() * 1000), 2), "p50_ms": round(float(np.percentile(s, 50) * 1000), 2),
            "p95_ms": round(float(np.percentile(s, 95) * 1000), 2)}  # fmt: skip


def _clean(x):
    if isinstance(x, float):
        return None if not np.isfinite(x) else round(x, 4)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def metrics_for(rows: list[dict], predictions: list[dict]) -> dict:
    """All metrics for one engine on one split. `predictions[i]` = {score|None, criteria, latency_s}."""
    scored = [(r, p) for r, p in zip(rows, predictions, strict=True) if p.get("score") is not None]
    y = [r["score"] for r, _ in scored]
    pred = [p["score"] for _, p in scored]
    crit = {}
    for c in CRITERIA:
        pairs = [(r["criteria"][c], p["criteria"][c]) for r, p in scored if p.get("criteria", {}).get(c) is not None]
        crit[c] = mae([a for a, _ in pairs], [b for _, b in pairs]) if pairs else None
    return _clean({
        "n": len(rows),
        "n_scored": len(scored),
        "abstention_rate": 1 - len(scored) / len(rows) if rows else None,
        "mae": mae(y, pred),
        "rmse": rmse(y, pred),
        "spearman": spearman(y, pred),
        "qwk": quadratic_weighted_kappa(y, pred) if scored else None,
        "criteria_mae": crit,
        "ranking": ranking_accuracy([r["question_id"] for r, _ in scored], y, pred),
        "latency": latency_stats([p["latency_s"] for p in predictions]),
        "calibration": calibration_table(y, pred),
    })  # fmt: skip


# ---------------------------------------------------------------- engines


class BaselineEngine:
    """Cosine(answer, ideal answer), mapped monotonically to 1-10 by isotonic regression fitted on train."""

    name = "baseline"

    def __init__(self, train_rows: list[dict]):
        from sklearn.isotonic import IsotonicRegression

        xs = [self._cosine(r) for r in _progress(train_rows, "baseline: fitting on train")]
        ys = [r["score"] for r in train_rows]
        self.iso = IsotonicRegression(y_min=1, y_max=10, out_of_bounds="clip").fit(xs, ys)
        self.details = {"description": self.__doc__, "fitted_on": "train", "train_rows": len(train_rows)}

    @staticmethod
    def _cosine(row: dict) -> float:
        from interviewmate.scoring import get_embedder, split_sentences

        emb = get_embedder()
        parts = [s.text for s in split_sentences(row["answer"])] or [row["answer"] or " "]
        ideal = [s.text for s in split_sentences(row["ideal_answer"])] or [row["ideal_answer"]]
        return float(emb.segments(parts, cache=False)[0] @ emb.segments(ideal)[0])

    def predict(self, row: dict) -> dict:
        t0 = time.perf_counter()
        score = int(np.clip(round(float(self.iso.predict([self._cosine(row)])[0])), 1, 10))
        return {"score": score, "criteria": {}, "latency_s": time.perf_counter() - t0}


class CoachEngine:
    """Any `Coach` (rubric, local, remote) behind the evaluation interface."""

    def __init__(self, coach, details: dict):
        self.coach, self.name, self.details = coach, coach.name, details
        self._items: dict[str, object] = {}

    def predict(self, row: dict) -> dict:
        from interviewmate.coach import question_bank

        item = question_bank([{**row, "answer": "", "follow_up": ""}])[0]
        item.reference_answers = []  # never let the coach see the graded answers it is being evaluated on
        t0 = time.perf_counter()
        grade = self.coach.grade(item, row["answer"])
        out = {"score": grade.score if grade.scored else None, "criteria": grade.criteria if grade.scored else {},
               "latency_s": time.perf_counter() - t0}  # fmt: skip
        if grade.rubric_score is not None:
            out["rubric_score"] = grade.rubric_score
        return out


def _progress(items, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="answer", leave=False)


def off_topic_rows(rows: list[dict], seed: int = 0) -> list[tuple[str, dict]]:
    """For each question of `rows`: the strong answer of another question of the same category and of a different
    category (both from `rows`), put under this question. Kinds "same_category" / "other_category"."""
    rng = np.random.default_rng(seed)
    questions = list({r["question_id"]: r for r in rows}.values())
    strong: dict[str, dict] = {}
    for r in rows:
        if r["score"] >= 8 and r["score"] > strong.get(r["question_id"], {}).get("score", 0):
            strong[r["question_id"]] = r
    out = []
    for q in questions:
        for kind, same in (("same_category", True), ("other_category", False)):
            donors = [s for qid, s in strong.items()
                      if qid != q["question_id"] and (s["category"] == q["category"]) == same]  # fmt: skip
            if donors:
                donor = donors[int(rng.integers(len(donors)))]
                out.append((kind, {**q, "id": f"{q['question_id']}<-{donor['id']}", "answer": donor["answer"]}))
    return out


OFF_TOPIC_LIMITS = {"same_category": 4, "other_category": 2}  # the anchors: near-topic 3-4, off-topic 1-2


def off_topic_metrics(kinds: list[str], predictions: list[dict]) -> dict:
    """Share of wrong-question answers scored at or below the anchor limit (an abstention counts as low)."""
    out = {}
    for kind, limit in OFF_TOPIC_LIMITS.items():
        scores = [p.get("score") for k, p in zip(kinds, predictions, strict=True) if k == kind]
        low = [s is None or s <= limit for s in scores]
        out[kind] = {"n": len(scores), "limit": limit, "share_at_or_below": float(np.mean(low)) if low else None,
                     "mean_score": float(np.mean([s for s in scores if s is not None])) if any(
                         s is not None for s in scores) else None}  # fmt: skip
    return _clean(out)


def evaluate_engine(engine, parts: dict[str, list[dict]], splits: Sequence[str] = EVAL_SPLITS) -> dict:
    out = {}
    for split in splits:
        rows = parts[split]
        predictions = [engine.predict(r) for r in _progress(rows, f"{engine.name}: {split}")]
        out[split] = metrics_for(rows, predictions)
        wrong = off_topic_rows(rows)
        off = [engine.predict(r) for _, r in _progress(wrong, f"{engine.name}: {split} off-topic")]
        out[split]["off_topic"] = off_topic_metrics([k for k, _ in wrong], off)
    return out


def summary_markdown(results: dict[str, dict], splits: Sequence[str]) -> str:
    lines = ["# Held-out evaluation", ""]
    for split in splits:
        header = (
            "| engine | n | MAE | RMSE | Spearman | QWK | pair acc. | fully ordered | abstained | p50 ms | p95 ms "
            "| off-topic same cat. <= 4 | off-topic other cat. <= 2 |"
        )
        lines += [f"## {split}", "", header, "|" + " --- |" * 13]
        for name, res in results.items():
            m = res["splits"].get(split)
            if not m:
                continue
            off = m.get("off_topic", {})
            f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
            lines.append(
                f"| {name} | {m['n']} | {f(m['mae'])} | {f(m['rmse'])} | {f(m['spearman'])} | {f(m['qwk'])} | "
                f"{f(m['ranking']['pair_accuracy'])} | {f(m['ranking']['questions_fully_ordered'])} | "
                f"{f(m['abstention_rate'])} | {f(m['latency']['p50_ms'], 1)} | {f(m['latency']['p95_ms'], 1)} | "
                f"{f(off.get('same_category', {}).get('share_at_or_below'))} | "
                f"{f(off.get('other_category', {}).get('share_at_or_below'))} |"
            )
        lines.append("")
    first = next(iter(results.values()), {})
    lines.append(f"Dataset sha256 `{first.get('dataset_sha256', '?')}`; command: `{first.get('command', '?')}`.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from interviewmate.dataset import DATASET_PATH, SPLITS_PATH, file_sha256, load_rows, load_splits, split_rows

    parser = argparse.ArgumentParser(prog="python -m interviewmate.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test,validation", help="comma-separated splits to evaluate")
    parser.add_argument("--engines", default="baseline,rubric", help="baseline,rubric,local,remote")
    parser.add_argument("--data", default=str(DATASET_PATH))
    parser.add_argument("--splits-file", default=str(SPLITS_PATH))
    parser.add_argument("--scorer", default=None, help="scorer file (default: the shipped interviewmate/scorer.json)")
    parser.add_argument("--base", help="base model for the local engine")
    parser.add_argument("--adapter", help="LoRA adapter folder for the local engine")
    parser.add_argument("--quantization", default="4bit")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--remote-url", help="OpenAI-compatible base URL for the remote engine")
    parser.add_argument("--remote-model", help="model name on the remote server")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N rows of each split")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    rows = load_rows(args.data)
    parts = split_rows(rows, load_splits(args.splits_file))
    if args.limit:
        parts = {k: v[: args.limit] for k, v in parts.items()}
    sha = file_sha256(args.data)
    command = "python -m interviewmate.evaluate " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    from interviewmate.scoring import Scorer

    scorer = Scorer.load(args.scorer)
    trained = scorer.params.get("trained_on", {})
    if trained.get("dataset_sha256") and trained["dataset_sha256"] != sha:
        logger.warning("the scorer was fitted on a different dataset version (sha256 %s...); refit it with "
                       "`python -m interviewmate.scoring fit`", trained["dataset_sha256"][:12])  # fmt: skip
    results: dict[str, dict] = {}
    for name in engines:
        builders: dict[str, Callable[[], object]] = {"baseline": lambda: BaselineEngine(parts["train"])}
        if name == "rubric":
            from interviewmate.coach import RubricCoach

            engine = CoachEngine(RubricCoach(scorer), {"scorer_file": str(args.scorer or "interviewmate/scorer.json"),
                                                       "model": scorer.params.get("model"),
                                                       "trained_on": trained})  # fmt: skip
        elif name == "local":
            if not args.base:
                logger.warning("skipping the local engine: give --base (and --adapter)")
                continue
            from interviewmate.coach import LocalLLMCoach

            coach = LocalLLMCoach.from_pretrained(args.base, args.adapter, args.quantization, scorer=scorer,
                                                  max_new_tokens=args.max_new_tokens)  # fmt: skip
            details = {"base": args.base, "adapter": args.adapter, "quantization": args.quantization}
            engine = CoachEngine(coach, details)
        elif name == "remote":
            if not (args.remote_url and args.remote_model):
                logger.warning("skipping the remote engine: give --remote-url and --remote-model")
                continue
            from interviewmate.coach import RemoteCoach

            engine = CoachEngine(RemoteCoach(args.remote_url, args.remote_model, scorer=scorer),
                                 {"url": args.remote_url, "model": args.remote_model})  # fmt: skip
        elif name in builders:
            engine = builders[name]()
        else:
            parser.error(f"unknown engine {name!r}")
        t0 = time.perf_counter()
        res = {
            "engine": name, "details": engine.details, "dataset": Path(args.data).name, "dataset_sha256": sha,
            "command": command, "splits": evaluate_engine(engine, parts, splits),
        }  # fmt: skip
        res["wall_s"] = round(time.perf_counter() - t0, 1)
        (out_dir / f"eval_{name}.json").write_text(json.dumps(res, indent=1) + "\n")
        results[name] = res
        for split in splits:
            m = res["splits"][split]
            print(f"{name:>9} {split:>10}: MAE {m['mae']} RMSE {m['rmse']} Spearman {m['spearman']} QWK {m['qwk']} "
                  f"pairs {m['ranking']['pair_accuracy']} fully-ordered {m['ranking']['questions_fully_ordered']} "
                  f"abstained {m['abstention_rate']} p95 {m['latency']['p95_ms']} ms off-topic "
                  f"{ {k: v['share_at_or_below'] for k, v in m['off_topic'].items()} }")  # fmt: skip
    (out_dir / "eval_summary.md").write_text(summary_markdown(results, splits))
    print(f"wrote {out_dir}/eval_*.json and eval_summary.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
