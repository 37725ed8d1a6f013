"""The training sections: the recipes (trainable parameters counted on the meta device), the real SmolLM2 run and
its loss curves, the GPU benchmark (training throughput and serving speed), and the reference project's figures.
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
    macro_name,
    not_measured,
    number,
    save,
    verdict,
)

RECIPES_DIR = Path(__file__).resolve().parent.parent.parent / "training" / "configs"
RECIPES = ("falcon-rw-1b-seed", "falcon3-1b-instruct-qlora", "smollm2-135m-qlora")
REAL_RUN = "train_smollm2-135m-qlora"
ADAPTER = RECIPES_DIR.parent.parent / "adapters" / "smollm2-135m-interviewmate"
ADAPTER_SOURCE = "adapters/smollm2-135m-interviewmate/adapter_model.safetensors"
TINY_RUN = "train_tiny-cpu"
SHAPES = ("falcon3-1b", "falcon-rw-1b", "smollm2-135m")


def gpu_slug(results: dict) -> str | None:
    """The card the GPU benchmark ran on, as its result files name it (`bench_train_<shape>_<card>.json`): the
    Falcon3-1B run's if there is one, else any."""
    runs = sorted(k for k in results if k.startswith("bench_train_"))
    preferred = [k for k in runs if k.startswith("bench_train_falcon3-1b_")] or runs
    return preferred[0].rsplit("_", 1)[1] if preferred else None

# The only typed numbers in the report: the reference project's own reported figures, quoted for comparison.
REFERENCE_SOURCE = "reference project's reported figures"
REFERENCE = {"train_minutes": 87.45, "samples_per_second": 0.345, "final_loss": 0.308, "trainable_millions": 6.3}


def recipe(name: str) -> dict:
    import yaml

    return yaml.safe_load((RECIPES_DIR / f"{name}.yaml").read_text())


