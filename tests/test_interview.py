"""Session logic without Gradio: planning, answering, follow-ups, retries, summary, history."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interviewmate.coach import Coach, Grade, QuestionItem, question_bank
from interviewmate.interview import (
    MAX_ANSWER_CHARS,
    InterviewConfig,
    InterviewError,
    InterviewSession,
    Turn,
    plan_questions,
)
from interviewmate.store import HistoryStore

CRIT = ("relevance", "structure", "specificity", "communication")


class FakeLLMCoach(Coach):
    """Deterministic stand-in for an LLM engine: streams a reply, score = number of words in the answer, capped."""

    name = "fake-llm"

    def __init__(self):
        self.stopped = []

    def grade_stream(self, question, answer, stop_event=None):
        score = max(1, min(10, len(answer.split()) // 3))
        yield from ("Score: ", f"{score}/10", "\n", "Feedback: fine.")
        self.stopped.append(stop_event)
        yield Grade(scored=True, score=score, criteria={c: max(1, score // 2) for c in CRIT},
                    feedback=f"You said “{answer.split()[0]}”.", follow_up=f"Why {question.question_id}?",
                    improvements=["Add a number."], engine=self.name)  # fmt: skip


@pytest.fixture(scope="module")
def bank():
    from interviewmate.dataset import load_rows

    return question_bank(load_rows())


@pytest.fixture(scope="module")
def rubric():
    from interviewmate.coach import make_coach

    return make_coach("rubric")


def fake_embed(texts):
    """Bag-of-letters vectors: deterministic and enough to rank a matching question first."""
    out = np.zeros((len(texts), 26))
    for i, t in enumerate(texts):
        for ch in t.lower():
            if "a" <= ch <= "z":
                out[i, ord(ch) - 97] += 1
    return out


def test_plan_respects_filters_and_is_seeded(bank):
    cfg = InterviewConfig(role="data analyst", categories=["data_ml", "analytical"], difficulty="easy",
                          n_questions=4, seed=3)  # fmt: skip
    plan = plan_questions(bank, cfg)
    assert len(plan) == 4
    assert all(p.item.category in ("data_ml", "analytical") and p.item.difficulty == "easy" for p in plan)
    assert all(p.item.role in ("data analyst", "general") for p in plan)
    assert all(p.reason for p in plan)
    assert [p.item.question_id for p in plan] == [p.item.question_id for p in plan_questions(bank, cfg)]
    assert len({p.item.category for p in plan}) == 2  # spread over the chosen categories


def test_plan_with_job_description_explains_the_match(bank):
    target = next(q for q in bank if q.question_id == "tech-016")
    cfg = InterviewConfig(n_questions=3, job_description=target.question + " " + " ".join(target.key_points))
    plan = plan_questions(bank, cfg, embed=fake_embed)
    assert plan[0].item.question_id == "tech-016"
    assert plan[0].reason.startswith("Matches your job description (shares")


def test_plan_with_real_embeddings_finds_relevant_questions(bank):
    jd = "We need an SRE to own our Kubernetes platform, on-call rotation, SLOs and incident postmortems."
    plan = plan_questions(bank, InterviewConfig(role="devops/sre", n_questions=3, job_description=jd))
    text = " ".join(p.item.question.lower() for p in plan)
    assert any(w in text for w in ("slo", "incident", "on-call", "production", "container")), text


@pytest.mark.parametrize("cfg, message", [
    (InterviewConfig(n_questions=0), "between 1 and"),
    (InterviewConfig(difficulty="insane"), "difficulty must be"),
    (InterviewConfig(job_description="x" * 9000), "the limit is 8,000"),
    (InterviewConfig(categories=["nothing"]), "no questions match"),
])  # fmt: skip
def test_bad_settings_are_refused(bank, cfg, message):
    with pytest.raises(InterviewError, match=message):
        plan_questions(bank, cfg)


def test_full_interview_with_rubric_engine(bank, rubric, tmp_path):
    session = InterviewSession.start(bank, InterviewConfig(role="software engineer", n_questions=3, seed=1))
    store = HistoryStore(tmp_path / "h.db")
    first = session.current.item
    strong = max(first.reference_answers, key=lambda r: r["score"])["answer"]
    weak = min(first.reference_answers, key=lambda r: r["score"])["answer"]

    turn = session.answer(weak, rubric)
    store.record_answer("user-1", session, turn)
    assert isinstance(turn, Turn) and turn.kind == "main" and turn.attempt == 1
    follow = session.ask_follow_up()
    assert follow and session.prompt_text() == follow
    fturn = session.answer("I would measure the error rate before and after, and I owned the rollback plan.",
                           rubric)  # fmt: skip
    assert fturn.kind == "follow_up" and session.pending_follow_up is None

    session.retry()
    again = session.answer(strong, rubric)
    store.record_answer("user-1", session, again)
    assert again.attempt == 2
    if turn.grade["scored"] and again.grade["scored"]:
        assert session.previous_score(again) == turn.grade["score"] and session.previous_score(turn) is None
        assert again.grade["score"] > turn.grade["score"]  # the strong reference beats the weak one

    assert session.next_question() is not None
    with pytest.raises(InterviewError, match="empty"):
        session.answer("   ", rubric)
    with pytest.raises(InterviewError, match="the limit is"):
        session.answer("word " * (MAX_ANSWER_CHARS // 4), rubric)
    unscored = session.answer("I don't know.", rubric)
    assert unscored.grade["scored"] is False and unscored.grade["reason"]
    assert session.next_question() is not None and session.next_question() is None and session.finished

    s = session.summary()
    assert s["answered"] == 2 and s["questions"][0]["attempts"] == 2
    assert s["questions"][1]["best_score"] is None and s["questions"][1]["not_scored_reason"]
    assert 1 <= len(s["practice"]) <= 3
    md, data = session.to_markdown(), json.loads(session.to_json())
    assert "# InterviewMate session report" in md and first.question in md and weak[:40] in md
    assert data["summary"]["session_id"] == session.session_id and len(data["turns"]) == 4

    store.save_session("user-1", session)
    progress = store.progress("user-1")
    assert len(progress) == 1 and progress[0]["answers"] == 2
    assert store.progress("someone-else") == []
    assert store.delete_user("user-1") == 2 and store.progress("user-1") == []


def test_streaming_fake_llm_engine(bank):
    coach = FakeLLMCoach()
    session = InterviewSession.start(bank, InterviewConfig(n_questions=2, seed=5), engine="fake-llm")
    pieces = list(session.answer_stream("one two three four five six seven eight nine ten eleven twelve", coach))
    assert "".join(p for p in pieces if isinstance(p, str)) == "Score: 4/10\nFeedback: fine."
    turn = pieces[-1]
    assert isinstance(turn, Turn) and turn.grade["score"] == 4 and turn.grade["engine"] == "fake-llm"
    assert session.ask_follow_up() == f"Why {session.current.item.question_id}?"
    session.retry()  # back to the main question: the follow-up is dropped
    assert session.prompt_text() == session.current.item.question


def test_time_limit_flags_slow_answers(bank):
    session = InterviewSession.start(bank, InterviewConfig(n_questions=1, time_limit_s=30, seed=2))
    t0 = session.asked_at
    turn = session.answer("one two three four five six seven eight nine ten", FakeLLMCoach(), now=t0 + 45)
    assert turn.over_time and turn.elapsed_s == 45.0


def test_coach_without_final_grade_is_an_error(bank):
    class Broken(Coach):
        def grade_stream(self, question, answer, stop_event=None):
            yield "partial"

    session = InterviewSession.start(bank, InterviewConfig(n_questions=1, seed=2))
    with pytest.raises(InterviewError, match="stopped before it finished"):
        session.answer("an answer with enough words to be graded properly here", Broken())
    assert session.turns == []  # nothing half-recorded


def test_question_item_from_custom_question_has_no_references():
    item = QuestionItem(question_id="custom-1", question="Why us?")
    assert item.reference_answers == [] and item.key_points == []
