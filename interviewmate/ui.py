"""The Gradio interface: the only module that imports gradio.

Per-user state is an `InterviewSession` in `gr.State` (one per browser tab) and an anonymous user key in
`gr.BrowserState` (for progress across sessions); the chat is always re-rendered from the session.
Handlers are plain functions of (inputs, state) so tests can call them without a browser.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import nh3
import pandas as pd

from interviewmate.coach import Coach, QuestionItem
from interviewmate.dataset import CATEGORIES, ROLES
from interviewmate.interview import (
    MAX_ANSWER_CHARS,
    MAX_JOB_DESCRIPTION_CHARS,
    InterviewConfig,
    InterviewError,
    InterviewSession,
    Turn,
    check_answer,
)
from interviewmate.prompts import CRITERIA
from interviewmate.scoring import STORY_CATEGORIES
from interviewmate.store import HistoryStore

logger = logging.getLogger(__name__)

STAR_PARTS = ("situation", "task", "action", "result")


@dataclass
class AppContext:
    """What every handler needs; shared by all users (nothing per-user lives here)."""

    coach: Coach
    bank: list[QuestionItem]
    store: HistoryStore | None = None
    engine_label: str = "rubric"
    notice: str = ""  # shown under the title, e.g. why the app fell back to the rubric coach
    embed: object = None  # text -> vectors, for job-description matching (default: the scorer's model)


# ---------------------------------------------------------------------------------------------------------------
# rendering: safe Markdown from anything a user or a model wrote


_IMAGE_MD = re.compile(r"!\[[^\]]*\]\([^)]*\)")


def safe_md(text: object) -> str:
    """Model or user text as inert Markdown: no HTML (tags are shown, not run), no remote images."""
    text = _IMAGE_MD.sub("[image removed]", str(text or ""))
    cleaned = nh3.clean(text, tags=set(), attributes={})  # strips every tag, keeps the text
    return cleaned.replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def grade_markdown(grade: dict, previous: int | None = None, turn: Turn | None = None) -> str:
    """The interviewer's verdict in the chat: score (and its likely range), criteria, then the feedback."""
    if not grade.get("scored"):
        reason = re.sub(r"^\s*not scored:\s*", "", str(grade.get("reason") or ""), flags=re.IGNORECASE)
        guidance = str(grade.get("feedback") or "")
        body = guidance if reason and reason in guidance else f"{reason} {guidance}"
        body = re.sub(r"^\s*not scored:\s*", "", body, flags=re.IGNORECASE)
        return f"**Not scored.** {safe_md(body.strip())}"
    band = grade.get("band")
    likely = f" (likely {band[0]}-{band[1]})" if band else ""
    crit = " · ".join(f"{c} {grade['criteria'][c]}/5" for c in CRITERIA)
    out = [f"**Score: {grade['score']}/10**{likely} · {crit}"]
    if previous is not None:
        change = grade["score"] - previous
        out.append(f"Compared with your previous attempt: {previous} → {grade['score']} ({change:+d}).")
    if grade.get("disagreement"):
        out.append(f"⚠️ {safe_md(grade['disagreement'])}")
    if turn is not None and turn.over_time:
        out.append(f"⏱️ This answer took {turn.elapsed_s:.0f} s, over your time limit.")
    if grade.get("feedback"):
        out.append(safe_md(grade["feedback"]))
    return "\n\n".join(out)


