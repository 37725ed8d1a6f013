"""Where the scorer is pushed: the contrast kinds, grading without an ideal answer, follow-up answers, the stress
set, outside data (SemEval-2013), the ablations and learning curve, and the correctness experiment not adopted.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from .common import (
    FIG_STYLE,
    Reader,
    Section,
    booktabs,
    get_path_or,
    latex_escape,
    not_measured,
    number,
    save,
)
from .evaluation import EVAL_COMMAND, GRADERS, evals_of

KINDS = ("concise_strong", "polished_wrong", "follow_up_answer", "described_not_told")
ABLATIONS_COMMAND = "python scripts/scorer_ablations.py --semeval PATH"


def contrast_section(results: dict, fig_dir: Path) -> Section:
    """Each contrast kind on the held-out questions: human mean, each grader's mean and MAE."""
    sec = Section()
    evals = evals_of(results)
    graders = [g for g in ("cosine", "rubric") if g in evals]
    if "rubric" not in evals:
        sec.files["tables/contrast_eval.tex"] = not_measured("results/eval_rubric.json", EVAL_COMMAND)
        return sec
    rows: list = []
    for split in ("test", "validation"):
        first = True
        for kind in KINDS:
            for variant in ("with_reference", "as_in_app"):
                base = ("splits", split, "contrast", kind, variant)
                if get_path_or(evals["rubric"], base) is None:
                    continue

                def reader(g: str, b: tuple = base) -> Reader:
                    return Reader(sec, evals[g], f"results/eval_{g}.json", ("ct", g, *b[1:]), b)

                n = reader("rubric")("n", fmt="d")
                human = reader("rubric")("mean_true", fmt=".1f", name=("human",))
                cells = [reader(g)(k, fmt=".1f") for g in graders for k in ("mean_pred", "mae")]
                label = latex_escape(kind.replace("_", " ")) + (", as in app" if variant == "as_in_app" else "")
                rows.append([split if first else "", label, n, human, *cells])
                first = False
        rows.append(r"\midrule")
    rows = rows[:-1]
    header = ["split", "kind", "answers", "human"]
    for g in graders:
        header += [GRADERS[g].split()[-1], "MAE"]  # "cosine", "scorer": their mean score, then their MAE
    sec.files["tables/contrast_eval.tex"] = booktabs(header, rows, "ll" + "r" * (len(header) - 2))
    hists = {}
    for kind in ("concise_strong", "polished_wrong", "described_not_told"):
        h = [get_path_or(evals["rubric"], ("splits", s, "contrast", kind, "with_reference", "pred_histogram"), {})
             for s in ("validation", "test")]  # fmt: skip
        if any(h):
            hists[kind] = [sum(int(x.get(str(k), 0)) for x in h) for k in range(1, 11)]
    if hists:
        fig_contrast(hists, fig_dir / "contrast_hist.pdf")
        sec.flags.append("contrast-fig")
    sec.flags.append("contrast-eval")
    # grading with no ideal answer, and follow-up answers: prose macros
    for split in ("test", "validation"):
        rubric = evals["rubric"]
        nr = Reader(sec, rubric, "results/eval_rubric.json", ("noref", split), ("splits", split, "no_reference"))
        for k in ("spearman", "mae"):
            nr(k, "value", fmt=".2f", name=(k,)), nr(k, "ci95", 0, fmt=".2f", name=(k, "lo"))
            nr(k, "ci95", 1, fmt=".2f", name=(k, "hi"))
        nr("mean_pred", fmt=".2f"), nr("mean_gap_to_reference", fmt=".2f"), nr("abstention_rate", fmt=".3f")
        Reader(sec, rubric, "results/eval_rubric.json", ("withref", split), ("splits", split, "main"))(
            "mean_pred", fmt=".2f"
        )
        for variant in ("with_reference", "as_in_app"):
            fu = Reader(sec, rubric, "results/eval_rubric.json", ("fua", split, variant),
                        ("splits", split, "contrast", "follow_up_answer", variant))  # fmt: skip
            fu("spearman", fmt=".2f"), fu("pair_accuracy", fmt=".2f"), fu("mae", fmt=".2f")
    return sec


def fig_contrast(hists: dict[str, list[int]], path: Path) -> None:
    colors = {"concise_strong": "#4f81bd", "polished_wrong": "#c0504d", "described_not_told": "#888888"}
    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(3.4, 2.4))
        width = 0.8 / len(hists)
        for i, (kind, h) in enumerate(hists.items()):
            ax.bar([k + (i - (len(hists) - 1) / 2) * width for k in range(1, 11)], h, width=width,
                   color=colors.get(kind), label=kind.replace("_", " "))  # fmt: skip
        ax.set_xticks(range(1, 11))
        ax.set_xlabel("rubric scorer's score")
        ax.set_ylabel("answers (validation + test)")
        ax.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(hists), fontsize=6,
                  handlelength=1.0, columnspacing=0.8)  # above the axes: no bar hides under it  # fmt: skip
        fig.tight_layout()
        save(fig, path)


