"""The data sections: the main set's counts and figures, the contrast set, the scale and one rendered example.

Everything here is computed from `data/` with `interviewmate.dataset`, the same functions the dataset card uses.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt

from .common import FIG_STYLE, TIER_COLORS, Section, booktabs, latex_escape, macro_name, number, save

SOURCE = "data/interview_qa.jsonl"
CONTRAST_SOURCE = "data/contrast_qa.jsonl"
CHECKS = ("MIN_BAND_SHARE", "MAX_LENGTH_RHO", "NEAR_DUP_QUESTION", "NEAR_DUP_TEXT")


def summary(rows: list[dict], splits: dict, issues: int) -> dict:
    """`statistics_of` plus the split sizes, the validator's problem count and its thresholds."""
    from interviewmate import dataset as ds

    stats = ds.statistics_of(rows)
    parts = ds.split_rows(rows, splits)
    stats["splits"] = {n: {"questions": len(splits[n]), "rows": len(parts[n])} for n in ds.SPLIT_NAMES}
    stats["validation_issues"] = issues
    stats["n_categories"], stats["n_roles"] = len(stats["categories"]), len(stats["roles"])
    stats["checks"] = {k: getattr(ds, k) for k in CHECKS}
    return stats


def dataset_section(stats: dict, rows: list[dict], contrast: dict, fig_dir: Path) -> Section:
    sec = Section()
    paths = {
        "DatasetRows": ("rows",), "DatasetQuestions": ("questions",), "DatasetSpearman": ("spearman_length_score",),
        "DatasetValidationIssues": ("validation_issues",), "DatasetCategories": ("n_categories",),
        "DatasetRoles": ("n_roles",), "CheckMaxLengthRho": ("checks", "MAX_LENGTH_RHO"),
        "CheckNearDupQuestion": ("checks", "NEAR_DUP_QUESTION"), "CheckNearDupText": ("checks", "NEAR_DUP_TEXT"),
    }  # fmt: skip
    for m, p in paths.items():
        v = stats
        for k in p:
            v = v[k]
        sec.add(number(m, stats, SOURCE, p, ",d" if isinstance(v, int) else ".3f" if p[0] != "checks" else ""))
    sec.add(number("CheckMinBandSharePct", stats, SOURCE, ("checks", "MIN_BAND_SHARE"), ".0f", 0.01))
    for k in stats["difficulties"]:
        sec.add(number(macro_name("dataset", k), stats, SOURCE, ("difficulties", k), ",d"))
    for b in stats["answer_words_by_band"]:
        sec.add(number(macro_name("words", b, "mean"), stats, SOURCE, ("answer_words_by_band", b, "mean"), ".0f"))
    for name, part in stats["splits"].items():
        for k in part:
            sec.add(number(macro_name("split", name, k), stats, SOURCE, ("splits", name, k), ",d"))
    n = stats["rows"]
    split_rows_ = [[name, f"{p['questions']:,}", f"{p['rows']:,}", f"{100 * p['rows'] / n:.1f}\\%"]
                   for name, p in stats["splits"].items()]  # fmt: skip
    sec.files["tables/dataset_splits.tex"] = booktabs(["split", "questions", "rows", "share of rows"], split_rows_)
    sec.merge(contrast_section(contrast))
    fig_counts(stats, fig_dir / "dataset_counts.pdf")
    fig_length_by_score(rows, fig_dir / "length_by_score.pdf")
    return sec


def contrast_summary(rows: list[dict], splits: dict) -> dict:
    """The dataset card's contrast statistics per kind, and the total."""
    from interviewmate.dataset import contrast_statistics

    return {"rows": len(rows), "kinds": contrast_statistics(rows, splits)}


def contrast_section(stats: dict) -> Section:
    """The contrast set by kind: rows, questions, rows per split, scores and lengths (as on the dataset card)."""
    sec = Section()
    sec.add(number("ContrastRows", stats, CONTRAST_SOURCE, ("rows",), ",d"))
    rows = []
    for kind in stats["kinds"]:

        def cell(*p: str, f: str = ",d", kind: str = kind) -> str:
            return sec.add(number(macro_name("contrast", kind, *p), stats, CONTRAST_SOURCE, ("kinds", kind, *p), f))

        rows.append([rf"\texttt{{{latex_escape(kind)}}}", cell("rows"), cell("questions"),
                     " / ".join(cell("splits", s) for s in ("train", "validation", "test")),
                     f"{cell('score_mean', f='.1f')} ({cell('score_min')}--{cell('score_max')})",
                     f"{cell('words_median', f='.0f')} ({cell('words_min')}--{cell('words_max')})"])  # fmt: skip
    header = ["kind", "rows", "questions", "train / val.\\ / test", "score mean (range)", "words median (range)"]
    sec.files["tables/contrast.tex"] = booktabs(header, rows, "lrrccc")
    return sec


