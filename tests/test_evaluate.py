"""Evaluation metrics on hand-computed examples, and one end-to-end run on the fixture dataset."""

from __future__ import annotations

import json
import math

import pytest

from interviewmate.evaluate import (
    calibration_table,
    latency_stats,
    mae,
    main,
    metrics_for,
    quadratic_weighted_kappa,
    ranking_accuracy,
    rmse,
)


def test_mae_and_rmse():
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    assert rmse([1, 2, 3], [2, 2, 5]) == pytest.approx(math.sqrt(5 / 3))


def test_quadratic_weighted_kappa():
    assert quadratic_weighted_kappa([1, 5, 10, 3], [1, 5, 10, 3]) == pytest.approx(1.0)
    # by hand: observed weighted disagreement 0.25, expected 1.25 -> 1 - 0.25 / 1.25
    assert quadratic_weighted_kappa([1, 2, 3], [1, 3, 3], lo=1, hi=3) == pytest.approx(0.8)
    assert quadratic_weighted_kappa([1, 2, 3], [3, 2, 1], lo=1, hi=3) < 0


def test_ranking_accuracy():
    qids = ["a", "a", "a", "b", "b", "b", "c", "c"]
    y = [9, 6, 2, 8, 5, 1, 9, 2]
    p = [8, 7, 3, 5, 6, 2, 4, 4]  # a: 3/3; b: 2/3; c: a tie counts half
    r = ranking_accuracy(qids, y, p)
    assert r["pairs"] == 7 and r["questions"] == 3
    assert r["pair_accuracy"] == pytest.approx(5.5 / 7)
    assert r["questions_fully_ordered"] == pytest.approx(1 / 3)


def test_calibration_table_and_latency():
    table = calibration_table([2, 3, 9, 8, 7], [1, 2, 10, 9, 6])
    assert table[0] == {"predicted": "1-2", "n": 2, "mean_true": 2.5}
    assert table[2] == {"predicted": "5-6", "n": 1, "mean_true": 7.0}
    assert table[4] == {"predicted": "9-10", "n": 2, "mean_true": 8.5}
    assert latency_stats([0.01, 0.02, 0.03])["p50_ms"] == pytest.approx(20.0)


def test_metrics_for_counts_abstentions():
    rows = [{"question_id": "q", "score": s, "criteria": {c: 3 for c in ("relevance", "structure", "specificity",
             "communication")}} for s in (9, 5, 2)]  # fmt: skip
    preds = [{"score": 8, "criteria": {"relevance": 4}, "latency_s": 0.01},
             {"score": None, "criteria": {}, "latency_s": 0.01},
             {"score": 3, "criteria": {"relevance": 3}, "latency_s": 0.01}]  # fmt: skip
    m = metrics_for(rows, preds)
    assert m["n"] == 3 and m["n_scored"] == 2 and m["abstention_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert m["mae"] == pytest.approx(1.0) and m["criteria_mae"]["relevance"] == pytest.approx(0.5)
    assert m["ranking"]["pair_accuracy"] == 1.0


def test_evaluate_end_to_end_on_fixture(fixture_data, tmp_path):
    code = main(["--data", str(fixture_data["dataset"]), "--splits-file", str(fixture_data["splits"]),
                 "--split", "train", "--engines", "baseline,rubric", "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    for engine in ("baseline", "rubric"):
        res = json.loads((tmp_path / f"eval_{engine}.json").read_text())
        m = res["splits"]["train"]
        assert res["engine"] == engine and len(res["dataset_sha256"]) == 64 and "evaluate" in res["command"]
        assert m["n"] == 12 and m["mae"] is not None and 0 <= m["ranking"]["pair_accuracy"] <= 1
        assert {"mean_ms", "p50_ms", "p95_ms"} <= set(m["latency"]) and len(m["calibration"]) == 5
        assert set(m["off_topic"]) == {"same_category", "other_category"}
    assert "| rubric |" in (tmp_path / "eval_summary.md").read_text()


def test_off_topic_rows_and_metrics(fixture_rows):
    from interviewmate.evaluate import off_topic_metrics, off_topic_rows

    wrong = off_topic_rows(fixture_rows)
    for kind, row in wrong:
        donor_q = row["id"].split("<-")[1].rsplit("-", 1)[0]
        assert donor_q != row["question_id"] and row["answer"] != ""
        same = next(r for r in fixture_rows if r["question_id"] == donor_q)["category"] == row["category"]
        assert same == (kind == "same_category")
    m = off_topic_metrics(["same_category", "other_category", "other_category"],
                          [{"score": 4}, {"score": 2}, {"score": None}])  # fmt: skip
    assert m["same_category"]["share_at_or_below"] == 1.0 and m["other_category"]["share_at_or_below"] == 1.0
