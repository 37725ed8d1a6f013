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


def model_card(metrics: dict, base_model: str) -> str:
    """A Hugging Face model card with the run's measured figures."""
    curve = metrics["loss"]["train"]
    ev = metrics.get("eval_loss")
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

A LoRA adapter trained with TRL's `SFTTrainer` (QLoRA: {metrics["quantization"]} base) on the InterviewMate
interview set ({metrics["n_train"]} graded answers of the train split). Given an interview question and a
candidate's answer it writes a score (1-10), four criteria scores (1-5), feedback, a follow-up question
and a stronger answer, in the format of `interviewmate/prompts.py`.

## Measured in this run
| figure | value |
| --- | --- |
| hardware | {metrics["hardware"]["device"]} |
| trainable parameters | {metrics["trainable_parameters"]:,} ({metrics["trainable_percent"]:.4f}%) |
| epochs / steps | {metrics["epochs"]:.2f} / {metrics["global_step"]} |
| train runtime | {metrics["train_runtime_s"]:.1f} s |
| train samples/s | {metrics["train_samples_per_second"]:.3f} |
| train tokens/s | {metrics["train_tokens_per_second"]:.1f} |
| final logged train loss | {curve[-1]["loss"] if curve else float("nan"):.4f} |
| validation loss | {ev if ev is not None else "not measured"} |
| dataset sha256 | `{metrics["dataset_sha256"][:16]}...` |

Loss values of a random-weight tiny model (the CPU smoke recipe) say nothing about quality.

## Use
```python
from interviewmate.modeling import load_coach_model
tokenizer, model = load_coach_model("{base_model}", "path/to/this/adapter", quantization="4bit")
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
) -> dict:
    """Write `adapter/` atomically (weights, config with the Hub base id, tokenizer, card) and `metrics.json`."""
    out_dir = Path(training_args.output_dir)
    state = trainer.state
    train_metrics = next((h for h in reversed(state.log_history) if "train_runtime" in h), {})
    eval_metrics = next((h for h in reversed(state.log_history) if "eval_loss" in h), {})
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
