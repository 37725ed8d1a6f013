"""Fitting the scorer file: a few statistics and monotone curves from train, a few choices on validation.

Stages, each a function: analyse the rows; calibrate the key-point threshold; standardise the signals (train
means and spreads); choose, per mode, the content/delivery weights and the delivery headroom from a small grid
on validation (the only use of validation); fit the monotone calibration to 1-10 and the likely range on
train; fit the criteria curves on train. Nothing here runs when the app scores an answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np

from interviewmate.questions import Question, question_bank
from interviewmate.rubric import CRITERIA
from interviewmate.scoring.analysis import KP_THRESHOLD, Analysis, analyze
from interviewmate.scoring.bank import ReferenceBank
from interviewmate.scoring.embed import get_embedder
from interviewmate.scoring.scorer import (
    CONTENT_SIGNALS,
    CONTENT_SIGNALS_NO_REFERENCE,
    DELIVERY_SIGNALS,
    FORMAT_VERSION,
    MODES,
    Scorer,
    mode_of,
    signals,
    style_of,
)

logger = logging.getLogger(__name__)

# the choices made on validation (kept small: three weightings x three headrooms per mode)
WEIGHT_GRID = ((2.0, 1.0), (1.0, 1.0), (1.0, 2.0), (0.0, 1.0))  # (content, delivery)
HEADROOM_GRID = (0.5, 1.0, 2.0)  # delivery may exceed content by at most this many spreads
GATES = {
    "no_content_cap": 2,  # only echoes, restated key points or descriptions: the anchors' "empty, evasive"
    "mostly_described_cap": 3,  # half or more of the sentences are: "mostly claims without evidence"
    "mostly_abstract_cap": 3,  # half or more are placeholders with no detail: "vague, claims without evidence"
    "off_topic_relevance": 0.15,  # cosine to the question below this, and closer to another bank question
    "off_topic_cap": 2,
    "near_topic_contrast": -0.15,  # fits another bank question's ideal answer this much better
    "near_topic_cap": 4,
    # story questions: near-topic also needs a cosine to the question below this (the 5th percentile of train stories)
    "story_near_topic_relevance": 0.25,
}


def question_of(row: dict) -> Question:
    return Question.from_row(row)


def analyse(items: Iterable[tuple[str, Question]], bank: ReferenceBank | None, kp_threshold: float = KP_THRESHOLD,
            progress: str | None = None, memo: dict | None = None) -> list[Analysis]:  # fmt: skip
    """Analyses of (answer, question) pairs; `memo` reuses earlier ones (the key-point threshold only changes
    which points count as covered, so it is re-applied instead of re-embedding)."""
    items = list(items)
    memo = {} if memo is None else memo
    todo = [(a, q) for a, q in dict.fromkeys(items) if (a, q) not in memo]
    if progress and todo:
        from tqdm import tqdm

        todo = tqdm(todo, desc=progress, unit="answer", leave=False, mininterval=5)
    for answer, q in todo:
        memo[(answer, q)] = analyze(answer, q, kp_threshold=kp_threshold, bank=bank)
    return [with_threshold(memo[item], item[1], kp_threshold) for item in items]


def with_threshold(a: Analysis, question: Question, t: float) -> Analysis:
    """The analysis with key points counted as covered at cosine >= t."""
    points = [k for k in question.key_points if k and k.strip()]
    covered = [k for k, s in zip(points, a.key_point_scores, strict=False) if s >= t]
    a.key_points_covered, a.key_points_missing = covered, [k for k in points if k not in covered]
    return a


def calibrate_kp_threshold(rows: list[dict], analyses: list[Analysis], seed: int = 0) -> float:
    """The cosine above which a key point counts as covered: each key point against the strong answers (8-10)
    of its own question (positives) and a strong answer to another question of its category (negatives); the
    threshold maximises balanced accuracy."""
    rng = np.random.default_rng(seed)
    emb = get_embedder()
    strong = [
        (r, a)
        for r, a in zip(rows, analyses, strict=True)
        if r["score"] >= 8 and a.sentence_vectors is not None and len(a.sentence_vectors)
    ]
    pos, neg = [], []
    for r, a in strong:
        kp = emb.encode(list(r["key_points"]))
        pos += list((a.sentence_vectors @ kp.T).max(0))
        others = [b for o, b in strong if o["category"] == r["category"] and o["question_id"] != r["question_id"]]
        if others:
            neg += list((others[int(rng.integers(len(others)))].sentence_vectors @ kp.T).max(0))
    if not pos or not neg:
        return KP_THRESHOLD
    pos_a, neg_a = np.array(pos), np.array(neg)
    grid = np.arange(0.20, 0.81, 0.01)
    balanced = [((pos_a >= t).mean() + (neg_a < t).mean()) / 2 for t in grid]
    return float(round(grid[int(np.argmax(balanced))], 2))


def fit_norms(signal_dicts: list[dict[str, float]]) -> dict[str, list[float]]:
    """Train mean and spread of every signal (a floor on the spread keeps rare signals from exploding)."""
    names = sorted({n for s in signal_dicts for n in s})
    out = {}
    for n in names:
        v = np.array([s[n] for s in signal_dicts if n in s], float)
        out[n] = [round(float(v.mean()), 6), round(float(max(v.std(), 1e-3)), 6)]
    return out


def monotone_curve(x: np.ndarray, y: np.ndarray, lo: float, hi: float, points: int = 41) -> dict:
    """An isotonic (non-decreasing) map x -> y, stored as a grid for `np.interp`."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=lo, y_max=hi, out_of_bounds="clip").fit(x, y)
    grid = np.linspace(float(np.min(x)), float(np.max(x)), points)
    return {"x": [round(float(v), 5) for v in grid], "y": [round(float(v), 5) for v in iso.predict(grid)]}


