"""Load a base model (4-bit nf4 / 8-bit / bf16 / fp32) plus a LoRA adapter, verify it, stream generation.

Knows nothing of prompts' meaning, the UI or training loops. Every quantized load is checked: the
number of bitsandbytes layers is counted and a load that quantized nothing fails loudly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import torch

from interviewmate.prompts import CHAT_TEMPLATES

logger = logging.getLogger(__name__)

QUANTIZATIONS = ("4bit", "8bit", "bf16", "fp32")
COMPUTE_DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}
HARD_MAX_NEW_TOKENS = 1024  # no request may ask for more, whatever the caller passes


class ModelLoadError(RuntimeError):
    """A model, tokenizer or adapter could not be loaded as asked; the message says why and what to do."""


class QuantizationError(ModelLoadError):
    """A quantized load was asked for but bitsandbytes cannot run here, or it quantized nothing."""


class AdapterMismatchError(ModelLoadError):
    """The adapter was trained on a different base model than the one loaded."""


def check_bitsandbytes(device: str = "cpu") -> None:
    """Raise `QuantizationError` unless bitsandbytes can run a 4-bit nf4 layer on `device`."""
    try:
        import bitsandbytes as bnb
    except ImportError as e:
        raise QuantizationError(
            f"4-bit/8-bit loading needs bitsandbytes, which cannot be imported ({e}). "
            "Install it (`pip install bitsandbytes>=0.50`) or load with quantization='bf16' or 'fp32'."
        ) from e
    try:
        layer = bnb.nn.Linear4bit(64, 64, bias=False, compute_dtype=torch.bfloat16, quant_type="nf4").to(device)
        layer(torch.randn(1, 64, dtype=torch.bfloat16, device=device))
    except Exception as e:  # bitsandbytes raises many kinds of errors on unsupported hardware
        raise QuantizationError(
            f"bitsandbytes {getattr(bnb, '__version__', '?')} cannot run 4-bit layers on {device!r}: {e}. "
            "Load with quantization='bf16' or 'fp32' instead."
        ) from e


def compute_dtype_of(name: str) -> torch.dtype:
    if name not in COMPUTE_DTYPES:
        raise ValueError(f"compute dtype must be one of {tuple(COMPUTE_DTYPES)}, got {name!r}")
    return COMPUTE_DTYPES[name]


def quantization_config(quantization: str, compute_dtype: str = "bfloat16"):
    """The `BitsAndBytesConfig` for a quantization name, or None for bf16/fp32.

    `compute_dtype` is the 4-bit matmul dtype: bfloat16 on GPUs; float32 on CPUs, where bf16 nf4 training
    measured several times slower (training/configs/smollm2-135m-qlora.yaml).
    """
    from transformers import BitsAndBytesConfig

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    if quantization == "4bit":
        dtype = compute_dtype_of(compute_dtype)
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_quant_storage=dtype,  # lets FSDP/other tools treat packed weights as the compute dtype
        )
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


@contextlib.contextmanager
def classic_falcon_quantizable():
    """Build classic Falcon with plain `nn.Linear` so bitsandbytes can replace its layers.

    transformers 5 swaps only modules whose type is exactly `nn.Linear`; classic Falcon
    (falcon-rw-1b, falcon-7b) builds `FalconLinear`, a subclass whose forward is the same `x @ W.T + b`,
    so those checkpoints would silently load unquantized. The swap is scoped to this block.
    """
    from transformers.models.falcon import modeling_falcon

    original = modeling_falcon.FalconLinear
    modeling_falcon.FalconLinear = torch.nn.Linear
    try:
        yield
    finally:
        modeling_falcon.FalconLinear = original


def count_quantized(model: torch.nn.Module) -> dict[str, int]:
    """Count bitsandbytes 4-bit / 8-bit layers and the plain Linear layers left in a model."""
    counts = {"4bit": 0, "8bit": 0, "linear": 0}
    try:
        import bitsandbytes as bnb
    except ImportError:
        bnb = None
    for module in model.modules():
        if bnb is not None and isinstance(module, bnb.nn.Linear4bit):
            counts["4bit"] += 1
        elif bnb is not None and isinstance(module, bnb.nn.Linear8bitLt):
            counts["8bit"] += 1
        elif isinstance(module, torch.nn.Linear):
            counts["linear"] += 1
    return counts


def verify_quantized(model: torch.nn.Module, quantization: str) -> dict[str, int]:
    """Fail loudly when a 4-bit/8-bit load left the model unquantized. Returns the counts."""
    counts = count_quantized(model)
    if quantization in ("4bit", "8bit"):
        if counts[quantization] == 0:
            raise QuantizationError(
                f"asked for a {quantization} load but no layer was quantized ({counts['linear']} plain Linear "
                f"layers remain) for {type(model).__name__}; this architecture's linear layers are not "
                "nn.Linear and need a fix like `classic_falcon_quantizable()`"
            )
        logger.info("%s load: %d quantized layers, %d plain Linear left", quantization, counts[quantization],
                    counts["linear"])  # fmt: skip
    return counts


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_tokenizer(name_or_path: str, revision: str | None = None, chat_template: str = "falcon3"):
    """Tokenizer with a chat template of `prompts.CHAT_TEMPLATES` and a pad token (falcon-rw-1b ships none).

    `chat_template="saved"` keeps the template stored with the tokenizer (an adapter's, saved in training).
    """
    from transformers import AutoTokenizer

    if chat_template != "saved" and chat_template not in CHAT_TEMPLATES:
        raise ValueError(f"chat_template must be 'saved' or one of {tuple(CHAT_TEMPLATES)}, got {chat_template!r}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, revision=revision)
    except OSError as e:
        raise ModelLoadError(f"cannot load a tokenizer from {name_or_path!r}: {e}") from e
    if chat_template != "saved":
        tokenizer.chat_template = CHAT_TEMPLATES[chat_template]
    elif not tokenizer.chat_template:
        raise ModelLoadError(f"the tokenizer at {name_or_path!r} has no saved chat template")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(
    name_or_path: str,
    quantization: str = "4bit",
    device: str | None = None,
    revision: str | None = None,
    attn_implementation: str | None = None,
    compute_dtype: str = "bfloat16",
) -> torch.nn.Module:
    """Load a causal LM by Hub id or local path and verify the requested quantization took effect.

    For 4-bit/8-bit loads `compute_dtype` is also the dtype of the modules left unquantized (norms,
    embeddings, lm_head).
    """
    from transformers import AutoConfig, AutoModelForCausalLM

    device = device or default_device()
    qconfig = quantization_config(quantization, compute_dtype)
    if qconfig is not None:
        check_bitsandbytes(device)
    local = Path(name_or_path)
    if (name_or_path.startswith((".", "/")) or local.exists()) and not (local / "config.json").exists():
        raise ModelLoadError(f"no model at {name_or_path!r}: expected a folder with config.json")
    try:
        config = AutoConfig.from_pretrained(name_or_path, revision=revision)
    except OSError as e:
        raise ModelLoadError(f"cannot load a model config from {name_or_path!r}: {e}") from e
    kwargs = {
        "revision": revision,
        "dtype": {"fp32": torch.float32, "bf16": torch.bfloat16}.get(quantization, compute_dtype_of(compute_dtype)),
        "quantization_config": qconfig,
        "attn_implementation": attn_implementation,
    }
    if device != "cpu":
        kwargs["device_map"] = {"": device}
    scope = classic_falcon_quantizable() if config.model_type == "falcon" else contextlib.nullcontext()
    try:
        with scope:
            model = AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    except OSError as e:
        raise ModelLoadError(f"cannot load model weights from {name_or_path!r}: {e}") from e
    verify_quantized(model, quantization)
    if device == "cpu":
        keep_4bit_weights_trainable(model)
    model.config.use_cache = True
    return model


def keep_4bit_weights_trainable(model: torch.nn.Module) -> int:
    """Stop bitsandbytes from repacking 4-bit weights for CPU inference; returns the layers changed.

    bitsandbytes 0.50 repacks a `Linear4bit`'s weights the first time it runs in eval mode without gradients on
    a CPU with AVX512-BF16, for a faster inference kernel (`gemv_4bit`) that has no backward. The repacking is
    permanent, so training after any evaluation (Trainer's eval_on_start or per-epoch evaluation) silently
    gets no gradient through the frozen base layers. Measured here: the input gradient of a layer vanished
    after one eval forward; with the flag off it was unchanged.
    """
    changed = 0
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False
            changed += 1
    return changed


def _adapter_shapes(adapter_dir: Path) -> dict[str, tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(adapter_dir / "adapter_model.safetensors"), framework="pt") as f:
        return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}


def check_adapter_compatible(model: torch.nn.Module, adapter_dir: Path | str) -> dict:
    """Raise `AdapterMismatchError` if the adapter's LoRA shapes do not fit `model`. Returns its config."""
    adapter_dir = Path(adapter_dir)
    cfg_path, weights = adapter_dir / "adapter_config.json", adapter_dir / "adapter_model.safetensors"
    for path in (cfg_path, weights):
        if not path.exists():
            raise ModelLoadError(f"adapter file missing: {path}")
    cfg = json.loads(cfg_path.read_text())
    trained_on = cfg.get("base_model_name_or_path") or "?"
    loaded = getattr(model.config, "_name_or_path", "?")
    modules = dict(model.named_modules())
    for key, shape in _adapter_shapes(adapter_dir).items():
        # keys look like base_model.model.<module path>.lora_A.weight
        if ".lora_A." not in key and ".lora_B." not in key:
            continue
        path = key.split("base_model.model.", 1)[-1].rsplit(".lora_", 1)[0]
        target = modules.get(path)
        if target is None:
            raise AdapterMismatchError(
                f"adapter {adapter_dir} was trained on {trained_on!r}, but the loaded base {loaded!r} has no "
                f"module {path!r}: load the base model the adapter was trained on"
            )
        in_f, out_f = getattr(target, "in_features", None), getattr(target, "out_features", None)
        expected = shape[1] if ".lora_A." in key else shape[0]
        actual = in_f if ".lora_A." in key else out_f
        if actual is not None and expected != actual:
            raise AdapterMismatchError(
                f"adapter {adapter_dir} was trained on {trained_on!r}; its {path} expects "
                f"{'inputs' if '.lora_A.' in key else 'outputs'} of size {expected} but the loaded base "
                f"{loaded!r} has {actual}: load the base model the adapter was trained on"
            )
    if Path(str(trained_on)).name != Path(str(loaded)).name:
        logger.warning("adapter was trained on %r, loading onto %r (shapes match)", trained_on, loaded)
    return cfg


def resolve_adapter(adapter: Path | str) -> Path:
    """A local adapter folder; a Hub repo id ("owner/name") is downloaded (where the Hub is reachable)."""
    path = Path(adapter)
    if path.exists() or str(adapter).startswith((".", "/")) or str(adapter).count("/") != 1:
        return path
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(adapter), allow_patterns=["*.json", "*.safetensors", "*.jinja", "*.md"]))
    except Exception as e:  # offline, private or missing repo: say which and why
        raise ModelLoadError(f"adapter {adapter!r} is not a local folder and could not be downloaded: {e}") from e


