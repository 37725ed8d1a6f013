"""The real fine-tuned coach end to end on a CPU: SmolLM2-135M-Instruct (converted from its PyPI GGUF by
`make base-smollm2`, which `make test` runs first) with the shipped LoRA adapter, loaded by the app's own engine
configuration, grading one answer through the same handler the UI calls. No network, no GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT

BASE = ROOT / "models" / "smollm2-135m-instruct"
ADAPTER = ROOT / "adapters" / "smollm2-135m-interviewmate"

pytestmark = pytest.mark.skipif(
    not (BASE / "config.json").exists(), reason="run `make base-smollm2` first (make test does it)"
)


@pytest.fixture(scope="module")
def local_ctx(tmp_path_factory):
    from interviewmate.coach import EngineConfig, LocalLLMCoach, make_coach
    from interviewmate.dataset import load_rows
    from interviewmate.questions import question_bank
    from interviewmate.store import HistoryStore
    from interviewmate.ui import AppContext

    config = EngineConfig.from_env(engine="local", base=str(BASE), adapter=str(ADAPTER), max_new_tokens=96)
    coach = make_coach(config)
    assert isinstance(coach, LocalLLMCoach) and coach.guided
    assert not any("4bit" in type(m).__name__.lower() for m in coach.model.modules())  # CPU: fp32, merged
    store = HistoryStore(Path(tmp_path_factory.mktemp("db")) / "h.db")
    return AppContext(coach=coach, bank=question_bank(load_rows()), store=store, engine_label=config.label())


def test_fine_tuned_coach_grades_an_answer_through_the_ui_handler(local_ctx):
    from interviewmate.ui import adopt_user_key, start_interview, submit_answer

    key = adopt_user_key(None)["user"]
    session = start_interview(local_ctx, "data scientist", ["data_ml"], "any", 1, "", 0)["session"]
    answer = (
        "Overfitting is when a model learns the noise in its training data, so it scores well on training data "
        "and badly on new data. I detect it with a validation set: a big gap between training and validation "
        "error, or validation loss rising while training loss falls. I fix it with more data, regularisation, "
        "a simpler model or early stopping."
    )
    steps = list(submit_answer(local_ctx, answer, session, key))
    streamed = [s["chat"][-1]["content"] for s in steps[:-1] if "chat" in s]
    assert any("Score" in text for text in streamed)  # the model's reply streamed into the chat
    turn = session.turns[-1]
    grade = turn.grade
    assert grade.engine == "local" and grade.scored, grade.reason
    assert 1 <= grade.score <= 10 and all(1 <= v <= 5 for v in grade.criteria.values())
    assert grade.rubric_score is not None  # checked against the rubric scorer, as the app shows
    assert "Local model" in local_ctx.engine_label
