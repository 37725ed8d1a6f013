"""A real browser: headless Chromium (Debian's, driven by Playwright) uses the default app as a candidate would.

Covered: the first screen, a whole interview (a follow-up answered, one skipped, a retry, the ideal answer,
the character limit, text in angle brackets), the exported report, job-description matching with its match
statement on a 390x844 phone (the question in view, tables and chart readable), and history that survives a
server restart and is deleted on request, with nothing left in the browser's storage.

Screenshots go to a temporary folder, or to $INTERVIEWMATE_SCREENSHOTS when set: refreshing the report's
`results/screenshots/` is an explicit command (`make screenshots`), never a side effect of the tests. The report
shows the 2nd and 3rd file in name order (feedback, summary), so those names are kept.
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
DESKTOP, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is missing (scripts/install_system.sh)")

DATA_ENGINEER_JD = """Senior Data Engineer (Payments Data Platform)
What you'll do
- Write and review complex SQL, including window functions and incremental loads
- Own data quality: deduplication, late-arriving data, schema changes
- Solid understanding of relational databases, indexing, transactions and isolation levels
- Make pipelines idempotent and safe to re-run; design for retries and backfills
- Build batch and streaming pipelines with Spark, Kafka and Airflow
Benefits: 30 days holiday and a pension."""
BARISTA_JD = """Barista - Full Time
- Prepare espresso drinks, pour-overs and teas to our recipes, including latte art
- Take orders, handle cash and card payments, and keep the till balanced
- Greet every customer, recommend drinks and pastries, and resolve complaints with a smile
- Keep the bar clean; follow food hygiene and allergen procedures
- Work calmly as part of a small team during the morning rush"""


@pytest.fixture(scope="module")
def rows():
    from interviewmate.dataset import load_rows

    return load_rows()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("INTERVIEWMATE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Server:
    """The app on a fixed port, so that a restart keeps the browser's origin (and so its stored history key)."""

    def __init__(self, db: Path):
        import app as app_module

        self.app, self.db, self.port = app_module, db, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.demo = None
        self.start()

    def start(self) -> None:
        from interviewmate.ui import launch_options

        self.demo = self.app.create_demo(self.app.parse_args(["--db", str(self.db)]))
        self.demo.launch(server_name="127.0.0.1", server_port=self.port, prevent_thread_lock=True, quiet=True,
                         **launch_options())  # fmt: skip

    def restart(self) -> None:
        """Close the server and build a new app from app.py on the same port and database."""
        self.demo.close()
        self.start()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from interviewmate.dataset import load_rows
    from interviewmate.interview import shared_index
    from interviewmate.questions import question_bank

    s = Server(tmp_path_factory.mktemp("db") / "history.db")
    shared_index(question_bank(load_rows())).warm()  # as a visitor a minute after start-up finds it (app.py warms it)
    yield s
    s.demo.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def open_app(browser, server, viewport):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.goto(server.url, wait_until="domcontentloaded")
    expect(page.get_by_text("Graded by")).to_be_visible(timeout=60_000)
    expect(page.locator("#start-btn")).to_be_visible()
    return context, page


def start(page, n: int, job: str = "", role: str | None = None):
    from playwright.sync_api import expect

    if page.locator("#chat").is_visible():  # the set-up folds away once an interview starts
        page.get_by_text("Set-up").click()
    expect(page.locator("#start-btn")).to_be_visible()
    if role:  # typed into the dropdown's filter and picked from its list, as a keyboard user would
        box = page.locator("#role input")
        box.click()
        box.fill(role)
        page.get_by_role("option", name=role, exact=True).click()
        expect(box).to_have_value(role)
    count = page.get_by_label("number input for Number of questions")
    count.fill(str(n))
    count.press("Enter")
    page.locator("#job textarea").fill(job)
    page.locator("#start-btn").click()
    expect(page.locator("#chat")).to_contain_text(f"Question 1 of {n}", timeout=60_000)
    expect(page.locator("#start-btn")).to_be_hidden()  # the set-up folds away, the interview comes into view
    expect(page.locator("#status")).to_be_in_viewport()


def answer(page, text: str, expect_text: str = "Score:"):
    from playwright.sync_api import expect

    before = page.locator("#chat").inner_text().count(expect_text)
    page.locator("#answer textarea").fill(text)
    page.locator("#submit-btn").click()
    expect(page.locator("#answer textarea")).to_have_value("", timeout=60_000)  # cleared once graded
    assert page.locator("#chat").inner_text().count(expect_text) > before


def strong_answer(rows, chat_text: str) -> str:
    from interviewmate.questions import question_bank

    item = next(q for q in question_bank(rows) if q.text in chat_text)
    return max((r for r in rows if r["question_id"] == item.question_id), key=lambda r: r["score"])["answer"]


