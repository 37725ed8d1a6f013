"""Recipes, the seed-parity parameter count, and a real 4-bit QLoRA SFT run on the CPU."""

import json
from pathlib import Path

import pytest
import torch
from conftest import ROOT

CONFIGS = sorted((ROOT / "training" / "configs").glob("*.yaml"))


def parse(*argv):
    import sft

    # TrainingArguments refuses bf16 without a bf16-capable GPU; the GPU recipes still parse in full
    cpu = () if torch.cuda.is_available() else ("--bf16", "false")
    return sft.make_parser().parse_args_and_config(list(argv) + list(cpu))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_recipe_parses_and_is_commented(path):
    script_args, training_args, model_args = parse("--config", str(path))
    assert model_args.use_peft and script_args.quantization in ("4bit", "8bit", "bf16", "fp32")
    assert training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps == 8
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", " ", "-")) and ":" in line:
            assert "#" in line, f"{path.name}: key without a comment: {line}"


def test_cli_flags_override_yaml():
    _, training_args, model_args = parse(
        "--config", str(ROOT / "training/configs/falcon-rw-1b-seed.yaml"), "--learning_rate", "1e-4", "--lora_r", "4"
    )
    assert training_args.learning_rate == 1e-4 and model_args.lora_r == 4
    assert training_args.lr_scheduler_type == "cosine"


def test_seed_recipe_reproduces_reference_trainable_parameters():
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM
    from trl import get_peft_config

    from interviewmate.architectures import config_for

    _, _, model_args = parse("--config", str(ROOT / "training/configs/falcon-rw-1b-seed.yaml"))
    with torch.device("meta"):  # full falcon-rw-1b shape, no memory
        model = AutoModelForCausalLM.from_config(config_for("tiiuae/falcon-rw-1b"))
    peft_model = get_peft_model(model, get_peft_config(model_args))
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert trainable == 6_291_456
    assert round(100 * trainable / total, 4) == 0.4774


def run_args(tmp_path, fixture_data, model_dir, *extra):
    return parse("--config", str(ROOT / "training/configs/tiny-cpu.yaml"),
                 "--model_name_or_path", str(model_dir), "--output_dir", str(tmp_path / "run"),
                 "--results_path", str(tmp_path / "metrics-copy.json"),
                 "--dataset_path", str(fixture_data["dataset"]), "--splits_path", str(fixture_data["splits"]),
                 "--max_train_samples", "12", "--per_device_train_batch_size", "2",
                 "--gradient_accumulation_steps", "1", "--learning_rate", "5e-3", "--logging_steps", "1",
                 *extra)  # fmt: skip


def test_qlora_sft_trains_lora_only_and_reloads(tmp_path, fixture_data, tiny_llama):
    import sft

    from interviewmate.modeling import count_quantized, load_coach_model

    args = run_args(tmp_path, fixture_data, tiny_llama, "--max_steps", "12", "--save_strategy", "no")
    trainer, facts = sft.build_trainer(*args)
    assert facts["quantized"]["4bit"] == 14 and count_quantized(trainer.model)["4bit"] == 14
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    assert any("lora_B" in n for n in before) and all(
        ("lora_" in n) == p.requires_grad for n, p in trainer.model.named_parameters()
    )
    trainer.train()
    after = dict(trainer.model.named_parameters())

    def same(a, b):  # packed 4-bit weights stored as bf16 hold NaN bit patterns: compare the bytes
        return torch.equal(a.detach().contiguous().view(torch.uint8), b.detach().contiguous().view(torch.uint8))

    lora_changed = [n for n in before if "lora_" in n and not same(before[n], after[n])]
    base_changed = [n for n in before if "lora_" not in n and not same(before[n], after[n])]
    assert lora_changed and not base_changed
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) >= 10 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3  # the loss falls

    out = tmp_path / "adapter"
    trainer.save_model(str(out))
    trainer.processing_class.save_pretrained(str(out))
    ids = torch.tensor([trainer.processing_class("Tell me about a deadline.")["input_ids"]])
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(input_ids=ids).logits.float()
    _, reloaded = load_coach_model(str(tiny_llama), str(out), quantization="4bit", device="cpu")
    assert count_quantized(reloaded)["4bit"] == 14
    trained_lora = {n: p for n, p in trainer.model.named_parameters() if "lora_" in n}
    reloaded_lora = dict(reloaded.named_parameters())
    for name, param in trained_lora.items():  # the adapter comes back bit for bit
        torch.testing.assert_close(reloaded_lora[name].to(param.dtype), param, rtol=0, atol=0)
    with torch.no_grad():
        got = reloaded(input_ids=ids).logits.float()
        with reloaded.disable_adapter():
            base = reloaded(input_ids=ids).logits.float()
    # same logits up to bf16 rounding (training kept LoRA in bf16, inference runs it in fp32) ...
    torch.testing.assert_close(got, expected, rtol=0, atol=0.05)
    assert (got.argmax(-1) == expected.argmax(-1)).float().mean() > 0.95
    # ... while the adapter itself moves the logits far more than that
    assert (got - base).abs().max() > 0.5