def attach_adapter(model: torch.nn.Module, adapter_dir: Path | str, merge: bool = False) -> torch.nn.Module:
    """Attach a PEFT LoRA adapter for inference; `merge=True` folds it into unquantized weights."""
    from peft import PeftModel

    adapter_dir = resolve_adapter(adapter_dir)
    check_adapter_compatible(model, adapter_dir)
    peft_model = PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
    peft_model.eval()
    if merge:
        if count_quantized(model)["4bit"] or count_quantized(model)["8bit"]:
            raise ModelLoadError("merging needs an unquantized base: load it with quantization='bf16' or 'fp32'")
        return peft_model.merge_and_unload()
    return peft_model


def load_coach_model(
    base: str,
    adapter: str | None = None,
    quantization: str = "4bit",
    merge: bool = False,
    device: str | None = None,
    attn_implementation: str | None = None,
    chat_template: str | None = None,
):
    """Tokenizer + model (+ adapter) ready for generation.

    The adapter's tokenizer and the chat template saved with it win when it has one (the template it was
    trained with); otherwise `chat_template` names one of `prompts.CHAT_TEMPLATES` (default falcon3).
    """
    adapter = str(resolve_adapter(adapter)) if adapter else None
    if adapter and (Path(adapter) / "tokenizer_config.json").exists():
        tokenizer = load_tokenizer(adapter, chat_template=chat_template or "saved")
    elif chat_template:
        tokenizer = load_tokenizer(base, chat_template=chat_template)
    else:  # a base alone (zero-shot) keeps its own template when it ships one (SmolLM2: ChatML), else Falcon3's
        try:
            tokenizer = load_tokenizer(base, chat_template="saved")
        except ModelLoadError:
            tokenizer = load_tokenizer(base, chat_template="falcon3")
    model = load_base_model(base, quantization=quantization, device=device, attn_implementation=attn_implementation)
    if adapter:
        model = attach_adapter(model, adapter, merge=merge)
    model.eval()
    return tokenizer, model


