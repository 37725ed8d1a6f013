"""The Gradio layer: handlers called directly, rendering safety, the app's fallbacks, and a loopback
round trip with gradio_client through a whole short interview."""

from __future__ import annotations

import pytest
from conftest import free_port
from test_interview import FakeLLMCoach

from interviewmate.coach import Grade, question_bank
from interviewmate.interview import InterviewConfig, InterviewSession
from interviewmate.ui import (
    AppContext,
    grade_markdown,
    render_chat,
    safe_md,
    start_interview,
    submit_answer,
)


def _text(content: object) -> str:
    """Message content as text: a string, or gradio_client's list of {"type": "text", "text": ...} parts."""
    if isinstance(content, list | tuple):
        return "".join(_text(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text", ""))
    return "" if content is None else str(content)


def normalize_history(history: object) -> list[dict]:
    """Chat history as {role, content: str} dicts, from whatever shape gradio_client returns it in."""
    out = []
    for m in history or []:
        if isinstance(m, dict):
            out.append({"role": m.get("role", "assistant"), "content": _text(m.get("content"))})
        elif isinstance(m, list | tuple) and len(m) == 2:  # legacy [user, bot] pairs
            out += [{"role": "user", "content": _text(m[0])}, {"role": "assistant", "content": _text(m[1])}]
        elif hasattr(m, "role"):
            out.append({"role": m.role, "content": _text(getattr(m, "content", ""))})
    return out


@pytest.fixture(scope="module")
def bank():
    from interviewmate.dataset import load_rows

    return question_bank(load_rows())


def drain(gen):
    out = list(gen)
    return out[-1], out


def test_safe_md_strips_html_and_remote_images():
    text = safe_md("<script>alert(1)</script><img src=x onerror=1>Hi ![pic](http://evil.example/a.png) **ok**")
    assert "<script" not in text and "<img" not in text and "evil.example" not in text
    assert "**ok**" in text and "[image removed]" in text


def test_model_output_is_rendered_inert():
    grade = Grade(scored=True, score=7, criteria=dict(relevance=4, structure=3, specificity=3, communication=4),
                  feedback="<b>bold</b> <a href='javascript:x'>click</a>", engine="x").to_dict()  # fmt: skip
    md = grade_markdown(grade)
    assert "<b>" not in md and "<a" not in md and "javascript" not in md and "Score: 7/10" in md


def test_normalize_history_accepts_every_shape():
    assert normalize_history([["hi", "hello"]]) == [{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": "hello"}]  # fmt: skip
    assert normalize_history([{"role": "user", "content": "x", "metadata": None}]) == [
        {"role": "user", "content": "x"}
    ]
    assert normalize_history(None) == []
    client_shape = [{"role": "assistant", "content": [{"type": "text", "text": "Q1"}, {"type": "text", "text": "!"}]}]
    assert normalize_history(client_shape) == [{"role": "assistant", "content": "Q1!"}]


def test_handlers_with_streaming_fake_engine(bank, tmp_path):
    from interviewmate.store import HistoryStore

    ctx = AppContext(coach=FakeLLMCoach(), bank=bank, store=HistoryStore(tmp_path / "h.db"), engine_label="fake")
    out = start_interview(ctx, "general", [], "any", 2, "", 0)
    session, chat = out[0], out[1]
    assert "Question 1 of 2" in chat[0]["content"]
    final, steps = drain(submit_answer(ctx, "one two three four five six seven eight nine", session, "u"))
    streamed = [s[1][-1]["content"] for s in steps[:-1]]
    assert streamed and streamed[-1].startswith("Score: 3/10")  # the partial reply was shown while streaming
    session, chat, details = final[0], final[1], final[2]
    assert any("Score: 3/10" in m["content"] for m in chat) and "Follow-up:" in chat[-1]["content"]
    assert "Score 3/10" in details and ctx.store.progress("u")[0]["answers"] == 1

    final, _ = drain(submit_answer(ctx, "", session, "u"))  # empty: a message, the session carries on
    assert "empty" in final[3] and final[0] is session and len(session.turns) == 1
    final, _ = drain(submit_answer(ctx, "x" * 7000, session, "u"))
    assert "the limit is 6,000" in final[3] and len(session.turns) == 1


def test_countdown_shows_time_left_and_overtime(bank):
    from interviewmate.ui import countdown

    session = InterviewSession.start(bank, InterviewConfig(n_questions=1, time_limit_s=90, seed=1))
    session.asked_at -= 15
    assert countdown(session) == "⏱️ **1:15 left**"
    session.asked_at -= 100
    assert countdown(session) == "⏱️ **over time by 0:25**"
    assert countdown(InterviewSession.start(bank, InterviewConfig(n_questions=1, seed=1))) == ""
    assert countdown(None) == ""


def test_engine_failure_and_oom_keep_the_session(bank):
    class OOMCoach(FakeLLMCoach):
        def grade_stream(self, question, answer, stop_event=None):
            raise type("OutOfMemoryError", (RuntimeError,), {})("CUDA out of memory")
            yield  # pragma: no cover

    ctx = AppContext(coach=OOMCoach(), bank=bank, engine_label="fake")
    session = InterviewSession.start(bank, InterviewConfig(n_questions=1, seed=1))
    final, _ = drain(submit_answer(ctx, "a perfectly fine answer with some words", session, "u"))
    assert "ran out of memory" in final[3] and final[0] is session and not session.turns
    assert render_chat(session)[0]["content"].startswith("**Question 1 of 1**")


def test_app_falls_back_to_rubric_when_the_model_cannot_load(tmp_path):
    import app as app_module

    args = app_module.parse_args(["--engine", "local", "--base-model", str(tmp_path / "missing"),
                                  "--db", str(tmp_path / "h.db")])  # fmt: skip
    demo = app_module.create_demo(args)
    config = demo.get_config_file()
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
    assert "could not be started" in texts and "Running on the offline rubric coach instead" in texts


def test_gradio_client_round_trip_through_an_interview(tmp_path, bank):
    from gradio_client import Client

    import app as app_module

    demo = app_module.create_demo(app_module.parse_args(["--db", str(tmp_path / "h.db")]))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                enable_monitoring=False)  # fmt: skip
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        chat, *_ = client.predict("data scientist", ["data_ml"], "any", 2, "", 0, api_name="/start")
        chat = normalize_history(chat)
        assert "Question 1 of 2" in chat[0]["content"]
        question = chat[0]["content"].split("\n\n", 1)[1]
        item = next(q for q in bank if safe_md(q.question) == question)
        strong = max(item.reference_answers, key=lambda r: r["score"])["answer"]
        chat, details, status, box = client.predict(strong, "client-user", api_name="/answer")
        chat = normalize_history(chat)
        assert any("Score:" in m["content"] for m in chat) and "Filler words" in details and box == ""
        assert "STAR parts" not in details  # a data_ml question: the STAR checklist is for stories only
        chat = normalize_history(client.predict(api_name="/try_again")[0])
        assert chat[-1]["content"].startswith("**Try again:**")
        chat = normalize_history(client.predict(strong, "client-user", api_name="/answer")[0])
        assert any("Compared with your previous attempt" in m["content"] for m in chat)  # what changed, kept in chat
        client.predict("I do not know.", "client-user", api_name="/answer")
        out = client.predict("client-user", api_name="/next_question")
        assert "Question 2 of 2" in out[1] and "Question 2 of 2" in normalize_history(out[0])[-1]["content"]
        out = client.predict("client-user", api_name="/finish")
        summary, md_file, json_file = out[2], out[4], out[5]
        assert "Your summary" in summary and "| 1 |" in summary
        assert open(md_file).read().startswith("# InterviewMate session report")
        assert '"turns"' in open(json_file).read()
        assert "Deleted your history (3 answers)" in client.predict("client-user", api_name="/delete_history")
    finally:
        demo.close()
