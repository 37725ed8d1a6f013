"""Generated inputs of the report and slides: figures, booktabs tables, section snippets and number macros.

Reads `results/*.json`, the dataset and the training recipes; writes everything under `report/build/`
(a build output, never tracked): `figures/*.pdf`, `tables/*.tex`, `sections/*.tex`, `numbers.tex` (one
`\\newcommand` per number the prose quotes) and `numbers.json` (each macro's value, source file and path,
so tests can recompute it). The prose lives in `report.tex` and `slides.tex`; this file only measures.
A result file that is missing becomes a visible "not measured yet" note, never a made-up value.

    python report/build_assets.py            # what `make -C report` runs first
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from any folder, without installing the package
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # only configs are built here; nothing is downloaded

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = ROOT / "results"
RECIPES = ROOT / "training" / "configs"
OUT = ROOT / "report" / "build"

# The only typed numbers in the report: the reference project's reported figures, quoted for comparison.
REFERENCE_SOURCE = "reference project's reported figures"
REFERENCE = {"train_minutes": 87.45, "samples_per_second": 0.345, "final_loss": 0.308, "trainable_millions": 6.3}

# Recipes whose base shape is stored in interviewmate.architectures (the tiny recipe builds its own base).
COUNTED_RECIPES = ("falcon-rw-1b-seed", "falcon3-1b-instruct-qlora")

# How to produce each kind of result file; quoted by the "not measured yet" notes.
HOW_TO_PRODUCE = {
    "train_tiny-cpu": "make train-tiny",
    "train_falcon-rw-1b-seed": "python training/sft.py --config training/configs/falcon-rw-1b-seed.yaml (GPU, Hub)",
    "train_falcon3-1b-instruct-qlora": (
        "python training/sft.py --config training/configs/falcon3-1b-instruct-qlora.yaml (GPU, Hub)"
    ),
    "eval": "python -m interviewmate.evaluate (held-out test split, one file per engine)",
    "screenshots": "the browser test of the app (make test)",
    "bench": "python -m interviewmate.bench_scorer; python scripts/bench_app_concurrency.py [--users 1 --questions 10 "
    "--out results/bench_app_single.json]",
}

FIG_STYLE = {
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
    "pdf.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.02,
}  # fmt: skip
BAND_COLORS = {"weak": "#c0504d", "middling": "#e0a030", "strong": "#4f81bd"}


# ---------------------------------------------------------------- numbers and their provenance


@dataclass(frozen=True)
class Number:
    """One quoted number: its macro, its raw value, where it came from and how it is printed."""

    macro: str
    value: object
    source: str  # a repository path ("results/train_tiny-cpu.json") or REFERENCE_SOURCE
    path: tuple  # keys (and list indices) from the source's top level to the value
    fmt: str = ""  # format spec applied to value / scale
    scale: float = 1.0

    @property
    def text(self) -> str:
        value = self.value / self.scale if self.scale != 1.0 else self.value
        return latex_escape(format(value, self.fmt)) if isinstance(value, str) else format(value, self.fmt)


_SMALL = "Zero One Two Three Four Five Six Seven Eight Nine Ten".split()


def macro_name(*parts: object) -> str:
    """A TeX-safe CamelCase name (letters only): ("train", "falcon-rw-1b", "loss") -> TrainFalconRwOneBLoss."""
    tokens = re.findall(r"[A-Za-z]+|\d+", " ".join(str(p) for p in parts))
    words = [_SMALL[int(t)] if t.isdigit() and int(t) <= 10 else "".join(_SMALL[int(d)] for d in t) if t.isdigit()
             else t[0].upper() + t[1:] for t in tokens]  # fmt: skip
    return "".join(words)


def get_path(obj: object, path: tuple) -> object:
    for key in path:
        obj = obj[key]
    return obj


def number(macro: str, source_obj: dict, source: str, path: tuple, fmt: str = "", scale: float = 1.0) -> Number | None:
    """A Number read from `source_obj` at `path`; None when the value is absent or not a finite number/text."""
    try:
        value = get_path(source_obj, path)
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(value, bool) or value is None or (isinstance(value, float) and value != value):
        return None
    if not isinstance(value, int | float | str):
        return None
    return Number(macro, value, source, tuple(path), fmt, scale)


def auto_fmt(value: object) -> str:
    if isinstance(value, int):
        return ",d"
    if isinstance(value, float):
        return ".1f" if abs(value) >= 100 else ".3f"
    return ""


def numbers_tex(numbers: list[Number], present: list[str]) -> str:
    """numbers.tex: the helper commands, one `\\Have@<result>` flag per present result file, then the macros."""
    lines = [
        "% Generated by report/build_assets.py from results/ and data/; do not edit.",
        r"\makeatletter",
        r"\newcommand{\IfHave}[3]{\@ifundefined{have@#1}{#3}{#2}}",
        r"\makeatother",
        r"\newcommand{\NotMeasured}[2]{\textcolor{red!70!black}{\textbf{Not measured yet:} "
        r"\texttt{#1} is missing --- run \texttt{#2}.}}",
    ]
    lines += [rf"\expandafter\def\csname have@{name}\endcsname{{}}" for name in sorted(present)]
    lines += [rf"\newcommand{{\{n.macro}}}{{{n.text}}}" for n in numbers]
    return "\n".join(lines) + "\n"


def numbers_json(numbers: list[Number]) -> dict:
    return {
        n.macro: {"value": n.text, "source": n.source, "path": list(n.path), "format": n.fmt, "scale": n.scale}
        for n in numbers
    }


# ---------------------------------------------------------------- LaTeX snippets


def latex_escape(text: str) -> str:
    table = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
             "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip
    return "".join(table.get(c, c) for c in text)


def booktabs(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    """A booktabs tabular; cells are LaTeX already (escape text with `latex_escape` first)."""
    align = align or "l" + "r" * (len(header) - 1)
    body = [" & ".join(r) + r" \\" for r in rows]
    return "\n".join([rf"\begin{{tabular}}{{{align}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule",
                      *body, r"\bottomrule", r"\end{tabular}"]) + "\n"  # fmt: skip


def not_measured(path: str, how: str) -> str:
    return rf"\NotMeasured{{{latex_escape(path)}}}{{{latex_escape(how)}}}" + "\n"


def figure(path: str, caption: str, width: str = r"\linewidth") -> str:
    return (rf"\begin{{figure}}[htbp]\centering\includegraphics[width={width}]{{{path}}}"
            rf"\caption{{{caption}}}\end{{figure}}") + "\n"  # fmt: skip


# ---------------------------------------------------------------- figures


def save(fig, path: Path) -> None:
    """PDF with no creation date, so the same inputs give the same bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"CreationDate": None, "Creator": None})
    plt.close(fig)


