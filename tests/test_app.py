"""The Gradio layer: handlers called directly, rendering and export safety, history privacy, request limits, the
app's fallbacks, and a loopback round trip with gradio_client plus raw queue requests against the real server."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import free_port
from test_interview import FakeLLMCoach, fake_embed

from interviewmate.coach import Grade
from interviewmate.interview import InterviewConfig, InterviewSession
from interviewmate.matching import BankIndex
from interviewmate.questions import question_bank
from interviewmate.render import chat_messages, escape, grade_markdown, report_markdown
from interviewmate.store import HistoryStore, history_secret, valid_user_key
from interviewmate.ui import (
    AppContext,
    adopt_user_key,
    ask_delete,
    count_text,
    delete_history,
    finish,
    load_progress,
    next_question,
    restore_chat,
    show_ideal,
    start_interview,
    submit_answer,
    try_again,
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
def rows():
    from interviewmate.dataset import load_rows

    return load_rows()


@pytest.fixture(scope="module")
def bank(rows):
    return question_bank(rows)


@pytest.fixture
def ctx(bank, tmp_path):
    return AppContext(coach=FakeLLMCoach(), bank=bank, store=HistoryStore(tmp_path / "h.db"), engine_label="fake",
                      index=BankIndex(bank, fake_embed), exports=tmp_path / "exports" / "1")  # fmt: skip


def drain(gen):
    out = list(gen)
    return out[-1], out


def interactive(update) -> bool:
    return update["interactive"]


def test_escape_shows_text_literally_and_renders_nothing():
    text = escape("<script>alert(1)</script><img src=x onerror=1> ![pic](http://evil.example/a.png) **ok** "
                  "Optional<List<int>> [x](javascript:alert(1))")  # fmt: skip
    assert "<script" not in text and "<img" not in text and "&lt;script&gt;" in text
    assert "Optional&lt;List&lt;int&gt;&gt;" in text  # angle brackets shown, not stripped
    assert "!\\[pic\\]" in text and "\\[x\\]\\(javascript" in text  # no image, no link
    assert "\\*\\*ok\\*\\*" in text


def test_model_output_is_rendered_inert():
    grade = Grade(scored=True, score=7, criteria=dict(relevance=4, structure=3, specificity=3, communication=4),
                  feedback="<b>bold</b> <a href='javascript:x'>click</a>", engine="x")  # fmt: skip
    md = grade_markdown(grade)
    assert "<b>" not in md and "<a " not in md and "Score: 7/10" in md


def test_normalize_history_accepts_every_shape():
    assert normalize_history([["hi", "hello"]]) == [{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": "hello"}]  # fmt: skip
    assert normalize_history([{"role": "user", "content": "x", "metadata": None}]) == [
        {"role": "user", "content": "x"}
    ]
    assert normalize_history(None) == []
    client_shape = [{"role": "assistant", "content": [{"type": "text", "text": "Q1"}, {"type": "text", "text": "!"}]}]
    assert normalize_history(client_shape) == [{"role": "assistant", "content": "Q1!"}]


def test_handlers_with_streaming_fake_engine(ctx):
    key = adopt_user_key(None)["user"]
    out = start_interview(ctx, "general", [], "any", 2, "", 0)
    session = out["session"]
    assert "Question 1 of 2" in out["chat"][0]["content"]
    assert not interactive(out["retry"]) and not interactive(out["show_ideal"]) and interactive(out["submit"])
    with pytest.raises(Exception, match="Answer the question first"):
        show_ideal(session)
    final, steps = drain(submit_answer(ctx, "one two three four five six seven eight nine", session, key))
    streamed = [s["chat"][-1]["content"] for s in steps[:-1]]
    assert streamed and streamed[-1].startswith("Score: 3/10")  # the partial reply was shown while streaming
    assert any("Score: 3/10" in m["content"] for m in final["chat"]) and "Follow-up:" in final["chat"][-1]["content"]
    assert "Score 3/10" in final["details"] and ctx.store.progress(key)[0]["answers"] == 1
    assert interactive(final["retry"]) and final["answer"] == ""

    final, _ = drain(submit_answer(ctx, "", session, key))  # empty: a message, the session carries on
    assert "empty" in final["status"] and final["session"] is session and len(session.turns) == 1
    final, _ = drain(submit_answer(ctx, "x" * 7000, session, key))  # too long: said plainly, the text kept
    assert "the limit is 6,000" in final["status"] and "Nothing was cut" in final["status"]
    assert "answer" not in final and len(session.turns) == 1
    final, _ = drain(submit_answer(ctx, "I fixed the \ud83d outage in an hour", session, key))
    assert "could not be read" in final["status"] and "Grading failed" not in final["status"]

    again = try_again(session)
    assert again["chat"][-1]["content"].startswith("**Try again:**")
    assert restore_chat(session)["chat"] == chat_messages(session)  # the chat's clear button wipes nothing
    moved = next_question(ctx, session, key)  # the panels of the previous question are cleared
    assert moved["details"].startswith("*Answer the question") and moved["ideal"] == ""
    assert not interactive(moved["retry"]) and moved["next"]["value"] == "Finish and see summary"
    done = finish(ctx, session, key)
    assert not any(interactive(done[b]) for b in ("submit", "retry", "next", "show_ideal", "finish"))
    assert done["summary_box"]["visible"] and open(done["dl_md"]).read().startswith("# InterviewMate session report")
    with pytest.raises(Exception, match="already finished"):
        finish(ctx, session, key)


def test_count_text_says_how_far_over_the_limit():
    assert count_text("abc") == "3 / 6,000 characters"
    assert "795 over the limit" in count_text("x" * 6795) and "Nothing was cut" in count_text("x" * 6795)


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

    ctx = AppContext(coach=OOMCoach(), bank=bank, engine_label="fake", index=BankIndex(bank, fake_embed))
    session = InterviewSession.start(bank, InterviewConfig(n_questions=1, seed=1))
    final, _ = drain(submit_answer(ctx, "a perfectly fine answer with some words", session, None))
    assert "ran out of memory" in final["status"] and final["session"] is session and not session.turns
    assert chat_messages(session)[0]["content"].startswith("**Question 1 of 1**")


def test_report_markdown_is_escaped_complete_and_free_of_ui_text(bank):
    session = InterviewSession.start(bank, InterviewConfig(n_questions=2, seed=4))
    coach = FakeLLMCoach()
    hostile = ("<script>alert(1)</script> ![x](http://evil.example/p.png) [here](javascript:alert(1)) "
               "<img src=x onerror=alert(1)> Optional<List<int>> and some more words to grade")  # fmt: skip
    session.answer(hostile, coach)
    session.ask_follow_up()
    session.answer("a follow-up answer with enough words to be graded", coach)
    session.next_question()

    class Refusing(FakeLLMCoach):
        def grade_stream(self, question, answer, stop_event=None):
            yield Grade(scored=False, reason="the answer is too short to grade.", feedback="Say what you did.")

    session.answer("no", Refusing())
    session.next_question()
    md = report_markdown(session)
    assert "<script" not in md and "<img" not in md and "&lt;script&gt;" in md
    assert "![" not in md and "](javascript" not in md and "](http" not in md
    assert "Optional&lt;List&lt;int&gt;&gt;" in md
    assert md.count("**A strong answer**") == 2 and all(p.item.ideal_answer[:40] in md for p in session.plan)
    assert md.count("Not scored") == 1 and "too short to grade" in md
    assert "Follow-up:" in md
    assert not re.search(r"\b(press|click|submit)\b|next question|try again|show ideal", md, re.I)  # no UI text


def test_history_key_is_validated_and_delete_removes_every_copy(ctx, monkeypatch):
    from interviewmate import ui as ui_module

    assert valid_user_key(adopt_user_key("0" * 32)["user"])
    for bad in (None, "", "../../etc/passwd", "A" * 32, "x' OR 1=1 --", 5):
        key = adopt_user_key(bad)
        assert valid_user_key(key["user"]) and key["user"] == key["browser_key"] != bad
    key = adopt_user_key(None)["user"]
    session = start_interview(ctx, "general", [], "any", 1, "", 0)["session"]
    drain(submit_answer(ctx, "one two three four five six seven eight nine", session, key))
    done = finish(ctx, session, key)
    assert "No scored" not in load_progress(ctx, key)["progress_md"]
    assert "1 session(s) and 1 answer(s)" in ask_delete(ctx, key)["confirm_md"]
    forgotten = []
    monkeypatch.setattr(ui_module, "forget_recent", lambda: forgotten.append(True))
    out = delete_history(ctx, key)
    assert forgotten  # the embedder's in-memory recent sentences are emptied too
    assert "1 answer(s) and 2 exported file(s)" in out["progress_md"] and not out["confirm_box"]["visible"]
    assert ctx.store.progress(key) == [] and ctx.store.counts(key) == (0, 0)
    import os

    assert not os.path.exists(done["dl_md"]) and not os.path.exists(done["dl_json"])
    assert "No history" in load_progress(ctx, "not-a-key")["progress_md"]  # a malformed key reads nothing


def test_history_secret_is_created_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("INTERVIEWMATE_SECRET", raising=False)
    first = history_secret(tmp_path / "h.db")
    assert first == history_secret(tmp_path / "h.db") and len(first) >= 32
    assert oct((tmp_path / "browser-secret").stat().st_mode)[-3:] == "600"
    monkeypatch.setenv("INTERVIEWMATE_SECRET", "from-the-environment")
    assert history_secret(tmp_path / "h.db") == "from-the-environment"


def test_app_falls_back_to_rubric_when_the_model_cannot_load(tmp_path):
    import app as app_module

    args = app_module.parse_args(["--engine", "local", "--base", str(tmp_path / "missing"),
                                  "--db", str(tmp_path / "h.db")])  # fmt: skip
    demo = app_module.create_demo(args)
    config = demo.get_config_file()
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
    assert "could not be started" in texts and "Running on the offline rubric coach instead" in texts


def test_a_bad_setting_names_the_engine_asked_for_and_no_unrelated_hint(tmp_path, monkeypatch):
    import app as app_module

    monkeypatch.setenv("INTERVIEWMATE_MAX_NEW_TOKENS", "5000")  # out of range: the configuration itself fails
    args = app_module.parse_args(["--engine", "remote", "--remote-url", "http://127.0.0.1:9/v1",
                                  "--db", str(tmp_path / "h.db")])  # fmt: skip
    config = app_module.create_demo(args).get_config_file()
    texts = " ".join(str(c.get("props", {}).get("value", "")) for c in config["components"])
    assert "The remote engine could not be started" in texts and "make base-smollm2" not in texts


def _post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _raw_call(base: str, fn_index: int, data: list, session_hash: str | None = None) -> str:
    """A queue request made by hand, as a script (or the page) would: everything the server streams back, as
    text. JSON escapes lone surrogates, as a browser's JSON.stringify does."""
    session_hash = session_hash or uuid.uuid4().hex[:11]
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None,
                       "trigger_id": None}).encode()  # fmt: skip
    status, text = _post(base + "gradio_api/queue/join", body)
    if status != 200:
        return f"{status} {text}"
    out, deadline = [], time.time() + 30
    with urllib.request.urlopen(base + f"gradio_api/queue/data?session_hash={session_hash}", timeout=30) as r:
        for line in r:
            out.append(line.decode())
            if '"process_completed"' in out[-1] or time.time() > deadline:
                break
    return "".join(out)


