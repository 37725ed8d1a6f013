"""Metrics over the per-row score files of `score.py`, written as one results JSON (pure functions, no models).

    python scripts/nli_experiment/report.py --scores /work/nli/scores --models /work/nli/models \
        --out results/nli_experiment.json

AUC against SemEval's 2-way labels and against contrast kind (concise_strong = 1, polished_wrong = 0), Spearman
against the human score on the main validation rows; 95% intervals resample whole questions
(`interviewmate.metrics`). "rank_mean(a, b)" is the mean of the two signals' ranks within a set: a fixed,
unfitted way to ask whether P(correct) adds to a signal we already have.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from score import eval_rows  # noqa: E402

from data import source_commit  # noqa: E402
from interviewmate import metrics as M  # noqa: E402

SEMEVAL_SETS = ("sciEntsBank_unseen_questions", "sciEntsBank_unseen_domains", "beetle_unseen_questions")


def rank01(x) -> np.ndarray:
    from scipy.stats import rankdata

    return (rankdata(x) - 1) / max(1, len(x) - 1)


def with_ci(qids: list[str], y: np.ndarray, x: np.ndarray, metric) -> dict:
    value = metric(y, x)
    lo, hi = M.bootstrap(qids, lambda idx, _: metric(y[idx], x[idx]))
    return {"value": round(value, 4), "ci95": [round(lo, 4), round(hi, 4)]}


def versus(qids: list[str], y: np.ndarray, a: np.ndarray, b: np.ndarray, metric) -> dict:
    """a minus b on the same rows, with a 95% interval from resampling questions."""
    both = (a, b)
    d = M.paired_bootstrap(qids, lambda idx, _, k: metric(y[idx], both[k][idx]))
    return {"difference": round(d["difference"], 4), "ci95": [round(v, 4) for v in d["ci95"]]}


def set_metrics(rows: list[dict], signals: dict[str, np.ndarray], label_of, metric, reference: str) -> dict:
    qids = [r["question_id"] for r in rows]
    y = np.array([label_of(r) for r in rows], float)
    out = {"n": len(rows), "questions": len(set(qids))}
    for name, x in signals.items():
        if np.isnan(x).all():
            continue
        m = with_ci(qids, y, x, metric)
        if reference in signals and name != reference:
            m["minus_" + reference] = versus(qids, y, x, signals[reference], metric)
        out[name] = m
    return out


def kind_means(rows: list[dict], signals: dict[str, np.ndarray]) -> dict:
    kinds = np.array([r["kind"] for r in rows])
    return {
        name: {k: round(float(np.nanmean(x[kinds == k])), 4) for k in ("concise_strong", "polished_wrong")}
        for name, x in signals.items()
    }


def length_residual(x: np.ndarray, words: np.ndarray) -> np.ndarray:
    """x with its linear dependence on log word count removed (no labels used): contrast kinds differ in length
    (concise_strong is short), so a signal that only tracks length would otherwise look like a correctness signal."""
    a = np.c_[np.ones(len(words)), np.log(words)]
    coef, *_ = np.linalg.lstsq(a, x, rcond=None)
    return x - a @ coef


def signals_for(set_name: str, base: dict, model: dict, rows: list[dict]) -> dict[str, np.ndarray]:
    """The baseline signals, the model's signals, and the fixed combinations of the two."""
    sig = {k: np.asarray(v, float) for k, v in base.get(set_name, {}).items() if not k.startswith("_")}
    if not set_name.startswith(SEMEVAL_SETS):
        sig["answer_words"] = np.array([len(r["answer"].split()) for r in rows], float)
    main = "p_first" if set_name in SEMEVAL_SETS else "p_sent_max"
    for k, v in model.get(set_name, {}).items():
        if k.startswith("c_"):  # P(contradiction) is a wrongness signal: negated so that higher reads "correct"
            sig["-" + k] = -np.asarray(v, float)
        elif not k.startswith("_"):
            sig[k] = np.asarray(v, float)
    if main in sig:
        for b in ("cosine", "scorer_raw", "scorer_content"):
            if b in sig:
                sig[f"rank_mean({b}, {main})"] = (rank01(sig[b]) + rank01(sig[main])) / 2
    if "answer_words" in sig:
        words = sig["answer_words"]
        for k in [k for k in sig if k != "answer_words" and not k.startswith("rank_mean")]:
            sig[f"{k}|length_residual"] = length_residual(sig[k], words)
    return sig


def dir_mb(path: Path, pattern: str = "*") -> float:
    return round(sum(f.stat().st_size for f in path.glob(pattern) if f.is_file()) / 1e6, 2)


