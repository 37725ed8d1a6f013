"""Generated inputs of the report and slides: figures, booktabs tables, section snippets and number macros.

Reads `results/*.json`, the dataset, the scorer file and the training recipes; writes everything under
`report/build/` (never tracked): `figures/*.pdf`, `tables/*.tex`, `sections/*.tex`, `numbers.tex` (one
`\\newcommand` per number the prose quotes, and an `\\IfHave` flag per result present) and `numbers.json` (each
macro's value, source file and path, so tests can read it again from its source). The prose lives in
`report.tex` and `slides.tex`; the measuring is in `report/assets/`, one module per part of the report, each a
set of pure functions over the results. A result file that is missing becomes a visible "not measured yet"
note, never a made-up value.

    python report/build_assets.py [--out DIR] [--results DIR]   # what `make -C report` runs first
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "report")]  # run as a script from any folder, without installing
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # only configs are built here; nothing is downloaded

from assets import coaching, dataset, evaluation, product, provenance, robustness, training  # noqa: E402
from assets.common import Section, load_results, numbers_json, numbers_tex, skipped_note  # noqa: E402

RESULTS = ROOT / "results"
OUT = ROOT / "report" / "build"


def build(out: Path = OUT, results_dir: Path = RESULTS) -> dict:
    """Write every generated input under `out`; return numbers.json's content."""
    from interviewmate import dataset as ds
    from interviewmate.evaluate import TARGETS

    for sub in ("figures", "tables", "sections"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    figs = out / "figures"
    results = load_results(results_dir)
    skipped = skipped_note(results.pop("_unreadable", []))
    rows, lines, issues = ds.read_jsonl(ds.DATASET_PATH)
    issues += ds.validate_rows(rows, lines)
    splits = ds.load_splits()
    stats = dataset.summary(rows, splits, len(issues))
    contrast = dataset.contrast_summary(ds.load_contrast(), splits)
    counts = {name: training.count_trainable(training.recipe(name)) for name in training.RECIPES}
    scorer_path = ROOT / "interviewmate" / "scorer.json"
    scorer = json.loads(scorer_path.read_text()) if scorer_path.exists() else None
    here = ROOT / "report"  # LaTeX runs here; the screenshots are not copied into the build folder
    shots = {p.stem: os.path.relpath(p, here) for p in sorted((results_dir / "screenshots").glob("*.png"))}

    test_rows = ds.split_rows(rows, splits)["test"]
    sec = Section(files={"sections/skipped.tex": skipped, "tables/scale.tex": dataset.scale_table(),
                         "sections/template_example.txt": dataset.template_example(test_rows)})  # fmt: skip
    for part in (
        dataset.dataset_section(stats, rows, contrast, figs),
        training.recipes_section(counts),
        training.real_run_section(results, figs),
        training.gpu_section(results),
        training.reference_section(results, counts),
        product.scorer_section(scorer, ds.file_sha256(ds.DATASET_PATH)),
        evaluation.headline_section(results),
        evaluation.paired_section(results),
        evaluation.targets_section(results, TARGETS),
        evaluation.breakdown_section(results, figs),
        evaluation.misses_section(results, {r["id"]: r for r in rows}),
        robustness.contrast_section(results, figs),
        robustness.stress_section(results),
        robustness.outside_section(results),
        robustness.ablations_section(results, figs),
        robustness.nli_section(results),
        coaching.llm_section(results),
        coaching.feedback_section(results),
        product.screenshots_section(shots),
        product.speed_section(results),
        product.jd_section(results),
        product.versions_section(results),
    ):
        sec.merge(part)
    for rel, text in sec.files.items():
        (out / rel).write_text(text)
    (out / "numbers.tex").write_text(numbers_tex(sec.numbers, list(results) + sec.flags))
    data = numbers_json(sec.numbers)
    (out / "numbers.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "sections" / "provenance.tex").write_text(provenance.provenance(data))
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