def test_gradio_client_round_trip_privacy_and_limits(tmp_path, bank, rows):
    from gradio_client import Client

    import app as app_module
    from interviewmate.ui import MAX_REQUEST_BYTES, launch_options

    db = tmp_path / "h.db"
    demo = app_module.create_demo(app_module.parse_args(["--db", str(db)]))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options())
    base = f"http://127.0.0.1:{port}/"
    try:
        client = Client(base, verbose=False)
        api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert set(api) == {"/start", "/answer", "/try_again", "/next_question", "/ideal_answer", "/finish"}
        params = [p["parameter_name"] for e in api.values() for p in e["parameters"]]
        assert not any("key" in p or "user" in p for p in params), params  # history is never an API parameter

        chat, *_ = client.predict("data scientist", ["data_ml"], "any", 2, "", 0, api_name="/start")
        chat = normalize_history(chat)
        assert "Question 1 of 2" in chat[0]["content"]
        question = chat[0]["content"].split("\n\n", 1)[1]
        item = next(q for q in bank if escape(q.text) == question)
        strong = max((r for r in rows if r["question_id"] == item.question_id), key=lambda r: r["score"])["answer"]
        out = client.predict(strong, api_name="/answer")
        chat, details = normalize_history(out[0]), out[1]
        assert any("Score:" in m["content"] for m in chat) and "Filler words" in details
        assert "STAR parts" not in details  # a data_ml question: the STAR checklist is for stories only
        chat = normalize_history(client.predict(api_name="/try_again")[0])
        assert chat[-1]["content"].startswith("**Try again:**")
        chat = normalize_history(client.predict(strong, api_name="/answer")[0])
        assert any("previous attempt" in m["content"] for m in chat)  # what changed, kept in chat
        client.predict("I do not know.", api_name="/answer")
        out = client.predict(api_name="/next_question")
        assert "Question 2 of 2" in normalize_history(out[0])[-1]["content"]
        out = client.predict(api_name="/finish")
        summary = next(x for x in out if isinstance(x, str) and "Your summary" in x)
        assert "| 1 |" in summary
        files = [x for x in out if isinstance(x, str) and x.endswith((".md", ".json"))]
        assert any(open(f).read().startswith("# InterviewMate session report") for f in files)

        # half an emoji, as a browser sends it (gradio_client cannot encode one): a reason, not "Grading failed"
        fn = {d.get("api_name"): d["id"] for d in demo.config["dependencies"]}
        page = uuid.uuid4().hex[:11]
        _raw_call(base, fn["start"], ["general", [], "any", 1, "", 0], page)
        reply = _raw_call(base, fn["answer"], ["I fixed it \ud83d quickly", None, None], page)
        assert "could not be read" in reply and "Grading failed" not in reply

        # a victim's history, and raw queue requests that try every hidden handler with the victim's key
        victim = "ab" * 16
        store = HistoryStore(db)
        session = InterviewSession.start(bank, InterviewConfig(n_questions=1, seed=1))
        turn = session.answer("my secret answer about the Falcon migration", FakeLLMCoach())
        store.record_answer(victim, session, turn)
        deps = demo.config["dependencies"]
        hidden = [d for d in deps if d.get("api_visibility") == "private" and d.get("backend_fn")]
        assert len(hidden) >= 6
        for dep in hidden:
            reply = _raw_call(base, dep["id"], [victim] * max(1, len(dep["inputs"])))
            assert "Falcon migration" not in reply and "Deleted your history" not in reply, (dep["id"], reply[:300])
        assert store.counts(victim) == (1, 1)  # nothing read, nothing deleted

        # request limits: a body over the limit is refused before it is parsed, uploads too
        status, text = _post(base + "gradio_api/queue/join", b'{"data": ["' + b"x" * (MAX_REQUEST_BYTES + 10) + b'"]}')
        assert status == 413 and "Answers are limited to 6,000 characters" in text
        boundary = "b0undary"
        upload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\n\r\n"
                  + "x" * (MAX_REQUEST_BYTES + 10) + f"\r\n--{boundary}--\r\n").encode()  # fmt: skip
        status, _ = _post(base + "gradio_api/upload", upload, f"multipart/form-data; boundary={boundary}")
        assert status == 413
        assert '"run_history":false' in urllib.request.urlopen(base + "config").read().decode().replace(" ", "")
    finally:
        demo.close()
