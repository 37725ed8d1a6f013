"""Metrics with intervals, the baselines, the stress set, the outside-data loader and the evaluation command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interviewmate import metrics as M
from interviewmate.evaluate import evaluate_outside, evaluate_stress, load_semeval, main, metrics_for


def test_point_metrics():
    assert M.mae([1, 2, 3], [1, 3, 5]) == pytest.approx(1.0)
    assert M.rmse([0, 0], [3, 4]) == pytest.approx(np.sqrt(12.5))
    assert M.quadratic_weighted_kappa([1, 5, 10], [1, 5, 10]) == pytest.approx(1.0)
    assert M.quadratic_weighted_kappa([1, 2, 3, 4], [4, 3, 2, 1]) < 0
    assert np.isnan(M.spearman([1, 1, 1], [1, 2, 3]))
    assert M.auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0 and M.auc([0, 1], [0.5, 0.5]) == 0.5


def test_pair_accuracy_is_within_question_and_counts_ties_half():
    q = ["a", "a", "a", "b", "b"]
    y = [9, 5, 2, 8, 3]
    assert M.pair_accuracy(q, y, [3.0, 2.0, 1.0, 0.0, 9.0]) == pytest.approx(3 / 4)  # b's pair is reversed
    assert M.pair_accuracy(q, y, [1.0, 1.0, 0.0, 5.0, 1.0]) == pytest.approx(3.5 / 4)  # one tie in a
    assert M.questions_fully_ordered(q, y, [3.0, 2.0, 1.0, 0.0, 9.0]) == 0.5


def test_bootstrap_resamples_whole_questions():
    rng = np.random.default_rng(0)
    q = [f"q{i // 3}" for i in range(90)]
    y = rng.integers(1, 11, 90).astype(float)
    good, noisy = y + rng.normal(0, 0.5, 90), y + rng.normal(0, 4, 90)
    m = M.with_interval(q, y, good, M.spearman)
    assert m["ci95"][0] < m["value"] < m["ci95"][1] and m["ci95"][1] - m["ci95"][0] < 0.2
    pa = M.with_interval(q, y, good, M.pair_accuracy)
    assert 0 <= pa["ci95"][0] <= pa["value"] <= pa["ci95"][1] <= 1
    diff = M.paired_bootstrap(q, lambda idx, lab, k: M.spearman(y[idx], (good, noisy)[k][idx]))
    assert diff["difference"] > 0 and diff["ci95"][0] > 0 and diff["p_value"] < 0.05


def test_metrics_for_counts_abstentions():
    rows = [{"question_id": "q", "score": s, "criteria": dict.fromkeys(("relevance", "structure", "specificity",
            "communication"), 3)} for s in (2, 5, 9, 7)]  # fmt: skip
    preds = [{"score": 3, "raw": 3.0}, {"score": 5, "raw": 5.0}, {"score": 8, "raw": 8.0}, {"score": None}]
    m = metrics_for(rows, preds)
    assert m["n"] == 4 and m["n_scored"] == 3 and m["abstention_rate"] == 0.25
    assert m["mae"]["value"] == pytest.approx(2 / 3, abs=1e-4) and m["pair_accuracy"]["value"] == 1.0


def test_stress_families_are_scored_and_paired(fixture_rows):
    from interviewmate.evaluate import Grader

    class Constant(Grader):
        name = "constant"

        def predict(self, answer, question):
            return {"score": 9 if "Reviewer note" in answer else 5, "raw": 5.0}

    res = evaluate_stress(Constant(), fixture_rows, {"beh-901", "tech-901"})
    assert res["key_points_as_claims"]["n"] == 2 and res["key_points_as_claims"]["mean"] == 5
    assert res["grader_note"]["mean_change"] == 4 and res["filler_padding"]["share_unchanged"] == 1.0
    assert "star_template" in res  # beh-901 is a story question


SEMEVAL_XML = """<?xml version="1.0"?>
<question id="Q1"><questionText>Why does the bulb light?</questionText>
<referenceAnswers>
<referenceAnswer id="r">The bulb is in a closed path with the battery.</referenceAnswer>
</referenceAnswers>
<studentAnswers>
<studentAnswer id="a" accuracy="correct">The bulb is in a closed path with the battery terminals.</studentAnswer>
<studentAnswer id="b" accuracy="incorrect">Because it is yellow and pretty.</studentAnswer>
<studentAnswer id="c" accuracy="correct">closed path</studentAnswer>
</studentAnswers></question>"""


def test_outside_data_loads_and_short_correct_answers_are_not_refused(tmp_path):
    from interviewmate.evaluate import SEMEVAL_SETS, ScorerGrader
    from interviewmate.scoring import Scorer

    for sub in SEMEVAL_SETS.values():
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "Q1.xml").write_text(SEMEVAL_XML)
    sets, commit = load_semeval(tmp_path)
    assert commit == "unknown" and all(len(rows) == 3 for rows in sets.values())
    grader = ScorerGrader(Scorer.load(), {})
    out = evaluate_outside(grader, {"one": sets["beetle_unseen_questions"]}, with_cosine=False)
    assert out["one"]["refused_sharing_content"] == 0 and out["one"]["auc"] >= 0.5


def test_evaluate_command_on_the_fixture(fixture_rows, tmp_path):
    from interviewmate.dataset import make_splits

    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in fixture_rows))
    splits = make_splits(fixture_rows) | {"train": ["beh-901", "tech-901"], "validation": ["gen-901"],
                                         "test": ["sit-901"]}  # fmt: skip
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    code = main(["--data", str(data), "--splits-file", str(tmp_path / "splits.json"), "--contrast", "",
                 "--engines", "median,length,cosine,rubric", "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    for grader in ("median", "length", "cosine", "rubric"):
        res = json.loads((tmp_path / "out" / f"eval_{grader}.json").read_text())
        m = res["splits"]["test"]["main"]
        assert res["grader"] == grader and len(res["dataset_sha256"]) == 64 and "evaluate" in res["command"]
        assert m["n"] == 3 and len(m["mae"]["ci95"]) == 2 and len(res["splits"]["test"]["rows"]) == 3
    rubric = json.loads((tmp_path / "out" / "eval_rubric.json").read_text())["splits"]["validation"]
    assert "no_reference" in rubric and "vs_best_baseline" in rubric
    vs = rubric["vs_best_baseline"]  # each measure against the baseline best on it; the median has no Spearman
    assert vs["mae"]["baseline"] in ("median", "length", "cosine") and vs["spearman"]["baseline"] != "median"
    stress = json.loads((tmp_path / "out" / "eval_stress.json").read_text())
    assert "question_echo" in stress["families"]
    assert "| rubric |" in (tmp_path / "out" / "eval_summary.md").read_text()


def test_a_grader_whose_replies_never_parse_is_reported_not_a_crash(fixture_rows):
    from interviewmate.evaluate import metrics_for

    preds = [{"score": None, "latency_s": 0.5} for _ in fixture_rows[:6]]
    m = metrics_for(fixture_rows[:6], preds)
    assert m["n"] == 6 and m["n_scored"] == 0 and m["abstention_rate"] == 1.0 and "mae" not in m
    assert m["latency"]["p50_ms"] == 500.0
