"""The report build: `make -C report` gives both PDFs, every number macro equals its source (read again here, not
through the build), missing results become "not measured yet" notes, and nothing is written into the working tree
(the builds go to temporary folders through the Makefile's BUILD and RESULTS).

Needs latexmk and pdfinfo (`bash scripts/install_system.sh report`); the LaTeX tests are skipped without them.
Takes about a minute: one build with the results present and one with no results at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "report"))
sys.path.insert(0, str(ROOT / "scripts"))
import build_assets  # noqa: E402,F401  (puts report/ on the path for `assets`)
import feedback_audit as fa  # noqa: E402
from assets import common, evaluation, product, robustness, training  # noqa: E402
from assets import dataset as report_dataset  # noqa: E402

needs_latex = pytest.mark.skipif(
    not (shutil.which("latexmk") and shutil.which("pdfinfo")),
    reason="latexmk/pdfinfo missing: run `bash scripts/install_system.sh report`",
)


def make_report(build, results=ROOT / "results") -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(ROOT / "report"), f"PYTHON={sys.executable}", f"BUILD={build}",
                           f"RESULTS={results}"], capture_output=True, text=True, timeout=900)  # fmt: skip


def tree_listing() -> set[str]:
    """Every file under report/ and results/ (where a stray build would land)."""
    return {str(p.relative_to(ROOT)) for d in ("report", "results") for p in (ROOT / d).rglob("*")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build once with the results present, into a temporary folder; returns (build folder, numbers.json)."""
    before = tree_listing()
    build = tmp_path_factory.mktemp("report") / "build"
    proc = make_report(build)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert tree_listing() == before, "the build wrote into the working tree"
    return build, json.loads((build / "numbers.json").read_text())


def pages(pdf) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def overfull(log) -> list[float]:
    return [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log.read_text(errors="replace"))]


@needs_latex
def test_pdfs_are_built_without_overfull_boxes(built):
    build, _ = built
    assert pages(build / "report.pdf") >= 12
    assert 12 <= pages(build / "slides.pdf") <= 24
    for log in ("report.log", "slides.log"):
        assert [w for w in overfull(build / log) if w > 1.0] == [], f"{log}: overfull boxes over 1 pt"
        text = (build / log).read_text(errors="replace")
        assert not re.search(r"(Reference|Citation) .* undefined", text), f"{log}: undefined references"


@needs_latex
def test_report_builds_with_no_results_at_all(tmp_path):
    """Every section says "not measured yet" instead of failing; no figure is drawn from nothing."""
    (tmp_path / "results").mkdir()
    proc = make_report(tmp_path / "build", tmp_path / "results")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    text = subprocess.run(["pdftotext", str(tmp_path / "build" / "report.pdf"), "-"], capture_output=True,
                          text=True).stdout  # fmt: skip
    assert text.count("Not measured yet") >= 8
    assert not (tmp_path / "build" / "figures" / "calibration.pdf").exists()


# ---------------------------------------------------------------- every macro equals its source


def _dataset_source() -> dict:
    """The dataset figures: the file read and validated again here, summarised as the report summarises it."""
    from interviewmate import dataset as ds

    rows, lines, issues = ds.read_jsonl(ds.DATASET_PATH)
    issues += ds.validate_rows(rows, lines)
    return report_dataset.summary(rows, ds.load_splits(), len(issues))


def _contrast_source() -> dict:
    from interviewmate import dataset as ds

    rows = ds.load_contrast()
    return {"rows": len(rows), "kinds": ds.contrast_statistics(rows, ds.load_splits())}


def _recipe_source(path) -> dict:
    """Trainable LoRA parameters of the stored recipe (the seed recipe's count is checked against the reference's
    6,291,456 in test_training)."""
    import yaml

    return training.count_trainable(yaml.safe_load(path.read_text()))


def _source(name: str) -> object:
    if name == training.REFERENCE_SOURCE:
        return {"train_minutes": 87.45, "samples_per_second": 0.345, "final_loss": 0.308, "trainable_millions": 6.3}
    if name == "data/interview_qa.jsonl":
        return _dataset_source()
    if name == "data/contrast_qa.jsonl":
        return _contrast_source()
    if name.startswith("training/configs/"):
        return _recipe_source(ROOT / name)
    if name == "interviewmate/evaluate.py":
        from interviewmate.evaluate import TARGETS

        return TARGETS
    if name.startswith("installed packages"):
        return product.installed_versions()
    if name.endswith(".safetensors"):
        return {"size_mb": os.path.getsize(ROOT / name) / 1e6}
    return json.loads((ROOT / name).read_text())


def _lookup(obj, path):
    for key in path:
        obj = obj[key]
    return obj


