"""Markdown for everything a user reads: the verdict in the chat, the analysis panel, the summary and the report
they download. One renderer, one escaping rule; no gradio here (the UI and the export both call it).

User and model text is escaped, never stripped: `Optional<List<int>>` shows as written, and no HTML, image or
link a user or a model types can render as one.
"""

from __future__ import annotations

import html
import re
import time

from interviewmate.coach import Grade
from interviewmate.rubric import CRITERIA, STAR_PARTS, STORY_CATEGORIES, category_label, role_label

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LINE_START = re.compile(r"^(\s*)(?:(\d+)\.|([-+>=]))", re.MULTILINE)


def escape(text: object) -> str:
    """Inline-safe Markdown for untrusted text: HTML escaped, Markdown syntax backslash-escaped, lines kept."""
    out = html.escape(str(text or ""), quote=False)
    out = _MD_SPECIAL.sub(r"\\\1", out)
    return _LINE_START.sub(lambda m: m.group(1) + (f"{m.group(2)}\\." if m.group(2) else "\\" + m.group(3)), out)


def quoted(text: object) -> str:
    """A block quote of untrusted text (each line escaped and prefixed)."""
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def not_scored(grade: Grade) -> str:
    """The one "not scored" line: the reason, then the guidance (unless it repeats the reason)."""
    reason = (grade.reason or "no reason was given.").strip()
    body = reason[0].upper() + reason[1:]
    if grade.feedback and grade.feedback.strip() not in body:
        body += " " + grade.feedback.strip()
    return f"**Not scored.** {escape(body)}"


def score_line(grade: Grade, previous: int | None = None) -> str:
    band = f" (likely {grade.band[0]}-{grade.band[1]})" if grade.band else ""
    subs = ""
    if grade.content is not None and grade.delivery is not None:
        subs = f" · content {grade.content:.0f}/10 · delivery {grade.delivery:.0f}/10"
    line = f"**Score: {grade.score}/10**{band}{subs}"
    if previous is not None:
        line += f" · previous attempt {previous} → {grade.score} ({grade.score - previous:+d})"
    return line


def grade_markdown(grade: Grade, previous: int | None = None, over_time_s: float | None = None) -> str:
    """The interviewer's verdict in the chat: score with its likely range, criteria, then the feedback."""
    if not grade.scored:
        return not_scored(grade)
    out = [score_line(grade, previous), " · ".join(f"{c} {grade.criteria[c]}/5" for c in CRITERIA)]
    if grade.disagreement:
        out.append(f"⚠️ {escape(grade.disagreement)}")
    if over_time_s is not None:
        out.append(f"⏱️ This answer took {over_time_s:.0f} s, over your time limit.")
    if grade.feedback:
        out.append(escape(grade.feedback))
    if grade.strengths:
        out.append("**What worked**\n" + "\n".join(f"- {escape(s)}" for s in grade.strengths))
    if grade.improvements:
        out.append("**What to improve**\n" + "\n".join(f"- {escape(s)}" for s in grade.improvements))
    return "\n\n".join(out)


def details_markdown(grade: Grade | None, category: str | None = None, follow_up: bool = False) -> str:
    """The analysis panel of the current question: criteria, STAR parts (story questions), filler and hedges,
    length, ownership, key points missed, and what was not counted as content."""
    if grade is None:
        return "*Answer the question to see the analysis of your answer here.*"
    if not grade.scored:
        return "### Not scored\n\n" + not_scored(grade)
    lines = [
        f"### Score {grade.score}/10",
        "\n".join(["| criterion | score |", "| --- | --- |"] + [f"| {c} | {grade.criteria[c]}/5 |" for c in CRITERIA]),
    ]
    ev = grade.evidence
    if ev is not None:
        if category in STORY_CATEGORIES and not follow_up:
            found = "; ".join(f"{p} (“{escape(_clip(ev.star_found[p]))}”)" for p in STAR_PARTS if p in ev.star_found)
            missing = ", ".join(ev.star_missing) or "none"
            lines.append(f"**STAR parts found:** {found or 'none'} · **missing:** {missing}")
        counts = lambda d: ", ".join(f"“{escape(k)}” ×{v}" for k, v in d.items()) or "none"  # noqa: E731
        lines.append(f"**Filler words:** {counts(ev.fillers)} · **Hedges:** {counts(ev.hedges)}")
        lines.append(f"**Length:** {escape(ev.length_advice)} · **Ownership:** “I” ×{ev.i_count}, “we” ×{ev.we_count}")
        if ev.key_points_missing:
            lines.append("**Key points missed:**\n" + "\n".join(f"- {escape(k)}" for k in ev.key_points_missing))
        if ev.not_counted:
            lines.append(
                "**Not counted as content** (describes or restates rather than answers):\n"
                + "\n".join(f"- “{escape(_clip(s))}”" for s in ev.not_counted[:3])
            )
    if grade.engine:
        lines.append(f"*Graded by {escape(grade.engine)} in {grade.latency_s:.2f} s.*")
    return "\n\n".join(lines)