def stress_section(results: dict) -> Section:
    """Each stress family's score distribution and, for the paired families, the change."""
    sec = Section()
    st = results.get("eval_stress")
    fams = get_path_or(st, ("families",), {})
    if not fams:
        sec.files["tables/stress.tex"] = not_measured("results/eval_stress.json", EVAL_COMMAND)
        return sec
    rows = []
    for fam, m in fams.items():
        r = Reader(sec, st, "results/eval_stress.json", ("stress", fam), ("families", fam))
        rows.append([latex_escape(fam.replace("_", " ")), latex_escape(m.get("what", "")), r("n", fmt="d"),
                     r("mean", fmt=".2f"), r("max", fmt="d"), r("mean_change", fmt="+.2f"),
                     r("share_raised", fmt=".2f")])  # fmt: skip
        r("share_unchanged", fmt=".2f")
    before = results.get("eval_stress_before_gate_fix")  # the same families scored before the gates were revised
    if get_path_or(before, ("families", "other_question_answer", "mean")) is not None:
        Reader(sec, before, "results/eval_stress_before_gate_fix.json", ("eval_rubric_before_gate_fix",),
               ("families", "other_question_answer"))("mean", fmt=".2f", name=("other_question_mean",))  # fmt: skip
    header = ["family", "what, and its target", "n", "mean", "max", "change", "raised"]
    sec.files["tables/stress.tex"] = booktabs(header, rows, r"l>{\raggedright\arraybackslash}p{5.6cm}rrrrr")
    sec.flags.append("stress")
    return sec


def outside_section(results: dict) -> Section:
    """SemEval-2013 Task 7 unseen sets, zero-shot: AUC of the scorer and of MiniLM cosine, and refusals."""
    sec = Section()
    out = results.get("eval_outside")
    sets = get_path_or(out, ("sets",), {})
    if not sets:
        sec.files["tables/outside.tex"] = not_measured("results/eval_outside.json", EVAL_COMMAND)
        return sec
    rows = []
    for name in sets:
        r = Reader(sec, out, "results/eval_outside.json", ("out", name), ("sets", name))
        auc = f"{r('auc', fmt='.3f')} {{\\footnotesize[{r('auc_ci95', 0, fmt='.3f')}, {r('auc_ci95', 1, fmt='.3f')}]}}"
        d = [r("vs_cosine_auc", *p, fmt="+.3f") for p in (("difference",), ("ci95", 0), ("ci95", 1))]
        rows.append([latex_escape(name.replace("_", " ")), r("n", fmt="d"), auc, r("cosine_auc", fmt=".3f"),
                     f"{d[0]} {{\\footnotesize[{d[1]}, {d[2]}]}}", r("refusal_rate", fmt=".3f"),
                     r("refused_sharing_content", fmt="d")])  # fmt: skip
    header = ["set", "answers", "AUC scorer [95\\%]", "AUC cosine", "difference [95\\%]", "refused", "refused, shared"]
    sec.files["tables/outside.tex"] = booktabs(header, rows, "lrrrrrr")
    sec.add(number("OutsideCommit", out, "results/eval_outside.json", ("commit",)))
    sec.flags.append("outside")
    return sec


SLIDE_VARIANTS = ("full", "content_only", "delivery_only", "no_gates", "linear_calibration")
ABLATION_COLUMNS = (  # (label, path in a variant, format)
    ("val.\\ MAE", ("validation", "mae"), ".2f"),
    ("val.\\ Spearman", ("validation", "spearman"), ".2f"),
    ("test Spearman", ("test", "spearman"), ".2f"),
    ("test pair acc.", ("test", "pair_accuracy"), ".2f"),
    ("gaming mean", ("stress_gaming_mean",), ".2f"),
    ("SemEval AUC", ("semeval_unseen_questions_auc",), ".3f"),
)


