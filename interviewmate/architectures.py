"""Exact architectures of the recipes' base models, for work that needs their shape but not their weights.

Weights cannot be downloaded where this project is built, tested or benchmarked. Parameter counts,
speed and memory depend only on the shape, so these configs (the fields of each model's `config.json`
on the Hub that define its shape) let tests count trainable parameters on the meta device and let
benchmarks build a random-weight model of the same size.
"""

from __future__ import annotations

SHAPES: dict[str, dict] = {
    # classic Falcon: ALiBi, biased linears, multi-head attention, sequential attention + MLP; 1,311,625,216 params
    "tiiuae/falcon-rw-1b": dict(
        model_type="falcon", vocab_size=50304, hidden_size=2048, num_hidden_layers=24, num_attention_heads=32,
        alibi=True, bias=True, multi_query=False, new_decoder_architecture=False, parallel_attn=False,
        layer_norm_epsilon=1e-5, bos_token_id=1, eos_token_id=2,
    ),
    # Falcon3 is Llama-shaped: GQA with 8 query / 4 key-value heads of size 256, untied embeddings; ~1.67B params
    "tiiuae/Falcon3-1B-Instruct": dict(
        model_type="llama", vocab_size=131072, hidden_size=2048, intermediate_size=8192, num_hidden_layers=18,
        num_attention_heads=8, num_key_value_heads=4, head_dim=256, max_position_embeddings=8192,
        rope_theta=1000042.0, rms_norm_eps=1e-6, tie_word_embeddings=False, hidden_act="silu",
        bos_token_id=11, eos_token_id=11,
    ),
    # SmolLM2 is Llama-shaped too: GQA with 9 query / 3 key-value heads of size 64, tied embeddings; 134,515,008 params
    "HuggingFaceTB/SmolLM2-135M-Instruct": dict(
        model_type="llama", vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
        num_attention_heads=9, num_key_value_heads=3, head_dim=64, max_position_embeddings=8192,
        rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True, hidden_act="silu",
        bos_token_id=1, eos_token_id=2,
    ),
}  # fmt: skip


def config_for(model_id: str):
    """A transformers config with the exact shape of `model_id` (one of `SHAPES`)."""
    from transformers import FalconConfig, LlamaConfig

    if model_id not in SHAPES:
        raise KeyError(f"no stored shape for {model_id!r}; known: {', '.join(SHAPES)}")
    fields = dict(SHAPES[model_id])
    cls = {"falcon": FalconConfig, "llama": LlamaConfig}[fields.pop("model_type")]
    return cls(**fields)