def _clip(text: str, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def summary_markdown(summary: dict) -> str:
    """The end-of-interview summary: one row per question, strengths, the three things to practise."""
    mean = summary["mean_score"]
    lines = [
        f"## Your summary · mean score {mean if mean is not None else 'n/a'}/10",
        "*Mean of your best scored attempt at each question; follow-up answers are shown apart.*",
        "",
        "| # | question | tries | first | best |",
        "| --- | --- | --- | --- | --- |",
    ]
    for i, q in enumerate(summary["questions"], 1):
        best = q["best_score"] if q["best_score"] is not None else ("not scored" if q["attempts"] else "skipped")
        first = q["first_score"] if q["first_score"] is not None else "-"
        lines.append(f"| {i} | {escape(_clip(q['question'], 80))} | {q['attempts']} | {first} | {best} |")
    if summary["follow_ups_answered"]:
        fm = summary["follow_up_mean_score"]
        lines += [
            "",
            f"Follow-up answers: {summary['follow_ups_answered']}"
            + (f", mean {fm}/10." if fm is not None else ", none scored."),
        ]
    if summary["strengths"]:
        lines += ["", "**Strengths**", *[f"- {escape(x)}" for x in summary["strengths"]]]
    if summary["practice"]:
        lines += [
            "",
            "**The three most valuable things to practise**",
            *[f"{i}. {escape(x)}" for i, x in enumerate(summary["practice"], 1)],
        ]
    return "\n".join(lines)


def report_markdown(session) -> str:
    """The transcript and report a user downloads: escaped user text, the grades, the ideal answers; no UI
    instructions."""
    s = session.summary()
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(session.started_at))
    lines = [
        "# InterviewMate session report",
        "",
        f"- Session `{session.session_id}`, {when} UTC; role: {escape(role_label(session.config.role))}; engine: "
        f"{escape(session.engine)}",
        f"- Questions answered: {s['answered']} of {len(session.plan)}",
        f"- Mean score (best attempt per question): {'n/a' if s['mean_score'] is None else s['mean_score']}/10",
        "",
    ]
    if s["criteria_means"]:
        lines += ["| criterion | mean (1-5) |", "| --- | --- |"]
        lines += [f"| {c} | {v} |" for c, v in s["criteria_means"].items()] + [""]
    if s["strengths"]:
        lines += ["## Strengths", *[f"- {escape(x)}" for x in s["strengths"]], ""]
    if s["practice"]:
        lines += ["## Practise next", *[f"{i}. {escape(x)}" for i, x in enumerate(s["practice"], 1)], ""]
    lines += ["## Transcript", ""]
    for n, planned in enumerate(session.plan, 1):
        turns = [t for t in session.turns if t.question_id == planned.item.question_id]
        if not turns:
            continue
        lines += [f"### Question {n} ({category_label(planned.item.category)}): {escape(planned.item.text)}", ""]
        for t in turns:
            follow = t.kind == "follow_up"
            label = f"Follow-up: {escape(t.question)}" if follow else f"Your answer (attempt {t.attempt})"
            lines += [f"**{label}**", "", quoted(t.answer), ""]
            g = t.grade
            if g.scored:
                lines.append(f"Score: **{g.score}/10** · " + ", ".join(f"{c} {g.criteria[c]}/5" for c in CRITERIA))
                for title, items in (("What worked", g.strengths), ("What to improve", g.improvements)):
                    if items:
                        lines += ["", f"{title}:", *[f"- {escape(x)}" for x in items]]
                if g.feedback:
                    lines += ["", escape(g.feedback)]
            else:
                lines.append(not_scored(g))
            lines.append("")
        if planned.item.ideal_answer:
            lines += ["**A strong answer**", "", quoted(planned.item.ideal_answer), ""]
    return "\n".join(lines)


def chat_messages(session) -> list[dict]:
    """The interview as chat messages, rebuilt from an `InterviewSession` (the single source of truth): the
    job-description match, each question with why it was chosen, the answers and their verdicts."""
    if session is None:
        return []
    messages: list[dict] = []
    if session.match_statement:
        statement = f"**Your job description.** {escape(session.match_statement)}"
        messages.append({"role": "assistant", "content": statement})
    n = len(session.plan)
    for i, planned in enumerate(session.plan[: session.index + 1]):
        messages.append({"role": "assistant", "content": f"**Question {i + 1} of {n}** · *{escape(planned.reason)}*"
                         f"\n\n{escape(planned.item.text)}"})  # fmt: skip
        for turn in [t for t in session.turns if t.question_id == planned.item.question_id]:
            if turn.kind == "follow_up":
                messages.append({"role": "assistant", "content": f"**Follow-up:** {escape(turn.question)}"})
            elif turn.attempt > 1:
                messages.append({"role": "assistant", "content": f"**Try again:** {escape(turn.question)}"})
            messages.append({"role": "user", "content": escape(turn.answer)})
            over = turn.elapsed_s if turn.over_time else None
            verdict = grade_markdown(turn.grade, session.previous_score(turn), over)
            messages.append({"role": "assistant", "content": verdict})
    if session.pending_follow_up and not session.finished:
        messages.append({"role": "assistant", "content": f"**Follow-up:** {escape(session.pending_follow_up)}\n\n"
                         "*Answer it, or press Next question to move on.*"})  # fmt: skip
    if session.finished:
        messages.append({"role": "assistant", "content": "That was the last question. Your summary is below."})
    return messages


def progress_markdown(rows: list[dict]) -> str:
    """The Progress table: one row per session, its mean score and criteria means as its summary computed them."""
    table = [
        "| # | date (UTC) | role | answers | mean /10 | " + " | ".join(CRITERIA) + " |",
        "| --- " * (5 + len(CRITERIA)) + "|",
    ]
    for i, r in enumerate(rows, 1):
        day = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["started_at"]))
        crit = " | ".join("-" if r.get(c) is None else f"{r[c]:.1f}" for c in CRITERIA)
        role = escape(role_label(r["role"]))
        table.append(f"| {i} | {day} | {role} | {r['answers']} | {r['mean_score']} | {crit} |")
    return "\n".join(table)