def ablations_section(results: dict, fig_dir: Path) -> Section:
    """Each part of the scorer removed in turn (refitted as shipped otherwise), and the learning curve."""
    sec = Section()
    ab = results.get("scorer_ablations")
    if not ab:
        sec.files["tables/ablations.tex"] = not_measured("results/scorer_ablations.json", ABLATIONS_COMMAND)
        return sec
    rows = []
    for name, v in ab.get("variants", {}).items():
        r = Reader(sec, ab, "results/scorer_ablations.json", ("abl", name), ("variants", name))
        cells = [r(*p, fmt=f) for _, p, f in ABLATION_COLUMNS]
        if v.get("stress_worst_family"):  # [mean, family]: the gaming family that scores highest
            r("stress_worst_family", 0, fmt=".2f", name=("stress_worst_family_mean",))
        what = latex_escape(v.get("what", ""))
        rows.append([rf"\textbf{{{latex_escape(name.replace('_', ' '))}}}: {what}", *cells])
    header = ["variant", *[c for c, _, _ in ABLATION_COLUMNS]]
    keep = [r for r, name in zip(rows, ab.get("variants", {}), strict=True) if name in SLIDE_VARIANTS]
    slim = [[r[0].split(":")[0], r[3], r[4], r[5]] for r in keep]
    sec.files["tables/ablations_slides.tex"] = booktabs(["variant", "test Spearman", "test pair acc.", "gaming mean"],
                                                        slim, "lrrr")  # fmt: skip
    sec.files["tables/ablations.tex"] = booktabs(header, rows, r">{\raggedright\arraybackslash}p{5.4cm}" + "r" * 6)
    curve = ab.get("learning_curve", [])
    if curve:
        fig_learning_curve(curve, fig_dir / "learning_curve.pdf")
        sec.flags.append("learning-curve")
        full = [i for i, c in enumerate(curve) if c["fraction"] == 1.0]
        small = [i for i, c in enumerate(curve) if c["fraction"] == min(x["fraction"] for x in curve)]
        for tag, idx in (("full", full), ("small", small)):
            if idx:
                r = Reader(sec, ab, "results/scorer_ablations.json", ("curve", tag), ("learning_curve", idx[0]))
                r("train_questions", fmt="d"), r("validation", "spearman", fmt=".2f"), r("test", "spearman", fmt=".2f")
    sec.flags.append("ablations")
    return sec


def fig_learning_curve(curve: list[dict], path: Path) -> None:
    """Spearman on validation and test against the number of train questions (each resample a point)."""
    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(3.4, 2.4))
        for split, color in (("validation", "#4f81bd"), ("test", "#c0504d")):
            xs = [c["train_questions"] for c in curve]
            ys = [get_path_or(c, (split, "spearman")) for c in curve]
            ax.scatter(xs, ys, s=10, color=color, alpha=0.6)
            means = {}
            for x, y in zip(xs, ys, strict=True):
                if y is not None:
                    means.setdefault(x, []).append(y)
            pts = sorted((x, sum(v) / len(v)) for x, v in means.items())
            ax.plot([x for x, _ in pts], [y for _, y in pts], color=color, label=split)
        ax.set_xlabel("train questions used in the fit")
        ax.set_ylabel("Spearman")
        ax.legend(frameon=False)
        fig.tight_layout()
        save(fig, path)


NLI_SIGNALS = (  # (signal key in nli_experiment.json, label)
    ("cosine", "MiniLM cosine"),
    ("scorer_raw", "rubric scorer (an earlier fit)"),
    ("p_sent_max", "cross-encoder, best ideal-answer sentence"),
    ("p_claims_min", "cross-encoder, weakest claim of the answer"),
)


def nli_section(results: dict) -> Section:
    """The correctness experiment (NLI then SemEval cross-encoder) that was not adopted."""
    sec = Section()
    nli = results.get("nli_experiment")
    model = get_path_or(nli, ("models", "nli_semeval"))
    if not model:
        sec.files["tables/nli.tex"] = not_measured("results/nli_experiment.json", "scripts/nli_experiment/")
        return sec
    source = "results/nli_experiment.json"
    rows = []
    for key, label in NLI_SIGNALS:
        r = Reader(sec, nli, source, ("nli", key), ("models", "nli_semeval"))
        sem = "p_first" if key.startswith("p_") else key
        rows.append([latex_escape(label), r("contrast_validation_auc", key, "value", fmt=".2f"),
                     r("main_validation_spearman", key, "value", fmt=".2f"),
                     r("semeval_auc", "sciEntsBank_unseen_domains", sem, "value", fmt=".2f")
                     if key != "p_claims_min" else "--"])  # fmt: skip
    sec.files["tables/nli.tex"] = booktabs(
        ["signal", "concise strong above polished wrong (AUC)", "validation Spearman", "SemEval unseen domains AUC"],
        rows, r"l>{\raggedleft\arraybackslash}p{3.2cm}>{\raggedleft\arraybackslash}p{2.2cm}"
        r">{\raggedleft\arraybackslash}p{2.6cm}",
    )  # fmt: skip
    latency = Reader(sec, nli, source, ("nli latency",), ("models", "nli_semeval", "latency_per_answer_1_thread"))
    for design in ("sent_max", "claims"):
        latency(design, "cpu_50_ms", fmt=".0f", name=(design,))
    sec.flags.append("nli")
    return sec