def load_for_inference(
    base: str,
    adapter: str | None = None,
    quantization: str = "auto",
    device: str | None = None,
    chat_template: str | None = None,
):
    """The serving model. `quantization="auto"`: on CUDA the 4-bit nf4 base + adapter (as trained); on a CPU
    the fast path: fp32 base, eager attention, adapter merged into the weights, subnormal floats flushed.

    Measured on a shared 2-core CPU with SmolLM2-135M + its adapter (`scripts/bench_smollm2_cpu.py generate`):
    the fp32 merged path generated 16-24 tokens/s, bnb 4-bit + adapter about 1 token/s.
    """
    device = device or default_device()
    if quantization == "auto":
        quantization = "4bit" if device.startswith("cuda") else "fp32"
    if device == "cpu" and quantization == "fp32":
        torch.set_flush_denormal(True)  # process-wide; subnormals are slow on x86 and too small to matter here
        return load_coach_model(base, adapter, "fp32", merge=bool(adapter), device="cpu",
                                attn_implementation="eager", chat_template=chat_template)  # fmt: skip
    return load_coach_model(base, adapter, quantization, device=device, chat_template=chat_template)


class GradeHeaderGuide:
    """Guided decoding of the reply's numeric header: a logits processor that lets the model choose every score
    (greedy or sampled, from its own distribution) but only among well-formed values, and writes the fixed text
    around them ("Score: ", "/10\\nRelevance: ", ... "\\nFeedback: "). After the header it changes nothing: the
    feedback and follow-up are the model's free text. A small model that has only partly learned the format
    (it writes "Relevance: 9/5" or prose after a label) still yields a readable grade.

    Needs a tokenizer that writes digits as single tokens (SmolLM2's and Llama 3's do); `supported` says so.
    """

    def __init__(self, tokenizer, prompt_length: int, criteria: tuple[str, ...]):
        self.prompt_length = prompt_length
        self.digits = {d: tokenizer.convert_tokens_to_ids(d) for d in "0123456789"}

        def ids(text: str) -> list[int]:
            return tokenizer.encode(text, add_special_tokens=False)

        # the plan: ("fixed", token ids) and ("number", highest value) segments, in order
        self.plan: list[tuple[str, object]] = [("fixed", ids("Score: ")), ("number", 10)]
        lead = "/10\n"
        for name in criteria:
            self.plan += [("fixed", ids(f"{lead}{name.capitalize()}: ")), ("number", 5)]
            lead = "/5\n"
        self.plan.append(("fixed", ids(f"{lead}Feedback: ")))

    @staticmethod
    def supported(tokenizer) -> bool:
        return all(len(tokenizer.encode(str(n), add_special_tokens=False)) == len(str(n)) for n in (7, 10, 45))

    def allowed(self, generated: list[int]) -> list[int] | None:
        """The tokens allowed next after `generated` (None once the header is complete)."""
        j = 0
        for step, (kind, spec) in enumerate(self.plan):
            if kind == "fixed":
                for token in spec:
                    if j == len(generated):
                        return [token]
                    j += 1
                continue
            highest = int(spec)
            if j == len(generated):
                return [self.digits[str(d)] for d in range(1, min(highest, 9) + 1)]
            first = generated[j]
            j += 1
            if highest == 10 and first == self.digits["1"]:  # "1" may be "10"
                if j == len(generated):
                    return [self.digits["0"], self.plan[step + 1][1][0]]  # "10", or the fixed text after "1"
                if generated[j] == self.digits["0"]:
                    j += 1
        return None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        for row in range(input_ids.shape[0]):
            allowed = self.allowed(input_ids[row, self.prompt_length :].tolist())
            if allowed is not None:
                keep = scores[row, allowed].clone()
                scores[row] = float("-inf")
                scores[row, allowed] = keep
        return scores


