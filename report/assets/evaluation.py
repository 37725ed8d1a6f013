"""The held-out evaluation: every grader with 95% intervals, the paired test against the best baseline, the
targets, breakdowns (category, difficulty, tier, confusion, bias, likely-range coverage), calibration and the
worst misses, all read from `results/eval_<grader>.json` (written by `python -m interviewmate.evaluate`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from interviewmate.stress import GAMING

from .common import (
    FIG_STYLE,
    Reader,
    Section,
    booktabs,
    get_path_or,
    latex_escape,
    macro_name,
    not_measured,
    number,
    prose,
    save,
    verdict,
    with_ci,
)

EVAL_COMMAND = "python -m interviewmate.evaluate --semeval PATH"
GRADERS = {  # results/eval_<key>.json -> the name the report uses
    "median": "train median",
    "length": "length tree",
    "cosine": "MiniLM cosine",
    "rubric": "rubric scorer",
    "local_zeroshot": "SmolLM2 zero-shot",
    "local_finetuned": "SmolLM2 fine-tuned",
}
BASELINES = ("median", "length", "cosine")
METRICS = (  # (key in "main", column, format): one name per measure
    ("mae", "MAE", ".2f"),
    ("spearman", "Spearman", ".2f"),
    ("qwk", "QWK", ".2f"),
    ("pair_accuracy", "pair accuracy", ".2f"),
)
TARGETS_SOURCE = "interviewmate/evaluate.py"  # its TARGETS dict
TIERS = ("weak", "middling", "strong")
PAIRED_MEASURES = (("mae", "MAE", -1), ("spearman", "Spearman", 1), ("pair_accuracy", "pair accuracy", 1))  # sign:
# +1 where a higher value is better


def reading(lo: float | None, hi: float | None, sign: int) -> str | None:
    """A paired difference's 95% interval read as "within noise", "scorer better" or "baseline better"."""
    if lo is None or hi is None:
        return None
    if lo <= 0 <= hi:
        return "within noise"
    return "scorer better" if (lo > 0) == (sign > 0) else "baseline better"
DIFFICULTIES = ("easy", "medium", "hard")


def evals_of(results: dict) -> dict[str, dict]:
    """The eval files in the current format (a "main" block per split), by grader key."""
    out = {}
    for key, res in results.items():
        if key.startswith("eval_") and any("main" in s for s in get_path_or(res, ("splits",), {}).values()):
            out[key.removeprefix("eval_")] = res
    return out


def src(grader: str) -> str:
    return f"results/eval_{grader}.json"


def metric_cells(sec: Section, grader: str, res: dict, split: str, key: str, fmt: str) -> tuple[str, str, str]:
    """Macros for one metric's value and interval bounds: (value, lo, hi) references."""
    r = Reader(sec, res, src(grader), ("eval", grader, split, key), ("splits", split, "main", key))
    return r("value", fmt=fmt, name=()), r("ci95", 0, fmt=fmt, name=("lo",)), r("ci95", 1, fmt=fmt, name=("hi",))


def headline_section(results: dict) -> Section:
    """One table per held-out split: each grader's MAE, Spearman, QWK and pair accuracy with 95% intervals."""
    sec = Section()
    evals = evals_of(results)
    if not any(g in evals for g in GRADERS):
        sec.files["tables/headline_test.tex"] = not_measured("results/eval_*.json", EVAL_COMMAND)
        sec.files["tables/headline_validation.tex"] = ""
        return sec
    for split in ("test", "validation"):
        rows = []
        for g, label in GRADERS.items():
            res = evals.get(g)
            if res is None or "main" not in res["splits"].get(split, {}):
                continue
            r = Reader(sec, res, src(g), ("eval", g, split), ("splits", split, "main"))
            n, scored = r("n", fmt="d"), r("n_scored", fmt="d")
            cells = [with_ci(*metric_cells(sec, g, res, split, k, f)) for k, _, f in METRICS]
            rows.append([label, scored if scored == n else f"{scored}/{n}", *cells])
            sec.flags.append(f"eval-{g}-{split}")
        header = ["grader", "answers", *[c for _, c, _ in METRICS]]
        sec.files[f"tables/headline_{split}.tex"] = booktabs(header, rows, "lrrrrr")
        if split == "test":  # the slides: no QWK, no counts
            slim = [[r[0], r[2], r[3], r[5]] for r in rows]
            sec.files["tables/headline_slides.tex"] = booktabs(["test split", "MAE", "Spearman", "pair accuracy"],
                                                               slim, "lrrr")  # fmt: skip
    before = results.get("eval_rubric_before_gate_fix")  # the test figures of the scorer before its gates were revised
    if before and "main" in get_path_or(before, ("splits", "test"), {}):
        for k, _, f in METRICS:
            metric_cells(sec, "rubric_before_gate_fix", before, "test", k, f)
        sec.flags.append("gate-fix")
    return sec