def fig_dataset_counts(stats: dict, path: Path) -> None:
    with plt.rc_context(FIG_STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.4), gridspec_kw={"width_ratios": [1.1, 1.1, 0.6]})
        for ax, key, title in zip(
            axes, ("categories", "roles", "difficulties"), ("category", "role", "difficulty"), strict=True
        ):
            items = list(stats[key].items())
            labels = [k.replace("_", " ") for k, _ in items]
            ax.barh(range(len(items)), [v for _, v in items], color="#4f81bd")
            ax.set_yticks(range(len(items)), labels)
            ax.invert_yaxis()
            ax.set_title(f"rows by {title}")
            for i, (_, v) in enumerate(items):
                ax.text(v, i, f" {v}", va="center", fontsize=7)
            ax.set_xlim(0, max(v for _, v in items) * 1.25)
        fig.tight_layout()
        save(fig, path)


def fig_score_histogram(stats: dict, path: Path) -> None:
    from matplotlib.patches import Patch

    from interviewmate.rubric import quality_tier as band

    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(3.4, 2.4))
        scores = stats["scores"]
        for s, n in scores.items():
            ax.bar(s, n, color=BAND_COLORS[band(s)], label=band(s))
        ax.legend(handles=[Patch(color=c, label=b) for b, c in BAND_COLORS.items()], frameon=False)
        ax.set_xticks(list(scores))
        ax.set_xlabel("overall score (1-10)")
        ax.set_ylabel("rows")
        fig.tight_layout()
        save(fig, path)


def fig_length_by_score(rows: list[dict], spearman: float, path: Path) -> None:
    from interviewmate.rubric import quality_tier as band

    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(3.4, 2.4))
        scores = list(range(1, 11))
        words = [[len(r["answer"].split()) for r in rows if r["score"] == s] for s in scores]
        keep = [i for i, w in enumerate(words) if w]
        style = {"widths": 0.6, "patch_artist": True, "medianprops": {"color": "k"}, "flierprops": {"markersize": 2}}
        parts = ax.boxplot([words[i] for i in keep], positions=[scores[i] for i in keep], **style)
        for box, i in zip(parts["boxes"], keep, strict=True):
            box.set_facecolor(BAND_COLORS[band(scores[i])])
        ax.set_xlabel("overall score")
        ax.set_ylabel("answer length (words)")
        ax.set_title(f"Spearman(length, score) = {spearman:.3f}")
        fig.tight_layout()
        save(fig, path)


def fig_loss_curves(runs: dict[str, dict], path: Path) -> None:
    """One panel per training run: logged train loss per step, and eval loss points."""
    with plt.rc_context(FIG_STYLE):
        fig, axes = plt.subplots(1, len(runs), figsize=(3.4 * min(len(runs), 2), 2.4), squeeze=False)
        for ax, (name, run) in zip(axes[0], runs.items(), strict=True):
            curve = run.get("loss", {})
            train, evals = curve.get("train", []), curve.get("eval", [])
            ax.plot([p["step"] for p in train], [p["loss"] for p in train], marker="o", ms=3, label="train")
            if evals:
                ax.plot([p["step"] for p in evals], [p["loss"] for p in evals], "s", ms=5, label="validation")
            ax.set_title(name)
            ax.set_xlabel("optimizer step")
            ax.set_ylabel("loss")
            ax.legend(frameon=False)
        fig.tight_layout()
        save(fig, path)


