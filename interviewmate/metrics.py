"""Metrics of a grader against human scores, with 95% intervals from resampling by question.

Pure functions over arrays: MAE, RMSE, Spearman, quadratic weighted kappa, within-question pair accuracy, AUC,
a calibration table and latency percentiles; `bootstrap` turns any of them into an interval by resampling
whole questions (answers to one question are not independent), and `paired_bootstrap` tests the difference
between two graders on the same answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

N_BOOT = 1000  # resamples; intervals move by about 0.005 between seeds at this size


def mae(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.abs(y - p).mean()) if len(y) else float("nan")


def rmse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.sqrt(((y - p) ** 2).mean())) if len(y) else float("nan")


def spearman(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Spearman's rank correlation; nan when undefined (fewer than 3 pairs, or a side is constant)."""
    from scipy.stats import spearmanr

    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    if len(y) < 3 or np.ptp(y) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(spearmanr(y, p).statistic)


def quadratic_weighted_kappa(y_true: Sequence[int], y_pred: Sequence[int], lo: int = 1, hi: int = 10) -> float:
    """Cohen's kappa with quadratic weights over the integer labels lo..hi (1 = perfect, 0 = chance)."""
    y, p = np.asarray(y_true, int) - lo, np.clip(np.asarray(y_pred, int), lo, hi) - lo
    k = hi - lo + 1
    if not len(y):
        return float("nan")
    observed = np.zeros((k, k))
    np.add.at(observed, (y, p), 1)
    expected = np.outer(np.bincount(y, minlength=k), np.bincount(p, minlength=k)) / len(y)
    idx = np.arange(k)
    weights = (idx[:, None] - idx[None, :]) ** 2 / (k - 1) ** 2
    denom = (weights * expected).sum()
    return float(1 - (weights * observed).sum() / denom) if denom else float("nan")


def pair_accuracy(question_ids: Sequence[str], y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Within-question pair accuracy: of the answer pairs to one question with different human scores, the
    share the grader orders the same way (a tie counts half)."""
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(question_ids):
        by_q[q].append(i)
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    pairs = correct = 0.0
    for idx in by_q.values():
        for i in idx:
            for j in idx:
                if y[i] > y[j]:
                    pairs += 1
                    correct += 1.0 if p[i] > p[j] else 0.5 if p[i] == p[j] else 0.0
    return correct / pairs if pairs else float("nan")


def questions_fully_ordered(question_ids: Sequence[str], y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Share of questions whose answers the grader puts in exactly the human order (strictly)."""
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(question_ids):
        by_q[q].append(i)
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    ok = [all(p[i] > p[j] for i in idx for j in idx if y[i] > y[j]) for idx in by_q.values() if np.ptp(y[idx]) > 0]
    return float(np.mean(ok)) if ok else float("nan")


def auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties count half)."""
    lab, s = np.asarray(labels, int), np.asarray(scores, float)
    pos, neg = s[lab == 1], s[lab == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.r_[pos, neg])
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def calibration_table(y_true: Sequence[float], y_pred: Sequence[float]) -> list[dict]:
    """Predicted-score ranges (1-2, 3-4, ..., 9-10) against the mean human score and counts."""
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    out = []
    for lo in (1, 3, 5, 7, 9):
        sel = (p >= lo) & (p <= lo + 1)
        out.append(
            {
                "predicted": f"{lo}-{lo + 1}",
                "n": int(sel.sum()),
                "mean_true": round(float(y[sel].mean()), 2) if sel.any() else None,
            }
        )
    return out


def latency_ms(seconds: Sequence[float]) -> dict:
    s = np.asarray(seconds, float) * 1000
    if not len(s):
        return {"p50_ms": None, "p95_ms": None, "mean_ms": None}
    return {
        "p50_ms": round(float(np.percentile(s, 50)), 2),
        "p95_ms": round(float(np.percentile(s, 95)), 2),
        "mean_ms": round(float(s.mean()), 2),
    }


def _groups(question_ids: Sequence[str]) -> list[np.ndarray]:
    by_q: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(question_ids):
        by_q[q].append(i)
    return [np.asarray(v) for v in by_q.values()]


def _resample(groups: list[np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a resample of whole questions, and a question label per index that keeps the copies of a
    question drawn twice apart (so within-question pairs never mix two copies)."""
    pick = rng.integers(len(groups), size=len(groups))
    idx = np.concatenate([groups[i] for i in pick])
    labels = np.concatenate([np.full(len(groups[i]), k) for k, i in enumerate(pick)])
    return idx, labels


def bootstrap(
    question_ids: Sequence[str],
    statistic: Callable[[np.ndarray, np.ndarray], float],
    n: int = N_BOOT,
    seed: int = 0,
) -> tuple[float, float]:
    """A 95% percentile interval of `statistic(indices, question_labels)`, resampling whole questions."""
    groups = _groups(question_ids)
    if len(groups) < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n):
        v = statistic(*_resample(groups, rng))
        if np.isfinite(v):
            values.append(v)
    if not values:
        return (float("nan"), float("nan"))
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def paired_bootstrap(
    question_ids: Sequence[str],
    statistic: Callable[[np.ndarray, np.ndarray, int], float],
    n: int = N_BOOT,
    seed: int = 0,
) -> dict:
    """Difference statistic(idx, labels, 0) - statistic(idx, labels, 1) between two graders on the same answers:
    the observed difference, its 95% interval and a two-sided bootstrap p-value."""
    groups = _groups(question_ids)
    every, labels = np.arange(len(question_ids)), np.asarray(question_ids)
    observed = statistic(every, labels, 0) - statistic(every, labels, 1)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n):
        idx, lab = _resample(groups, rng)
        d = statistic(idx, lab, 0) - statistic(idx, lab, 1)
        if np.isfinite(d):
            diffs.append(d)
    diffs_a = np.asarray(diffs)
    if not len(diffs_a):
        return {"difference": observed, "ci95": [float("nan"), float("nan")], "p_value": float("nan")}
    p = 2 * min(float((diffs_a <= 0).mean()), float((diffs_a >= 0).mean()))
    return {
        "difference": float(observed),
        "ci95": [float(np.percentile(diffs_a, 2.5)), float(np.percentile(diffs_a, 97.5))],
        "p_value": min(1.0, p),
    }


def with_interval(question_ids: Sequence[str], y_true, y_pred, metric: Callable, seed: int = 0) -> dict:
    """{"value", "ci95"} for a metric(y_true, y_pred) or metric(question_ids, y_true, y_pred)."""
    y, p, q = np.asarray(y_true, float), np.asarray(y_pred, float), np.asarray(question_ids)
    needs_q = metric in (pair_accuracy, questions_fully_ordered)

    def stat(idx: np.ndarray, labels: np.ndarray) -> float:
        return metric(labels, y[idx], p[idx]) if needs_q else metric(y[idx], p[idx])

    value = stat(np.arange(len(y)), q)
    return {"value": value, "ci95": list(bootstrap(question_ids, stat, seed=seed))}
