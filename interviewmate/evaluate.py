"""Evaluation that tells the truth: every grader on held-out questions, with 95% intervals from resampling by
question, beside the baselines, plus the contrast answers, the stress set and (given a path) outside data.

    python -m interviewmate.evaluate                                  # baselines + rubric: validation and test
    python -m interviewmate.evaluate --semeval ../score-freetext-answer  # + the outside check (SemEval-2013)
    python -m interviewmate.evaluate --engines local --base models/smollm2-135m-instruct \
        --adapter adapters/smollm2-135m-interviewmate --limit-questions 29   # a language model

Graders: `median` (the train median), `length` (a depth-3 tree on word count, fitted on train), `cosine`
(MiniLM cosine of answer and ideal answer, mapped monotonically to 1-10 on train), `rubric` (the scorer file
through the rubric coach), `local` / `remote` (language models, `EngineConfig`). Nothing here is fitted on
validation or test; the outside data is never fitted on at all.
Writes `results/eval_<grader>.json` (metrics, intervals, breakdowns, per-answer predictions), and for the
rubric grader `results/eval_stress.json`, `results/eval_outside.json` (with --semeval), `results/eval_summary.md`.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from interviewmate import metrics as M
from interviewmate.questions import Question
from interviewmate.rubric import CONTRAST_KINDS, CRITERIA, quality_tier

logger = logging.getLogger(__name__)

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
SEMEVAL_SETS = {  # SemEval-2013 Task 7, 2-way labels: the test sets whose questions or domains were never seen
    "sciEntsBank_unseen_questions": "test/2way/sciEntsBank/test-unseen-questions",
    "sciEntsBank_unseen_domains": "test/2way/sciEntsBank/test-unseen-domains",
    "beetle_unseen_questions": "test/2way/beetle/test-unseen-questions",
}
SEMEVAL_SUBDIR = "src/main/resources/corpus/semeval2013-task7"
TARGETS = {
    "test_mae": 1.0,
    "test_spearman": 0.80,
    "test_pair_accuracy": 0.95,
    "no_reference_spearman": 0.70,
    "no_reference_mean_gap": 0.5,
    "stress_mean": 3.0,
    "other_question_mean": 4.0,
    "latency_p95_ms": 50.0,
}


# ---------------------------------------------------------------- graders


class Grader:
    """predict(answer, question) -> {"score": int|None, "raw": float|None, ...}."""

    name = "grader"
    details: dict = {}

    def predict(self, answer: str, question: Question) -> dict:
        raise NotImplementedError


class MedianGrader(Grader):
    """The train median for every answer: what a grader that knows only the scale's centre gets."""

    name = "median"

    def __init__(self, train_rows: list[dict]):
        self.value = int(np.median([r["score"] for r in train_rows]))
        self.details = {"description": self.__doc__, "value": self.value}

    def predict(self, answer: str, question: Question) -> dict:
        return {"score": self.value, "raw": float(self.value)}


class LengthGrader(Grader):
    """A depth-3 regression tree on the answer's word count, fitted on train (length is U-shaped in our data)."""

    name = "length"

    def __init__(self, train_rows: list[dict]):
        from sklearn.tree import DecisionTreeRegressor

        x = [[len(r["answer"].split())] for r in train_rows]
        self.tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x, [r["score"] for r in train_rows])
        self.details = {"description": self.__doc__, "fitted_on": "train"}

    def predict(self, answer: str, question: Question) -> dict:
        raw = float(self.tree.predict([[len(answer.split())]])[0])
        return {"score": int(np.clip(round(raw), 1, 10)), "raw": raw}


class CosineGrader(Grader):
    """MiniLM cosine of the answer and the ideal answer (whole texts as the mean of their sentences), mapped to
    1-10 by an isotonic curve fitted on train. Without an ideal answer, the question stands in for it."""

    name = "cosine"

    def __init__(self, train_rows: list[dict]):
        from sklearn.isotonic import IsotonicRegression

        x = [self.cosine(r["answer"], Question.from_row(r)) for r in train_rows]
        self.iso = IsotonicRegression(y_min=1, y_max=10, out_of_bounds="clip").fit(x, [r["score"] for r in train_rows])
        self.details = {"description": self.__doc__, "fitted_on": "train"}

    @staticmethod
    def cosine(answer: str, question: Question) -> float:
        from interviewmate.scoring import get_embedder, reference

        ref = reference(question.text, question.ideal_answer, ())
        target = ref.ideal.whole if ref.ideal is not None else ref.question
        return float(get_embedder().embed_text(answer or " ").whole @ target)

    def predict(self, answer: str, question: Question) -> dict:
        raw = self.cosine(answer, question)
        return {"score": int(np.clip(round(float(self.iso.predict([raw])[0])), 1, 10)), "raw": raw}