def fig_calibration(bins: dict[str, list[dict]], path: Path) -> None:
    """Mean reference score per predicted-score bin on the test split, one line per engine; point size = answers."""
    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(3.4, 3.0))
        ax.plot([1, 10], [1, 10], color="grey", lw=0.8, ls="--", label="perfect")
        for engine, rows in bins.items():
            rows = [r for r in rows if r.get("n")]
            xs = [sum(map(float, r["predicted"].split("-"))) / 2 for r in rows]  # "3-4" -> 3.5
            ax.plot(xs, [r["mean_true"] for r in rows], lw=0.8, label=engine)
            ax.scatter(xs, [r["mean_true"] for r in rows], s=[6 + 2 * r["n"] for r in rows])
        ax.set_xlabel("predicted score (bin centre)")
        ax.set_ylabel("mean reference score")
        ax.set_xlim(0.5, 10.5)
        ax.set_ylim(0.5, 10.5)
        ax.legend(frameon=False)
        fig.tight_layout()
        save(fig, path)


# ---------------------------------------------------------------- inputs


def load_results(results_dir: Path) -> dict:
    """Every readable `results/*.json` by stem; unreadable files are skipped and listed under "_unreadable"."""
    out = {}
    for p in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            print(f"build_assets: skipping results/{p.name}: {e}", file=sys.stderr)
            out.setdefault("_unreadable", []).append(p.name)
            continue
        if isinstance(data, dict):
            out[p.stem] = data
    return out


def skipped_note(unreadable: list[str]) -> str:
    if not unreadable:
        return ""
    names = ", ".join(rf"\texttt{{results/{latex_escape(n)}}}" for n in unreadable)
    return rf"\NotMeasured{{{names}}}{{a valid JSON writer: the file could not be read and was skipped}}" + "\n"


def dataset_summary(rows: list[dict], splits: dict, issues: int) -> dict:
    """`statistics_of` plus the split sizes, the validator's problem count and its thresholds."""
    from interviewmate import dataset as ds

    stats = ds.statistics_of(rows)
    parts = ds.split_rows(rows, splits)
    stats["splits"] = {n: {"questions": len(splits[n]), "rows": len(parts[n])} for n in ds.SPLIT_NAMES}
    stats["validation_issues"] = issues
    stats["n_categories"], stats["n_roles"] = len(stats["categories"]), len(stats["roles"])
    stats["checks"] = {k: getattr(ds, k) for k in ("MIN_BAND_SHARE", "MAX_LENGTH_RHO", "NEAR_DUP_QUESTION",
                                                    "NEAR_DUP_TEXT")}  # fmt: skip
    return stats


def recipe(name: str) -> dict:
    import yaml

    return yaml.safe_load((RECIPES / f"{name}.yaml").read_text())


