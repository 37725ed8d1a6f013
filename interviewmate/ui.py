"""The Gradio interface: the only module that imports gradio.

Per-user state: an `InterviewSession` in `gr.State` (one per browser tab), and an anonymous history key that
lives in the browser (`gr.BrowserState`, under a persistent secret) and is copied, once validated, into a
server-side `gr.State` when the page loads. No handler takes the key as a parameter, so the API cannot read,
add to or delete anyone's history. Handlers are plain functions of (inputs, state) that return their outputs
by name (`{"chat": ..., "status": ...}`); `build_ui` maps the names onto components, so tests call them
without a browser. Everything a user reads is rendered by `render`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from interviewmate import charts, render
from interviewmate.coach import Coach
from interviewmate.interview import (
    MAX_ANSWER_CHARS,
    MAX_JOB_DESCRIPTION_CHARS,
    MAX_QUESTIONS,
    InterviewConfig,
    InterviewError,
    InterviewSession,
    Turn,
    check_answer,
)
from interviewmate.matching import BankIndex
from interviewmate.questions import Question
from interviewmate.rubric import ANY, CATEGORIES, DIFFICULTIES, ROLE_CHOICES, category_label, role_label
from interviewmate.scoring.embed import forget_recent
from interviewmate.store import HistoryStore, new_user_key, valid_user_key

logger = logging.getLogger(__name__)

# one request's body: an answer (6,000 characters) and a job description (8,000), JSON-escaped at up to 6 bytes a
# character, fit in well under this; anything bigger is refused before it is parsed
MAX_REQUEST_BYTES = 256 * 1024
START_CONCURRENCY = 4  # starts embed the description's phrases: a few at a time, the rest queue
BROWSER_KEY = "interviewmate-user"  # localStorage key of the history key


@dataclass
class AppContext:
    """What every handler needs; shared by all users (nothing per-user lives here)."""

    coach: Coach
    bank: list[Question]
    store: HistoryStore | None = None
    engine_label: str = "rubric"
    notice: str = ""  # shown under the title, e.g. why the app fell back to the rubric coach
    index: BankIndex | None = None  # the bank embedded once, for job-description matching
    secret: str | None = None  # the BrowserState secret (persistent when history is kept)
    exports: Path = field(default_factory=lambda: export_root() / f"{os.getpid()}")

    def __post_init__(self):
        if self.index is None:
            self.index = BankIndex(self.bank)


# ---------------------------------------------------------------------------------------------------------------
# exports: the report and transcript a user downloads, one folder per user, inside Gradio's cache so Gradio
# serves them without making a second copy; removed with the user's history, and at start-up when the process
# that wrote them is gone


def export_root() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / "interviewmate-exports"


def user_folder(user_key: str | None) -> str:
    """A user's export folder name: a hash of the key (the key itself never appears in a URL)."""
    return hashlib.sha256((user_key or "no-history").encode()).hexdigest()[:24]


def clean_stale_exports(root: Path | None = None) -> int:
    """Remove the exports of processes that have exited (a restart serves none of the old files)."""
    root = root or export_root()
    removed = 0
    for folder in root.glob("*") if root.is_dir() else []:
        pid = int(folder.name) if folder.name.isdigit() else None
        if pid is None or not _alive(pid):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def delete_exports(user_key: str, root: Path | None = None) -> int:
    """Remove every exported file of a user (in every live process's folder); returns how many files."""
    root = root or export_root()
    n = 0
    for folder in root.glob(f"*/{user_folder(user_key)}") if root.is_dir() else []:
        n += sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
    return n


# ---------------------------------------------------------------------------------------------------------------
# handlers: (inputs..., session, user) -> {output name: value}; no gradio objects inside except updates


def controls(session: InterviewSession | None) -> dict:
    """Which buttons make sense now: Try again and Show ideal answer only once the question has an answer;
    nothing but Start once the interview is over."""
    live = session is not None and not session.finished and session.current is not None
    answered = live and bool(session.attempts(session.current.item.question_id))
    last = live and session.index == len(session.plan) - 1
    return {
        "submit": gr.update(interactive=live),
        "retry": gr.update(interactive=answered),
        "next": gr.update(interactive=live, value="Finish and see summary" if last else "Next question"),
        "show_ideal": gr.update(interactive=answered and bool(session.current.item.ideal_answer)),
        "finish": gr.update(interactive=live),
    }


