"""What a finished training run leaves behind: the adapter (written atomically), its model card, metrics.json.

Used by `training/sft.py`; the report reads the `metrics.json` files this writes and retypes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import resource
import shutil
import sys
from pathlib import Path

import torch


def peak_memory() -> dict:
    """Peak accelerator memory (GiB) when training on CUDA, and the process's peak RSS (GiB)."""
    out = {"peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)}
    if torch.cuda.is_available():
        out["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return out


def hardware() -> dict:
    out = {"platform": platform.platform(), "python": sys.version.split()[0], "torch": torch.__version__}
    if torch.cuda.is_available():
        out["device"] = torch.cuda.get_device_name(0)
    else:
        out["device"] = f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    return out


def loss_curve(log_history: list[dict]) -> dict[str, list]:
    """Training and evaluation losses per logged step, as stored by the Trainer."""
    train = [{"step": h["step"], "epoch": h.get("epoch"), "loss": h["loss"]} for h in log_history if "loss" in h]
    evals = [
        {"step": h["step"], "epoch": h.get("epoch"), "loss": h["eval_loss"]} for h in log_history if "eval_loss" in h
    ]
    return {"train": train, "eval": evals}


def _jsonable(obj):
    if dataclasses.is_dataclass(obj):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def _loss(value) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "not measured"


def model_card(metrics: dict, base_model: str, how: str | None = None) -> str:
    """A Hugging Face model card with the run's measured figures (all read from `metrics`).

    `how` is an optional Markdown paragraph saying exactly what was run and where.
    """
    curve = metrics["loss"]["train"]
    config = metrics.get("config", {})
    script, training, model = config.get("script", {}), config.get("training", {}), config.get("model", {})
    by_step = {e["step"]: e for e in metrics["loss"].get("eval", []) if e.get("step")}  # final evaluate() repeats
    per_epoch = "; ".join(f"epoch {e['epoch']:.2f}: {e['loss']:.4f}" for e in by_step.values()) or "none"
    contrast = metrics.get("contrast", {"included": False, "n_rows": 0})
    compute = script.get("bnb_4bit_compute_dtype", "bfloat16")
    lora = (f"r={model.get('lora_r')}, alpha={model.get('lora_alpha')}, dropout={model.get('lora_dropout')}, "
            f"targets {model.get('lora_target_modules')}")  # fmt: skip
    schedule = (f"batch {training.get('per_device_train_batch_size')} x grad-accum "
                f"{training.get('gradient_accumulation_steps')}, lr {training.get('learning_rate')} "
                f"{training.get('lr_scheduler_type')}, seed {training.get('seed')}")  # fmt: skip
    first, last = (curve[0]["loss"], curve[-1]["loss"]) if curve else (None, None)
    hw, template = metrics["hardware"], script.get("chat_template", "falcon3")
    return f"""---
base_model: {base_model}
library_name: peft
license: apache-2.0
datasets:
- interviewmate/interview_qa
pipeline_tag: text-generation
tags:
- interview-coaching
- qlora
- lora
- trl
- sft
---

# InterviewMate coach adapter for `{base_model}`

A LoRA adapter trained with TRL's `SFTTrainer` (QLoRA: {metrics["quantization"]} nf4 base, compute dtype {compute})
on the InterviewMate interview set ({metrics["n_train"]} graded answers of the train split; contrast rows
included: {contrast.get("included")}, {contrast.get("n_rows", 0)} rows). Given an interview question and a candidate's
answer it writes a score (1-10), four criteria scores (1-5), feedback, a follow-up question and a stronger
answer, in the format of `interviewmate/prompts.py`, with the `{template}` chat template saved beside it.
Loss is on the completion tokens only.
{how or ""}
## Measured in this run
| figure | value |
| --- | --- |
| hardware | {hw["device"]} (torch {hw["torch"]}) |
| LoRA | {lora} |
| trainable parameters | {metrics["trainable_parameters"]:,} ({metrics["trainable_percent"]:.4f}%) |
| epochs / optimizer steps | {metrics["epochs"]:.2f} / {metrics["global_step"]} ({schedule}) |
| train runtime | {metrics["train_runtime_s"]:.1f} s |
| train tokens (unpadded) / tokens/s | {metrics["train_tokens"]:,} / {metrics["train_tokens_per_second"]:.1f} |
| validation loss before training (step 0) | {_loss(metrics.get("eval_loss_before"))} |
| validation loss per epoch | {per_epoch} |
| validation loss after training | {_loss(metrics.get("eval_loss"))} |
| train loss, first / last logged window | {_loss(first)} / {_loss(last)} ({training.get("logging_steps")} steps) |
| train loss, mean over the run | {_loss(metrics.get("train_loss"))} |
| peak memory (GiB) | {metrics.get("memory")} |
| dataset sha256 | `{metrics["dataset_sha256"][:16]}...` |

Loss values of a random-weight tiny model (the CPU smoke recipe) say nothing about quality.

## Use
```python
from interviewmate.modeling import load_for_inference
# 4-bit nf4 base + adapter on CUDA; on a CPU the fp32 base with the adapter merged
tokenizer, model = load_for_inference("{metrics["model_name_or_path"]}", "path/to/this/adapter")
```
The chat template saved with the tokenizer is the one used in training.
"""


def finalize_run(
    trainer,
    *,
    script_args,
    model_args,
    training_args,
    trainable: int,
    total: int,
    quantized: dict,
    dataset_hash: str,
    n_train: int,
    n_eval: int,
    resumed_from: str | None,
    contrast: dict | None = None,
) -> dict:
    """Write `adapter/` atomically (weights, config with the Hub base id, tokenizer, card) and `metrics.json`."""
    out_dir = Path(training_args.output_dir)
    state = trainer.state
    train_metrics = next((h for h in reversed(state.log_history) if "train_runtime" in h), {})
    eval_metrics = next((h for h in reversed(state.log_history) if "eval_loss" in h), {})
    eval_at_start = next((h for h in state.log_history if "eval_loss" in h and h.get("step") == 0), {})
    runtime = float(train_metrics.get("train_runtime", float("nan")))
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    metrics = {
        "model_name_or_path": model_args.model_name_or_path,
        "base_model": script_args.base_model_id or model_args.model_name_or_path,
        "quantization": script_args.quantization,
        "quantized_layers": quantized,
        "trainable_parameters": int(trainable),
        "total_parameters": int(total),
        "trainable_percent": 100.0 * trainable / total,
        "n_train": n_train,
        "n_eval": n_eval,
        "epochs": float(state.epoch or 0.0),
        "global_step": int(state.global_step),
        "train_runtime_s": runtime,
        "train_samples_per_second": float(train_metrics.get("train_samples_per_second", float("nan"))),
        "train_steps_per_second": float(train_metrics.get("train_steps_per_second", float("nan"))),
        "train_tokens": tokens,
        "train_tokens_per_second": tokens / runtime if tokens and runtime == runtime and runtime > 0 else float("nan"),
        "train_loss": float(train_metrics.get("train_loss", float("nan"))),
        "eval_loss": eval_metrics.get("eval_loss"),
        "eval_loss_before": eval_at_start.get("eval_loss"),  # eval_on_start: validation loss of the base
        "contrast": contrast or {"included": False, "n_rows": 0},
        "loss": loss_curve(state.log_history),
        "memory": peak_memory(),
        "hardware": hardware(),
        "dataset_sha256": dataset_hash,
        "resumed_from": resumed_from,
        "config": {
            "script": _jsonable(script_args),
            "model": _jsonable(model_args),
            "training": {k: _jsonable(v) for k, v in training_args.to_dict().items()},
        },
    }
    final, tmp = out_dir / "adapter", out_dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))
    trainer.processing_class.save_pretrained(str(tmp))
    cfg_path = tmp / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = metrics["base_model"]
    cfg_path.write_text(json.dumps(cfg, indent=2))
    (tmp / "README.md").write_text(model_card(metrics, metrics["base_model"]))
    old = out_dir / ".adapter.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)  # one rename: readers see the old adapter or the new one, never half of one
    shutil.rmtree(old, ignore_errors=True)
    metrics_tmp = out_dir / ".metrics.json.tmp"
    metrics_tmp.write_text(json.dumps(metrics, indent=2, allow_nan=True))
    metrics_tmp.replace(out_dir / "metrics.json")
    if getattr(script_args, "results_path", None):
        results = Path(script_args.results_path)
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(metrics, indent=2, allow_nan=True))
    return metrics
