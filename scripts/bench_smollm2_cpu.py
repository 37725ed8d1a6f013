"""CPU speed of SmolLM2-135M: QLoRA training under each setting the recipe chooses, and generation paths.

`train`: each variant runs a few optimizer steps of `training/sft.py`'s own trainer (recipe + overrides) and
reports tokens/s of real (unpadded) tokens over the steps after the first (the first pays for warm-up).
`generate`: greedy generation of a fixed number of new tokens for one validation answer, per loading path.
Variants run in turn in one process, so they share the machine's load; repeat to see the noise.

```bash
python scripts/bench_smollm2_cpu.py train --steps 3
python scripts/bench_smollm2_cpu.py generate --adapter adapters/smollm2-135m-interviewmate
```
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
RECIPE = ROOT / "training" / "configs" / "smollm2-135m-qlora.yaml"

VARIANTS = {  # name: CLI overrides of the recipe
    "recipe": [],
    "flush_off": ["--flush_denormals", "false"],
    "sdpa": ["--attn_implementation", "sdpa"],
    "bf16_compute": ["--bnb_4bit_compute_dtype", "bfloat16"],
    "batch2": ["--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1"],
    "grad_ckpt": ["--gradient_checkpointing", "true"],
    "fp32_base": ["--quantization", "fp32"],
    "max_len_1024": ["--max_length", "1024"],
}


def run_variant(overrides: list[str], steps: int) -> dict:
    import sft
    import torch
    from transformers import TrainerCallback

    torch.set_flush_denormal(False)  # sft.build_trainer turns it on when the variant asks
    args = sft.make_parser().parse_args_and_config(
        ["--config", str(RECIPE), "--max_steps", str(steps), "--save_strategy", "no", "--eval_strategy", "no",
         "--eval_on_start", "false", "--output_dir", "/tmp/bench-smollm2", "--logging_steps", "1",
         "--gradient_accumulation_steps", "2", *overrides]  # 2 rows a step: short steps, same per-token work
    )  # fmt: skip

    class Clock(TrainerCallback):
        marks: list[tuple[float, int]] = []

        def on_step_end(self, a, state, control, **kw):
            self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen)))

    trainer, _ = sft.build_trainer(*args)
    clock = Clock()
    trainer.add_callback(clock)
    trainer.train()
    (t0, n0), (t1, n1) = clock.marks[0], clock.marks[-1]
    return {"tokens_per_s": round((n1 - n0) / (t1 - t0), 1), "tokens": n1 - n0, "seconds": round(t1 - t0, 1)}


GENERATION_PATHS = {  # name: (quantization, merge adapter, attention, flush denormals, new tokens)
    "fp32_merged_eager_flush": ("fp32", True, "eager", True, 64),
    "fp32_merged_eager_noflush": ("fp32", True, "eager", False, 64),
    "fp32_merged_sdpa_flush": ("fp32", True, "sdpa", True, 64),
    "nf4_adapter": ("4bit", False, "eager", True, 6),
}


def time_generation(base: str, adapter: str, path: tuple) -> dict:
    import torch

    from interviewmate import dataset as ds
    from interviewmate.modeling import load_coach_model
    from interviewmate.prompts import coach_messages

    quantization, merge, attn, flush, n_new = path
    torch.set_flush_denormal(flush)
    tokenizer, model = load_coach_model(base, adapter, quantization, merge=merge, device="cpu",
                                        attn_implementation=attn)  # fmt: skip
    row = ds.split_rows(ds.load_rows(), ds.load_splits())["validation"][0]
    prompt = tokenizer.apply_chat_template(coach_messages(row["question"], row["answer"], row["role"],
                                           row["category"]), add_generation_prompt=True, tokenize=False)  # fmt: skip
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)

    def generate(n: int) -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            model.generate(**ids, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           pad_token_id=tokenizer.pad_token_id)  # fmt: skip
        return time.perf_counter() - t

    first = generate(1)  # prompt prefill + one token
    total = generate(n_new + 1)
    return {"prompt_tokens": int(ids["input_ids"].shape[1]), "new_tokens": n_new, "prefill_s": round(first, 2),
            "tokens_per_s": round(n_new / max(total - first, 1e-9), 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    train = sub.add_parser("train")
    train.add_argument("--steps", type=int, default=3)
    train.add_argument("--variants", nargs="*", default=list(VARIANTS))
    gen = sub.add_parser("generate")
    gen.add_argument("--base", default="models/smollm2-135m-instruct")
    gen.add_argument("--adapter", default="adapters/smollm2-135m-interviewmate")
    gen.add_argument("--variants", nargs="*", default=list(GENERATION_PATHS))
    for p in (train, gen):
        p.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    results = {}
    for name in args.variants:
        if args.what == "train":
            results[name] = run_variant(VARIANTS[name], args.steps)
        else:
            results[name] = time_generation(args.base, args.adapter, GENERATION_PATHS[name])
        print(name, results[name], flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