def lora_size(path: Path) -> dict:
    """Size of a LoRA adapter folder (it is independent of how long the adapter was trained)."""
    if not (path / "adapter_config.json").exists():
        return {}
    cfg = json.loads((path / "adapter_config.json").read_text())
    train = json.loads((path / "train_results.json").read_text())
    return {
        "rank": cfg["r"],
        "target_modules": sorted(cfg["target_modules"]),
        "modules_to_save": cfg["modules_to_save"],
        "trainable_parameters": train["trainable_parameters"],
        "adapter_safetensors_mb_fp32": dir_mb(path, "adapter_model.safetensors"),
        "trained": f"{train['steps']} steps only (a size check; its quality was not measured)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scores", default="/work/nli/scores")
    parser.add_argument("--models", default="/work/nli/models")
    parser.add_argument("--semeval_root", default="/work/ext/score-freetext-answer")
    parser.add_argument("--esnli_mirror", default="/work/.mirror/OanaMariaCamburu+e-SNLI/repo")
    parser.add_argument("--scorer_file", default="/work/nli/scorer_snapshot.json", help="what baselines.json used")
    parser.add_argument("--lora_dir", default="/work/nli/models/lora_r8_smoke", help="an adapter, for its size")
    parser.add_argument("--notes", default=str(Path(__file__).with_name("decision.json")))
    parser.add_argument("--out", default="results/nli_experiment.json")
    args = parser.parse_args()

    sets = eval_rows(args.semeval_root)
    base = json.loads((Path(args.scores) / "baselines.json").read_text())
    result: dict = {
        "data_sources": {
            "semeval2013_task7": {
                "repo": "leocomelli/score-freetext-answer",
                "commit": source_commit(args.semeval_root),
                "train": "training/2way/{sciEntsBank,beetle}",
                "test": list(SEMEVAL_SETS),
            },
            "esnli": {
                "repo": "OanaMariaCamburu/e-SNLI",
                "commit": source_commit(args.esnli_mirror),
                "files": "dataset/eSNLI/{s1,s2,labels}.{dev,test} (the esnli_*.csv blobs are absent from the copy)",
            },
            "interviewmate": "data/contrast_qa.jsonl and data/interview_qa.jsonl, validation questions of splits.json",
        },
        "baseline_scorer": {
            "what": "the working-tree interviewmate.scoring.Scorer with a scorer file fitted by another session",
            "file_sha256": hashlib.sha256(Path(args.scorer_file).read_bytes()).hexdigest(),
            "main_repo_head": source_commit(Path(__file__).resolve().parents[2]),
        },
        "lora_adapter": lora_size(Path(args.lora_dir)),
        "baselines_wall_s": {k: v["_wall_s"] for k, v in base.items() if isinstance(v, dict) and "_wall_s" in v},
        "models": {},
    }
    for f in sorted(Path(args.scores).glob("*.json")):
        if f.stem == "baselines":
            continue
        model = json.loads(f.read_text())
        mdir = Path(model["_source"])
        train = json.loads((mdir / "train_results.json").read_text()) if (mdir / "train_results.json").exists() else {}
        entry = {
            "path": str(mdir),
            "training": {k: train.get(k) for k in ("args", "pairs", "steps", "trainable_parameters", "train_wall_s")},
            "final_loss": (train.get("loss_log") or [{}])[-1].get("loss"),
            "artefact_mb": {"safetensors": dir_mb(mdir, "*.safetensors"), "folder": dir_mb(mdir)},
            "esnli_heldout_3way": model.get("_esnli_heldout"),
            "latency_per_answer_1_thread": model["_latency"],
            "scoring_wall_s": {k: v["_wall_s"] for k, v in model.items() if isinstance(v, dict) and "_wall_s" in v},
            "semeval_auc": {},
        }
        for name in SEMEVAL_SETS:
            sig = signals_for(name, base, model, sets[name])
            entry["semeval_auc"][name] = set_metrics(sets[name], sig, lambda r: r["label"], M.auc, "cosine")
        rows = sets["contrast_validation"]
        sig = signals_for("contrast_validation", base, model, rows)
        entry["contrast_validation_auc"] = set_metrics(
            rows, sig, lambda r: r["kind"] == "concise_strong", M.auc, "cosine"
        )
        entry["contrast_validation_means"] = kind_means(rows, sig)
        rows = sets["main_validation"]
        sig = signals_for("main_validation", base, model, rows)
        entry["main_validation_spearman"] = set_metrics(rows, sig, lambda r: r["score"], M.spearman, "cosine")
        result["models"][f.stem] = entry
    result["settings"] = {
        "torch_threads": 1,
        "cpu": f"{os.cpu_count()} cores shared with other sessions' work (load averages recorded with latency)",
        "p_correct": "softmax index 0 (entailment) of the 3-way head; SemEval training uses a binary loss on it",
        "semeval_premise": "p_first: the first reference answer (as interviewmate.evaluate); p_maxref: max over all",
        "interview_premises": {
            "p_sent_max / p_sent_mean": "each ideal-answer sentence as premise, whole answer as hypothesis (256 tok)",
            "p_whole": "whole ideal answer as premise, answer as hypothesis (512 tokens)",
            "p_kp_mean": "each key point as premise, the answer as hypothesis, mean",
            "p_claims_min / p_claims_mean": "each answer sentence's best P(entail) over ideal sentences; min / mean",
            "-c_*": "minus P(contradiction) (index 2) of the same designs (max over pairs), so higher reads correct",
        },
        "bootstrap": f"{M.N_BOOT} resamples of whole questions, 95% percentile intervals",
    }
    notes = Path(args.notes)
    if notes.exists():
        result["decision"] = json.loads(notes.read_text())
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
