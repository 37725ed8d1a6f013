"""Tiny local models for smoke runs and tests: a byte-level BPE tokenizer and Llama/Falcon-shaped nets.

No weights can be downloaded where this project is built and tested, so the training and loading code
is exercised on models built here in a second. They have random weights: they prove the plumbing
(quantization, LoRA, saving, reloading), never quality.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from interviewmate.prompts import CHAT_TEMPLATE, ROLE_TOKENS, SYSTEM_PROMPT

EOS, PAD = "<|endoftext|>", "<|pad|>"

_SEED_TEXT = [
    SYSTEM_PROMPT,
    "Tell me about a time you disagreed with a teammate about a technical decision.",
    "I led the migration of our billing service and cut the p95 latency from 900 ms to 250 ms.",
    "We had a conflict about the database schema, so I wrote a short design doc comparing both options.",
    "Score: 7/10\nRelevance: 4/5\nStructure: 3/5\nSpecificity: 3/5\nCommunication: 4/5",
    "Feedback: Your answer names the situation clearly but the result has no number.",
    "Follow-up: What would you do differently next time?",
    "Stronger answer: In my last role I owned the rollout and measured a 12% drop in churn.",
    "A hash map stores keys in buckets chosen by a hash function, giving average O(1) lookups.",
    "Role: software engineer\nCategory: behavioral\nQuestion: Why do you want this job?\nCandidate answer: ...",
]


def build_tokenizer(texts: Iterable[str] = (), vocab_size: int = 2000):
    """A byte-level BPE tokenizer trained on `texts`, with the project's chat template and role tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # digits one token each, as SmolLM2's and Llama 3's tokenizers do (the guided grade header relies on it)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(list(_SEED_TEXT) + list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=PAD)
    fast.add_special_tokens({"additional_special_tokens": list(ROLE_TOKENS)})
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(arch: str, vocab_size: int, pad_token_id: int, eos_token_id: int, seed: int = 0):
    """A tiny randomly initialised causal LM: `llama` (Falcon3-shaped) or `falcon` (classic Falcon)."""
    import torch
    from transformers import FalconConfig, FalconForCausalLM, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    if arch == "llama":
        config = LlamaConfig(
            vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
            pad_token_id=pad_token_id, eos_token_id=eos_token_id, bos_token_id=eos_token_id,
            tie_word_embeddings=False,
        )  # fmt: skip
        return LlamaForCausalLM(config)
    if arch == "falcon":
        # falcon-rw-1b layout: ALiBi, biased linears, no multi-query, sequential attention + MLP
        config = FalconConfig(
            vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            alibi=True, bias=True, multi_query=False, new_decoder_architecture=False, parallel_attn=False,
            pad_token_id=pad_token_id, eos_token_id=eos_token_id, bos_token_id=eos_token_id,
        )  # fmt: skip
        return FalconForCausalLM(config)
    raise ValueError(f"arch must be 'llama' or 'falcon', got {arch!r}")


def build_tiny_model(path: Path | str, arch: str = "llama", texts: Iterable[str] = (), seed: int = 0) -> Path:
    """Write a tiny tokenizer + model to `path` (a folder usable as `model_name_or_path`)."""
    path = Path(path)
    tokenizer = build_tokenizer(texts)
    model = build_model(arch, len(tokenizer), tokenizer.pad_token_id, tokenizer.eos_token_id, seed=seed)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return path