NO_ANALYSIS = render.details_markdown(None)


def start_interview(ctx: AppContext, role, categories, difficulty, n_questions, job_description, time_limit) -> dict:
    config = InterviewConfig(  # validated (sizes included: the browser enforces nothing) on start
        role=role or "general",
        categories=list(categories or []),
        difficulty=difficulty or ANY,
        n_questions=int(n_questions or 5),
        job_description=job_description or "",
        time_limit_s=int(time_limit) if time_limit else None,
    )
    try:
        session = InterviewSession.start(ctx.bank, config, engine=ctx.engine_label, index=ctx.index)
    except InterviewError as e:
        raise gr.Error(str(e)) from e
    limit = f" You have {config.time_limit_s} s per answer." if config.time_limit_s else ""
    return {
        "session": session,
        "chat": render.chat_messages(session),
        "details": NO_ANALYSIS,
        "ideal": "",
        "status": f"Interview started: {len(session.plan)} questions.{limit} Type your answer below the chat.",
        "answer": "",
        **controls(session),
        "stage": gr.update(visible=True),
        "setup": gr.update(open=False),  # out of the way: the question is what matters now
        "summary_box": gr.update(visible=False),
        "timer": gr.Timer(active=bool(config.time_limit_s)),  # the countdown ticks only when there is a limit
        "clock": "",
    }


def countdown(session: InterviewSession | None) -> str:
    """Time left on the current answer (refreshed every second while a time limit is set)."""
    if session is None or session.finished or not session.config.time_limit_s or session.asked_at is None:
        return ""
    left = session.config.time_limit_s - (time.time() - session.asked_at)
    mins, secs = divmod(math.ceil(left) if left >= 0 else int(-left), 60)  # count down in whole seconds
    return f"⏱️ **{mins}:{secs:02d} left**" if left >= 0 else f"⏱️ **over time by {mins}:{secs:02d}**"


def count_text(text: str | None, limit: int = MAX_ANSWER_CHARS) -> str:
    """The character count under a text box as the page first shows it; the browser keeps it current
    (`COUNT_JS`, the same words) with no request per keystroke."""
    n = len(text or "")
    if n > limit:
        return f"**{n:,} / {limit:,} characters: {n - limit:,} over the limit.** Nothing was cut; shorten it to send."
    return f"{n:,} / {limit:,} characters"


def submit_answer(
    ctx: AppContext, answer, session: InterviewSession | None, user: str | None, stop_event=None
) -> Iterator[dict]:
    """Grade an answer; a generator so LLM engines stream their text into the chat."""
    if session is None:
        raise gr.Error("Start an interview first: choose your settings and press Start.")
    try:
        answer_text = check_answer(answer)  # the browser limits nothing: enforced here
        messages = render.chat_messages(session)
        question = session.prompt_text()
        messages.append({"role": "user", "content": render.escape(answer_text)})
        streamed, turn = "", None
        for piece in session.answer_stream(answer_text, ctx.coach, stop_event=stop_event):
            if isinstance(piece, Turn):
                turn = piece
                break
            streamed += piece
            yield {"chat": messages + [{"role": "assistant", "content": render.escape(streamed)}],
                   "status": "The coach is writing..."}  # fmt: skip
        if turn.kind == "main":
            session.ask_follow_up()
        if ctx.store is not None and valid_user_key(user):
            try:
                ctx.store.record_answer(user, session, turn)
            except Exception as e:  # history is a convenience: never lose the interview over it
                logger.warning("could not save history: %s", e)
        category = next(p.item.category for p in session.plan if p.item.question_id == turn.question_id)
        yield {
            "session": session,
            "chat": render.chat_messages(session),
            "details": render.details_markdown(turn.grade, category, turn.kind == "follow_up"),
            "status": f"Graded: {render.escape(question if len(question) <= 60 else question[:59] + '…')}",
            "answer": "",
            **controls(session),
        }
    except InterviewError as e:  # the answer stays in the box, so nothing typed is lost
        gr.Warning(str(e))
        yield {"session": session, "chat": render.chat_messages(session), "status": render.escape(str(e))}
    except Exception as e:
        if type(e).__name__ == "OutOfMemoryError":
            msg = "The model ran out of memory on this answer. Try a shorter answer, or try again in a moment."
        else:
            logger.exception("grading failed")
            msg = f"Grading failed ({type(e).__name__}). Your interview is safe: submit the answer again."
        gr.Warning(msg)
        yield {"session": session, "chat": render.chat_messages(session), "status": msg}