def _spearman(y, p) -> float:
    from interviewmate.metrics import spearman

    return spearman(y, p)


def choose_combination(
    scorer: Scorer, data: list[tuple[Analysis, Question, int]], weight_grid=WEIGHT_GRID, headroom_grid=HEADROOM_GRID
) -> tuple[tuple, float]:
    """(weights, headroom) with the best Spearman between the combined raw score and the human score."""
    sub = [(scorer.subscores(a, q), a.word_count, y) for a, q, y in data]
    best, best_rho = (weight_grid[0], headroom_grid[-1]), -2.0
    for w in weight_grid:
        for h in headroom_grid:
            scorer.combine["_trial"] = {"w_content": w[0], "w_delivery": w[1], "headroom": h}
            raw = [scorer.combined(c, d, "_trial", words) for (c, d), words, _ in sub]
            rho = _spearman([y for _, _, y in sub], raw)
            if rho > best_rho + 1e-9:
                best, best_rho = (w, h), rho
    scorer.combine.pop("_trial", None)
    return best, best_rho


def fit(
    train_rows: list[dict],
    validation_rows: list[dict],
    contrast: list[dict] | None = None,
    progress: bool = False,
    content_signals: dict | None = None,
    content_signals_no_reference: dict | None = None,
    delivery_signals: dict | None = None,
    weight_grid=WEIGHT_GRID,
    headroom_grid=HEADROOM_GRID,
) -> Scorer:
    """Fit the scorer file. `train_rows`/`validation_rows` are main-set rows; `contrast` rows of the same splits
    (their `split` key set by the caller) join the calibration (train) and the choices (validation)."""
    t0 = time.perf_counter()
    contrast = contrast or []
    bank = ReferenceBank.build(question_bank(train_rows))
    memo: dict = {}  # every (answer, question) pair is analysed once
    train_q = [question_of(r) for r in train_rows]
    train_items = [(r["answer"], q) for r, q in zip(train_rows, train_q, strict=True)]
    train_a = analyse(train_items, bank, progress="analysing train" if progress else None, memo=memo)
    t = calibrate_kp_threshold(train_rows, train_a)
    train_a = analyse(train_items, bank, t, memo=memo)
    noref_q = [q.without_reference() for q in train_q]
    noref_a = analyse([(r["answer"], q) for r, q in zip(train_rows, noref_q, strict=True)], bank, t, memo=memo)
    norms = {
        style: fit_norms(
            [signals(a, q) for a, q in zip(train_a + noref_a, train_q + noref_q, strict=True) if style_of(q) == style]
        )
        for style in ("story", "knowledge")
    }
    params = {
        "format_version": FORMAT_VERSION,
        "kp_threshold": t,
        "norms": norms,
        "gates": dict(GATES),
        "combine": {},
        "criteria": {},
        "bank": bank.to_params(),
        "signals": {
            "content": content_signals or CONTENT_SIGNALS,
            "content_no_reference": CONTENT_SIGNALS_NO_REFERENCE
            if content_signals_no_reference is None
            else content_signals_no_reference,
            "delivery": delivery_signals or DELIVERY_SIGNALS,
        },
    }
    scorer = Scorer(params)

    def examples(rows: list[dict], split: str) -> list[tuple[Analysis, Question, int]]:
        """Main rows (with and without their reference) and contrast rows of a split, analysed."""
        qs = [question_of(r) for r in rows]
        out = list(
            zip(
                analyse([(r["answer"], q) for r, q in zip(rows, qs, strict=True)], bank, t, memo=memo),
                qs,
                [r["score"] for r in rows],
                strict=True,
            )
        )
        nq = [q.without_reference() for q in qs]
        out += list(
            zip(
                analyse([(r["answer"], q) for r, q in zip(rows, nq, strict=True)], bank, t, memo=memo),
                nq,
                [r["score"] for r in rows],
                strict=True,
            )
        )
        extra = [(r, contrast_question(r, rows)) for r in contrast if r.get("split") == split]
        out += list(
            zip(
                analyse([(r["answer"], q) for r, q in extra], bank, t, memo=memo),
                [q for _, q in extra],
                [r["score"] for r, _ in extra],
                strict=True,
            )
        )
        return out

    train_ex = examples(train_rows, "train")
    val_ex = examples(validation_rows, "validation")
    choices = {}
    for mode in MODES:
        val = [e for e in val_ex if mode_of(e[1]) == mode]
        (w, h), rho = (
            choose_combination(scorer, val, weight_grid, headroom_grid)
            if len(val) >= 10
            else ((weight_grid[1], 1.0), float("nan"))
        )
        params["combine"][mode] = {"w_content": w[0], "w_delivery": w[1], "headroom": h}
        choices[mode] = {"validation_examples": len(val), "validation_spearman": round(rho, 4)}
    for mode in MODES:
        tr = [e for e in train_ex if mode_of(e[1]) == mode] or [e for e in train_ex if mode_of(e[1]) == "no_reference"]
        raw = np.array([scorer.combined(*scorer.subscores(a, q), mode, a.word_count) for a, q, _ in tr])
        y = np.array([s for _, _, s in tr], float)
        curve = monotone_curve(raw, y, 1, 10)
        residual = y - np.interp(raw, curve["x"], curve["y"])
        params["combine"][mode].update(
            {
                "calibration": curve,
                "band": [round(float(np.percentile(residual, 10)), 3), round(float(np.percentile(residual, 90)), 3)],
                "train_examples": len(tr),
                **choices[mode],
            }
        )
    main_tr = [(a, q, r) for (a, q, _), r in zip(train_ex[: len(train_rows)], train_rows, strict=True)]
    raw_crit: dict[str, list[tuple[float, int]]] = {c: [] for c in CRITERIA}
    for a, q, r in main_tr:
        content, delivery = scorer.subscores(a, q)
        overall = scorer.combined(content, delivery, mode_of(q), a.word_count)
        for c, v in scorer.criteria_raw(a, q, content, overall).items():
            raw_crit[c].append((v, r["criteria"][c]))
    params["criteria"] = {
        c: monotone_curve(np.array([v for v, _ in pts]), np.array([y for _, y in pts], float), 1, 5)
        for c, pts in raw_crit.items()
    }
    params["model"] = (
        "content and delivery sub-scores (unit-weighted standardised signals), combined per mode "
        "with weights chosen on validation, isotonic calibration to 1-10 fitted on train, gates"
    )
    params["trained_on"] = {
        "train_rows": len(train_rows),
        "train_questions": len({r["question_id"] for r in train_rows}),
        "contrast_train_rows": sum(r.get("split") == "train" for r in contrast),
        "choices_on": "validation",
        "fit_seconds": round(time.perf_counter() - t0, 1),
    }
    return Scorer(params)


def contrast_question(row: dict, main_rows: list[dict]) -> Question:
    """The question a contrast row answers; a follow-up answer's question carries the answer it follows up."""
    q = Question.from_row(row)
    if row.get("kind") == "follow_up_answer":
        source = next((r for r in main_rows if r["id"] == row["source_id"]), None)
        return Question(
            q.question_id,
            q.text,
            q.category,
            q.role,
            q.difficulty,
            row["ideal_answer"],
            tuple(row["key_points"]),
            "follow_up",
            source["answer"] if source else "",
        )
    return q