@needs_latex
def test_every_macro_matches_its_source(built):
    build, data = built
    tex = (build / "numbers.tex").read_text()
    macros = dict(re.findall(r"^\\newcommand\{\\(\w+)\}\{(.*)\}$", tex, re.M))
    assert set(macros) - set(data) == {"Met", "Missed"}  # the two helpers; every other macro has a source
    assert set(data) <= set(macros) and "DatasetRows" in macros and "RecipeFalconRwOneBSeedTrainable" in macros
    sources: dict[str, object] = {}
    for macro, entry in data.items():
        src = sources.setdefault(entry["source"], _source(entry["source"]))
        value = _lookup(src, entry["path"])
        if entry["scale"] != 1.0:
            value = value / entry["scale"]
        expected = common.latex_escape(value) if isinstance(value, str) else format(value, entry["format"])
        assert macros[macro] == expected, f"\\{macro}: {macros[macro]!r} != {expected!r} from {entry['source']}"


@needs_latex
def test_recipe_counts_match_the_reference_and_the_real_run(built):
    _, data = built
    # the reference project's adapter: 6.3M trainable parameters on falcon-rw-1b
    assert data["RecipeFalconRwOneBSeedTrainable"]["value"] == "6,291,456"
    run = ROOT / "results" / "train_smollm2-135m-qlora.json"
    if run.exists():  # the meta-device count agrees with what the real SmolLM2 run reported
        real = json.loads(run.read_text())["trainable_parameters"]
        assert data["RecipeSmollmTwoOneThreeFiveMQloraTrainable"]["value"] == f"{real:,d}"


# ---------------------------------------------------------------- pure functions over results


def test_booktabs_table_and_a_rule_row():
    text = common.booktabs(["split", "rows"], [["train", "728"], r"\midrule", ["test", "87"]])
    assert text.splitlines() == [r"\begin{tabular}{lr}", r"\toprule", r"split & rows \\", r"\midrule",
                                 r"train & 728 \\", r"\midrule", r"test & 87 \\", r"\bottomrule",
                                 r"\end{tabular}"]  # fmt: skip


def test_macro_names_are_letters_only():
    assert common.macro_name("train", "falcon-rw-1b-seed", "samples/s") == "TrainFalconRwOneBSeedSamplesS"
    assert common.macro_name("dataset", "9-10") == "DatasetNineTen"
    assert common.macro_name("eval", "rubric", "test", "mae", "ci95", 0) == "EvalRubricTestMaeCiNineFiveZero"


def test_reader_records_source_and_path_and_dashes_what_is_absent():
    sec = common.Section()
    r = common.Reader(sec, {"a": {"b": 1.234, "c": None}}, "results/x.json", ("x",), ("a",))
    assert r("b", fmt=".2f") == r"\XB{}" and r("c") == "--" and r("missing") == "--"
    assert [(n.macro, n.text, n.source, n.path) for n in sec.numbers] == [("XB", "1.23", "results/x.json", ("a", "b"))]


def test_numbers_tex_flags_present_results_and_defines_each_macro_once():
    n = common.Number("TrainTinyCpuSamplesS", 12.96, "results/train_tiny-cpu.json", ("x",), ".3f")
    tex = common.numbers_tex([n, n], ["train_tiny-cpu", "missed-test-mae"])
    assert tex.count(r"\newcommand{\TrainTinyCpuSamplesS}{12.960}") == 1
    assert r"\csname have@train_tiny-cpu\endcsname" in tex and r"\csname have@missed-test-mae\endcsname" in tex


def test_unreadable_result_file_is_skipped(tmp_path):
    (tmp_path / "eval_rubric.json").write_text('{"mae": 1.0}')
    (tmp_path / "eval_broken.json").write_text("{not json")
    assert common.load_results(tmp_path) == {"eval_rubric": {"mae": 1.0}, "_unreadable": ["eval_broken.json"]}


def test_missing_results_give_not_measured_notes_and_no_figures(tmp_path):
    sections = (evaluation.headline_section({}), evaluation.paired_section({}),
                evaluation.breakdown_section({}, tmp_path), robustness.stress_section({}),
                robustness.outside_section({}), robustness.ablations_section({}, tmp_path),
                training.real_run_section({}, tmp_path))  # fmt: skip
    for sec in sections:
        assert sec.numbers == [] and any(r"\NotMeasured" in t for t in sec.files.values())
    assert not list(tmp_path.iterdir())
    # an eval file in the old format (no "main" block) counts as missing, never as measured
    assert evaluation.evals_of({"eval_rubric": {"splits": {"test": {"mae": 1.3}}}}) == {}


def _eval(mae, lo, hi, rows=()):
    main = {"n": 3, "n_scored": 3, "mae": {"value": mae, "ci95": [lo, hi]},
            "spearman": {"value": 0.5, "ci95": [0.1, 0.8]}, "qwk": {"value": 0.4, "ci95": [None, None]},
            "pair_accuracy": {"value": 0.9, "ci95": [0.8, 1.0]}}  # fmt: skip
    return {"splits": {"test": {"main": main, "rows": list(rows)}}}


