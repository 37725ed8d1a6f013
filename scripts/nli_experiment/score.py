"""Score every evaluation row with one signal source and save the raw per-row values (no metrics here).

Sources: a trained cross-encoder (`--model DIR`, a full model or a LoRA adapter; P(correct) = softmax index 0,
P(contradiction) = index 2), or `--baselines` (MiniLM cosine of answer and reference, and the working-tree
`interviewmate.scoring.Scorer`'s raw score and content sub-score). Rows: the three unseen SemEval-2013 test
sets, and InterviewMate's validation questions (contrast kinds polished_wrong / concise_strong, main set).
`report.py` turns the saved files into metrics.

    python scripts/nli_experiment/score.py --model /work/nli/models/nli_semeval --out /work/nli/scores/nli_semeval.json
    python scripts/nli_experiment/score.py --baselines --out /work/nli/scores/baselines.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from data import SEMEVAL_TEST, interviewmate_rows, load_semeval  # noqa: E402

CONTRAST_KINDS = ("polished_wrong", "concise_strong")
PAIR_MAX_LENGTH = 256  # an interview answer runs to ~150 tokens; 128 (training) would cut half of it
WHOLE_MAX_LENGTH = 512  # the whole ideal answer plus the answer


def eval_rows(semeval_root: str, with_train_contrast: bool = False) -> dict[str, list[dict]]:
    sets = load_semeval(semeval_root, SEMEVAL_TEST)
    for split in ("validation", "train") if with_train_contrast else ("validation",):
        rows = interviewmate_rows("contrast_qa.jsonl", split)
        sets[f"contrast_{split}"] = [r for r in rows if r["kind"] in CONTRAST_KINDS]
    sets["main_validation"] = interviewmate_rows("interview_qa.jsonl", "validation")
    return sets


class CrossEncoder:
    """(premise, hypothesis) -> [P(entailment), P(neutral), P(contradiction)], batched by length."""

    def __init__(self, path: str):
        import torch
        from train import load_model
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if (Path(path) / "adapter_config.json").exists():
            self.tok, model = load_model(path, 0)
            model = model.merge_and_unload()  # one set of weights: no adapter overhead per call
        else:
            self.tok = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSequenceClassification.from_pretrained(path)
        self.model, self.torch = model.eval(), torch

    def probs(self, pairs: list[tuple[str, str]], max_length: int = PAIR_MAX_LENGTH, batch: int = 16) -> np.ndarray:
        torch = self.torch
        out = np.zeros((len(pairs), 3), np.float32)
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            enc = self.tok(
                [pairs[i][0] for i in idx],
                [pairs[i][1] or " " for i in idx],
                truncation="longest_first",
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            with torch.inference_mode():
                out[idx] = torch.softmax(self.model(**enc).logits.float(), -1).numpy()
        return out


def sentences(text: str) -> list[str]:
    from interviewmate.scoring import split_sentences

    return [s.text for s in split_sentences(text)] or [text]


def interview_signals(ce: CrossEncoder, r: dict, claims_design: bool) -> dict[str, float]:
    """Every premise design for one interview answer (the answer, or each of its sentences, is the hypothesis).
    The claims design (answer sentence x ideal sentence, ~50 pairs) is the costly one: contrast rows only."""
    ideal, kps, answer = sentences(r["ideal_answer"]), list(r["key_points"]), r["answer"]
    claims = sentences(answer)
    p_sent = ce.probs([(s, answer) for s in ideal])
    p_whole = ce.probs([(r["ideal_answer"], answer)], max_length=WHOLE_MAX_LENGTH)[0]
    p_kp = ce.probs([(k, answer) for k in kps]) if kps else np.full((1, 3), np.nan)
    out = {
        "p_sent_max": float(p_sent[:, 0].max()),
        "p_sent_mean": float(p_sent[:, 0].mean()),
        "p_whole": float(p_whole[0]),
        "p_kp_mean": float(p_kp[:, 0].mean()),
        "c_sent_max": float(p_sent[:, 2].max()),
        "c_whole": float(p_whole[2]),
    }
    if claims_design:  # each answer sentence against each ideal sentence; its best match is its support
        p_claim = ce.probs([(s, c) for c in claims for s in ideal]).reshape(len(claims), len(ideal), 3)
        support = p_claim[:, :, 0].max(1)
        out |= {
            "p_claims_min": float(support.min()),
            "p_claims_mean": float(support.mean()),
            "c_claims_max": float(p_claim[:, :, 2].max()),
        }
    return out


def score_model(path: str, sets: dict[str, list[dict]]) -> dict:
    ce = CrossEncoder(path)
    out: dict = {}
    for name, rows in sets.items():
        t0 = time.perf_counter()
        if name.startswith(("sciEntsBank", "beetle")):
            flat = [(ref, r["answer"]) for r in rows for ref in r["references"]]
            every, pos, first, maxref = ce.probs(flat, max_length=128), 0, [], []
            for r in rows:
                first.append(every[pos])
                maxref.append(float(every[pos : pos + len(r["references"]), 0].max()))
                pos += len(r["references"])
            first = np.array(first)
            out[name] = {"p_first": first[:, 0].tolist(), "c_first": first[:, 2].tolist(), "p_maxref": maxref}
        else:
            per_row = [interview_signals(ce, r, name.startswith("contrast")) for r in rows]
            out[name] = {k: [s[k] for s in per_row] for k in per_row[0]}
        out[name]["_wall_s"] = round(time.perf_counter() - t0, 1)
        print(name, out[name]["_wall_s"], "s", flush=True)
    out["_esnli_heldout"] = esnli_heldout_accuracy(ce)
    out["_latency"] = latency(ce, sets["main_validation"][:20])
    return out


def esnli_heldout_accuracy(ce: CrossEncoder, n: int = 1000, seed: int = 0, train_limit: int = 8000) -> dict:
    """3-way accuracy on e-SNLI pairs that Step A (`--limit 8000 --seed 0`) did not sample."""
    import random

    from data import load_esnli

    pairs = load_esnli("/work/nli/data")
    seen = set(random.Random(seed).sample(range(len(pairs)), train_limit))  # the same draw as train.py's
    rest = [p for i, p in enumerate(pairs) if i not in seen][:n]
    pred = ce.probs([(p["premise"], p["hypothesis"]) for p in rest], max_length=128).argmax(1)
    return {"n": len(rest), "accuracy": round(float(np.mean(pred == [p["label"] for p in rest])), 4)}


def latency(ce: CrossEncoder, rows: list[dict]) -> dict:
    """ms per answer for each premise design, one answer at a time as the app grades: wall time, and this
    process's CPU time, which is what one uncontended thread would take (the machine is shared)."""
    designs = {
        "semeval_one_pair_128": lambda r: ce.probs([(sentences(r["ideal_answer"])[0], r["answer"])], max_length=128),
        "one_pair_256": lambda r: ce.probs([(sentences(r["ideal_answer"])[0], r["answer"])]),
        "sent_max": lambda r: ce.probs([(s, r["answer"]) for s in sentences(r["ideal_answer"])]),
        "whole_512": lambda r: ce.probs([(r["ideal_answer"], r["answer"])], max_length=WHOLE_MAX_LENGTH),
        "kp_mean": lambda r: ce.probs([(k, r["answer"]) for k in r["key_points"]]),
        "claims": lambda r: ce.probs(
            [(s, c) for c in sentences(r["answer"]) for s in sentences(r["ideal_answer"])], batch=32
        ),
    }
    out = {"load_avg_1min_before": os.getloadavg()[0]}
    for name, fn in designs.items():
        fn(rows[0])  # warm-up
        wall, cpu = [], []
        for r in rows:
            t0, c0 = time.perf_counter(), time.process_time()
            fn(r)
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        out[name] = {
            f"{kind}_{q}_ms": round(float(np.percentile(v, q)), 1)
            for kind, v in (("wall", wall), ("cpu", cpu))
            for q in (50, 95)
        }
    out["load_avg_1min_after"] = os.getloadavg()[0]
    return out