def try_again(session: InterviewSession | None) -> dict:
    if session is None or session.finished or session.current is None:
        raise gr.Error("There is no question to retry: start an interview first.")
    if not session.attempts(session.current.item.question_id):
        raise gr.Error("Answer the question first; then you can try it again.")
    question = session.retry()
    again = {"role": "assistant", "content": f"**Try again:** {render.escape(question)}"}
    chat = render.chat_messages(session) + [again]
    return {"session": session, "chat": chat, "status": "Answer the same question again; you will see what changed.",
            **controls(session)}  # fmt: skip


def next_question(ctx: AppContext, session: InterviewSession | None, user: str | None) -> dict:
    if session is None:
        raise gr.Error("Start an interview first.")
    if session.finished:
        raise gr.Error("The interview is over: press Start for a new one.")
    if session.next_question() is None:
        return {**finished_outputs(ctx, session, user), "status": "Interview finished: your summary is below."}
    return {  # the panels belonged to the previous question
        "session": session,
        "chat": render.chat_messages(session),
        "status": f"Question {session.index + 1} of {len(session.plan)}.",
        "details": NO_ANALYSIS,
        "ideal": "",
        **controls(session),
    }


def show_ideal(session: InterviewSession | None) -> dict:
    if session is None or session.current is None:
        raise gr.Error("There is no current question.")
    item = session.current.item
    if not session.attempts(item.question_id):
        raise gr.Error("Answer the question first; then you can compare with a strong answer.")
    if not item.ideal_answer:
        return {"ideal": "*No model answer is stored for this question.*"}
    return {"ideal": f"**A strong answer to “{render.escape(item.text)}”**\n\n{render.escape(item.ideal_answer)}"}


def finish(ctx: AppContext, session: InterviewSession | None, user: str | None) -> dict:
    if session is None:
        raise gr.Error("Start an interview first.")
    if session.finished:
        raise gr.Error("The interview is already finished: your summary is below.")
    session.finished = True
    session.pending_follow_up = None
    return {**finished_outputs(ctx, session, user), "status": "Interview finished: your summary is below."}


def finished_outputs(ctx: AppContext, session: InterviewSession, user: str | None) -> dict:
    """The summary, its criteria chart and the two downloads; the question panels cleared."""
    s = session.summary()
    folder = ctx.exports / user_folder(user if valid_user_key(user) else None) / session.session_id
    folder.mkdir(parents=True, exist_ok=True)
    md_path, json_path = folder / "interview-report.md", folder / "interview-report.json"
    md_path.write_text(render.report_markdown(session), encoding="utf-8")
    json_path.write_text(session.to_json(), encoding="utf-8")
    if ctx.store is not None and valid_user_key(user):
        try:
            ctx.store.save_session(user, session)
        except Exception as e:
            logger.warning("could not save history: %s", e)
    return {
        "session": session,
        "chat": render.chat_messages(session),
        "details": "",
        "ideal": "",
        "summary": render.summary_markdown(s),
        "chart": gr.update(value=charts.criteria_chart(s["criteria_means"]), visible=bool(s["criteria_means"])),
        "dl_md": str(md_path),
        "dl_json": str(json_path),
        "summary_box": gr.update(visible=True),
        "timer": gr.Timer(active=False),
        "clock": "",
        **controls(session),
    }


def restore_chat(session: InterviewSession | None) -> dict:
    """The chat's clear button empties the chat in the browser only: put the interview back."""
    if session is None:
        return {"chat": []}
    return {"chat": render.chat_messages(session),
            "status": "The chat shows your interview; to start over, press Start interview."}  # fmt: skip