def test_a_whole_interview_on_a_desktop(server, browser, rows, shots):
    from playwright.sync_api import expect

    context, page = open_app(browser, server, DESKTOP)
    expect(page.get_by_text("Choose a role")).to_be_visible()  # the first screen says how it works
    expect(page.locator("#chat")).to_be_hidden()  # and shows no empty chat before the start
    page.screenshot(path=str(shots / "04-first-screen.png"))

    start(page, 2)
    chat = page.locator("#chat")
    for button in ("#retry-btn", "#ideal-btn"):  # nothing to retry or compare with before an answer
        expect(page.locator(button)).to_be_disabled()
    page.screenshot(path=str(shots / "01-question.png"))

    answer(page, strong_answer(rows, chat.inner_text()))
    expect(chat).to_contain_text("Follow-up:")
    expect(page.locator("#details")).to_contain_text("Filler words")
    expect(page.locator("#retry-btn")).to_be_enabled()
    page.locator("#ideal-btn").click()
    expect(page.locator("#ideal")).to_contain_text("A strong answer to")
    page.screenshot(path=str(shots / "02-feedback.png"), full_page=True)

    # the follow-up, answered: text in angle brackets is shown as typed
    answer(page, "I would type it as Optional<List<int>> and check the p95 latency: it fell from 800 to 300 ms.")
    expect(chat).to_contain_text("Optional<List<int>>")
    page.locator("#retry-btn").click()
    expect(chat).to_contain_text("Try again:")
    answer(page, "I am not sure, I would probably look it up and ask a colleague what they think about it.",
           expect_text="")  # fmt: skip

    page.locator("#next-btn").click()
    expect(chat).to_contain_text("Question 2 of 2", timeout=30_000)
    expect(page.locator("#details")).to_contain_text("Answer the question to see")  # panels of the last question
    expect(page.locator("#ideal")).to_have_text("")
    expect(page.locator("#next-btn")).to_have_text("Finish and see summary")

    too_long = "word " * 1220  # 6,100 characters: refused with a reason, nothing cut, nothing lost
    page.locator("#answer textarea").fill(too_long)
    expect(page.locator("#answer-count")).to_contain_text("over the limit")
    page.locator("#submit-btn").click()
    expect(page.locator("#status")).to_contain_text("Nothing was cut", timeout=30_000)
    expect(page.locator("#answer textarea")).to_have_value(too_long)

    answer(page, strong_answer(rows, chat.inner_text()))
    expect(chat).to_contain_text("Follow-up:")
    page.locator("#next-btn").click()  # the follow-up, skipped
    summary = page.locator("#summary")
    expect(summary).to_contain_text("Your summary", timeout=30_000)
    expect(summary).to_contain_text("Follow-up answers: 1")
    for button in ("#submit-btn", "#finish-btn", "#next-btn"):
        expect(page.locator(button)).to_be_disabled()
    expect(page.locator("#criteria-chart img")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(shots / "03-summary.png"), full_page=True)

    with page.expect_download() as download:
        page.locator("#dl-md").click()
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert report.startswith("# InterviewMate session report") and report.count("**A strong answer**") == 2
    assert "Optional&lt;List&lt;int&gt;&gt;" in report and "<List" not in report
    assert "Follow-up:" in report and not re.search(r"\bpress\b|Next question|Show ideal", report)  # no UI text
    context.close()


def test_job_description_matching_on_a_phone(server, browser, shots):
    from playwright.sync_api import expect

    context, page = open_app(browser, server, PHONE)
    start(page, 5, DATA_ENGINEER_JD, role="Data engineer")
    chat = page.locator("#chat")
    expect(chat).to_contain_text("questions test skills your job description asks for")
    expect(chat).to_contain_text("Strong match with your job description")
    expect(chat).to_contain_text("no questions on Spark")
    expect(chat.get_by_text("Question 1 of 5")).to_be_in_viewport(ratio=1)  # the question is in view after Start
    page.screenshot(path=str(shots / "05-phone-job-description.png"))

    start(page, 3, BARISTA_JD, role="Any role")
    expect(chat).to_contain_text("Little in the question bank fits this job description")
    expect(chat).not_to_contain_text("Strong match with your job description")
    page.screenshot(path=str(shots / "06-phone-little-fits.png"))

    answer(page, "A regular was upset that her order was wrong, so I apologised, remade it at once and "
                 "gave her a card for a free drink; she came back the next day and thanked me.")  # fmt: skip
    page.locator("#finish-btn").click()
    expect(page.locator("#summary")).to_contain_text("Your summary", timeout=30_000)
    page.wait_for_function(f"document.documentElement.scrollWidth <= {PHONE['width']}")  # nothing spills sideways
    page.locator("#summary").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "07-phone-summary.png"), full_page=True)
    context.close()


def test_history_survives_a_restart_and_is_deleted(server, browser, rows, shots):
    from playwright.sync_api import expect

    context, page = open_app(browser, server, DESKTOP)
    start(page, 1)
    answer(page, strong_answer(rows, page.locator("#chat").inner_text()))
    page.locator("#finish-btn").click()
    expect(page.locator("#summary")).to_contain_text("Your summary", timeout=30_000)
    with page.expect_download() as download:
        page.locator("#dl-json").click()
    export_url = download.value.url

    server.restart()
    page.reload(wait_until="domcontentloaded")
    expect(page.get_by_text("Graded by")).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Progress").click()
    table = page.locator("#progress-table")
    expect(table.locator("tbody tr")).to_have_count(1, timeout=30_000)  # the session from before the restart
    expect(page.locator("#progress-plot img")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)  # the tab's refresh settles (no loading veil in the screenshot)
    page.screenshot(path=str(shots / "08-progress-after-restart.png"), full_page=True)

    page.locator("#delete-btn").click()
    expect(page.get_by_text("Delete your history?")).to_be_visible()
    expect(page.get_by_text("1 session(s)")).to_be_visible()
    page.locator("#cancel-delete-btn").click()
    expect(page.locator("#confirm-delete-btn")).to_be_hidden()
    page.locator("#delete-btn").click()
    page.locator("#confirm-delete-btn").click()
    expect(table).to_contain_text("Deleted your history", timeout=30_000)
    page.get_by_role("tab", name="Interview").click()
    page.get_by_role("tab", name="Progress").click()
    expect(table).to_contain_text("No scored answers yet")
    with pytest.raises(urllib.error.HTTPError):  # the exported transcript is gone too
        urllib.request.urlopen(export_url, timeout=10)
    stored = page.evaluate("Object.keys(localStorage)")
    assert stored == ["interviewmate-user"], stored  # no "Runs" history keeping answers in the browser
    context.close()