def details_markdown(grade: dict | None, category: str | None = None) -> str:
    """The side panel: STAR parts (for story questions), filler and hedges, key points missed, strengths and
    improvements."""
    if not grade:
        return "*Answer a question to see the analysis of your answer here.*"
    a = grade.get("analysis") or {}
    lines = [f"### {'Score ' + str(grade['score']) + '/10' if grade.get('scored') else 'Not scored'}"]
    if grade.get("scored"):
        lines.append(
            "\n".join(
                ["| criterion | score |", "| --- | --- |"] + [f"| {c} | {grade['criteria'][c]}/5 |" for c in CRITERIA]
            )
        )  # one Markdown block
    else:
        lines.append(safe_md(re.sub(r"^\s*not scored:\s*", "", str(grade.get("reason") or ""), flags=re.IGNORECASE)))
    if a and (category is None or category in STORY_CATEGORIES):
        star = a.get("star") or {}
        found = [p for p in STAR_PARTS if star.get(p)]
        parts = [f"{p} (“{safe_md(_clip(star[p][0]['text']))}”)" for p in found]
        lines.append(
            f"**STAR parts found:** {'; '.join(parts) or 'none'} · **missing:** "
            f"{', '.join(a.get('star_missing') or []) or 'none'}"
        )
    if a:
        fmt = lambda d: ", ".join(f"“{k}” ×{v}" for k, v in (d or {}).items())  # noqa: E731
        lines.append(
            f"**Filler words:** {safe_md(fmt(a.get('fillers'))) or 'none'} · "
            f"**Hedges:** {safe_md(fmt(a.get('hedges'))) or 'none'}"
        )
        lo, hi = a.get("length_range") or (0, 0)
        lines.append(
            f"**Length:** {a.get('word_count')} words ({a.get('length_verdict')}; advice {lo}-{hi}) · "
            f"**Ownership:** “I” ×{a.get('i_count', 0)}, “we” ×{a.get('we_count', 0)}"
        )
        if a.get("key_points_missing"):
            lines.append("**Key points missed:**\n" + "\n".join(f"- {safe_md(k)}" for k in a["key_points_missing"]))
    for title, key in (("Strengths", "strengths"), ("To improve", "improvements")):
        if grade.get(key):
            lines.append(f"**{title}:**\n" + "\n".join(f"- {safe_md(x)}" for x in grade[key]))
    if grade.get("latency_s") is not None:
        lines.append(f"*Engine: {safe_md(grade.get('engine'))}, graded in {grade['latency_s']:.2f} s.*")
    return "\n\n".join(lines)


def render_chat(session: InterviewSession | None) -> list[dict]:
    """The whole conversation, rebuilt from the session (the single source of truth)."""
    if session is None:
        return []
    messages: list[dict] = []
    n = len(session.plan)
    for i, planned in enumerate(session.plan[: session.index + 1]):
        messages.append(
            {
                "role": "assistant",
                "content": f"**Question {i + 1} of {n}** · *{safe_md(planned.reason)}*"
                f"\n\n{safe_md(planned.item.question)}",
            }
        )
        for turn in [t for t in session.turns if t.question_id == planned.item.question_id]:
            if turn.kind == "follow_up":
                messages.append({"role": "assistant", "content": f"**Follow-up:** {safe_md(turn.question)}"})
            elif turn.attempt > 1:
                messages.append({"role": "assistant", "content": f"**Try again:** {safe_md(turn.question)}"})
            messages.append({"role": "user", "content": safe_md(turn.answer)})
            messages.append(
                {"role": "assistant", "content": grade_markdown(turn.grade, session.previous_score(turn), turn)}
            )
    if session.pending_follow_up and not session.finished:
        messages.append(
            {
                "role": "assistant",
                "content": f"**Follow-up:** {safe_md(session.pending_follow_up)}\n\n"
                "*Answer it, or press Next question to move on.*",
            }
        )
    if session.finished:
        messages.append({"role": "assistant", "content": "That was the last question. Your summary is below."})
    return messages


# ---------------------------------------------------------------------------------------------------------------
# handlers: (inputs..., session, user_key) -> outputs; no gradio objects inside except updates and messages


def _controls(session: InterviewSession | None) -> tuple:
    live = session is not None and not session.finished
    return (
        gr.update(interactive=live),
        gr.update(interactive=live),
        gr.update(interactive=live),
        gr.update(interactive=live),
        gr.update(interactive=session is not None),
    )


def start_interview(ctx: AppContext, role, categories, difficulty, n_questions, job_description, time_limit):
    config = InterviewConfig(  # validated (sizes included: max_length is not enforced server-side) on start
        role=role or "general",
        categories=list(categories or []),
        difficulty=difficulty or "any",
        n_questions=int(n_questions or 5),
        job_description=job_description or "",
        time_limit_s=int(time_limit) if time_limit else None,
    )
    try:
        session = InterviewSession.start(ctx.bank, config, engine=ctx.engine_label, embed=ctx.embed)
    except InterviewError as e:
        raise gr.Error(str(e)) from e
    limit = f" You have {config.time_limit_s} s per answer." if config.time_limit_s else ""
    status = f"Interview started: {len(session.plan)} questions.{limit}"
    return (
        session,
        render_chat(session),
        details_markdown(None),
        status,
        "",
        *_controls(session),
        gr.update(visible=False),
        gr.Timer(active=bool(config.time_limit_s)),  # the countdown ticks only when there is a limit
    )


