"""Loading in 4-bit (Llama and classic Falcon), adapter errors, streaming generation."""

import sys
import threading

import pytest
import torch

from interviewmate import modeling
from interviewmate.prompts import coach_messages


def test_llama_loads_in_4bit(tiny_llama):
    model = modeling.load_base_model(str(tiny_llama), quantization="4bit", device="cpu")
    counts = modeling.count_quantized(model)
    assert counts["4bit"] == 2 * 7  # q, k, v, o, gate, up, down in each of 2 layers; lm_head stays
    assert model(torch.tensor([[1, 2, 3]])).logits.shape[-1] == model.config.vocab_size


def test_classic_falcon_really_quantizes(tiny_falcon):
    from transformers import AutoModelForCausalLM

    # transformers alone leaves FalconLinear untouched: this is the bug the fix exists for
    plain = AutoModelForCausalLM.from_pretrained(tiny_falcon, quantization_config=modeling.quantization_config("4bit"))
    assert modeling.count_quantized(plain)["4bit"] == 0
    with pytest.raises(modeling.QuantizationError, match="no layer was quantized"):
        modeling.verify_quantized(plain, "4bit")

    model = modeling.load_base_model(str(tiny_falcon), quantization="4bit", device="cpu")
    assert modeling.count_quantized(model)["4bit"] == 2 * 4  # query_key_value, dense, dense_h_to_4h, dense_4h_to_h
    assert torch.isfinite(model(torch.tensor([[5, 6, 7]])).logits.float()).all()
    from transformers.models.falcon import modeling_falcon

    assert modeling_falcon.FalconLinear is not torch.nn.Linear  # the swap is scoped to the load


def test_8bit_and_full_precision_loads(tiny_llama):
    assert modeling.count_quantized(modeling.load_base_model(str(tiny_llama), "fp32", "cpu"))["4bit"] == 0
    model = modeling.load_base_model(str(tiny_llama), "bf16", "cpu")
    assert next(model.parameters()).dtype == torch.bfloat16


def test_missing_files_give_clear_errors(tmp_path, tiny_llama):
    with pytest.raises(modeling.ModelLoadError, match="expected a folder with config.json"):
        modeling.load_base_model(str(tmp_path / "nowhere"), "fp32", "cpu")
    model = modeling.load_base_model(str(tiny_llama), "fp32", "cpu")
    with pytest.raises(modeling.ModelLoadError, match="adapter file missing: .*adapter_config.json"):
        modeling.attach_adapter(model, tmp_path)
    with pytest.raises(modeling.ModelLoadError, match="'nobody/no-such-adapter' is not a local folder"):
        modeling.attach_adapter(model, "nobody/no-such-adapter")  # offline here: the download fails clearly
    with pytest.raises(ValueError, match="quantization must be one of"):
        modeling.quantization_config("3bit")


def test_4bit_without_bitsandbytes_is_refused(monkeypatch, tiny_llama):
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import now fails, as on a machine without it
    with pytest.raises(modeling.QuantizationError, match="needs bitsandbytes.*'bf16' or 'fp32'"):
        modeling.load_base_model(str(tiny_llama), "4bit", "cpu")


def test_stream_generate_caps_tokens_and_stops(tiny_llama):
    tokenizer = modeling.load_tokenizer(str(tiny_llama))
    model = modeling.load_base_model(str(tiny_llama), "fp32", "cpu")
    messages = coach_messages("Why here?", "Because I like it.")
    pieces = list(modeling.stream_generate(model, tokenizer, messages, max_new_tokens=12))
    n_tokens = len(tokenizer("".join(pieces), add_special_tokens=False)["input_ids"])
    assert 0 < n_tokens <= 14  # decoding can re-split a little, never run far past the cap

    stop = threading.Event()
    stream = modeling.stream_generate(model, tokenizer, messages, max_new_tokens=400, stop_event=stop)
    next(stream)
    stream.close()  # the consumer went away: the worker is told to stop
    assert stop.is_set()

    stop = threading.Event()
    stop.set()
    assert len(list(modeling.stream_generate(model, tokenizer, messages, 400, stop_event=stop))) <= 2


def save_tiny_adapter(base_dir, out_dir, chat_template: str):
    """A LoRA adapter on the tiny base with non-zero B (so it changes the logits), saved with its tokenizer."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    model = modeling.load_base_model(str(base_dir), "fp32", "cpu")
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    peft_model.save_pretrained(out_dir)
    modeling.load_tokenizer(str(base_dir), chat_template=chat_template).save_pretrained(out_dir)
    return peft_model.eval()


def test_cpu_fast_path_merges_the_adapter_and_generates(tmp_path, tiny_llama):
    from interviewmate.prompts import CHATML_TEMPLATE

    adapted = save_tiny_adapter(tiny_llama, tmp_path / "adapter", chat_template="chatml")
    try:
        tokenizer, model = modeling.load_for_inference(str(tiny_llama), str(tmp_path / "adapter"), "auto", "cpu")
        assert tokenizer.chat_template == CHATML_TEMPLATE  # the template saved with the adapter, not the default
        assert not any("lora_" in n for n, _ in model.named_parameters())  # merged into plain fp32 weights
        assert modeling.count_quantized(model) == {"4bit": 0, "8bit": 0, "linear": 15}
        assert next(model.parameters()).dtype == torch.float32 and model.config._attn_implementation == "eager"
        ids = torch.tensor([[5, 6, 7, 8, 9]])
        with torch.no_grad():
            merged, unmerged = model(ids).logits, adapted(ids).logits
            with adapted.disable_adapter():
                base = adapted(ids).logits
        torch.testing.assert_close(merged, unmerged, rtol=1e-4, atol=1e-4)  # same function as base + adapter
        assert (merged - base).abs().max() > 0.1  # and the adapter is really in it
        messages = coach_messages("Why here?", "Because I like it.")
        assert tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False).endswith(
            "<|im_start|>assistant\n"
        )
        pieces = list(modeling.stream_generate(model, tokenizer, messages, max_new_tokens=8))
        assert pieces and all(isinstance(p, str) for p in pieces)
    finally:
        torch.set_flush_denormal(False)  # the fast path sets it process-wide


def test_auto_quantization_keeps_4bit_plus_adapter_off_cpu(monkeypatch, tmp_path, tiny_llama):
    save_tiny_adapter(tiny_llama, tmp_path / "adapter", chat_template="falcon3")
    calls = []
    monkeypatch.setattr(modeling, "load_coach_model", lambda *a, **k: calls.append((a, k)))
    modeling.load_for_inference(str(tiny_llama), str(tmp_path / "adapter"), "auto", device="cuda")
    (args, kwargs), = calls
    assert args[2] == "4bit" and kwargs["device"] == "cuda" and not kwargs.get("merge")