def paired_section(results: dict) -> Section:
    """The rubric scorer minus the best baseline on each measure, on the same answers, with intervals and p-values."""
    sec = Section()
    rubric = evals_of(results).get("rubric")
    rows = []
    for split in ("test", "validation"):
        vs = get_path_or(rubric, ("splits", split, "vs_best_baseline"))
        if not vs:
            continue
        r = Reader(sec, rubric, src("rubric"), ("paired", split), ("splits", split, "vs_best_baseline"))
        r("baseline")
        for key, label, sign in PAIRED_MEASURES:
            m = vs.get(key)
            if not m:
                continue
            diff = with_ci(r(key, "difference", fmt=".2f"), r(key, "ci95", 0, fmt=".2f"), r(key, "ci95", 1, fmt=".2f"))
            name = m.get("baseline", vs["baseline"])  # the best baseline on this measure
            rows.append([split, latex_escape(GRADERS.get(name, name)), label, diff,
                         r(key, "p_value", fmt=".3f"), reading(*m["ci95"], sign) or "--"])  # fmt: skip
    if rows:
        sec.files["sections/paired_summary.tex"] = paired_sentence(rubric)
        sec.flags.append("paired")
        header = ["split", "best baseline", "measure", "scorer $-$ baseline [95\\%]", "$p$", "reading"]
        sec.files["tables/paired.tex"] = booktabs(header, rows, "lllrrl")
    else:
        sec.files["tables/paired.tex"] = not_measured("results/eval_rubric.json (vs_best_baseline)", EVAL_COMMAND)
    return sec


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def paired_sentence(rubric: dict) -> str:
    """One sentence per split, read from the intervals: where the scorer beats the best baseline beyond noise."""
    out = []
    for split in ("test", "validation"):
        vs = get_path_or(rubric, ("splits", split, "vs_best_baseline"))
        if not vs:
            continue
        better, noise = [], []
        for key, label, sign in PAIRED_MEASURES:
            verdict_ = reading(*get_path_or(vs, (key, "ci95"), [None, None]), sign)
            if verdict_ is None:
                continue
            name = vs[key].get("baseline", vs["baseline"])
            against = f"{label} (against the {latex_escape(GRADERS.get(name, name))})"
            if verdict_ == "within noise":
                noise.append(against)
            elif verdict_ == "scorer better":
                better.append(against)
        parts = []
        if better:
            parts.append(f"beats the best baseline beyond noise on {_and(better)}")
        if noise:
            parts.append(f"is within noise of the best baseline on {_and(noise)}")
        if parts:
            out.append(f"On the {split} split the scorer " + ", and ".join(parts) + ".")
    return " ".join(out) + "\n"