def countdown(session: InterviewSession | None) -> str:
    """Time left on the current answer (refreshed every second while a time limit is set)."""
    if session is None or session.finished or not session.config.time_limit_s or session.asked_at is None:
        return ""
    left = session.config.time_limit_s - (time.time() - session.asked_at)
    mins, secs = divmod(math.ceil(left) if left >= 0 else int(-left), 60)  # count down in whole seconds
    return f"⏱️ **{mins}:{secs:02d} left**" if left >= 0 else f"⏱️ **over time by {mins}:{secs:02d}**"


def submit_answer(ctx: AppContext, answer, session: InterviewSession | None, user_key: str, stop_event=None):
    """Grade an answer; a generator so LLM engines stream their text into the chat."""
    if session is None:
        raise gr.Error("Start an interview first: choose your settings and press Start.")
    try:
        answer_text = check_answer(answer)  # the browser's max_length is only a hint: enforced here
        messages = render_chat(session)
        question = session.prompt_text()
        messages.append({"role": "user", "content": safe_md(answer_text)})
        streamed = ""
        for piece in session.answer_stream(answer_text, ctx.coach, stop_event=stop_event):
            if isinstance(piece, Turn):
                turn = piece
                break
            streamed += piece
            yield (
                session,
                messages + [{"role": "assistant", "content": safe_md(streamed)}],
                gr.skip(),
                "The coach is writing...",
                gr.skip(),
            )
        if turn.kind == "main":
            session.ask_follow_up()
        if ctx.store is not None and user_key:
            try:
                ctx.store.record_answer(user_key, session, turn)
            except Exception as e:  # history is a convenience: never lose the interview over it
                logger.warning("could not save history: %s", e)
        status = f"Graded: {question[:60]}{'...' if len(question) > 60 else ''}"
        chat = render_chat(session)
        category = next(p.item.category for p in session.plan if p.item.question_id == turn.question_id)
        yield session, chat, details_markdown(turn.grade, category), status, ""
    except InterviewError as e:
        gr.Warning(str(e))
        yield session, render_chat(session), gr.skip(), str(e), gr.skip()
    except Exception as e:
        if type(e).__name__ == "OutOfMemoryError":
            msg = "The model ran out of memory on this answer. Try a shorter answer, or try again in a moment."
        else:
            logger.exception("grading failed")
            msg = f"Grading failed ({type(e).__name__}). Your interview is safe: submit the answer again."
        gr.Warning(msg)
        yield session, render_chat(session), gr.skip(), msg, gr.skip()


def try_again(session: InterviewSession | None):
    if session is None or session.finished:
        raise gr.Error("There is no question to retry: start an interview first.")
    question = session.retry()
    chat = render_chat(session) + [{"role": "assistant", "content": f"**Try again:** {safe_md(question)}"}]
    return session, chat, "Answer the same question again; you will see what changed."


def next_question(ctx: AppContext, session: InterviewSession | None, user_key: str):
    if session is None:
        raise gr.Error("Start an interview first.")
    if session.next_question() is None:
        return (
            session,
            render_chat(session),
            "Interview finished.",
            *summary_outputs(ctx, session, user_key),
            *_controls(session),
        )
    return (
        session,
        render_chat(session),
        f"Question {session.index + 1} of {len(session.plan)}.",
        *[gr.skip()] * 5,
        *_controls(session),
    )


def show_ideal(session: InterviewSession | None):
    if session is None or session.current is None:
        raise gr.Error("There is no current question.")
    ideal = session.current.item.ideal_answer
    if not ideal:
        return "*No model answer is stored for this question.*"
    return f"**A strong answer to “{safe_md(session.current.item.question)}”**\n\n{safe_md(ideal)}"


def finish(ctx: AppContext, session: InterviewSession | None, user_key: str):
    if session is None:
        raise gr.Error("Start an interview first.")
    session.finished = True
    session.pending_follow_up = None
    return (
        session,
        render_chat(session),
        "Interview finished.",
        *summary_outputs(ctx, session, user_key),
        *_controls(session),
    )