class CoachGrader(Grader):
    """Any `Coach` (rubric, local, remote) behind the evaluation interface."""

    def __init__(self, coach, details: dict):
        self.coach, self.name, self.details = coach, coach.name, details

    def predict(self, answer: str, question: Question) -> dict:
        t0 = time.perf_counter()
        g = self.coach.grade(question, answer)
        out = {
            "score": g.score if g.scored else None,
            "criteria": g.criteria if g.scored else {},
            "latency_s": time.perf_counter() - t0,
            "follow_up": g.follow_up,
            "flags": g.flags,
            "band": list(g.band) if g.band else None,
            "content": g.content,
            "delivery": g.delivery,
        }
        out["raw"] = None  # a language model's grade is an integer: it has no finer score to rank ties by
        if g.rubric_score is not None:
            out["rubric_score"] = g.rubric_score
        if not g.scored:
            out["reason"] = g.reason
        return out


class ScorerGrader(Grader):
    """The scorer itself (raw continuous score, for ranking metrics; same integers as the rubric coach)."""

    name = "rubric"

    def __init__(self, scorer, details: dict):
        from interviewmate.coach import RubricCoach

        self.scorer, self.details, self.coach = scorer, details, RubricCoach(scorer)

    def predict(self, answer: str, question: Question) -> dict:
        t0 = time.perf_counter()
        res = self.scorer.score(answer, question)
        latency = time.perf_counter() - t0
        if not res.scored:
            return {"score": None, "raw": None, "reason": res.reason, "latency_s": latency}
        grade = self.coach.grade_from(res, question, answer, t0)
        return {
            "score": res.score,
            "raw": res.raw,
            "criteria": res.criteria,
            "latency_s": latency,
            "content": res.content,
            "delivery": res.delivery,
            "band": list(res.band),
            "flags": res.flags,
            "mode": res.mode,
            "follow_up": grade.follow_up,
        }


# ---------------------------------------------------------------- metrics of one set of predictions


def _clean(x):
    if isinstance(x, float | np.floating):
        return None if not np.isfinite(x) else round(float(x), 4)
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    return x


def metrics_for(rows: list[dict], preds: list[dict], with_intervals: bool = True) -> dict:
    """Main metrics on the answers the grader scored (abstentions counted apart), with 95% intervals."""
    keep = [i for i, p in enumerate(preds) if p.get("score") is not None]
    y = np.array([rows[i]["score"] for i in keep], float)
    s = np.array([preds[i]["score"] for i in keep], float)
    raw = np.array([preds[i]["raw"] if preds[i].get("raw") is not None else preds[i]["score"] for i in keep], float)
    q = [rows[i]["question_id"] for i in keep]
    out: dict = {
        "n": len(rows),
        "n_scored": len(keep),
        "abstention_rate": 1 - len(keep) / len(rows) if rows else None,
        "mean_true": float(y.mean()) if len(y) else None,
        "mean_pred": float(s.mean()) if len(s) else None,
        "latency": M.latency_ms([p["latency_s"] for p in preds if "latency_s" in p]),
    }
    if not len(keep):  # nothing parsed into a grade: the counts and the time it took, no error measures
        return _clean(out)
    for name, fn, pred in (
        ("mae", M.mae, s),
        ("rmse", M.rmse, s),
        ("spearman", M.spearman, raw),
        ("qwk", M.quadratic_weighted_kappa, s),
        ("pair_accuracy", M.pair_accuracy, raw),
    ):
        out[name] = M.with_interval(q, y, pred, fn) if with_intervals else {"value": _value(fn, q, y, pred)}
    out["questions_fully_ordered"] = M.questions_fully_ordered(q, y, raw)
    crit = {}
    for c in CRITERIA:
        pairs = [
            (rows[i]["criteria"][c], preds[i]["criteria"][c]) for i in keep if preds[i].get("criteria", {}).get(c)
        ]
        crit[c] = M.mae([a for a, _ in pairs], [b for _, b in pairs]) if pairs else None
    out["criteria_mae"] = crit
    out["calibration"] = M.calibration_table(y, s)
    return _clean(out)


