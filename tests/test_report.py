"""The report build: `make -C report` gives both PDFs, and every number macro equals its source, recomputed here.

Needs latexmk and pdfinfo (`bash scripts/install_system.sh report`); skipped without them. Takes about 30 s.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "report"))
import build_assets as ba  # noqa: E402

BUILD = ROOT / "report" / "build"
needs_latex = pytest.mark.skipif(
    not (shutil.which("latexmk") and shutil.which("pdfinfo")),
    reason="latexmk/pdfinfo missing: run `bash scripts/install_system.sh report`",
)


@pytest.fixture(scope="module")
def built() -> dict:
    """Build once for the module; returns numbers.json."""
    proc = subprocess.run(["make", "-C", str(ROOT / "report"), f"PYTHON={sys.executable}"],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads((BUILD / "numbers.json").read_text())


def pages(pdf) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


@needs_latex
def test_pdfs_are_built_with_expected_page_counts(built):
    assert pages(BUILD / "report.pdf") >= 8
    assert 10 <= pages(BUILD / "slides.pdf") <= 15


def _dataset_source() -> dict:
    """The dataset figures, recomputed with interviewmate.dataset directly (not through build_assets)."""
    from interviewmate import dataset as ds

    rows, lines, issues = ds.read_jsonl(ds.DATASET_PATH)
    issues += ds.validate_rows(rows, lines)
    splits = ds.load_splits()
    stats = ds.statistics_of(rows)
    parts = ds.split_rows(rows, splits)
    stats["splits"] = {n: {"questions": len(splits[n]), "rows": len(parts[n])} for n in ds.SPLIT_NAMES}
    stats["validation_issues"] = len(issues)
    stats["n_categories"], stats["n_roles"] = len(stats["categories"]), len(stats["roles"])
    stats["checks"] = {k: getattr(ds, k) for k in ("MIN_BAND_SHARE", "MAX_LENGTH_RHO", "NEAR_DUP_QUESTION",
                                                    "NEAR_DUP_TEXT")}  # fmt: skip
    return stats


def _recipe_source(path) -> dict:
    """Trainable LoRA parameters of a recipe, counted on the meta device with peft."""
    import torch
    import yaml
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from interviewmate.architectures import config_for

    cfg = yaml.safe_load(path.read_text())
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_for(cfg["model_name_or_path"]))
    lora = LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], target_modules=cfg["lora_target_modules"],
                      task_type="CAUSAL_LM")  # fmt: skip
    trainable, total = get_peft_model(model, lora).get_nb_trainable_parameters()
    return {"trainable_parameters": trainable, "total_parameters": total, "trainable_percent": 100 * trainable / total}


def _source(name: str) -> dict:
    if name == ba.REFERENCE_SOURCE:
        return ba.REFERENCE
    if name == "data/interview_qa.jsonl":
        return _dataset_source()
    if name.startswith("training/configs/"):
        return _recipe_source(ROOT / name)
    data = json.loads((ROOT / name).read_text())
    if name == "interviewmate/scorer.json":
        data["n_features"] = len(data["features"])
    return data


@needs_latex
def test_every_macro_matches_its_source(built):
    tex = (BUILD / "numbers.tex").read_text()
    macros = dict(re.findall(r"^\\newcommand\{\\(\w+)\}\{(.*)\}$", tex, re.M))
    assert set(macros) == set(built) and "DatasetRows" in macros and "RecipeFalconRwOneBSeedTrainable" in macros
    sources: dict[str, dict] = {}
    for macro, entry in built.items():
        src = sources.setdefault(entry["source"], _source(entry["source"]))
        value = ba.get_path(src, tuple(entry["path"]))
        if entry["scale"] != 1.0:
            value = value / entry["scale"]
        expected = ba.latex_escape(value) if isinstance(value, str) else format(value, entry["format"])
        assert macros[macro] == expected, f"\\{macro}: {macros[macro]!r} != {expected!r} from {entry['source']}"


@needs_latex
def test_seed_recipe_count_is_the_reference_configuration(built):
    # the reference project's adapter: 6.3M trainable parameters on falcon-rw-1b
    assert built["RecipeFalconRwOneBSeedTrainable"]["value"] == "6,291,456"
    assert built["RecipeFalconRwOneBSeedTrainablePct"]["value"] == "0.4774"


def test_booktabs_table():
    text = ba.booktabs(["split", "rows"], [["train", "728"], ["test", "87"]])
    assert text.splitlines() == [r"\begin{tabular}{lr}", r"\toprule", r"split & rows \\", r"\midrule",
                                 r"train & 728 \\", r"test & 87 \\", r"\bottomrule", r"\end{tabular}"]  # fmt: skip


def test_macro_names_are_letters_only():
    assert ba.macro_name("train", "falcon-rw-1b-seed", "samples/s") == "TrainFalconRwOneBSeedSamplesS"
    assert ba.macro_name("dataset", "9-10") == "DatasetNineTen"
    assert ba.macro_name("falcon3", "x_4h") == "FalconThreeXFourH"


def test_missing_results_give_not_measured_notes(tmp_path):
    numbers, files = ba.training_section({}, tmp_path)
    assert numbers == [] and r"\NotMeasured{results/train\_*.json}" in files["sections/training.tex"]
    numbers, files = ba.eval_section({}, tmp_path)
    assert numbers == [] and r"\NotMeasured{results/eval\_*.json}" in files["sections/eval.tex"]
    assert not list(tmp_path.iterdir())  # no figure drawn from nothing


def test_eval_section_tabulates_splits_and_draws_calibration(tmp_path):
    bins = [{"predicted": "3-4", "n": 2, "mean_true": 4.0}, {"predicted": "7-8", "n": 1, "mean_true": 8.0}]
    split = {"n": 3, "mae": 1.25, "ranking": {"pair_accuracy": 0.9}, "calibration": bins}
    numbers, files = ba.eval_section({"eval_rubric": {"splits": {"test": split}}}, tmp_path)
    by_macro = {n.macro: n.text for n in numbers}
    assert by_macro == {
        "EvalRubricTestMae": "1.25",
        "EvalRubricTestRankingPairAccuracy": "0.900",
        "EvalRubricTestN": "3",
    }
    assert r"\EvalRubricTestMae" in files["tables/eval.tex"] and "--" in files["tables/eval.tex"]  # absent metrics
    assert (tmp_path / "calibration.pdf").exists()


def test_numbers_tex_flags_present_results():
    n = ba.Number("TrainTinyCpuSamplesS", 12.96, "results/train_tiny-cpu.json", ("train_samples_per_second",), ".3f")
    tex = ba.numbers_tex([n], ["train_tiny-cpu"])
    assert r"\newcommand{\TrainTinyCpuSamplesS}{12.960}" in tex
    assert r"\csname have@train_tiny-cpu\endcsname" in tex


def test_unreadable_result_file_is_skipped(tmp_path):
    (tmp_path / "eval_rubric.json").write_text('{"mae": 1.0}')
    (tmp_path / "eval_broken.json").write_text("{not json")
    results = ba.load_results(tmp_path)
    assert results == {"eval_rubric": {"mae": 1.0}, "_unreadable": ["eval_broken.json"]}