def test_main_writes_artifacts_and_resumes(tmp_path, fixture_data, tiny_llama):
    import sft

    from interviewmate.modeling import AdapterMismatchError, attach_adapter, load_base_model

    metrics = sft.main(*run_args(tmp_path, fixture_data, tiny_llama, "--max_steps", "4", "--save_steps", "2"))
    run = tmp_path / "run"
    assert (run / "checkpoint-4").is_dir() and metrics["global_step"] == 4
    adapter = run / "adapter"
    for name in (
        "adapter_config.json",
        "adapter_model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
        "README.md",
    ):
        assert (adapter / name).exists(), name
    assert (
        json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
        == "interviewmate/tiny-llama-random"
    )
    saved = json.loads((run / "metrics.json").read_text())
    for key in (
        "loss",
        "train_runtime_s",
        "train_samples_per_second",
        "train_tokens_per_second",
        "memory",
        "trainable_parameters",
        "trainable_percent",
        "dataset_sha256",
        "config",
        "hardware",
    ):
        assert key in saved, key
    assert saved["train_tokens"] > 0 and len(saved["loss"]["train"]) == 4
    assert saved["contrast"] == {"included": False, "n_rows": 0, "by_kind": {}}
    assert "base_model: interviewmate/tiny-llama-random" in (adapter / "README.md").read_text()

    resumed = sft.main(
        *run_args(
            tmp_path,
            fixture_data,
            tiny_llama,
            "--max_steps",
            "6",
            "--save_steps",
            "2",
            "--resume_from_checkpoint",
            "true",
        )
    )
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["global_step"] == 6
    steps = [p["step"] for p in resumed["loss"]["train"]]
    assert steps[:4] == [1, 2, 3, 4] and steps[-1] == 6  # history continues from the saved step

    # an adapter trained on one base refuses a base of another shape
    with pytest.raises(AdapterMismatchError, match="trained on 'interviewmate/tiny-llama-random'"):
        from interviewmate.tiny import build_tiny_model

        other = build_tiny_model(tmp_path / "other", arch="falcon")
        attach_adapter(load_base_model(str(other), "fp32", "cpu"), adapter)


def test_tiny_recipe_cli_builds_model_and_trains(tmp_path):
    """The documented smoke command, as a subprocess, on the real dataset when it is present."""
    import subprocess
    import sys

    if not (ROOT / "data" / "splits.json").exists():
        pytest.skip("the real dataset and its splits are not built yet")
    out = tmp_path / "tiny"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "training/sft.py"),
            "--config",
            str(ROOT / "training/configs/tiny-cpu.yaml"),
            "--output_dir",
            str(out),
            "--model_name_or_path",
            str(tmp_path / "base"),
            "--max_train_samples",
            "24",
            "--results_path",  # never overwrite the tracked results/train_tiny-cpu.json
            str(tmp_path / "metrics-copy.json"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "adapter" / "adapter_model.safetensors").exists()
    assert json.loads((out / "metrics.json").read_text())["train_runtime_s"] > 0
    assert json.loads((tmp_path / "metrics-copy.json").read_text())["n_train"] == 24
    assert Path(tmp_path / "base" / "config.json").exists()