def summary_outputs(ctx: AppContext, session: InterviewSession, user_key: str) -> tuple:
    """Summary Markdown, criteria chart, two download files, and the summary group made visible."""
    s = session.summary()
    lines = [f"## Your summary · mean score {s['mean_score'] if s['mean_score'] is not None else 'n/a'}/10"]
    lines += ["| # | question | attempts | first | best |", "| --- | --- | --- | --- | --- |"]
    for i, q in enumerate(s["questions"], 1):
        best = q["best_score"] if q["best_score"] is not None else ("not scored" if q["attempts"] else "skipped")
        lines.append(f"| {i} | {safe_md(q['question'])} | {q['attempts']} | {q['first_score'] or '-'} | {best} |")
    if s["strengths"]:
        lines += ["", "**Strengths**", *[f"- {safe_md(x)}" for x in s["strengths"]]]
    if s["practice"]:
        lines += [
            "",
            "**The three most valuable things to practise**",
            *[f"{i}. {safe_md(x)}" for i, x in enumerate(s["practice"], 1)],
        ]
    chart = pd.DataFrame({"criterion": list(s["criteria_means"]), "mean (1-5)": list(s["criteria_means"].values())})
    folder = Path(tempfile.gettempdir()) / "interviewmate" / session.session_id
    folder.mkdir(parents=True, exist_ok=True)
    md_path, json_path = folder / "interview-report.md", folder / "interview-report.json"
    md_path.write_text(session.to_markdown(), encoding="utf-8")
    json_path.write_text(session.to_json(), encoding="utf-8")
    if ctx.store is not None and user_key:
        try:
            ctx.store.save_session(user_key, session)
        except Exception as e:
            logger.warning("could not save history: %s", e)
    return "\n".join(lines), chart, str(md_path), str(json_path), gr.update(visible=True)


def load_progress(ctx: AppContext, user_key: str):
    if ctx.store is None or not user_key:
        return pd.DataFrame({"session": [], "mean score": []}), "*History is off on this server.*"
    rows = ctx.store.progress(user_key)
    if not rows:
        return pd.DataFrame({"session": [], "mean score": []}), "*No scored answers yet: finish an interview first.*"
    df = pd.DataFrame({"session": list(range(1, len(rows) + 1)), "mean score": [r["mean_score"] for r in rows]})
    table = [
        "| # | date (UTC) | role | answers | mean | " + " | ".join(CRITERIA) + " |",
        "| --- " * (5 + len(CRITERIA)) + "|",
    ]
    for i, r in enumerate(rows, 1):
        day = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["started_at"]))
        table.append(
            f"| {i} | {day} | {safe_md(r['role'])} | {r['answers']} | {r['mean_score']} | "
            + " | ".join(str(r[c]) for c in CRITERIA)
            + " |"
        )
    return df, "\n".join(table)


def delete_history(ctx: AppContext, user_key: str):
    if ctx.store is None or not user_key:
        return "*History is off on this server.*"
    n = ctx.store.delete_user(user_key)
    return f"Deleted your history ({n} answers)."


def ensure_user_key(user_key: str | None) -> str:
    return user_key or uuid.uuid4().hex


# ---------------------------------------------------------------------------------------------------------------


