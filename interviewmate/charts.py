"""The two charts a user sees: the criteria of one interview, and progress over sessions. Matplotlib figures
(no gradio here), built with `Figure` rather than pyplot so nothing is kept in a global registry per request.

Both are drawn to stay readable when a phone scales them to 360 px: horizontal bars with the criterion names
on their own axis (they never collide), points on every line (one session is still visible), whole-number
session ticks, and fixed score axes (1-10, 1-5) so sessions compare at a glance.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from interviewmate.rubric import CRITERIA

COLORS = {"relevance": "#1f77b4", "structure": "#ff7f0e", "specificity": "#2ca02c", "communication": "#9467bd"}


def criteria_chart(means: dict[str, float]) -> Figure | None:
    """Horizontal bars: the mean (1-5) of each criterion over the best attempts of one interview."""
    if not means:
        return None
    fig = Figure(figsize=(4.8, 2.4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    names = [c for c in CRITERIA if c in means][::-1]  # first criterion on top
    values = [means[c] for c in names]
    ax.barh(names, values, color=[COLORS[c] for c in names], height=0.6)
    for y, v in enumerate(values):
        ax.text(min(v + 0.08, 4.55), y, f"{v:.1f}", va="center", fontsize=12)
    ax.set_xlim(0, 5)
    ax.set_xticks(range(6))
    ax.set_xlabel("mean of your best attempts (1-5)", fontsize=11)
    ax.tick_params(labelsize=12)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def progress_chart(rows: list[dict]) -> Figure | None:
    """Two panels over sessions (oldest first): the mean score (1-10), and a line per criterion (1-5)."""
    if not rows:
        return None
    x = list(range(1, len(rows) + 1))
    fig = Figure(figsize=(4.8, 5), dpi=110, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(x, [r["mean_score"] for r in rows], marker="o", color="#333333", linewidth=2)
    top.set_ylim(0, 10.5)
    top.set_yticks(range(0, 11, 2))
    top.set_ylabel("mean score (1-10)", fontsize=11)
    for k, c in enumerate(CRITERIA):
        nudge = (k - 1.5) * 0.05  # equal scores side by side instead of one dot hiding another
        points = [(i + nudge, r[c]) for i, r in zip(x, rows, strict=True) if r.get(c) is not None]
        if points:
            bottom.plot(*zip(*points, strict=True), marker="o", label=c, color=COLORS[c], linewidth=1.8)
    bottom.set_ylim(0.8, 5.2)
    bottom.set_yticks(range(1, 6))
    bottom.set_ylabel("criteria (1-5)", fontsize=11)
    bottom.set_xlabel("session", fontsize=11)
    bottom.set_xlim(0.5, len(rows) + 0.5)  # one session sits in the middle
    bottom.set_xticks(x)
    bottom.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=11, frameon=False)
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(labelsize=11)
        ax.spines[["top", "right"]].set_visible(False)
    return fig