def adopt_user_key(stored: str | None) -> dict:
    """On page load: the history key kept in this browser, if well formed, else a new one. The only handler
    that reads the browser's key; every other one reads the validated copy kept on the server."""
    key = stored if valid_user_key(stored) else new_user_key()
    return {"browser_key": key, "user": key}


def load_progress(ctx: AppContext, user: str | None) -> dict:
    empty = {"progress_plot": gr.update(value=None, visible=False)}
    if ctx.store is None:
        return {**empty, "progress_md": "*History is off on this server.*"}
    if not valid_user_key(user):
        return {**empty, "progress_md": "*No history for this visit: open the app in a browser to keep one.*"}
    rows = ctx.store.progress(user)
    if not rows:
        return {**empty, "progress_md": "*No scored answers yet: finish an interview first.*"}
    return {
        "progress_plot": gr.update(value=charts.progress_chart(rows), visible=True),
        "progress_md": render.progress_markdown(rows),
    }


def ask_delete(ctx: AppContext, user: str | None) -> dict:
    if ctx.store is None or not valid_user_key(user):
        return {"progress_md": "*There is no history to delete.*", "confirm_box": gr.update(visible=False)}
    sessions, answers = ctx.store.counts(user)
    return {
        "confirm_md": f"**Delete your history?** This removes {sessions} session(s) and {answers} answer(s) from this "
        "server, and the reports you exported. It cannot be undone.",
        "confirm_box": gr.update(visible=True),
    }


def delete_history(ctx: AppContext, user: str | None) -> dict:
    if ctx.store is None or not valid_user_key(user):
        return {"progress_md": "*There is no history to delete.*", "confirm_box": gr.update(visible=False)}
    n = ctx.store.delete_user(user)
    files = delete_exports(user, ctx.exports.parent)
    forget_recent()  # the embedder's in-memory recent sentences may hold this user's answers
    return {
        "progress_md": f"Deleted your history: {n} answer(s) and {files} exported file(s).",
        "progress_plot": gr.update(value=None, visible=False),
        "confirm_box": gr.update(visible=False),
        "dl_md": None,
        "dl_json": None,
    }


def cancel_delete() -> dict:
    return {"confirm_box": gr.update(visible=False)}


# ---------------------------------------------------------------------------------------------------------------
# the page

HOW_IT_WORKS = (
    "**1.** Choose a role (paste the job ad to get questions on its skills) and press **Start interview**.  \n"
    "**2.** Answer each question in writing: you get a score out of 10 with specific feedback and a follow-up "
    "question, and a summary to keep at the end."
)
# the character count, kept current in the browser on every change (typing, pasting, clearing after a grade)
COUNT_JS = """(text) => {
  const n = (text || "").length, limit = %d, f = (x) => x.toLocaleString("en-US");
  if (n <= limit) return `${f(n)} / ${f(limit)} characters`;
  return `**${f(n)} / ${f(limit)} characters: ${f(n - limit)} over the limit.** Nothing was cut; shorten it to send.`;
}"""
SCROLL_TO_CHAT_JS = """() => {
  setTimeout(() => document.getElementById("status")?.scrollIntoView({block: "start"}), 150);
}"""
SCROLL_TO_SUMMARY_JS = """() => {
  const box = document.getElementById("summary");
  if (box && box.offsetParent !== null) setTimeout(() => box.scrollIntoView({block: "start"}), 150);
}"""
CSS = """
#chat button[aria-label="Clear"] { display: none; }  /* the interview is the record: it is not cleared from here */
/* tables scroll sideways on a phone instead of squeezing a word into a letter per line */
#summary table, #progress-table table { display: block; overflow-x: auto; max-width: 100%; }
#summary th, #summary td, #progress-table th, #progress-table td { white-space: nowrap; }
#summary td:nth-child(2) { white-space: normal; min-width: 13em; }
#answer-count, #job-count { font-size: 0.85em; opacity: 0.8; }
@media (max-width: 640px) { #controls button { flex: 1 1 45%; min-width: 0; } }
"""