SMOLLM2 = ROOT / "training/configs/smollm2-135m-qlora.yaml"


def test_smollm2_recipe_matches_its_documented_settings():
    """The CPU recipe: local converted base, Hub id in the adapter, nf4 with fp32 compute, ChatML, eval each epoch."""
    from interviewmate.bases import DEFAULT_MODELS_DIR, SMOLLM2_135M
    from interviewmate.modeling import quantization_config
    from interviewmate.prompts import CHAT_TEMPLATES

    script_args, training_args, model_args = parse("--config", str(SMOLLM2))
    assert model_args.model_name_or_path == f"{DEFAULT_MODELS_DIR.name}/{SMOLLM2_135M.name}"
    assert script_args.base_model_id == SMOLLM2_135M.hub_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert script_args.quantization == "4bit" and script_args.bnb_4bit_compute_dtype == "float32"
    qconfig = quantization_config(script_args.quantization, script_args.bnb_4bit_compute_dtype)
    assert qconfig.bnb_4bit_quant_type == "nf4" and qconfig.bnb_4bit_use_double_quant
    assert qconfig.bnb_4bit_compute_dtype == torch.float32
    assert model_args.attn_implementation == "eager" and script_args.flush_denormals
    assert script_args.chat_template == "chatml" and script_args.chat_template in CHAT_TEMPLATES
    assert model_args.lora_r == 16 and model_args.lora_target_modules == "all-linear"
    assert not script_args.include_contrast and script_args.max_train_samples is None  # the whole train split
    assert training_args.use_cpu and not training_args.bf16 and training_args.seed == 42
    assert training_args.eval_strategy == "epoch" and training_args.eval_on_start
    assert training_args.num_train_epochs >= 1 and training_args.max_length == 1280
    assert script_args.results_path == "results/train_smollm2-135m-qlora.json"


def test_smollm2_recipe_trains_the_reported_number_of_parameters():
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, LlamaConfig
    from trl import get_peft_config

    _, _, model_args = parse("--config", str(SMOLLM2))
    config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, head_dim=64,
                         tie_word_embeddings=True)  # fmt: skip
    with torch.device("meta"):  # SmolLM2-135M's shape, no memory
        model = AutoModelForCausalLM.from_config(config)
    trainable, _ = get_peft_model(model, get_peft_config(model_args)).get_nb_trainable_parameters()
    assert trainable == 4_884_480  # 30 layers x r=16 x (q, k, v, o, gate, up, down): what the shipped run trained
    shipped = ROOT / "results/train_smollm2-135m-qlora.json"
    if shipped.exists():
        assert json.loads(shipped.read_text())["trainable_parameters"] == trainable


def test_contrast_switch_adds_train_questions_only(monkeypatch, tmp_path):
    import sft

    from interviewmate import dataset as ds

    script_args, _, _ = parse("--config", str(SMOLLM2))
    splits = {"train": ["beh-001", "tec-002"], "validation": ["beh-003"], "test": ["sit-004"]}
    assert sft.contrast_train_rows(script_args, splits) == []  # off: nothing read

    script_args.include_contrast, script_args.contrast_path = True, str(tmp_path / "missing.jsonl")
    with pytest.raises(FileNotFoundError, match="include_contrast is on but the contrast set .* does not exist"):
        sft.contrast_train_rows(script_args, splits)

    rows = [{"question_id": q, "kind": k} for q, k in (("beh-001", "concise_strong"), ("beh-003", "polished_wrong"),
            ("tec-002", "follow_up_answer"), ("sit-004", "described_not_told"))]  # fmt: skip
    (tmp_path / "contrast.jsonl").write_text("")
    monkeypatch.setattr(ds, "load_contrast", lambda path: rows)
    script_args.contrast_path = str(tmp_path / "contrast.jsonl")
    got = sft.contrast_train_rows(script_args, splits)
    assert [r["question_id"] for r in got] == ["beh-001", "tec-002"]  # validation and test questions stay unseen