def count_trainable(cfg: dict) -> dict:
    """Trainable LoRA parameters of a recipe, measured by building its base on the meta device (no weights)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from interviewmate.architectures import config_for

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_for(cfg.get("base_model_id") or cfg["model_name_or_path"]))
    lora = LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], target_modules=cfg["lora_target_modules"],
                      task_type="CAUSAL_LM")  # fmt: skip
    trainable, total = get_peft_model(model, lora).get_nb_trainable_parameters()
    return {"trainable_parameters": trainable, "total_parameters": total, "trainable_percent": 100 * trainable / total}


def recipes_section(counts: dict[str, dict]) -> Section:
    """Trainable-parameter macros and the recipes table (settings read from the YAML files)."""
    sec = Section()
    rows = []
    for name, c in counts.items():
        cfg, src = recipe(name), f"training/configs/{name}.yaml"
        targets = cfg["lora_target_modules"]
        targets = ", ".join(targets) if isinstance(targets, list) else targets
        trainable = sec.add(number(macro_name("recipe", name, "trainable"), c, src, ("trainable_parameters",), ",d"))
        pct = sec.add(number(macro_name("recipe", name, "trainable pct"), c, src, ("trainable_percent",), ".2f"))
        sec.add(number(macro_name("recipe", name, "total"), c, src, ("total_parameters",), ",d"))
        base = cfg.get("base_model_id") or cfg["model_name_or_path"]
        rows.append([rf"\texttt{{{latex_escape(base.split('/')[-1])}}}", f"{cfg['lora_r']}/{cfg['lora_alpha']}",
                     str(cfg["lora_dropout"]), rf"\texttt{{{latex_escape(targets).replace(', ', ', ')}}}",
                     f"{cfg['per_device_train_batch_size']}$\\times${cfg['gradient_accumulation_steps']}",
                     f"{cfg['learning_rate']:g}", str(cfg["num_train_epochs"]), trainable, rf"{pct}\,\%"])  # fmt: skip
    header = ["base", r"$r/\alpha$", "dropout", "LoRA targets", "batch", "lr", "epochs", "trainable", "share"]
    align = r"lcc>{\raggedright\arraybackslash}p{3.4cm}ccccr"
    sec.files["tables/recipes.tex"] = booktabs(header, rows, align)
    return sec


def real_run_section(results: dict, fig_dir: Path) -> Section:
    """The SmolLM2 QLoRA run: a table of what its metrics.json recorded and its loss curves."""
    run = results.get(REAL_RUN)
    sec = Section()
    src = f"results/{REAL_RUN}.json"
    if run is None:
        sec.files["sections/real_run.tex"] = not_measured(src, "python training/sft.py --config "
                                                          "training/configs/smollm2-135m-qlora.yaml")  # fmt: skip
        return sec
    r = Reader(sec, run, src, ("smol",))
    cells = {  # label -> one or two figures
        "hardware": [r("hardware", "device")],
        "train rows / validation rows": [r("n_train", fmt=",d"), r("n_eval", fmt=",d")],
        "epochs / optimizer steps": [r("epochs", fmt=".0f"), r("global_step", fmt=",d")],
        "train runtime (s)": [r("train_runtime_s", fmt=".0f")],
        "train tokens / tokens per second": [r("train_tokens", fmt=",d"), r("train_tokens_per_second", fmt=",.0f")],
        "validation loss before / after": [r("eval_loss_before", fmt=".3f"), r("eval_loss", fmt=".3f")],
        "train loss, first / last logged": [r("loss", "train", 0, "loss", fmt=".3f", name=("first loss",)),
                                            r("loss", "train", -1, "loss", fmt=".3f", name=("last loss",))],
        "peak GPU memory (GiB)": [r("memory", "peak_gpu_memory_gib", fmt=".2f")],
    }  # fmt: skip
    rows = [[label, " / ".join(v)] for label, v in cells.items()]
    r("trainable_parameters", fmt=",d"), r("train_samples_per_second", fmt=".2f")
    adapter = ADAPTER / "adapter_model.safetensors"
    if adapter.exists():
        sec.add(number("AdapterMb", {"size_mb": adapter.stat().st_size / 1e6}, ADAPTER_SOURCE, ("size_mb",), ".1f"))
    sec.files["tables/real_run.tex"] = booktabs(["", r"\texttt{smollm2-135m-qlora}"], rows, "lr")
    fig_loss(run, fig_dir / "loss_smollm2.pdf")
    tiny = results.get(TINY_RUN)
    if tiny:
        t = Reader(sec, tiny, f"results/{TINY_RUN}.json", ("tiny",))
        t("global_step", fmt=",d", name=("steps",)), t("train_runtime_s", fmt=".0f", name=("runtime",))
        t("quantized_layers", "4bit", fmt=",d", name=("fourbit",))
    return sec


def fig_loss(run: dict, path: Path) -> None:
    """Logged train loss per optimizer step and the validation loss before and after the epoch."""
    train, evals = run["loss"]["train"], {(p["step"], p["loss"]) for p in run["loss"]["eval"]}
    with plt.rc_context(FIG_STYLE):
        fig, ax = plt.subplots(figsize=(4.2, 2.4))
        ax.plot([p["step"] for p in train], [p["loss"] for p in train], marker="o", ms=3, label="train (5-step mean)")
        ev = sorted(evals)
        ax.plot([s for s, _ in ev], [v for _, v in ev], "s--", ms=5, label="validation")
        ax.set_xlabel("optimizer step (batch 8)")
        ax.set_ylabel("loss (completion tokens)")
        ax.legend(frameon=False)
        fig.tight_layout()
        save(fig, path)


def gpu_section(results: dict) -> Section:
    """Training throughput per model shape (baseline, best kept speed-up, the repeated baseline) and serving."""
    sec = Section()
    train_rows, serve_rows, target_rows = [], [], []
    gpu = gpu_slug(results)
    for shape in SHAPES:
        stem = f"bench_train_{shape}_{gpu}"
        b = results.get(stem)
        if b is None:
            continue
        r = Reader(sec, b, f"results/{stem}.json", ("bench", shape))

        def n(*p: object, f: str = ",.0f", r: Reader = r, name: tuple | None = None) -> str:
            return r(*p, fmt=f, name=name)

        best = b.get("best", "baseline")
        kept = [i for i, sp in enumerate(b.get("speedups", [])) if sp.get("kept")]
        if kept:
            n("speedups", kept[0], "speedup", f=".3f", name=("kept speedup",))
        n("runs", "baseline_repeat", "projected_2_epochs_s", f=".1f")
        repeat = get_path_or(b, ("runs", "baseline_repeat", "tokens_per_s"))
        train_rows.append([
            rf"\texttt{{{shape}}}", n("settings", "per_device_train_batch_size", f="d"),
            n("runs", "baseline", "tokens_per_s"), n("runs", "baseline", "peak_allocated_gib", f=".1f"),
            n("runs", "baseline", "mfu", f=".3f"), n("projection", "baseline_s"),
            n("runs", "baseline_repeat", "tokens_per_s") if repeat else "--",
            latex_escape(best.replace("_", " ")) if best != "baseline" else "none",
            n("projection", "best_s") if best != "baseline" else "--",
        ])  # fmt: skip
        for t_i, t in enumerate(b.get("targets", [])):
            if shape == "falcon3-1b":
                cell = n("targets", t_i, "value", f=",.0f" if "tokens" in t["target"] else ".1f")
                target_rows.append([latex_escape(t["target"]), latex_escape(t["run"].replace("_", " ")), cell,
                                    verdict(t.get("met"))])  # fmt: skip
        s = results.get(f"bench_serve_{shape}_{gpu}")
        if s:
            ssrc = f"results/bench_serve_{shape}_{gpu}.json"
            cells = []
            for eng in ("merged_bf16", "4bit_adapter"):
                for i in range(2):
                    cells.append(sec.add(number(macro_name("serve", shape, eng, "batch", i), s, ssrc,
                                                ("engines", eng, "runs", i, "tokens_per_s"), ",.0f")))  # fmt: skip
            serve_rows.append([rf"\texttt{{{shape}}}", *cells])
            if shape == "falcon3-1b":
                sec.add(number("ServeNewTokens", s, ssrc, ("settings", "new_tokens"), "d"))
                sec.add(number("ServePromptTokens", s, ssrc, ("engines", "merged_bf16", "runs", 0,
                                                              "prompt_tokens_padded"), "d"))  # fmt: skip
            for t_i, t in enumerate(s.get("targets", [])):
                if shape == "falcon3-1b":
                    cell = sec.add(number(macro_name("serve", shape, "target", t_i), s, ssrc,
                                          ("targets", t_i, "value"), ".0f"))  # fmt: skip
                    target_rows.append([latex_escape(t["target"]), "merged bf16", cell, verdict(t.get("met"))])
    if not train_rows:
        sec.files["sections/gpu.tex"] = not_measured("results/bench_train_*.json", "bash scripts/bench_gpu.sh")
        return sec
    sec.flags.append("gpu-bench")
    stem = next(f"bench_train_{sh}_{gpu}" for sh in SHAPES if f"bench_train_{sh}_{gpu}" in results)
    sec.add(number("GpuName", results[stem], f"results/{stem}.json", ("hardware", "device")))  # the card, in words
    header = ["shape", "micro-batch", "tokens/s", "peak GiB", "MFU", "2 epochs (s)", "baseline again", "kept",
              "2 epochs (s)"]  # fmt: skip
    sec.files["tables/gpu_train.tex"] = booktabs(header, train_rows, "lrrrrrrlr")
    sec.files["tables/gpu_serve.tex"] = booktabs(
        ["shape", "merged bf16, batch 1", "batch 8", "4-bit + adapter, batch 1", "batch 8"], serve_rows, "lrrrr"
    )
    sec.files["tables/gpu_targets.tex"] = booktabs(["target (Falcon3-1B)", "run", "value", ""], target_rows, "llrl")
    return sec


def reference_section(results: dict, counts: dict) -> Section:
    """The reference project's own figures next to ours where the quantity is defined the same way."""
    sec = Section()
    fmt = {"train_minutes": ".2f", "samples_per_second": ".3f", "final_loss": ".3f", "trainable_millions": ".1f"}
    ref = {k: sec.add(number(macro_name("ref", k), REFERENCE, REFERENCE_SOURCE, (k,), fmt[k])) for k in REFERENCE}
    c = counts["falcon-rw-1b-seed"]
    ours_m = sec.add(number("RecipeFalconRwOneBSeedTrainableMillions", c, "training/configs/falcon-rw-1b-seed.yaml",
                            ("trainable_parameters",), ".2f", 1e6))  # fmt: skip
    gpu = gpu_slug(results)
    bench = results.get(f"bench_train_falcon-rw-1b_{gpu}")
    proj = "not measured"
    if bench:
        card = latex_escape(get_path_or(bench, ("hardware", "device"), gpu))
        proj = sec.add(number("BenchFalconRwOneBProjectionBaselineMin", bench,
                              f"results/bench_train_falcon-rw-1b_{gpu}.json", ("projection", "baseline_s"), ".1f",
                              60.0)) + rf" (projected, random weights, {card})"  # fmt: skip
    rows = [
        ["trainable parameters (M)", ref["trainable_millions"], ours_m + " (counted on the meta device)"],
        ["2 epochs, 905 examples (min)", ref["train_minutes"], proj],
        ["train samples/s", ref["samples_per_second"], "not comparable (no run on real Falcon weights)"],
        ["final training loss", ref["final_loss"], "not comparable (no run on real Falcon weights)"],
    ]
    sec.files["tables/comparison.tex"] = booktabs(
        ["figure", "reference (own report)", r"InterviewMate, \texttt{falcon-rw-1b-seed}"], rows,
        r"lr>{\raggedright\arraybackslash}p{6.2cm}",
    )  # fmt: skip
    return sec