def build_ui(ctx: AppContext) -> gr.Blocks:
    """The Blocks app. Queue limits are set by the caller (`app.py`)."""
    roles = [r for r in ROLES]
    with gr.Blocks(title="InterviewMate") as demo:
        session = gr.State(None)
        user_key = gr.BrowserState("", storage_key="interviewmate-user")
        gr.Markdown(
            f"# InterviewMate\nMock interviews with a score and specific feedback for every answer. "
            f"**Engine:** `{ctx.engine_label}`" + (f"\n\n> {ctx.notice}" if ctx.notice else "")
        )
        with gr.Tab("Interview"):
            with gr.Accordion("Set-up", open=True) as setup:
                with gr.Row():
                    role = gr.Dropdown(roles, value="general", label="Role")
                    difficulty = gr.Radio(["any", "easy", "medium", "hard"], value="any", label="Difficulty")
                    n_questions = gr.Slider(1, 15, value=5, step=1, label="Number of questions")
                    time_limit = gr.Number(
                        value=0, label="Time limit per answer (s, 0 = none)", precision=0, minimum=0, maximum=1800
                    )
                categories = gr.CheckboxGroup(list(CATEGORIES), value=[], label="Categories (none = all)")
                job = gr.Textbox(
                    label="Job description (optional: questions are matched to it)",
                    lines=3,
                    max_length=MAX_JOB_DESCRIPTION_CHARS,
                    placeholder="Paste the job ad here",
                )
                start = gr.Button("Start interview", variant="primary", elem_id="start-btn")
            with gr.Row():
                status = gr.Markdown("", elem_id="status")
                clock = gr.Markdown("", elem_id="clock")
            timer = gr.Timer(1.0, active=False)
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Interview", height=520, elem_id="chat")
                    answer = gr.Textbox(
                        label="Your answer",
                        lines=5,
                        max_length=MAX_ANSWER_CHARS,
                        placeholder="Type your answer, then press Submit.",
                        elem_id="answer",
                    )
                    with gr.Row():
                        submit = gr.Button("Submit", variant="primary", interactive=False, elem_id="submit-btn")
                        retry = gr.Button("Try again", interactive=False)
                        nxt = gr.Button("Next question", interactive=False, elem_id="next-btn")
                        ideal = gr.Button("Show ideal answer", interactive=False)
                        done = gr.Button("Finish", interactive=False)
                with gr.Column(scale=2):
                    details = gr.Markdown(details_markdown(None), elem_id="details")
                    ideal_md = gr.Markdown("")
            with gr.Group(visible=False) as summary_box:
                summary_md = gr.Markdown("")
                chart = gr.BarPlot(
                    x="criterion",
                    y="mean (1-5)",
                    y_lim=[0, 5],
                    label="Criteria (mean of best attempts)",
                    elem_id="criteria-chart",
                )
                with gr.Row():
                    dl_md = gr.DownloadButton("Download report (Markdown)")
                    dl_json = gr.DownloadButton("Download transcript (JSON)")
        with gr.Tab("Progress") as progress_tab:
            progress_plot = gr.LinePlot(x="session", y="mean score", y_lim=[0, 10], label="Mean score per session")
            progress_md = gr.Markdown("")
            with gr.Row():
                refresh = gr.Button("Refresh")
                delete = gr.Button("Delete my history", variant="stop")
        with gr.Tab("About"):
            gr.Markdown(ABOUT.format(engine=ctx.engine_label))

        controls = [submit, retry, nxt, ideal, done]
        demo.load(ensure_user_key, user_key, user_key, api_name=False)
        start.click(
            lambda *a: start_interview(ctx, *a),
            [role, categories, difficulty, n_questions, job, time_limit],
            [session, chat, details, status, ideal_md, *controls, summary_box, timer],
            api_name="start",
            concurrency_limit=None,
        ).then(lambda: gr.update(open=False), None, setup, api_name=False)

        timer.tick(countdown, session, clock, api_name=False, concurrency_limit=None, show_progress="hidden")

        grade_fn = _grading_entry(ctx)
        submit_event = submit.click(
            grade_fn, [answer, session, user_key], [session, chat, details, status, answer], api_name="answer"
        )
        answer.submit(grade_fn, [answer, session, user_key], [session, chat, details, status, answer], api_name=False)
        retry.click(try_again, [session], [session, chat, status], api_name="try_again", concurrency_limit=None)
        moving_on = [session, chat, status, summary_md, chart, dl_md, dl_json, summary_box, *controls]
        nxt.click(lambda s, k: next_question(ctx, s, k), [session, user_key], moving_on, api_name="next_question",
                  concurrency_limit=None)  # fmt: skip
        ideal.click(show_ideal, [session], [ideal_md], api_name="ideal_answer", concurrency_limit=None)
        done.click(lambda s, k: finish(ctx, s, k), [session, user_key], moving_on, api_name="finish",
                   concurrency_limit=None)  # fmt: skip
        for trigger in (refresh.click, progress_tab.select):
            trigger(lambda k: load_progress(ctx, k), [user_key], [progress_plot, progress_md], api_name=False)
        delete.click(lambda k: delete_history(ctx, k), [user_key], [progress_md], api_name="delete_history")
        del submit_event
    return demo


def _grading_entry(ctx: AppContext):
    """The answer handler. LLM engines run on a GPU slot (ZeroGPU's `spaces.GPU`, a no-op elsewhere), and a
    per-request stop event ends generation when the client goes away."""

    def grade(answer, session, user_key):
        stop = threading.Event()
        try:
            yield from submit_answer(ctx, answer, session, user_key, stop_event=stop)
        finally:
            stop.set()  # the browser left or the request was cancelled: stop generating

    if ctx.engine_label.split()[0] in ("local",):
        try:
            import spaces

            return spaces.GPU(grade)
        except ImportError:
            pass
    return grade


ABOUT = """
### How scoring works
Every answer is scored 1-10 overall and 1-5 on relevance, structure, specificity and communication, on one
scale (see the dataset card). The **rubric** engine is a calibrated scorer fitted on hand-graded answers: it
looks for the parts of a STAR story, numbers and concrete actions, ownership ("I" vs "we"), filler and hedge
words, the question's key points and similarity to a strong answer. It refuses to score empty, off-language or
gibberish answers and text that tries to instruct the grader. LLM engines (a Falcon model with a LoRA
adapter) write feedback in their own words; their score is checked against the rubric scorer and both are
shown when they disagree.

Current engine: `{engine}`. Your answers are stored only to show your progress, under a random key kept in
your browser; **Delete my history** on the Progress tab removes them.
"""