def fig_counts(stats: dict, path: Path) -> None:
    with plt.rc_context(FIG_STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.4), gridspec_kw={"width_ratios": [1.1, 1.1, 0.6]})
        for ax, key, title in zip(
            axes, ("categories", "roles", "difficulties"), ("category", "role", "difficulty"), strict=True
        ):
            items = list(stats[key].items())
            ax.barh(range(len(items)), [v for _, v in items], color="#4f81bd")
            ax.set_yticks(range(len(items)), [k.replace("_", " ") for k, _ in items])
            ax.invert_yaxis()
            ax.set_title(f"rows by {title}")
            for i, (_, v) in enumerate(items):
                ax.text(v, i, f" {v}", va="center", fontsize=7)
            ax.set_xlim(0, max(v for _, v in items) * 1.25)
        fig.tight_layout()
        save(fig, path)


def fig_length_by_score(rows: list[dict], path: Path) -> None:
    """Answer length by human score, boxes coloured by tier, with the score histogram on a second axis."""
    from interviewmate.rubric import quality_tier

    with plt.rc_context(FIG_STYLE):
        fig, (ax0, ax) = plt.subplots(1, 2, figsize=(7.0, 2.4))
        scores = list(range(1, 11))
        counts = [sum(r["score"] == s for r in rows) for s in scores]
        ax0.bar(scores, counts, color=[TIER_COLORS[quality_tier(s)] for s in scores])
        ax0.set_xticks(scores)
        ax0.set_xlabel("overall score (1-10)")
        ax0.set_ylabel("rows")
        ax0.set_title("scores, coloured by quality tier")
        words = [[len(r["answer"].split()) for r in rows if r["score"] == s] for s in scores]
        keep = [i for i, w in enumerate(words) if w]
        style = {"widths": 0.6, "patch_artist": True, "medianprops": {"color": "k"}, "flierprops": {"markersize": 2}}
        parts = ax.boxplot([words[i] for i in keep], positions=[scores[i] for i in keep], **style)
        for box, i in zip(parts["boxes"], keep, strict=True):
            box.set_facecolor(TIER_COLORS[quality_tier(scores[i])])
        ax.set_xlabel("overall score")
        ax.set_ylabel("answer length (words)")
        ax.set_title("length by score: not monotone")
        fig.tight_layout()
        save(fig, path)


def scale_table() -> str:
    """The scoring anchors exactly as the system prompt states them to every engine (prompts.SYSTEM_PROMPT)."""
    from interviewmate.prompts import SYSTEM_PROMPT

    text = " ".join(SYSTEM_PROMPT.split("\n"))
    anchors = re.findall(r"(\d+-\d+): (.*?)(?= \d+-\d+: | Length is not)", text)
    rows = [[a, latex_escape(d.strip())] for a, d in anchors]
    return booktabs(["score", "what the answer is like"], rows, r"l>{\raggedright\arraybackslash}p{0.8\linewidth}")


ASCII = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "--", "\u2026": "...",
         "\u00a0": " ", "\u2192": "->", "\u00d7": "x", "\u2264": "<=", "\u2265": ">="}  # fmt: skip


def template_example(rows: list[dict], width: int = 92) -> str:
    """The chat template rendered on the shortest test-split row, wrapped for a verbatim block."""
    from jinja2 import Template

    from interviewmate.dataset import to_conversation
    from interviewmate.prompts import CHAT_TEMPLATE

    row = min(rows, key=lambda r: len(r["answer"]) + len(r["feedback"]) + len(r["ideal_answer"]))
    conv = to_conversation(row)
    text = Template(CHAT_TEMPLATE).render(messages=conv["prompt"] + conv["completion"], eos_token="<eos>",
                                          add_generation_prompt=False)  # fmt: skip
    text = "".join(ASCII.get(c, c) if ord(c) > 127 else c for c in text)  # pdflatex verbatim is 8-bit
    text = text.encode("ascii", "replace").decode()
    lines = []
    for line in text.splitlines():
        lines += textwrap.wrap(line, width, subsequent_indent="  ") or [""]
    return "\n".join(lines) + "\n"