def build_ui(ctx: AppContext) -> gr.Blocks:
    """The Blocks app. Queue limits are set by the caller (`app.py`); launch it with `launch_options()`."""
    clean_stale_exports(ctx.exports.parent)
    with gr.Blocks(title="InterviewMate") as demo:
        session = gr.State(None)
        user = gr.State(None)  # the validated history key, on the server: never an API parameter
        browser_key = gr.BrowserState(None, storage_key=BROWSER_KEY, secret=ctx.secret)
        gr.Markdown(
            f"# InterviewMate\n{HOW_IT_WORKS}\n\n*Graded by: {render.escape(ctx.engine_label)}.*"
            + (f"\n\n> {render.escape(ctx.notice)}" if ctx.notice else ""),
            elem_id="intro",
        )
        with gr.Tab("Interview"):
            with gr.Accordion("Set-up", open=True) as setup:
                with gr.Row():
                    role = gr.Dropdown([(role_label(r), r) for r in ROLE_CHOICES], value="general", label="Role",
                                       elem_id="role")  # fmt: skip
                    difficulty = gr.Radio([ANY, *DIFFICULTIES], value=ANY, label="Difficulty")
                    n_questions = gr.Slider(1, MAX_QUESTIONS, value=5, step=1, label="Number of questions")
                    time_limit = gr.Number(value=0, label="Time limit per answer (s, 0 = none)", precision=0,
                                           minimum=0, maximum=1800)  # fmt: skip
                categories = gr.CheckboxGroup([(category_label(c), c) for c in CATEGORIES], value=[],
                                              label="Categories (none = all)")  # fmt: skip
                job = gr.Textbox(label="Job description (optional: questions are matched to the skills it asks for)",
                                 lines=3, max_lines=10, placeholder="Paste the job ad here",
                                 elem_id="job")  # fmt: skip
                job_count = gr.Markdown(count_text("", MAX_JOB_DESCRIPTION_CHARS), elem_id="job-count")
                start = gr.Button("Start interview", variant="primary", elem_id="start-btn")
            status = gr.Markdown("", elem_id="status")
            clock = gr.Markdown("", elem_id="clock")
            timer = gr.Timer(1.0, active=False)
            with gr.Row(visible=False) as stage:  # nothing to show before the first question
                with gr.Column(scale=3):
                    chat = gr.Chatbot(label="Interview", show_label=False, height="min(560px, 58vh)", elem_id="chat",
                                      buttons=["copy_all"], group_consecutive_messages=False)  # fmt: skip
                    answer = gr.Textbox(label="Your answer", lines=5, max_lines=14, elem_id="answer",
                                        placeholder="Type your answer, then press Submit.")  # fmt: skip
                    count = gr.Markdown(count_text(""), elem_id="answer-count")
                    with gr.Row(elem_id="controls"):
                        button = {"interactive": False, "min_width": 100, "size": "md"}
                        submit = gr.Button("Submit", variant="primary", elem_id="submit-btn", **button)
                        retry = gr.Button("Try again", elem_id="retry-btn", **button)
                        nxt = gr.Button("Next question", elem_id="next-btn", **button)
                        ideal_btn = gr.Button("Show ideal answer", elem_id="ideal-btn", **button)
                        done = gr.Button("Finish", elem_id="finish-btn", **button)
                with gr.Column(scale=2):
                    details = gr.Markdown(NO_ANALYSIS, elem_id="details")
                    ideal = gr.Markdown("", elem_id="ideal")
            with gr.Group(visible=False) as summary_box:
                summary = gr.Markdown("", elem_id="summary")
                chart = gr.Plot(label="Criteria", show_label=False, elem_id="criteria-chart", format="png")
                with gr.Row():
                    dl_md = gr.DownloadButton("Download report (Markdown)", elem_id="dl-md")
                    dl_json = gr.DownloadButton("Download transcript (JSON)", elem_id="dl-json")
        with gr.Tab("Progress", elem_id="progress-tab") as progress_tab:
            progress_plot = gr.Plot(label="Your sessions", show_label=False, elem_id="progress-plot", format="png",
                                    visible=False)  # fmt: skip
            progress_md = gr.Markdown("", elem_id="progress-table")
            with gr.Row():
                refresh = gr.Button("Refresh", elem_id="refresh-btn")
                delete = gr.Button("Delete my history", variant="stop", elem_id="delete-btn")
            with gr.Group(visible=False) as confirm_box:
                confirm_md = gr.Markdown("")
                with gr.Row():
                    confirm = gr.Button("Yes, delete everything", variant="stop", elem_id="confirm-delete-btn")
                    cancel = gr.Button("Cancel", elem_id="cancel-delete-btn")
        with gr.Tab("About"):
            gr.Markdown(ABOUT.format(engine=render.escape(ctx.engine_label)))

        ui = {
            "session": session, "user": user, "browser_key": browser_key, "setup": setup, "status": status,
            "clock": clock, "timer": timer, "stage": stage, "chat": chat, "answer": answer,
            "submit": submit, "retry": retry, "next": nxt, "show_ideal": ideal_btn, "finish": done,
            "details": details, "ideal": ideal, "summary_box": summary_box, "summary": summary, "chart": chart,
            "dl_md": dl_md, "dl_json": dl_json, "progress_plot": progress_plot,
            "progress_md": progress_md, "confirm_box": confirm_box, "confirm_md": confirm_md,
        }  # fmt: skip

        def on(trigger, fn: Callable, inputs: list, outputs: list[str], stream: bool = False, **kw):
            """Wire a handler that returns {output name: value} to the named components."""
            return trigger(_by_component(fn, ui, stream), inputs, [ui[name] for name in outputs], **kw)

        # hidden plumbing: not part of the API (api_name=False makes them private to the Gradio clients too)
        on(demo.load, adopt_user_key, [browser_key], ["browser_key", "user"], api_name=False)
        answer.change(None, answer, count, js=COUNT_JS % MAX_ANSWER_CHARS, api_name=False)
        job.change(None, job, job_count, js=COUNT_JS % MAX_JOB_DESCRIPTION_CHARS, api_name=False)
        timer.tick(countdown, session, clock, api_name=False, concurrency_limit=None, show_progress="hidden")
        on(chat.clear, restore_chat, [session], ["chat", "status"], api_name=False)

        started = ["session", "chat", "details", "ideal", "status", "answer", "submit", "retry", "next", "show_ideal",
                   "finish", "stage", "setup", "summary_box", "timer", "clock"]  # fmt: skip
        settings = [role, categories, difficulty, n_questions, job, time_limit]
        on(start.click, lambda *a: start_interview(ctx, *a), settings, started, api_name="start",
           concurrency_limit=START_CONCURRENCY, concurrency_id="start").success(
            None, js=SCROLL_TO_CHAT_JS, api_name=False
        )  # fmt: skip

        graded = ["session", "chat", "details", "status", "answer", "submit", "retry", "next", "show_ideal", "finish"]
        grade = _grading_entry(ctx)
        on(submit.click, grade, [answer, session, user], graded, stream=True, api_name="answer")
        on(answer.submit, grade, [answer, session, user], graded, stream=True, api_name=False)
        buttons = ["submit", "retry", "next", "show_ideal", "finish"]
        on(retry.click, try_again, [session], ["session", "chat", "status", *buttons], api_name="try_again",
           concurrency_limit=None)  # fmt: skip
        moving_on = ["session", "chat", "status", "details", "ideal", "summary", "chart", "dl_md", "dl_json",
                     "summary_box", "timer", "clock", *buttons]  # fmt: skip
        on(nxt.click, lambda s, k: next_question(ctx, s, k), [session, user], moving_on, api_name="next_question",
           concurrency_limit=None).then(None, js=SCROLL_TO_SUMMARY_JS, api_name=False)  # fmt: skip
        on(ideal_btn.click, show_ideal, [session], ["ideal"], api_name="ideal_answer", concurrency_limit=None)
        on(done.click, lambda s, k: finish(ctx, s, k), [session, user], moving_on, api_name="finish",
           concurrency_limit=None).then(None, js=SCROLL_TO_SUMMARY_JS, api_name=False)  # fmt: skip

        progress = ["progress_plot", "progress_md"]
        for trigger in (refresh.click, progress_tab.select):
            on(trigger, lambda k: load_progress(ctx, k), [user], progress, api_name=False)
        on(delete.click, lambda k: ask_delete(ctx, k), [user], ["progress_md", "confirm_md", "confirm_box"],
           api_name=False)  # fmt: skip
        on(confirm.click, lambda k: delete_history(ctx, k), [user], [*progress, "confirm_box", "dl_md", "dl_json"],
           api_name=False)  # fmt: skip
        on(cancel.click, cancel_delete, [], ["confirm_box"], api_name=False)
    return demo


