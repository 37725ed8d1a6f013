"""A real browser: headless Chromium (Debian's, driven by Playwright) runs an interview on the default app.

Saves screenshots to results/screenshots/ (the report uses them).
"""

from __future__ import annotations

import shutil

import pytest
from conftest import ROOT, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = ROOT / "results" / "screenshots"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def fixture_rows_all():
    from interviewmate.dataset import load_rows

    return load_rows()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import argparse

    import app as app_module

    args = app_module.parse_args(["--db", str(tmp_path_factory.mktemp("db") / "h.db")])
    assert isinstance(args, argparse.Namespace)
    demo = app_module.create_demo(args)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                enable_monitoring=False)  # fmt: skip
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (scripts/install_system.sh)")
def test_interview_in_headless_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(server, wait_until="domcontentloaded")
        expect(page.get_by_text("Engine:")).to_be_visible(timeout=30_000)
        count = page.get_by_label("number input for Number of questions")
        count.fill("2")
        count.press("Enter")
        page.locator("#start-btn").click()
        chat = page.locator("#chat")
        expect(chat).to_contain_text("Question 1 of 2", timeout=30_000)
        page.screenshot(path=str(SHOTS / "01-question.png"))

        # answer with the dataset's strong answer to the question on screen, as a well-prepared user would
        from interviewmate.coach import question_bank

        shown = chat.inner_text()
        item = next(q for q in question_bank(fixture_rows_all()) if q.question in shown)
        answer = max(item.reference_answers, key=lambda r: r["score"])["answer"]
        page.locator("#answer textarea").fill(answer)
        page.locator("#submit-btn").click()
        expect(chat).to_contain_text("Score:", timeout=60_000)
        expect(page.locator("#details")).to_contain_text("Filler words", timeout=10_000)
        expect(chat).to_contain_text("Follow-up:")
        page.screenshot(path=str(SHOTS / "02-feedback.png"), full_page=True)

        page.locator("#next-btn").click()
        expect(chat).to_contain_text("Question 2 of 2", timeout=30_000)
        page.locator("#answer textarea").fill("I don't know.")
        page.locator("#submit-btn").click()
        expect(chat).to_contain_text("Not scored", timeout=60_000)
        page.locator("#next-btn").click()
        expect(page.get_by_role("heading", name="Your summary")).to_be_visible(timeout=30_000)
        chart = page.locator("#criteria-chart")
        chart.scroll_into_view_if_needed()
        expect(chart.locator("canvas, svg").first).to_be_visible(timeout=30_000)  # the chart really rendered
        page.wait_for_timeout(500)  # let the bars finish drawing before the screenshot
        page.screenshot(path=str(SHOTS / "03-summary.png"), full_page=True)
        browser.close()
    for name in ("01-question.png", "02-feedback.png", "03-summary.png"):
        assert (SHOTS / name).stat().st_size > 10_000