class _StopOnEvent:
    """StoppingCriteria that ends generation as soon as `event` is set (client gone, user cancelled)."""

    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs) -> bool:
        return self.event.is_set()


def stream_generate(
    model,
    tokenizer,
    messages: list[dict],
    max_new_tokens: int = 512,
    stop_event: threading.Event | None = None,
    temperature: float = 0.0,
    stop_strings: list[str] | None = None,
    guide_criteria: tuple[str, ...] | None = None,
    repetition_penalty: float | None = None,
) -> Iterator[str]:
    """Yield generated text pieces for a chat. Stops at EOS, at the token cap, when `stop_event` is set, or once
    the text contains one of `stop_strings` (included in the output).

    The worker thread is always told to stop when the consumer stops iterating (closed generator,
    exception, disconnect), so an abandoned request stops using the accelerator.
    """
    from transformers import StoppingCriteriaList, TextIteratorStreamer

    max_new_tokens = max(1, min(int(max_new_tokens), HARD_MAX_NEW_TOKENS))
    stop_event = stop_event or threading.Event()
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
    kwargs = dict(
        **inputs,
        streamer=streamer,
        max_new_tokens=max_new_tokens,
        stopping_criteria=StoppingCriteriaList([_StopOnEvent(stop_event)]),
        pad_token_id=tokenizer.pad_token_id,
        do_sample=temperature > 0,
    )
    if stop_strings:
        kwargs.update(stop_strings=list(stop_strings), tokenizer=tokenizer)
    if guide_criteria:
        from transformers import LogitsProcessorList

        guide = GradeHeaderGuide(tokenizer, inputs["input_ids"].shape[1], tuple(guide_criteria))
        kwargs["logits_processor"] = LogitsProcessorList([guide])
    if repetition_penalty:
        kwargs["repetition_penalty"] = float(repetition_penalty)
    if temperature > 0:
        kwargs["temperature"] = temperature
    errors: list[BaseException] = []

    def work():
        try:
            with torch.inference_mode():
                model.generate(**kwargs)
        except BaseException as e:  # surfaced to the consumer below
            errors.append(e)
            streamer.end()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        for piece in streamer:
            if piece:
                yield piece
            if stop_event.is_set():
                break
    finally:
        stop_event.set()
        thread.join(timeout=60)
    if errors:
        raise errors[0]