def test_headline_table_quotes_intervals_and_the_paired_test_reads_noise():
    rubric = _eval(1.25, 1.1, 1.4)
    rubric["splits"]["test"]["vs_best_baseline"] = {
        "baseline": "length", "mae": {"difference": -0.4, "ci95": [-0.8, 0.0], "p_value": 0.06},
        "spearman": {"difference": 0.3, "ci95": [0.05, 0.6], "p_value": 0.02}}  # fmt: skip
    results = {"eval_rubric": rubric, "eval_length": _eval(1.8, 1.5, 2.1)}
    sec = evaluation.headline_section(results)
    values = {n.macro: n.text for n in sec.numbers}
    assert values["EvalRubricTestMae"] == "1.25" and values["EvalRubricTestMaeLo"] == "1.10"
    assert "EvalRubricTestQwkLo" not in values  # an undefined interval bound is left out, shown as a bare value
    assert r"\EvalRubricTestMae{} {\footnotesize[\EvalRubricTestMaeLo{}, \EvalRubricTestMaeHi{}]}" in sec.files[
        "tables/headline_test.tex"]  # fmt: skip
    paired = evaluation.paired_section(results).files["tables/paired.tex"]
    assert "within noise" in paired and "scorer better" in paired  # MAE's interval touches 0; Spearman's does not


def test_targets_are_macros_and_misses_are_marked():
    from interviewmate.evaluate import TARGETS

    sec = evaluation.targets_section({"eval_rubric": _eval(1.25, 1.1, 1.4)}, TARGETS)
    table = sec.files["tables/targets.tex"]
    assert r"\TargetTestMae" in table and r"\Missed" in table and "missed-test-mae" in sec.flags
    assert {n.source for n in sec.numbers if n.macro.startswith("Target")} == {"interviewmate/evaluate.py"}


def test_worst_misses_are_quoted_from_the_dataset_with_a_diagnosis():
    rows = [{"id": "q-1-a", "true": 9, "score": 2, "flags": ["off_topic"], "content": 3.0, "delivery": 6.0},
            {"id": "q-1-b", "true": 5, "score": 5, "flags": [], "content": 5.0, "delivery": 5.0}]  # fmt: skip
    data = {r["id"]: {"answer": "I cut p95 latency from 900 to 250 ms & shipped it.", "question": "What did you do?",
                      "category": "behavioral"} for r in rows}  # fmt: skip
    sec = evaluation.misses_section({"eval_rubric": _eval(1.0, 0.9, 1.1, rows)}, data, k=1)
    text = sec.files["sections/misses.tex"]
    assert "q-1-a" in text and "q-1-b" not in text and r"250 ms \& shipped" in text and "off-topic gate" in text
    paths = {n.path for n in sec.numbers}
    assert {("splits", "test", "rows", 0, "true"), ("splits", "test", "rows", 0, "score")} <= paths


def test_provenance_folds_paths_like_brace_expansion():
    paths = [["splits", s, "main", m, "value"] for s in ("test", "validation") for m in ("mae", "qwk")]
    prov = build_assets.provenance
    assert prov.fold(prov.trie(paths)) == "splits.{test,validation}.main.{mae,qwk}.value"
    text = prov.provenance({"A": {"source": "results/eval_rubric.json", "path": paths[0]}})
    assert r"eval\_\allowbreak{}rubric" in text and "(1)" in text


# ---------------------------------------------------------------- the feedback audit


def test_feedback_audit_labels_recompute_the_published_figures():
    """results/feedback_quality.json's audit block is what the labels give (no model needed)."""
    published = ROOT / "results" / "feedback_quality.json"
    if not published.exists():
        pytest.skip("results/feedback_quality.json not written yet: python scripts/feedback_audit.py")
    assert json.loads(published.read_text())["audit"] == json.loads(json.dumps(fa.summarise_labels(fa.read_labels())))


def test_feedback_audit_counts_and_quote_check(tmp_path):
    row = {"id": "a", "question_id": "q", "tier": "strong", "scorer_sha256": "x", "labelled_by": "me",
           "not_covered_shown": [{"key_point": "k1", "label": "covered"}, {"key_point": "k2", "label": "missing"}],
           "follow_up_sensible": True, "follow_up_reads_naturally": False}  # fmt: skip
    s = fa.summarise_labels([row, {**row, "id": "b", "question_id": "r", "not_covered_shown": [],
                                   "follow_up_sensible": False}])  # fmt: skip
    assert s["key_points"]["shown"] == 2 and s["key_points"]["share_really_missing"]["value"] == 0.5
    assert s["follow_ups"]["share_sensible"]["value"] == 0.5
    assert s["key_points"]["answers_with_a_covered_point_shown"] == 1
    c = fa.check_quotes("We cut it to 250 ms.", ["measurable result with a timeline"],
                        ["You said \u201ccut it to 250 ms\u201d.", "Add \u201cmeasurable result with a\u2026\u201d",
                         "\u201cnot there\u201d"])  # fmt: skip
    assert c == {"key_point": 1, "verbatim": 1, "not_in_answer": ["not there"]}
    bad = tmp_path / "labels.jsonl"
    bad.write_text(json.dumps({**row, "not_covered_shown": [{"key_point": "k", "label": "maybe"}]}) + "\n")
    with pytest.raises(ValueError, match="labels.jsonl:1"):
        fa.read_labels(bad)