def _by_component(fn: Callable, ui: dict, stream: bool = False) -> Callable:
    """`fn` returning {name: value} (or, with `stream`, yielding such dicts) -> a Gradio handler returning
    {component: value}."""
    if stream:

        def gen(*args):
            for out in fn(*args):
                yield {ui[name]: value for name, value in out.items()}

        return gen

    def call(*args):
        return {ui[name]: value for name, value in fn(*args).items()}

    return call


def _grading_entry(ctx: AppContext):
    """The answer handler. LLM engines run on a GPU slot (ZeroGPU's `spaces.GPU`, a no-op elsewhere), and a
    per-request stop event ends generation when the client goes away."""

    def grade(answer, session, user):
        stop = threading.Event()
        try:
            yield from submit_answer(ctx, answer, session, user, stop_event=stop)
        finally:
            stop.set()  # the browser left or the request was cancelled: stop generating

    from interviewmate.coach import LocalLLMCoach

    if isinstance(ctx.coach, LocalLLMCoach):
        try:
            import spaces

            return spaces.GPU(grade)
        except ImportError:
            pass
    return grade


# ---------------------------------------------------------------------------------------------------------------
# serving limits


class RequestLimit:
    """ASGI middleware: refuse request bodies over `max_bytes` with 413 and a message, before anything parses
    them (Gradio sets no limit on JSON bodies; `max_file_size` covers uploads only)."""

    def __init__(self, app, max_bytes: int = MAX_REQUEST_BYTES):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send)
        if length is not None:  # the server holds the body to its declared length
            return await self.app(scope, receive, send)
        # no declared length (chunked): read it, up to the limit, then replay it
        body, more, messages = 0, True, []
        while more:
            message = await receive()
            messages.append(message)
            body += len(message.get("body", b""))
            more = message.get("more_body", False)
            if body > self.max_bytes:
                return await self._refuse(send)

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send):
        message = (f"This request is larger than {self.max_bytes // 1024} KB. Answers are limited to "
                   f"{MAX_ANSWER_CHARS:,} characters: shorten the text and try again.")  # fmt: skip
        body = json.dumps({"detail": message, "error": message}).encode()  # the page reads JSON, even here
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})