def targets_section(results: dict, targets: dict) -> Section:
    """Each target of the scorer (interviewmate.evaluate.TARGETS) beside its measured value: met or missed."""
    sec = Section()
    t = Reader(sec, targets, TARGETS_SOURCE, ("target",))
    rubric = evals_of(results).get("rubric")
    stress = get_path_or(results.get("eval_stress"), ("families",), {})
    gaming = {k: v for k, v in stress.items() if k in GAMING}
    worst = max(gaming, key=lambda k: gaming[k]["mean"]) if gaming else None
    rows_spec = [  # (label, results stem, path, format, target key, op)
        ("test MAE", "eval_rubric", ("splits", "test", "main", "mae", "value"), ".2f", "test_mae", "<="),
        ("test Spearman", "eval_rubric", ("splits", "test", "main", "spearman", "value"), ".2f", "test_spearman",
         ">="),
        ("test pair accuracy", "eval_rubric", ("splits", "test", "main", "pair_accuracy", "value"), ".2f",
         "test_pair_accuracy", ">="),
        ("no reference: test Spearman", "eval_rubric", ("splits", "test", "no_reference", "spearman", "value"), ".2f",
         "no_reference_spearman", ">="),
        ("no reference: mean score gap", "eval_rubric", ("splits", "test", "no_reference", "mean_gap_to_reference"),
         ".2f", "no_reference_mean_gap", "<="),
        (f"stress: worst gaming family ({latex_escape((worst or '').replace('_', ' '))})", "eval_stress",
         ("families", worst, "mean"), ".2f", "stress_mean", "<="),
        ("stress: strong answer to another question", "eval_stress", ("families", "other_question_answer", "mean"),
         ".2f", "other_question_mean", "<="),
        ("scorer latency p95 (ms)", "bench_scorer", ("latency_ms", "p95"), ".0f", "latency_p95_ms", "<="),
    ]  # fmt: skip
    rows = []
    for label, stem, path, fmt, key, op in rows_spec:
        res = results.get(stem) if stem != "eval_rubric" else rubric
        n = number(macro_name("achieved", key), res, f"results/{stem}.json", path, fmt) if res else None
        target = t(key, fmt=".2f" if targets[key] < 10 else ".0f")
        goal = (r"$\le$ " if op == "<=" else r"$\ge$ ") + target
        if n is None:
            rows.append([label, goal, "not measured yet", "--"])
            continue
        met = n.value <= targets[key] if op == "<=" else n.value >= targets[key]
        sec.flags.append(f"{'met' if met else 'missed'}-{key.replace('_', '-')}")
        rows.append([label, goal, sec.add(n), verdict(met)])
    note = get_path_or(stress, ("grader_note",))
    if note:
        share = sec.add(number("AchievedGraderNoteUnchanged", results["eval_stress"], "results/eval_stress.json",
                               ("families", "grader_note", "share_unchanged"), ".2f"))  # fmt: skip
        met = note.get("share_unchanged") == 1.0
        rows.append(["stress: a note to the grader changes no score (share unchanged)", "all", share, verdict(met)])
    outside = get_path_or(results.get("eval_outside"), ("sets",), {})
    for name in ("sciEntsBank_unseen_questions", "sciEntsBank_unseen_domains"):
        o = outside.get(name)
        if not o or o.get("cosine_auc") is None:
            continue
        r = Reader(sec, results["eval_outside"], "results/eval_outside.json", ("outside", name), ("sets", name))
        auc, cos = r("auc", fmt=".3f"), r("cosine_auc", fmt=".3f", name=("cosine auc",))
        label = "outside: AUC above cosine, " + name.split("_", 1)[1].replace("_", " ")
        met = o["auc"] > o["cosine_auc"]
        sec.flags.append(f"{'met' if met else 'missed'}-outside-{name.split('_', 1)[1].replace('_', '-')}")
        rows.append([label, f"$>$ {cos}", auc, verdict(met)])
    sec.files["tables/targets.tex"] = booktabs(["target", "goal", "measured", ""], rows,
                                               r">{\raggedright\arraybackslash}p{7.4cm}rrl")  # fmt: skip
    return sec


def breakdown_section(results: dict, fig_dir: Path) -> Section:
    """The rubric scorer on the test split by category and difficulty; tier confusion, bias and coverage."""
    sec = Section()
    rubric = evals_of(results).get("rubric")
    b = get_path_or(rubric, ("splits", "test", "breakdowns"))
    if not b:
        sec.files["tables/breakdown.tex"] = not_measured(src("rubric"), EVAL_COMMAND)
        sec.files["tables/confusion.tex"] = ""
        return sec
    sec.flags.append("breakdowns")
    base = ("splits", "test", "breakdowns")
    rows = []
    for key in ("by_category", "by_difficulty"):
        if rows:
            rows.append(r"\midrule")
        groups = b.get(key, {})
        for group in sorted(groups, key=lambda g: (DIFFICULTIES.index(g) if g in DIFFICULTIES else -1, g)):
            r = Reader(sec, rubric, src("rubric"), ("bd", group), (*base, key, group))
            rows.append([latex_escape(group.replace("_", " ")), r("n", fmt="d"), r("mae", fmt=".2f"),
                         r("bias", fmt="+.2f")])  # fmt: skip
    sec.files["tables/breakdown.tex"] = booktabs(["group (test answers)", "answers", "MAE", "bias"], rows, "lrrr")
    conf = b.get("tier_confusion", {})
    crow = []
    r = Reader(sec, rubric, src("rubric"), base=base)
    for t in TIERS:
        cells = [r("tier_confusion", t, u, fmt="d", name=("conf", t, u)) for u in TIERS]
        crow.append([t, *cells, r("bias_by_tier", t, fmt="+.2f", name=("bias tier", t))])
    if conf:
        sec.files["tables/confusion.tex"] = booktabs(["human tier", "scored weak", "middling", "strong", "bias"],
                                                     crow, "lrrrr")  # fmt: skip
    for split in ("test", "validation"):
        r = Reader(sec, rubric, src("rubric"), ("coverage", split), ("splits", split, "breakdowns", "band_coverage"))
        r("share_inside", fmt=".2f"), r("mean_width", fmt=".1f"), r("n", fmt="d")
    bins = {GRADERS[g]: cal for g in ("length", "cosine", "rubric")
            if (cal := get_path_or(results.get(f"eval_{g}"), ("splits", "test", "main", "calibration")))}  # fmt: skip
    if bins:
        fig_calibration(bins, fig_dir / "calibration.pdf")
        sec.flags.append("calibration")
    return sec