def _value(fn, q, y, p) -> float:
    return fn(q, y, p) if fn in (M.pair_accuracy, M.questions_fully_ordered) else fn(y, p)


def breakdowns(rows: list[dict], preds: list[dict]) -> dict:
    """By category, difficulty and quality tier; a tier confusion matrix; bias by tier; likely-range coverage."""
    keep = [i for i, p in enumerate(preds) if p.get("score") is not None]
    out: dict = {}
    for key in ("category", "difficulty"):
        groups: dict[str, list[int]] = defaultdict(list)
        for i in keep:
            groups[rows[i][key]].append(i)
        out[f"by_{key}"] = {
            g: {
                "n": len(idx),
                "mae": M.mae([rows[i]["score"] for i in idx], [preds[i]["score"] for i in idx]),
                "bias": float(np.mean([preds[i]["score"] - rows[i]["score"] for i in idx])),
            }
            for g, idx in sorted(groups.items())
        }
    tiers = ("weak", "middling", "strong")
    confusion = {t: {u: 0 for u in tiers} for t in tiers}
    bias: dict[str, list[float]] = defaultdict(list)
    for i in keep:
        t, u = quality_tier(rows[i]["score"]), quality_tier(preds[i]["score"])
        confusion[t][u] += 1
        bias[t].append(preds[i]["score"] - rows[i]["score"])
    out["tier_confusion"] = confusion  # rows: human tier, columns: predicted tier
    out["bias_by_tier"] = {t: float(np.mean(v)) for t, v in bias.items()}
    banded = [i for i in keep if preds[i].get("band")]
    if banded:
        inside = [preds[i]["band"][0] <= rows[i]["score"] <= preds[i]["band"][1] for i in banded]
        out["band_coverage"] = {
            "n": len(banded),
            "share_inside": float(np.mean(inside)),
            "mean_width": float(np.mean([preds[i]["band"][1] - preds[i]["band"][0] + 1 for i in banded])),
        }
    return _clean(out)


def predictions(grader: Grader, rows: list[dict], question_of=Question.from_row, desc: str = "") -> list[dict]:
    from tqdm import tqdm

    return [
        grader.predict(r["answer"], question_of(r))
        for r in tqdm(rows, desc=desc or grader.name, leave=False, unit="answer")
    ]


def row_records(rows: list[dict], preds: list[dict]) -> list[dict]:
    """Per-answer predictions (for error analysis in the report)."""
    keys = ("score", "raw", "criteria", "content", "delivery", "band", "flags", "reason", "follow_up")
    return [
        _clean(
            {
                "id": r["id"],
                "question_id": r["question_id"],
                "category": r["category"],
                "true": r["score"],
                **{k: p.get(k) for k in keys if k in p},
            }
        )
        for r, p in zip(rows, preds, strict=True)
    ]


def follow_up_refers(follow_up: str, answer: str, question: str) -> dict:
    """Whether a follow-up question is about the candidate's answer, not only the question: it quotes a phrase of
    the answer, or names a word the answer used and the question did not; plus the embedding margin
    cos(follow-up, answer) - cos(follow-up, question)."""
    from interviewmate.scoring import get_embedder
    from interviewmate.scoring.text import content_words

    if not follow_up.strip():
        return {"refers": False, "quotes": False, "names": False, "margin": None}
    quoted = [q.strip(" .,\u2026") for q in re.findall(r"[\u201c\"]([^\u201d\"]{4,})[\u201d\"]", follow_up)]
    quotes = any(q and q.lower() in answer.lower() for q in quoted)
    own = set(content_words(answer)) - set(content_words(question))
    names = bool(set(content_words(re.sub(r"[\u201c\"][^\u201d\"]*[\u201d\"]", " ", follow_up))) & own)
    emb = get_embedder()
    f, a, q = emb.encode([follow_up, answer, question])
    return {"refers": quotes or names, "quotes": quotes, "names": names, "margin": float(f @ a - f @ q)}