def launch_options() -> dict:
    """What `demo.launch()` needs besides host and port: the page's CSS, request and upload limits, and no
    "Runs" history (it would keep full answers in the browser's storage after a user deletes their history;
    turning it off also deletes what earlier versions saved)."""
    from starlette.middleware import Middleware

    return {
        "css": CSS,
        "run_history": False,
        "footer_links": ["api", "gradio", "settings"],
        "max_file_size": MAX_REQUEST_BYTES,
        "app_kwargs": {"middleware": [Middleware(RequestLimit, max_bytes=MAX_REQUEST_BYTES)]},
        "enable_monitoring": False,
        "show_error": True,
    }


ABOUT = """
### How scoring works
Every answer is scored 1-10 overall and 1-5 on relevance, structure, specificity and communication, on one
scale (see the dataset card). The **rubric** engine is a calibrated scorer fitted on hand-graded answers: it
looks for the parts of a STAR story, numbers and concrete actions, ownership ("I" vs "we"), filler and hedge
words, the question's key points and similarity to a strong answer. It refuses to score empty, off-language or
gibberish answers and text that tries to instruct the grader. LLM engines (a Falcon model with a LoRA
adapter) write feedback in their own words; their score is checked against the rubric scorer and both are
shown when they disagree.

### Job descriptions
Paste a job ad and the questions are ranked by the skills it asks for. Each question says how well it matches
(strong, partial or weak) and which skills; when the question bank has little that fits the job (a barista or
a nurse, say), you are told so and get general interview questions instead.

### Your data
Current engine: {engine}. Your answers are stored only to show your progress, under a random key kept in
this browser; **Delete my history** on the Progress tab removes them from the server, with the reports you
exported.
"""