def score_baselines(sets: dict[str, list[dict]], scorer_file: str | None) -> dict:
    from functools import lru_cache

    from interviewmate.questions import Question
    from interviewmate.scoring import Scorer, ScorerFileError, get_embedder

    emb, out = get_embedder(), {}
    try:
        scorer = Scorer.load(scorer_file)
    except ScorerFileError as e:  # the cosine baseline still runs; the file says why the scorer did not
        scorer, out["_scorer_error"] = None, str(e)
    ref_vec = lru_cache(maxsize=None)(lambda text: emb.embed_text(text).whole)
    for name, rows in sets.items():
        t0 = time.perf_counter()
        semeval = name.startswith(("sciEntsBank", "beetle"))
        sig: dict[str, list[float]] = {"cosine": [], "scorer_raw": [], "scorer_content": []}
        for r in rows:
            ref = r["references"][0] if semeval else r["ideal_answer"]
            sig["cosine"].append(float(emb.embed_text(r["answer"] or " ").whole @ ref_vec(ref)))
            if scorer is None:
                continue
            if semeval:  # as interviewmate.evaluate's outside check: a technical question, no key points
                q = Question(r["question_id"], r["question"], "technical", ideal_answer=ref)
            else:
                q = Question.from_row(r)
            g = scorer.score(r["answer"], q)
            sig["scorer_raw"].append(g.raw if g.scored else 0.0)  # a refusal ranks lowest
            sig["scorer_content"].append(g.content if g.scored else 0.0)
        out[name] = {k: v for k, v in sig.items() if v}
        out[name]["_wall_s"] = round(time.perf_counter() - t0, 1)
        print(name, out[name]["_wall_s"], "s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a saved cross-encoder or LoRA adapter folder")
    parser.add_argument("--baselines", action="store_true", help="MiniLM cosine and the working-tree scorer")
    parser.add_argument("--scorer_file", help="a scorer JSON (default: the shipped interviewmate/scorer.json)")
    parser.add_argument("--with_train_contrast", action="store_true", help="also the contrast rows of train questions")
    parser.add_argument("--semeval_root", default="/work/ext/score-freetext-answer")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(1)
    sets = eval_rows(args.semeval_root, args.with_train_contrast)
    result = score_baselines(sets, args.scorer_file) if args.baselines else score_model(args.model, sets)
    result["_source"] = "baselines" if args.baselines else args.model
    result["_torch_threads"] = torch.get_num_threads()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