def follow_up_metrics(rows: list[dict], preds: list[dict]) -> dict:
    """Share of follow-ups that refer to the answer (quote it or name what it said), and the embedding margin."""
    checks = [follow_up_refers(p.get("follow_up") or "", r["answer"], r["question"])
              for r, p in zip(rows, preds, strict=True) if p.get("score") is not None]  # fmt: skip
    if not checks:
        return {}
    margins = [c["margin"] for c in checks if c["margin"] is not None]
    return _clean({"n": len(checks), "share_refers_to_answer": float(np.mean([c["refers"] for c in checks])),
                   "share_quotes_answer": float(np.mean([c["quotes"] for c in checks])),
                   "share_empty": float(np.mean([c["margin"] is None for c in checks])),
                   "mean_margin_answer_vs_question": float(np.mean(margins)) if margins else None})  # fmt: skip


def follow_up_examples(rows: list[dict], preds_by_grader: dict[str, list[dict]], n: int = 10) -> str:
    """Markdown: the same held-out answers with each grader's follow-up side by side."""
    from interviewmate.render import escape

    step = max(1, len(rows) // n)
    picked = list(range(0, len(rows), step))[:n]
    lines = ["# Follow-up questions on held-out test answers", "",
             "Each grader's follow-up to the same answer: it should ask about what the candidate said.", ""]
    for k, i in enumerate(picked, 1):
        r = rows[i]
        excerpt = " ".join(r["answer"].split()[:60]) + (" …" if len(r["answer"].split()) > 60 else "")
        lines += [f"## {k}. {escape(r['question'])}", "", f"*Answer ({r['id']}, human score {r['score']}):* "
                  f"{escape(excerpt)}", ""]  # fmt: skip
        for grader, preds in preds_by_grader.items():
            fu = preds[i].get("follow_up") or ("(not scored)" if preds[i].get("score") is None else "(none)")
            lines.append(f"- **{grader}**: {escape(fu)}")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- the parts of an evaluation


def evaluate_split(grader: Grader, rows: list[dict], contrast: list[dict], main_rows: list[dict], split: str) -> dict:
    preds = predictions(grader, rows, desc=f"{grader.name}: {split}")
    out = {"main": metrics_for(rows, preds), "breakdowns": breakdowns(rows, preds), "rows": row_records(rows, preds)}
    if any(p.get("follow_up") for p in preds):
        out["follow_ups"] = follow_up_metrics(rows, preds)
    if isinstance(grader, ScorerGrader | CosineGrader):  # graders that can run without an ideal answer
        nr = predictions(grader, rows, lambda r: Question.from_row(r).without_reference(), f"{grader.name}: no ref")
        m = metrics_for(rows, nr)
        m["mean_gap_to_reference"] = _clean(abs((m.get("mean_pred") or 0) - (out["main"].get("mean_pred") or 0)))
        out["no_reference"] = m
    out["contrast"] = evaluate_contrast(grader, contrast, main_rows)
    return out


def contrast_question(row: dict, main_rows: list[dict], app: bool = False) -> Question:
    """The question a contrast row answers. A follow-up answer is graded as the app grades it (`app`: its
    follow-up question and the answer it follows up on, no reference) or with its written reference."""
    from interviewmate.scoring.fit import contrast_question as cq

    q = cq(row, main_rows)
    return q.without_reference() if app else q


def evaluate_contrast(grader: Grader, contrast: list[dict], main_rows: list[dict]) -> dict:
    """Each kind of contrast answer: score distribution and MAE; follow-up answers also as the app grades them."""
    out = {}
    for kind in CONTRAST_KINDS:
        rows = [r for r in contrast if r["kind"] == kind]
        if not rows:
            continue
        variants = {"with_reference": False} | ({"as_in_app": True} if kind == "follow_up_answer" else {})
        out[kind] = {}
        for label, app in variants.items():
            preds = predictions(grader, rows, lambda r, app=app: contrast_question(r, main_rows, app), f"{kind}")
            scored = [(r["score"], p["score"]) for r, p in zip(rows, preds, strict=True) if p.get("score") is not None]
            m = {
                "n": len(rows),
                "n_scored": len(scored),
                "mean_true": float(np.mean([r["score"] for r in rows])),
                "mean_pred": float(np.mean([b for _, b in scored])) if scored else None,
                "mae": M.mae([a for a, _ in scored], [b for _, b in scored]) if scored else None,
                "pred_histogram": {str(k): int(sum(b == k for _, b in scored)) for k in range(1, 11)},
            }
            if kind == "follow_up_answer" and scored:  # on the scored answers, by raw score where there is one
                keep = [(r, p) for r, p in zip(rows, preds, strict=True) if p.get("score") is not None]
                y = [r["score"] for r, _ in keep]
                raw = [p["raw"] if p.get("raw") is not None else p["score"] for _, p in keep]
                m["spearman"] = M.spearman(y, raw)
                m["pair_accuracy"] = M.pair_accuracy([r["source_id"] for r, _ in keep], y, raw)
            out[kind][label] = _clean(m)
    return out


def evaluate_stress(grader: Grader, rows: list[dict], question_ids: set[str]) -> dict:
    """Each stress family's scores (an abstention counts as 1) and, for paired families, the change."""
    from interviewmate import stress

    items = stress.build(rows, question_ids)
    fam: dict[str, dict] = defaultdict(lambda: {"scores": [], "changes": [], "examples": []})
    for r in _progress(items, f"{grader.name}: stress"):
        q = Question.from_row(r)
        p = grader.predict(r["answer"], q)
        v = p["score"] if p.get("score") is not None else 1
        f = fam[r["family"]]
        f["scores"].append(v)
        if "base_answer" in r:
            b = grader.predict(r["base_answer"], q)
            f["changes"].append(v - (b["score"] if b.get("score") is not None else 1))
        if len(f["examples"]) < 2:
            f["examples"].append(
                {
                    "question": r["question"],
                    "answer": r["answer"][:400],
                    "score": p.get("score"),
                    "reason": p.get("reason"),
                    "flags": p.get("flags"),
                }
            )
    out = {}
    for name, f in fam.items():
        s = np.array(f["scores"], float)
        out[name] = {
            "what": stress.FAMILIES[name],
            "n": len(s),
            "mean": float(s.mean()),
            "max": int(s.max()),
            "histogram": {str(k): int((s == k).sum()) for k in range(1, 11)},
            "examples": f["examples"],
        }
        if f["changes"]:
            c = np.array(f["changes"], float)
            out[name].update(
                {
                    "mean_change": float(c.mean()),
                    "max_change": int(c.max()),
                    "share_unchanged": float((c == 0).mean()),
                    "share_raised": float((c > 0).mean()),
                }
            )
    return _clean(out)


def _progress(items, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="answer", leave=False)


def load_semeval(root: Path) -> tuple[dict[str, list[dict]], str]:
    """The three unseen SemEval-2013 Task 7 test sets (2-way labels) from a checkout of a public copy, and the
    commit of that checkout (or "unknown")."""
    import xml.etree.ElementTree as ET

    base = root / SEMEVAL_SUBDIR if (root / SEMEVAL_SUBDIR).is_dir() else root
    sets = {}
    for name, sub in SEMEVAL_SETS.items():
        folder = base / sub
        if not folder.is_dir():
            raise FileNotFoundError(
                f"SemEval folder not found: {folder} (give the checkout of "
                "leocomelli/score-freetext-answer or the semeval2013-task7 folder)"
            )
        rows = []
        for f in sorted(folder.glob("*.xml")):
            r = ET.parse(f).getroot()
            ref = r.find("referenceAnswers")[0].text.strip()
            for s in r.find("studentAnswers"):
                rows.append(
                    {
                        "question_id": r.get("id"),
                        "question": r.find("questionText").text.strip(),
                        "ideal_answer": ref,
                        "answer": (s.text or "").strip(),
                        "label": int(s.get("accuracy") == "correct"),
                    }
                )
        sets[name] = rows
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return sets, commit


def evaluate_outside(grader: Grader, sets: dict[str, list[dict]], with_cosine: bool = True) -> dict:
    """Zero-shot on outside data: AUC and Spearman of the raw score against the human label (correct or not),
    MiniLM cosine beside it, and refusals (of non-empty answers that share content with the reference)."""
    from interviewmate.scoring.abstain import shares_substance

    out = {}
    for name, rows in sets.items():
        qs = [Question(r["question_id"], r["question"], "technical", ideal_answer=r["ideal_answer"]) for r in rows]
        preds = [grader.predict(r["answer"], q) for r, q in zip(_progress(rows, name), qs, strict=False)]
        labels = [r["label"] for r in rows]
        raw = [p["raw"] if p.get("raw") is not None else 0.0 for p in preds]  # a refusal ranks lowest
        refused = [p.get("score") is None for p in preds]
        sharing = [
            bool(r["answer"].strip()) and shares_substance(r["answer"], q) for r, q in zip(rows, qs, strict=True)
        ]
        m = {
            "n": len(rows),
            "questions": len({r["question_id"] for r in rows}),
            "positive_share": float(np.mean(labels)),
            "auc": M.auc(labels, raw),
            "spearman": M.spearman(labels, raw),
            "refusal_rate": float(np.mean(refused)),
            "refused_sharing_content": int(sum(a and b for a, b in zip(refused, sharing, strict=True))),
            "refusal_reasons": _count([p.get("reason") for p in preds if p.get("score") is None]),
        }
        qids = [r["question_id"] for r in rows]
        lab_a, raw_a = np.array(labels), np.array(raw)
        m["auc_ci95"] = list(M.bootstrap(qids, lambda idx, _, y=lab_a, x=raw_a: M.auc(y[idx], x[idx])))
        if with_cosine:  # the raw cosine needs no fit: nothing of our data goes into it
            cos = np.array([CosineGrader.cosine(r["answer"], q) for r, q in zip(rows, qs, strict=True)])
            m["cosine_auc"] = M.auc(labels, cos)
            m["cosine_spearman"] = M.spearman(labels, cos)
            both = (raw_a, cos)
            m["vs_cosine_auc"] = M.paired_bootstrap(qids, lambda idx, _, k, y=lab_a, b=both: M.auc(y[idx], b[k][idx]))
        out[name] = _clean(m)
    return out


def _count(values: list) -> dict:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def paired_vs(rows: list[dict], a: list[dict], b: list[dict]) -> dict:
    """Grader a minus grader b on the same answers: MAE and Spearman differences with 95% intervals."""
    keep = [i for i in range(len(rows)) if a[i].get("score") is not None and b[i].get("score") is not None]
    y = np.array([rows[i]["score"] for i in keep], float)
    sa = np.array([[a[i]["score"], a[i].get("raw") or a[i]["score"]] for i in keep], float)
    sb = np.array([[b[i]["score"], b[i].get("raw") or b[i]["score"]] for i in keep], float)
    q = [rows[i]["question_id"] for i in keep]
    both = (sa, sb)
    return _clean(
        {
            "n": len(keep),
            "mae": M.paired_bootstrap(q, lambda idx, lab, k: M.mae(y[idx], both[k][idx, 0])),
            "spearman": M.paired_bootstrap(q, lambda idx, lab, k: M.spearman(y[idx], both[k][idx, 1])),
            "pair_accuracy": M.paired_bootstrap(q, lambda idx, lab, k: M.pair_accuracy(lab, y[idx], both[k][idx, 1])),
        }
    )


# ---------------------------------------------------------------- the command


def summary_markdown(results: dict, stress_res: dict | None, outside: dict | None, splits: list[str]) -> str:
    """A short human-readable summary of the JSON results (the README and report read the JSON)."""
    f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
    ci = lambda m: "n/a" if not m else f"{f(m['value'])} [{f(m['ci95'][0])}, {f(m['ci95'][1])}]"  # noqa: E731
    lines = ["# Held-out evaluation", "", "95% intervals from 1,000 resamples of whole questions.", ""]
    for split in splits:
        lines += [
            f"## {split}",
            "",
            "| grader | n | MAE | Spearman | QWK | pair accuracy | abstained |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, res in results.items():
            m = res["splits"].get(split, {}).get("main")
            if m:
                lines.append(
                    f"| {name} | {m['n']} | {ci(m.get('mae'))} | {ci(m.get('spearman'))} | {ci(m.get('qwk'))} "
                    f"| {ci(m.get('pair_accuracy'))} | {f(m['abstention_rate'])} |"
                )
        nr = results.get("rubric", {}).get("splits", {}).get(split, {}).get("no_reference")
        if nr:
            lines += [
                "",
                f"Rubric without ideal answer or key points: Spearman {ci(nr.get('spearman'))}, MAE "
                f"{ci(nr.get('mae'))}, mean score {f(nr.get('mean_pred'), 2)} (gap to the reference mode "
                f"{f(nr.get('mean_gap_to_reference'), 2)}).",
            ]
        con = results.get("rubric", {}).get("splits", {}).get(split, {}).get("contrast")
        if con:
            lines += [
                "",
                "| contrast kind | grading | n | human mean | rubric mean | MAE |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for kind, variants in con.items():
                for label, m in variants.items():
                    lines.append(
                        f"| {kind} | {label} | {m['n']} | {f(m['mean_true'], 2)} | {f(m['mean_pred'], 2)} | "
                        f"{f(m['mae'], 2)} |"
                    )
        lines.append("")
    if stress_res:
        lines += [
            "## Stress set (validation and test questions)",
            "",
            "| family | n | mean | max | change |",
            "| --- | --- | --- | --- | --- |",
        ]
        for fam, m in stress_res.items():
            lines.append(f"| {fam} | {m['n']} | {f(m['mean'], 2)} | {m['max']} | {f(m.get('mean_change'), 2)} |")
        lines.append("")
    if outside:
        lines += [
            "## Outside check (SemEval-2013 Task 7, zero-shot)",
            "",
            "| set | n | AUC rubric | AUC cosine | "
            "Spearman rubric | Spearman cosine | refused | refused though sharing content |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, m in outside["sets"].items():
            lines.append(
                f"| {name} | {m['n']} | {f(m['auc'])} | {f(m.get('cosine_auc'))} | {f(m['spearman'])} | "
                f"{f(m.get('cosine_spearman'))} | {f(m['refusal_rate'])} | {m['refused_sharing_content']} |"
            )
        lines += ["", f"Source: {outside['source']} at commit `{outside['commit']}`.", ""]
    first = next(iter(results.values()), {})
    lines.append(f"Command: `{first.get('command', '?')}`.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:

    from interviewmate.coach import EngineConfig, make_coach
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
    from interviewmate.scoring import Scorer

    parser = argparse.ArgumentParser(prog="python -m interviewmate.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engines", default="median,length,cosine,rubric", help="median,length,cosine,rubric,local,remote"
    )
    parser.add_argument("--splits", default="validation,test", help="held-out splits to evaluate")
    parser.add_argument("--data", default=str(DATASET_PATH))
    parser.add_argument("--contrast", default=str(CONTRAST_PATH))
    parser.add_argument("--splits-file", default=str(SPLITS_PATH))
    parser.add_argument("--scorer", default=None, help="scorer file (default: interviewmate/scorer.json)")
    parser.add_argument("--semeval", default=None, help="checkout of leocomelli/score-freetext-answer (outside check)")
    parser.add_argument("--base", default=EngineConfig.base, help="local engine: base model folder or Hub id")
    parser.add_argument("--adapter", default=EngineConfig.adapter, help="local engine: LoRA adapter ('none': base)")
    parser.add_argument("--quantization", default="auto")
    parser.add_argument("--max-new-tokens", type=int, default=EngineConfig.max_new_tokens)
    parser.add_argument("--unguided", action="store_true", help="local engine: free generation, no guided header")
    parser.add_argument("--remote-url")
    parser.add_argument("--remote-model", default="interviewmate")
    parser.add_argument("--tag", default="", help="suffix of the results file name (e.g. zeroshot)")
    parser.add_argument("--limit-questions", type=int, default=None, help="only the first N questions of a split")
    parser.add_argument("--no-contrast", action="store_true", help="skip the contrast rows (saves LLM time)")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    rows = load_rows(args.data)
    split_ids = load_splits(args.splits_file)
    parts = split_rows(rows, split_ids)
    owner = {q: name for name in ("train", "validation", "test") for q in split_ids[name]}
    use_contrast = args.contrast and not args.no_contrast
    contrast = [dict(r, split=owner[r["question_id"]]) for r in load_contrast(args.contrast)] if use_contrast else []
    if args.limit_questions:
        for split in splits:
            keep = list(dict.fromkeys(r["question_id"] for r in parts[split]))[: args.limit_questions]
            parts[split] = [r for r in parts[split] if r["question_id"] in keep]
    command = "python -m interviewmate.evaluate " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    scorer = Scorer.load(args.scorer)
    meta = {
        "dataset_sha256": file_sha256(args.data),
        "command": command,
        "scorer_trained_on": scorer.params.get("trained_on", {}),
    }
    results: dict[str, dict] = {}
    preds_by_grader: dict[str, dict[str, list[dict]]] = {}
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if name == "median":
            grader: Grader = MedianGrader(parts["train"])
        elif name == "length":
            grader = LengthGrader(parts["train"])
        elif name == "cosine":
            grader = CosineGrader(parts["train"])
        elif name == "rubric":
            grader = ScorerGrader(scorer, {"scorer": scorer.params.get("model"), **meta["scorer_trained_on"]})
        elif name in ("local", "remote"):
            adapter = None if str(args.adapter).lower() == "none" else args.adapter
            config = EngineConfig(
                engine=name,
                base=args.base,
                adapter=adapter,
                quantization=args.quantization,
                max_new_tokens=args.max_new_tokens,
                guided=not args.unguided,
                remote_url=args.remote_url,
                remote_model=args.remote_model,
            )
            grader = CoachGrader(
                make_coach(config, scorer), {"config": {k: v for k, v in vars(config).items() if k != "api_key"}}
            )
            grader.name = f"{name}{'_' + args.tag if args.tag else ''}"
        else:
            parser.error(f"unknown grader {name!r}")
        t0 = time.perf_counter()
        res = {"grader": grader.name, "details": grader.details, **meta, "splits": {}}
        for split in splits:
            split_contrast = [r for r in contrast if r["split"] == split]
            res["splits"][split] = evaluate_split(grader, parts[split], split_contrast, rows, split)
            preds_by_grader.setdefault(grader.name, {})[split] = res["splits"][split]["rows"]
        res["wall_s"] = round(time.perf_counter() - t0, 1)
        results[grader.name] = res
        print(
            f"{grader.name}: "
            + "; ".join(
                f"{s} scored {res['splits'][s]['main']['n_scored']}/{res['splits'][s]['main']['n']} "
                f"MAE {(res['splits'][s]['main'].get('mae') or {}).get('value')} "
                f"Spearman {(res['splits'][s]['main'].get('spearman') or {}).get('value')}"
                for s in splits
            )
        )
    # the rubric against the best baseline on the same answers, per measure (lowest MAE; highest Spearman and pair
    # accuracy), among median, length and cosine: a baseline weak on one measure may be the one to beat on another
    if "rubric" in results:
        for split in splits:
            base = [b for b in ("median", "length", "cosine") if b in results]
            if not base:
                continue
            main = {b: results[b]["splits"][split]["main"] for b in base}
            vs: dict = {}
            for key, sign in (("mae", -1), ("spearman", 1), ("pair_accuracy", 1)):
                scored = [b for b in base if main[b][key]["value"] is not None]
                if not scored:
                    continue
                best = max(scored, key=lambda b: sign * main[b][key]["value"])
                paired = paired_vs(parts[split], _as_preds(preds_by_grader["rubric"][split]),
                                   _as_preds(preds_by_grader[best][split]))  # fmt: skip
                vs["n"] = paired["n"]
                vs[key] = {"baseline": best, **paired[key]}
            vs["baseline"] = vs["mae"]["baseline"] if "mae" in vs else None  # the best by MAE, as before
            results["rubric"]["splits"][split]["vs_best_baseline"] = vs
    for name, res in results.items():
        (out_dir / f"eval_{name}.json").write_text(json.dumps(_clean(res), indent=1) + "\n")
    with_follow_ups = {g: p["test"] for g, p in preds_by_grader.items() if "test" in p and any(
        r.get("follow_up") for r in p["test"])}  # fmt: skip
    if with_follow_ups:
        tag = "_".join(with_follow_ups)
        (out_dir / f"follow_ups_{tag}.md").write_text(follow_up_examples(parts["test"], with_follow_ups))
    stress_res = outside = None
    if "rubric" in results:
        grader = ScorerGrader(scorer, {})
        held_out = set().union(*(split_ids[s] for s in splits))
        stress_res = evaluate_stress(grader, rows, held_out)
        (out_dir / "eval_stress.json").write_text(
            json.dumps({"question_splits": splits, "families": stress_res, **meta}, indent=1) + "\n"
        )
        if args.semeval:
            sets, commit = load_semeval(Path(args.semeval))
            outside = {
                "source": "SemEval-2013 Task 7 (2-way), public copy leocomelli/score-freetext-answer",
                "commit": commit,
                "sets": evaluate_outside(grader, sets, with_cosine="cosine" in results),
                **meta,
            }
            (out_dir / "eval_outside.json").write_text(json.dumps(outside, indent=1) + "\n")
    if len(results) > 1 or "rubric" in results:
        (out_dir / "eval_summary.md").write_text(summary_markdown(results, stress_res, outside, splits))
    print(f"wrote {out_dir}/eval_*.json")
    return 0


def _as_preds(records: list[dict]) -> list[dict]:
    return [{"score": r.get("score"), "raw": r.get("raw")} for r in records]


if __name__ == "__main__":
    sys.exit(main())