def fig_calibration(bins: dict[str, list[dict]], path: Path) -> None:
    """Mean human score per predicted-score bin on the test split, one line per grader; point size = answers."""
    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(3.3, 2.8))
        ax.plot([1, 10], [1, 10], color="grey", lw=0.8, ls="--", label="perfect")
        for grader, rows in bins.items():
            rows = [r for r in rows if r.get("n")]
            xs = [sum(map(float, r["predicted"].split("-"))) / 2 for r in rows]  # "3-4" -> 3.5
            line = ax.plot(xs, [r["mean_true"] for r in rows], lw=0.8, label=grader)[0]
            ax.scatter(xs, [r["mean_true"] for r in rows], s=[6 + 2 * r["n"] for r in rows], color=line.get_color())
        ax.set_xlabel("predicted score (bin centre)")
        ax.set_ylabel("mean human score")
        ax.set_xlim(0.5, 10.5)
        ax.set_ylim(0.5, 10.5)
        ax.legend(frameon=False, loc="upper left")
        fig.tight_layout()
        save(fig, path)


def diagnosis(rec: dict) -> str:
    """What a miss says about the method, read from the scorer's own record of the answer."""
    flags, err = set(rec.get("flags") or []), (rec.get("score") or 0) - rec["true"]
    if "off_topic" in flags or "near_topic" in flags:
        gate = "off-topic" if "off_topic" in flags else "near-topic"
        return (
            f"The {gate} gate capped it: the answer's wording sits closer to another bank question than to this one."
        )
    if flags & {"no_content", "mostly_described", "mostly_abstract"}:
        return "A gate for described or placeholder sentences fired on an answer the authors graded as real content."
    if err > 0:
        return (
            "Over-scored: the answer covers the reference's topic and is fluent, and nothing in the scorer checks "
            "whether its claims are true."
        )
    if rec.get("content") is not None and rec.get("delivery") is not None and rec["content"] < rec["delivery"]:
        return (
            "Under-scored on content: the answer says it in other words than the ideal answer, so similarity "
            "and recall of its words stay low."
        )
    return "Under-scored: both sub-scores are low for an answer the authors graded high."


def misses_section(results: dict, rows_by_id: dict[str, dict], k: int = 5) -> Section:
    """The rubric scorer's largest test errors, quoted, each with what it says about the method."""
    sec = Section()
    rubric = evals_of(results).get("rubric")
    recs = get_path_or(rubric, ("splits", "test", "rows"), [])
    scored = [(i, r) for i, r in enumerate(recs) if r.get("score") is not None and r["id"] in rows_by_id]
    worst = sorted(scored, key=lambda ir: (-abs(ir[1]["score"] - ir[1]["true"]), ir[1]["id"]))[:k]
    if not worst:
        sec.files["sections/misses.tex"] = not_measured(src("rubric"), EVAL_COMMAND)
        return sec
    items, short = [], []
    for i, rec in worst:
        row = rows_by_id[rec["id"]]
        r = Reader(sec, rubric, src("rubric"), ("miss", rec["id"]), ("splits", "test", "rows", i))
        words = row["answer"].split()
        excerpt = " ".join(words[:55]) + (" ..." if len(words) > 55 else "")
        flags = latex_escape(", ".join(rec.get("flags") or []).replace("_", " ") or "none")
        scores = f"human {r('true', fmt='d')}, scorer {r('score', fmt='d')}"
        items.append(
            rf"\item \textbf{{{latex_escape(rec['id'])}}} ({latex_escape(row['category'].replace('_', ' '))}; "
            rf"{scores}; content {r('content', fmt='.1f')}, delivery {r('delivery', fmt='.1f')}; flags: {flags}). "
            rf"\emph{{{prose(row['question'])}}}\newline {{\small ``{prose(excerpt)}''}}\newline {diagnosis(rec)}"
        )
        if len(short) < 3:
            short.append(rf"\item {latex_escape(rec['id'])}, {scores}: {diagnosis(rec)}")
    sec.flags.append("misses")
    sec.files["sections/misses.tex"] = "\\begin{enumerate}\n" + "\n".join(items) + "\n\\end{enumerate}\n"
    sec.files["sections/misses_slides.tex"] = "\\begin{itemize}\n" + "\n".join(short) + "\n\\end{itemize}\n"
    return sec