def count_trainable(cfg: dict) -> dict:
    """Trainable LoRA parameters of a recipe, measured by building its base on the meta device (no weights)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from interviewmate.architectures import config_for

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_for(cfg["model_name_or_path"]))
    lora = LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=cfg["lora_dropout"],
                      target_modules=cfg["lora_target_modules"], task_type="CAUSAL_LM")  # fmt: skip
    trainable, total = get_peft_model(model, lora).get_nb_trainable_parameters()
    return {"trainable_parameters": trainable, "total_parameters": total, "trainable_percent": 100 * trainable / total}


# ---------------------------------------------------------------- sections


def dataset_numbers(summary: dict) -> list[Number]:
    src = "data/interview_qa.jsonl"
    paths = {
        "DatasetRows": ("rows",), "DatasetQuestions": ("questions",), "DatasetSpearman": ("spearman_length_score",),
        "DatasetValidationIssues": ("validation_issues",),
        "DatasetCategories": ("n_categories",), "DatasetRoles": ("n_roles",),
        "CheckMaxLengthRho": ("checks", "MAX_LENGTH_RHO"),
        "CheckNearDupQuestion": ("checks", "NEAR_DUP_QUESTION"), "CheckNearDupText": ("checks", "NEAR_DUP_TEXT"),
    }  # fmt: skip
    out = [number(m, summary, src, p, auto_fmt(get_path(summary, p))) for m, p in paths.items()]
    out.append(number("CheckMinBandSharePct", summary, src, ("checks", "MIN_BAND_SHARE"), ".0f", 0.01))
    for group in ("difficulties", "score_histogram"):
        out += [number(macro_name("dataset", k), summary, src, (group, k), ",d") for k in summary[group]]
    for b in summary["answer_words_by_band"]:
        out += [number(macro_name("words", b, s), summary, src, ("answer_words_by_band", b, s), f)
                for s, f in (("mean", ".1f"), ("median", ".0f"))]  # fmt: skip
    for name, part in summary["splits"].items():
        out += [number(macro_name("split", name, k), summary, src, ("splits", name, k), ",d") for k in part]
    return [n for n in out if n]


def dataset_tables(summary: dict) -> dict[str, str]:
    n = summary["rows"]
    split_rows_ = [[name, f"{p['questions']:,}", f"{p['rows']:,}", f"{100 * p['rows'] / n:.1f}\\%"]
                   for name, p in summary["splits"].items()]  # fmt: skip
    words = [[f"{b} ({'8-10' if b == 'strong' else '5-7' if b == 'middling' else '1-4'})",
              f"{d['mean']:.1f}", f"{d['median']:.0f}", str(d["min"]), str(d["max"])]
             for b, d in summary["answer_words_by_band"].items()]  # fmt: skip
    bands = [[b, f"{c:,}", f"{100 * c / n:.1f}\\%"] for b, c in summary["score_histogram"].items()]
    return {
        "splits": booktabs(["split", "questions", "rows", "share of rows"], split_rows_),
        "words": booktabs(["answer quality", "mean words", "median", "min", "max"], words),
        "bands": booktabs(["score band", "rows", "share"], bands),
    }


def recipe_section(counts: dict[str, dict]) -> tuple[list[Number], str, str]:
    """Trainable-parameter macros, the recipes table (settings read from the YAML files) and a short one for slides."""
    numbers, rows, short = [], [], []
    for name, c in counts.items():
        cfg, src = recipe(name), f"training/configs/{name}.yaml"
        targets = cfg["lora_target_modules"]
        targets = ", ".join(targets) if isinstance(targets, list) else targets
        numbers += [
            number(macro_name("recipe", name, "trainable"), c, src, ("trainable_parameters",), ",d"),
            number(macro_name("recipe", name, "total"), c, src, ("total_parameters",), ",d"),
            number(macro_name("recipe", name, "trainable pct"), c, src, ("trainable_percent",), ".4f"),
            number(macro_name("recipe", name, "trainable millions"), c, src, ("trainable_parameters",), ".2f", 1e6),
        ]
        batch = f"{cfg['per_device_train_batch_size']} x {cfg['gradient_accumulation_steps']}"
        rows.append([rf"\texttt{{{latex_escape(cfg['model_name_or_path'])}}}", str(cfg["lora_r"]),
                     str(cfg["lora_alpha"]), str(cfg["lora_dropout"]), rf"\texttt{{{latex_escape(targets)}}}",
                     batch, f"{cfg['learning_rate']:g}", str(cfg["num_train_epochs"]),
                     f"{c['trainable_parameters']:,}", f"{c['trainable_percent']:.4f}\\%"])  # fmt: skip
        short.append([rows[-1][0], rows[-1][1], rows[-1][2], rows[-1][4], rows[-1][8], rows[-1][9]])
    header = ["base", "$r$", r"$\alpha$", "dropout", "LoRA targets", "batch", "lr", "epochs", "trainable", "share"]
    align = r"lrrr>{\raggedright\arraybackslash}p{2.2cm}rrrrr"
    short_header = ["base", "$r$", r"$\alpha$", "LoRA targets", "trainable", "share"]
    short_table = booktabs(short_header, short, r"lrr>{\raggedright\arraybackslash}p{4.2cm}rr")
    return [n for n in numbers if n], booktabs(header, rows, align), short_table


def scorer_section(scorer: dict | None, dataset_sha256: str) -> tuple[list[Number], dict[str, str], list[str]]:
    """The shipped scorer file: its features and signs, its fit report (train/validation), whether it is current."""
    src = "interviewmate/scorer.json"
    if scorer is None:
        note = not_measured(src, "python -m interviewmate.scoring fit")
        return [], {"tables/scorer_features.tex": note, "tables/scorer_fit.tex": note}, []
    scorer = {**scorer, "n_features": len(scorer.get("features", []))}
    paths = {"ScorerFeatures": ("n_features",), "ScorerTrainRows": ("trained_on", "rows"),
             "ScorerTrainQuestions": ("trained_on", "questions"), "ScorerKpThreshold": ("kp_threshold",)}  # fmt: skip
    numbers = [number(m, scorer, src, p, auto_fmt(get_path_or(scorer, p, None))) for m, p in paths.items()]
    fit_rows = []
    for split, m in scorer.get("fit_metrics", {}).items():
        cells = [split]
        for key in ("n", "mae", "spearman", "pair_accuracy_raw", "abstained"):
            n = number(
                macro_name("scorer", split, key), scorer, src, ("fit_metrics", split, key), auto_fmt(m.get(key))
            )
            numbers += [n] if n else []
            cells.append(rf"\{n.macro}" if n else "--")
        fit_rows.append(cells)
    signs = {1: "+", -1: "$-$", 0: "free"}
    feats = [[rf"\texttt{{{latex_escape(f)}}}", signs.get(sg, str(sg))]
             for f, sg in zip(scorer.get("features", []), scorer.get("feature_signs", []), strict=False)]  # fmt: skip
    third = -(-len(feats) // 3)
    cols = [feats[i * third : (i + 1) * third] for i in range(3)]
    feat_rows = [sum((c[k] if k < len(c) else ["", ""] for c in cols), []) for k in range(third)]
    files = {
        "tables/scorer_features.tex": booktabs(["feature", "sign"] * 3, feat_rows, "lc" * 3),
        "tables/scorer_fit.tex": booktabs(
            ["split", "answers", "MAE", "Spearman", "pair accuracy", "unscored"], fit_rows
        ),  # fmt: skip
    }
    current = get_path_or(scorer, ("trained_on", "dataset_sha256"), None) == dataset_sha256
    return [n for n in numbers if n], files, ["scorer-current"] if current else []


TRAIN_FIELDS = (  # (label, path, format, scale) of the training table and its macros
    ("hardware", ("hardware", "device"), "", 1.0),
    ("base model", ("base_model",), "", 1.0),
    ("train rows", ("n_train",), ",d", 1.0),
    ("epochs", ("epochs",), ".2f", 1.0),
    ("optimizer steps", ("global_step",), ",d", 1.0),
    ("trainable parameters", ("trainable_parameters",), ",d", 1.0),
    ("trainable share (\\%)", ("trainable_percent",), ".4f", 1.0),
    ("4-bit linear layers", ("quantized_layers", "4bit"), ",d", 1.0),
    ("train runtime (s)", ("train_runtime_s",), ".1f", 1.0),
    ("train runtime (min)", ("train_runtime_s",), ".2f", 60.0),
    ("samples/s", ("train_samples_per_second",), ".3f", 1.0),
    ("tokens/s", ("train_tokens_per_second",), ",.0f", 1.0),
    ("first logged loss", ("loss", "train", 0, "loss"), ".3f", 1.0),
    ("final logged loss", ("loss", "train", -1, "loss"), ".3f", 1.0),
    ("validation loss", ("eval_loss",), ".3f", 1.0),
    ("peak GPU memory (GiB)", ("memory", "peak_gpu_memory_gib"), ".2f", 1.0),
    ("peak process RSS (GiB)", ("memory", "peak_rss_gib"), ".2f", 1.0),
)


def training_section(results: dict[str, dict], fig_dir: Path) -> tuple[list[Number], dict[str, str]]:
    """Macros for every `results/train_*.json`, a table with a column per run, the loss curves.

    Returns the macros and the files to write: the report's section snippet and the bare table (for slides).
    """
    runs = {k.removeprefix("train_"): v for k, v in results.items() if k.startswith("train_")}
    if not runs:
        return [], {"sections/training.tex": not_measured("results/train_*.json", HOW_TO_PRODUCE["train_tiny-cpu"])}
    numbers: list[Number] = []
    cells: dict[str, list[str]] = {label: [] for label, *_ in TRAIN_FIELDS}
    for name, run in runs.items():
        for label, path, fmt, scale in TRAIN_FIELDS:
            n = number(macro_name("train", name, label), run, f"results/train_{name}.json", path, fmt, scale)
            numbers += [n] if n else []
            cells[label].append(rf"\{n.macro}" if n else "--")
    rows = [[label, *values] for label, values in cells.items() if any(v != "--" for v in values)]
    header = [""] + [rf"\texttt{{{latex_escape(n)}}}" for n in runs]
    align = "l" + r">{\raggedleft\arraybackslash}p{4.2cm}" * len(runs)
    fig_loss_curves(runs, fig_dir / "loss_curves.pdf")
    table = booktabs(header, rows, align)
    body = (
        r"\begin{table}[htbp]\centering\small"
        + "\n"
        + table
        + r"\caption{Every training run in \texttt{results/train\_*.json}, as its \texttt{metrics.json} "
        r"recorded it. A dash: the run did not record that figure.}\label{tab:train}\end{table}"
        + "\n"
        + figure(
            "figures/loss_curves.pdf",
            "Logged training loss per optimizer step (and validation loss where evaluated) for each run.",
            r"0.6\linewidth" if len(runs) == 1 else r"\linewidth",
        )
    )
    return numbers, {"sections/training.tex": body, "tables/training.tex": table}


EVAL_ROWS = (  # (label, path inside one split of results/eval_<engine>.json, format)
    ("MAE, overall score", ("mae",), ".2f"),
    ("RMSE, overall score", ("rmse",), ".2f"),
    ("Spearman", ("spearman",), ".3f"),
    ("quadratic-weighted kappa", ("qwk",), ".3f"),
    ("within-question pair accuracy", ("ranking", "pair_accuracy"), ".3f"),
    ("questions fully ordered", ("ranking", "questions_fully_ordered"), ".3f"),
    ("MAE relevance (1-5)", ("criteria_mae", "relevance"), ".2f"),
    ("MAE structure (1-5)", ("criteria_mae", "structure"), ".2f"),
    ("MAE specificity (1-5)", ("criteria_mae", "specificity"), ".2f"),
    ("MAE communication (1-5)", ("criteria_mae", "communication"), ".2f"),
    ("abstention rate", ("abstention_rate",), ".3f"),
    (r"off-topic, same category: share $\le 4$", ("off_topic", "same_category", "share_at_or_below"), ".3f"),
    (r"off-topic, other category: share $\le 2$", ("off_topic", "other_category", "share_at_or_below"), ".3f"),
    ("latency p50 (ms)", ("latency", "p50_ms"), ".1f"),
    ("latency p95 (ms)", ("latency", "p95_ms"), ".1f"),
)
EVAL_SPLITS = ("test", "validation")


def eval_section(results: dict[str, dict], fig_dir: Path) -> tuple[list[Number], dict[str, str]]:
    """One table: each metric for each engine on the test and validation questions; the calibration figure."""
    evals = {k.removeprefix("eval_"): v for k, v in results.items() if k.startswith("eval_") and "splits" in v}
    if not evals:
        return [], {"sections/eval.tex": not_measured("results/eval_*.json", HOW_TO_PRODUCE["eval"])}
    columns = [(e, sp) for e in evals for sp in EVAL_SPLITS if sp in evals[e]["splits"]]
    numbers: list[Number] = []
    rows = []
    for label, path, fmt in EVAL_ROWS:
        row = [label]
        for engine, split in columns:
            n = number(macro_name("eval", engine, split, *path), evals[engine], f"results/eval_{engine}.json",
                       ("splits", split, *path), fmt)  # fmt: skip
            numbers += [n] if n else []
            row.append(rf"\{n.macro}" if n else "--")
        rows.append(row)
    for engine, split in columns:  # the sizes the caption quotes
        n = number(macro_name("eval", engine, split, "n"), evals[engine], f"results/eval_{engine}.json",
                   ("splits", split, "n"), "d")  # fmt: skip
        numbers += [n] if n else []
    header = ["metric"] + [rf"\texttt{{{latex_escape(e)}}} {sp}" for e, sp in columns]
    table = booktabs(header, rows)
    body = (r"\begin{table}[htbp]\centering\small" + "\n" + table
            + r"\caption{Held-out scoring (\texttt{results/eval\_*.json}): questions no engine was fitted on. "
            r"Pair accuracy counts a tie as half.}\label{tab:eval}\end{table}" + "\n")  # fmt: skip
    bins = {e: cal for e, r in evals.items() if (cal := r["splits"].get("test", {}).get("calibration"))}
    if bins:
        fig_calibration(bins, fig_dir / "calibration.pdf")
        body += figure("figures/calibration.pdf", "Calibration on the test questions: mean reference score for each "
                       "predicted-score bin (point size: number of answers). The diagonal is perfect calibration.",
                       r"0.5\linewidth")  # fmt: skip
    return numbers, {"sections/eval.tex": body + "\n", "tables/eval.tex": table}


APP_ROWS = (  # (label, results file stem, path, format)
    ("scorer: answers per second (one process)", "bench_scorer", ("answers_per_s",), ".1f"),
    ("scorer: latency p50 per answer (ms)", "bench_scorer", ("latency_ms", "p50"), ".1f"),
    ("scorer: latency p95 per answer (ms)", "bench_scorer", ("latency_ms", "p95"), ".1f"),
    ("scorer: first answer to a new question, p50 (ms)", "bench_scorer", ("latency_new_question_ms", "p50"), ".1f"),
    ("scorer: load time (s)", "bench_scorer", ("load_s", "scorer_load_excluding_imports"), ".2f"),
    ("scorer: peak memory (MB)", "bench_scorer", ("peak_rss_mb",), ".0f"),
    ("app, 1 user: turn latency p50 (s)", "bench_app_single", ("turn_latency_s", "p50"), ".2f"),
    ("app, 1 user: turn latency p95 (s)", "bench_app_single", ("turn_latency_s", "p95"), ".2f"),
    ("app, 20 users: graded turns", "bench_app_concurrency", ("graded_turns",), "d"),
    ("app, 20 users: errors", "bench_app_concurrency", ("errors",), "d"),
    ("app, 20 users: turn latency p50 (s)", "bench_app_concurrency", ("turn_latency_s", "p50"), ".2f"),
    ("app, 20 users: turn latency p95 (s)", "bench_app_concurrency", ("turn_latency_s", "p95"), ".2f"),
    ("app, 20 users: graded turns per second", "bench_app_concurrency", ("turns_per_second",), ".2f"),
)


def app_section(
    results: dict[str, dict], screenshots: list[str], fig_dir: Path
) -> tuple[list[Number], dict[str, str]]:
    """Screenshots from the browser test and one table of the scorer and app benchmarks."""
    parts, files = [], {}
    if screenshots:
        files["sections/slides_screenshots.tex"] = "\n".join(
            rf"\includegraphics[height=0.62\textheight,width=0.48\linewidth,keepaspectratio]{{{p}}}\hfill"
            for p in screenshots[1:3]
        )
        graphics = "\n".join(rf"\includegraphics[width=0.48\linewidth]{{{p}}}\hfill" for p in screenshots[1:3])
        parts.append(
            rf"\begin{{figure}}[htbp]\centering{graphics}\caption{{Screenshots taken by the browser test "
            rf"(\texttt{{results/screenshots/}}): feedback on an answer, and the summary.}}\end{{figure}}"
        )
    else:
        parts.append(not_measured("results/screenshots/*.png", HOW_TO_PRODUCE["screenshots"]))
    numbers: list[Number] = []
    rows = []
    for label, stem, path, fmt in APP_ROWS:
        if stem not in results:
            continue
        n = number(macro_name(stem, *path), results[stem], f"results/{stem}.json", path, fmt)
        if n:
            numbers.append(n)
            rows.append([label, rf"\{n.macro}"])
    missing = [s for s in ("bench_scorer", "bench_app_single", "bench_app_concurrency") if s not in results]
    parts += [not_measured(f"results/{s}.json", HOW_TO_PRODUCE["bench"]) for s in missing]
    if rows:
        parts.append(r"\begin{table}[htbp]\centering\small" + booktabs(["figure", "value"], rows)
                     + r"\caption{Scorer and app benchmarks on the 2-core build CPU (\texttt{results/bench\_*.json}). "
                     r"The 20 users answer with no pause between turns, so their latency is mostly queueing.}"
                     r"\label{tab:app}\end{table}")  # fmt: skip
    return numbers, {"sections/app.tex": "\n\n".join(parts) + "\n", **files}


def comparison_section(results: dict[str, dict], seed_counts: dict) -> tuple[list[Number], str]:
    """Reference figures next to ours where the quantity is defined the same way; otherwise say why not."""
    ref = [number(macro_name("ref", k), REFERENCE, REFERENCE_SOURCE, (k,), ".2f" if k == "train_minutes" else ".3f"
                  if k != "trainable_millions" else ".1f") for k in REFERENCE]  # fmt: skip
    seed = results.get("train_falcon-rw-1b-seed")
    seed_missing = "not measured (no run on real weights)"
    ours = {
        "trainable_millions": r"\RecipeFalconRwOneBSeedTrainableMillions{} (\RecipeFalconRwOneBSeedTrainable{})",
        "train_minutes": r"\TrainFalconRwOneBSeedTrainRuntimeMin{} min" if seed else seed_missing,
        "samples_per_second": r"\TrainFalconRwOneBSeedSamplesS{}" if seed else seed_missing,
        "final_loss": r"\TrainFalconRwOneBSeedFinalLoggedLoss{}" if seed else seed_missing,
    }
    labels = {"train_minutes": "training time (min)", "samples_per_second": "train samples/s",
              "final_loss": "final training loss", "trainable_millions": "trainable parameters (M)"}  # fmt: skip
    rows = [[labels[k], rf"\{n.macro}", ours[k]] for k, n in zip(REFERENCE, ref, strict=True)]
    table = booktabs(["figure", "reference project", "InterviewMate, \\texttt{falcon-rw-1b-seed}"], rows, "lrl")
    return [n for n in ref if n], table


def scale_table() -> str:
    """The scoring anchors exactly as the system prompt states them to every engine (prompts.SYSTEM_PROMPT)."""
    from interviewmate.prompts import SYSTEM_PROMPT

    text = " ".join(SYSTEM_PROMPT.split("\n"))
    anchors = re.findall(r"(\d+-\d+): (.*?)(?= \d+-\d+: | Length is not)", text)
    rows = [[a, latex_escape(d.strip())] for a, d in anchors]
    return booktabs(["score", "what the answer is like"], rows, r"l>{\raggedright\arraybackslash}p{12cm}")


def provenance_table(data: dict) -> str:
    """Appendix: every macro, its printed value and where it was read from."""

    def tt(text: str) -> str:  # long names may break after '/', '.', '_' or '-' and before a capital letter
        brk = r"\allowbreak{}"
        return r"\texttt{" + "".join((brk if c.isupper() else "") + latex_escape(c) + (brk if c in "/._-" else "")
                                     for c in text) + "}"  # fmt: skip

    def wrap(value: str) -> str:  # text values such as a model id may break after '/'
        return value.replace("/", r"/\allowbreak{}")

    rows = [rf"\texttt{{\textbackslash}}{tt(m)} & {wrap(d['value'])} & {tt(d['source'])} & "
            rf"{tt('.'.join(map(str, d['path'])))} \\" for m, d in data.items()]  # fmt: skip
    return "\n".join([r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{5.0cm}"
                      r">{\raggedright\arraybackslash}p{2.0cm}>{\raggedright\arraybackslash}p{4.4cm}"
                      r">{\raggedright\arraybackslash}p{3.6cm}@{}}",
                      r"\toprule macro & value & source & path \\ \midrule \endhead", *rows,
                      r"\bottomrule", r"\end{longtable}"]) + "\n"  # fmt: skip


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


def presence_flags(results: dict[str, dict]) -> list[str]:
    """Flags the prose branches on besides the file names: a GPU training run, an LLM-engine evaluation."""
    flags = []
    if any(k.startswith("train_") and not str(get_path_or(v, ("hardware", "device"), "cpu")).startswith("cpu")
           for k, v in results.items()):  # fmt: skip
        flags.append("train-gpu")
    if any(k.startswith("eval_") and re.search(r"local|remote|llm|falcon", k) for k in results):
        flags.append("eval-llm")
    for prefix, flag in (("train_", "train-any"), ("eval_", "eval-any"), (("bench_", "app_"), "bench-any")):
        if any(k.startswith(prefix) for k in results):
            flags.append(flag)
    return flags


def get_path_or(obj: object, path: tuple, default: object) -> object:
    try:
        return get_path(obj, path)
    except (KeyError, IndexError, TypeError):
        return default


# ---------------------------------------------------------------- main


def build(out: Path = OUT, results_dir: Path = RESULTS) -> dict:
    """Write every generated input under `out`; return numbers.json's content."""
    from interviewmate import dataset as ds

    for sub in ("figures", "tables", "sections"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    fig_dir = out / "figures"
    results = load_results(results_dir)
    (out / "sections" / "skipped.tex").write_text(skipped_note(results.pop("_unreadable", [])))
    rows, lines, issues = ds.read_jsonl(ds.DATASET_PATH)
    issues += ds.validate_rows(rows, lines)
    splits = ds.load_splits()
    summary = dataset_summary(rows, splits, len(issues))
    test_rows = ds.split_rows(rows, splits)["test"]

    numbers = dataset_numbers(summary)
    for name, text in dataset_tables(summary).items():
        (out / "tables" / f"dataset_{name}.tex").write_text(text)
    fig_dataset_counts(summary, fig_dir / "dataset_counts.pdf")
    fig_score_histogram(summary, fig_dir / "score_histogram.pdf")
    fig_length_by_score(rows, summary["spearman_length_score"], fig_dir / "length_by_score.pdf")
    (out / "sections" / "template_example.txt").write_text(template_example(test_rows or rows))

    counts = {name: count_trainable(recipe(name)) for name in COUNTED_RECIPES}
    recipe_numbers, recipe_table, recipe_short = recipe_section(counts)
    (out / "tables" / "recipes.tex").write_text(recipe_table)
    (out / "tables" / "recipes_short.tex").write_text(recipe_short)
    screenshots = sorted((results_dir / "screenshots").glob("*.png"))[:4]
    sections = {
        "training": training_section(results, fig_dir),
        "eval": eval_section(results, fig_dir),
        "app": app_section(results, [os.path.relpath(p, out.parent) for p in screenshots], fig_dir),
    }
    scorer_path = ROOT / "interviewmate" / "scorer.json"
    scorer = json.loads(scorer_path.read_text()) if scorer_path.exists() else None
    scorer_numbers, scorer_files, scorer_flags = scorer_section(scorer, ds.file_sha256(ds.DATASET_PATH))
    sections["scorer"] = (scorer_numbers, scorer_files)
    comparison_numbers, comparison_table = comparison_section(results, counts["falcon-rw-1b-seed"])
    (out / "tables" / "comparison.tex").write_text(comparison_table)
    numbers += recipe_numbers + comparison_numbers
    for sec_numbers, files in sections.values():
        numbers += sec_numbers
        for rel, text in files.items():
            (out / rel).write_text(text)
    present = list(results) + presence_flags(results) + scorer_flags + (["screenshots"] if screenshots else [])
    (out / "numbers.tex").write_text(numbers_tex(numbers, present))
    data = numbers_json(numbers)
    (out / "numbers.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "tables" / "provenance.tex").write_text(provenance_table(data))
    (out / "tables" / "scale.tex").write_text(scale_table())
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="build folder (default report/build)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results folder (default results/)")
    args = parser.parse_args(argv)
    data = build(args.out, args.results)
    print(f"build_assets: {len(data)} numbers, figures and tables in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
