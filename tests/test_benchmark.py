"""The training/serving benchmark: a tiny CPU run end to end, and the real shapes' sizes on the meta device."""

import json
import math

import pytest
import torch
from conftest import ROOT


def numbers(obj):
    """Every int/float in a nested JSON object (booleans excluded)."""
    if isinstance(obj, dict):
        for value in obj.values():
            yield from numbers(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from numbers(value)
    elif isinstance(obj, int | float) and not isinstance(obj, bool):
        yield obj


def test_tiny_shape_end_to_end_on_cpu(tmp_path):
    import benchmark

    results = ROOT / "results"
    before = sorted(p.name for p in results.iterdir()) if results.exists() else []
    opts = benchmark.make_parser().parse_args(
        ["--shape", "tiny", "--steps", "1", "--warmup", "1", "--max-rows", "8", "--batch-size", "2",
         "--variants", "padding_free", "--new-tokens", "2", "--batches", "1,2",
         "--results-dir", str(tmp_path / "out"), "--work-dir", str(tmp_path)]
    )  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model gains nothing from 2 threads, and loses 50x on a busy 2-core machine
    try:
        benchmark.main(opts)
    finally:
        torch.set_num_threads(threads)

    train = json.loads((tmp_path / "out" / "bench_train_tiny_cpu.json").read_text())
    serve = json.loads((tmp_path / "out" / "bench_serve_tiny_cpu.json").read_text())
    for r in (train, serve):
        assert r["smoke_run"] is True and "CPU smoke run" in r["note"]
        assert r["hardware"]["device"].startswith("cpu")
        for name in ("torch", "transformers", "peft", "bitsandbytes", "trl"):
            assert r["versions"][name], name
        assert all(t["met"] is None for t in r["targets"])  # a smoke run never claims a target
    assert "local byte-level BPE" in train["tokenizer"]["kind"]
    assert train["settings"]["quantization"].startswith("nf4, double quant, fp32 compute")
    assert train["settings"]["quantized_layers"]["4bit"] == 14
    assert train["parameters"]["trainable"] > 0 and 0 < train["data"]["completion_fraction"] < 1

    for name in ("baseline", "padding_free"):
        run = train["runs"][name]
        for key in ("tokens_per_s", "samples_per_s", "projected_2_epochs_s", "seconds", "non_pad_tokens"):
            assert math.isfinite(run[key]) and run[key] > 0, (name, key)
        assert run["mfu"] is None  # no peak to divide by on a CPU
    assert [s["name"] for s in train["speedups"]][0] == "padding_free"
    assert train["speedups"][0]["speedup"] > 0 and isinstance(train["speedups"][0]["kept"], bool)
    check = train["padding_free_check"]
    assert check["rel_error_padding_free"] < 1e-3 and check["rel_error_concatenated_without_position_ids"] > 1e-2
    assert train["projection"]["examples"] == 905 and train["projection"]["reference_minutes"] == 87.45

    for engine in ("4bit_adapter", "merged_bf16"):
        runs = serve["engines"][engine]["runs"]
        assert [r["batch"] for r in runs] == [1, 2], engine
        assert all(math.isfinite(r["tokens_per_s"]) and r["tokens_per_s"] > 0 for r in runs)
    assert serve["engines"]["merged_bf16"]["load"] == {"quantization": "bf16", "merge": True}
    assert all(math.isfinite(x) for x in numbers(train) if x is not None)

    after = sorted(p.name for p in results.iterdir()) if results.exists() else []
    assert after == before  # nothing written into the working tree


EXPECTED = {  # (base parameters, LoRA parameters of the shape's recipe)
    "falcon3-1b": (1_669_408_768, 12_976_128),  # r=16 on q/k/v/o/gate/up/down of 18 layers
    "falcon-rw-1b": (1_311_625_216, 6_291_456),  # the reference's r=8 on the 4 classic-Falcon modules
    "smollm2-135m": (134_515_008, 4_884_480),  # Falcon3's recipe on SmolLM2's 30 layers
}


@pytest.mark.parametrize("shape", sorted(EXPECTED))
def test_real_shapes_build_on_meta_with_expected_sizes(shape):
    import benchmark

    base, lora = EXPECTED[shape]
    trainable, total = benchmark.lora_parameter_counts(shape)
    assert (trainable, total) == (lora, base + lora)


@pytest.mark.parametrize("arch", ["llama", "falcon"])
def test_padding_free_rows_do_not_attend_to_each_other(arch):
    """The padding-free speed-up is only valid if SDPA gets a block-diagonal mask from the position ids."""
    from interviewmate.tiny import build_model

    model = build_model(arch, vocab_size=300, pad_token_id=1, eos_token_id=0).eval()
    a, b = torch.randint(2, 300, (9,)), torch.randint(2, 300, (5,))
    with torch.no_grad():
        alone = torch.cat([model(input_ids=x[None], use_cache=False).logits[0] for x in (a, b)])
        flat = model(
            input_ids=torch.cat([a, b])[None], position_ids=torch.cat([torch.arange(9), torch.arange(5)])[None],
            use_cache=False,
        ).logits[0]  # fmt: skip
    torch.testing.assert_close(flat, alone, rtol=1e-4, atol=1e-4)
