"""What the coach says: the language models zero-shot against fine-tuned, and the quality of the feedback and
follow-ups (automated checks from the evaluation, and the hand audit in `results/feedback_quality.json`).
"""

from __future__ import annotations

from .common import Reader, Section, booktabs, get_path_or, latex_escape, not_measured
from .evaluation import evals_of, metric_cells

LLM_RUNS = {  # results/eval_<key>.json -> label
    "local_zeroshot": "zero-shot, guided header",
    "local_finetuned": "fine-tuned, guided header",
    "local_zeroshot_free": "zero-shot, free generation",
    "local_finetuned_free": "fine-tuned, free generation",
    "rubric": "rubric coach (for scale)",
}
LLM_COMMAND = "python -m interviewmate.evaluate --engines local --splits test --no-contrast [--adapter none]"
FEEDBACK_COMMAND = "python scripts/feedback_audit.py"
CRITERIA = ("relevance", "structure", "specificity", "communication")


def llm_section(results: dict) -> Section:
    """SmolLM2-135M base zero-shot against the fine-tuned adapter on the test questions."""
    sec = Section()
    evals = evals_of(results)
    rows, slim = [], []
    for g, label in LLM_RUNS.items():
        res = evals.get(g)
        main = get_path_or(res, ("splits", "test", "main"))
        if not main:
            continue
        r = Reader(sec, res, f"results/eval_{g}.json", ("llm", g), ("splits", "test"))
        parsed = r("main", "n_scored", fmt="d")
        cells = [metric_cells(sec, g, res, "test", k, ".2f")[0] for k in ("mae", "spearman", "pair_accuracy")]
        crit = "/".join(r("main", "criteria_mae", k, fmt=".1f") for k in CRITERIA)
        refers = r("follow_ups", "share_refers_to_answer", fmt=".2f")
        r("follow_ups", "share_empty", fmt=".2f")
        r("main", "calibration", 4, "n", fmt="d", name=("scored nine or ten",))  # the 9-10 bin of the table
        rows.append([latex_escape(label), f"{parsed}/{r('main', 'n', fmt='d')}", *cells, crit, refers])
        slim.append([latex_escape(label), rows[-1][1], *cells])
        if g != "rubric":
            sec.flags.append(f"llm-{g.replace('_', '-')}")
    if len(rows) <= 1:
        sec.files["tables/llm.tex"] = not_measured("results/eval_local_*.json", LLM_COMMAND)
        return sec
    header = ["SmolLM2-135M", "parsed", "MAE", "Spearman", "pair acc.", "criteria MAE (R/St/Sp/C)",
              "follow-up refers"]  # fmt: skip
    sec.files["tables/llm.tex"] = booktabs(header, rows, "lrrrrcr")
    sec.files["tables/llm_slides.tex"] = booktabs(["SmolLM2-135M, test", "parsed", "MAE", "Spearman", "pair acc."],
                                                  slim, "lrrrr")  # fmt: skip
    sec.flags.append("llm")
    return sec


def feedback_section(results: dict) -> Section:
    """Automated checks (follow-ups that refer to the answer, verbatim quotes) and the hand audit."""
    sec = Section()
    fq = results.get("feedback_quality")
    rubric = evals_of(results).get("rubric")
    fsrc = "results/feedback_quality.json"
    for split in ("test", "validation"):
        fu = Reader(sec, rubric, "results/eval_rubric.json", ("fu", split), ("splits", split, "follow_ups"))
        fu("share_refers_to_answer", fmt=".2f"), fu("share_quotes_answer", fmt=".2f"), fu("n", fmt="d")
        fu("mean_margin_answer_vs_question", fmt="+.3f")
    if not fq:
        sec.files["tables/feedback.tex"] = not_measured(fsrc, FEEDBACK_COMMAND)
        return sec
    r = Reader(sec, fq, fsrc, ("fq",))

    def c(*p: object, f: str = ".2f") -> str:
        return r(*p, fmt=f)

    def share(*p: object) -> str:
        return f"{c(*p, 'value')} {{\\footnotesize[{c(*p, 'ci95', 0)}, {c(*p, 'ci95', 1)}]}}"

    kp = ("audit", "key_points")
    rows = [
        [r"``Not covered yet'' points that are really missing",
         f"{c(*kp, 'missing', f='d')} of {c(*kp, 'shown', f='d')}", share(*kp, "share_really_missing")],
        [r"\dots{} missing or only partly stated", f"{c(*kp, 'missing', f='d')}+{c(*kp, 'partly', f='d')}",
         share(*kp, "share_missing_or_partly")],
        ["follow-up a good interviewer could ask next", "", share("audit", "follow_ups", "share_sensible")],
        ["follow-up reads naturally (grammar, whole-phrase quote)", "", share("audit", "follow_ups",
                                                                             "share_reads_naturally")],
    ]  # fmt: skip
    c("audit", "answers", f="d")
    c(*kp, "covered", f="d")
    c(*kp, "answers_with_a_covered_point_shown", f="d")
    for tier in ("weak", "middling", "strong"):
        for k in ("points_shown", "points_covered", "answers", "sensible"):
            c("audit", "by_tier", tier, k, f="d")
    if get_path_or(fq, ("quotes",)):
        rows.append(["quoted phrases of the answer found verbatim (all test answers)",
                     f"{c('quotes', 'verbatim', f='d')} of {c('quotes', 'answer_quotes', f='d')}",
                     c("quotes", "share_verbatim")])  # fmt: skip
        c("quotes", "answers", f="d")
        c("quotes", "key_point_quotes", f="d")
        c("audit_is_current", "same_follow_up", f="d")
        c("audit_is_current", "same_not_covered", f="d")
        sec.flags.append("feedback-quotes")
    sec.files["tables/feedback.tex"] = booktabs(["check", "count", "share [95\\%]"], rows,
                                                r">{\raggedright\arraybackslash}p{7.6cm}rr")  # fmt: skip
    sec.flags.append("feedback")
    return sec
