#!/usr/bin/env bash
# The GPU benchmark of issue 16 in one command: QLoRA SFT throughput (baseline, each speed-up, the kept ones
# combined) and serving speed for Falcon3-1B, falcon-rw-1b and SmolLM2-135M shapes, about 7 minutes on one
# H100/H200. Each shape runs in its own process with its own time caps, so a slow stage cannot eat the others.
#
#   bash scripts/bench_gpu.sh --fetch-wheels  # here, with PyPI: the wheels the GPU machine lacks, into .whl/
#   bash scripts/bench_gpu.sh                 # on the GPU machine (wheels carried in .whl/): JSON into $OUT
#   bash scripts/bench_gpu.sh --cpu           # dry run of the same stages on a CPU: tiny shape, a minute
#
# JSON goes to $OUT (the device machine's return folder), else to results/; the log to $OUT/bench.log.
set -o pipefail
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
cd "$(dirname "$0")/.."

# pinned to what the CPU tests here run; bitsandbytes' wheel ships libbitsandbytes_cuda130.so for torch cu130
WHEELS="bitsandbytes==0.50.2 trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 fsspec==2026.9.0
        peft==0.21.2 transformers==5.24.0 regex==2026.11.19 liger-kernel==0.8.5"

if [ "$1" = "--fetch-wheels" ]; then
    mkdir -p .whl
    for w in $WHEELS; do
        python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 --platform any -d .whl "$w" || exit 1
    done
    # the bitsandbytes wheel bundles a library per CUDA/ROCm/XPU version (43 MB); the device tree may carry 64 MiB
    python3 - <<'EOF'
import glob, zipfile
path = glob.glob(".whl/bitsandbytes-*.whl")[0]
keep = lambda n: not n.endswith(".so") or n.endswith(("_cpu.so", "_cuda130.so", "_cuda132.so"))
with zipfile.ZipFile(path) as z:
    items = [(i, z.read(i)) for i in z.infolist() if keep(i.filename)]
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for info, data in items:
        if info.filename.endswith("RECORD"):
            data = b"".join(l for l in data.splitlines(True) if keep(l.split(b",")[0].decode()))
        z.writestr(info, data)
EOF
    ls -la .whl && du -sh .whl
    exit 0
fi

if [ "$1" = "--cpu" ]; then OUT=${OUT:-$(mktemp -d)}; else OUT=${OUT:-results}; fi
mkdir -p "$OUT"
LOG="$OUT/bench.log"
: >"$LOG"
if [ "$1" = "--cpu" ]; then
    PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
    ARGS="--steps 2 --warmup 1 --max-rows 32 --batch-size 2 --new-tokens 4"
    # shape:process cap:train cap:serve cap (seconds)
    CAPS="tiny:300:200:60"
else
    PY=${PY:-python3}
    if ls .whl/*.whl >/dev/null 2>&1; then
        echo "== installing carried wheels" | tee -a "$LOG"
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
            .whl/*.whl 2>&1 | tee -a "$LOG" || exit 1
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    ARGS=""
    CAPS="falcon3-1b:200:125:45 falcon-rw-1b:125:75:30 smollm2-135m:85:45:25"
fi

echo "== environment" | tee -a "$LOG"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit,driver_version \
    --format=csv 2>&1 | tee -a "$LOG"
timeout 120 "$PY" - <<'EOF' 2>&1 | tee -a "$LOG" || { echo "environment check failed" | tee -a "$LOG"; exit 1; }
import torch, transformers, peft, trl, datasets, bitsandbytes
print("torch", torch.__version__, "cuda", torch.version.cuda, "| transformers", transformers.__version__, "| peft",
      peft.__version__, "| trl", trl.__version__, "| datasets", datasets.__version__, "| bitsandbytes",
      bitsandbytes.__version__)
try:
    import liger_kernel.transformers  # noqa: F401
    print("liger-kernel imports")
except Exception as e:
    print("liger-kernel unavailable:", e)
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0))
    from interviewmate.modeling import check_bitsandbytes
    check_bitsandbytes("cuda")
    print("bitsandbytes runs nf4 on cuda")
EOF

for entry in $CAPS; do
    IFS=: read -r shape cap train serve <<<"$entry"
    echo "== $shape (process cap ${cap}s: train ${train}s, serve ${serve}s)" | tee -a "$LOG"
    start=$(date +%s)
    timeout -k 10 "$cap" "$PY" training/benchmark.py --shape "$shape" --results-dir "$OUT" \
        --train-budget-s "$train" --serve-budget-s "$serve" $ARGS 2>&1 | tee -a "$LOG"
    echo "== $shape: exit ${PIPESTATUS[0]} after $(( $(date +%s) - start ))s" | tee -a "$LOG"
done

rm -f "$OUT"/*.tmp  # a run killed mid-write leaves one; only finished JSON goes back
echo "== summary" | tee -a "$LOG"
"$PY" training/benchmark.py --summarize "$OUT" 2>&1 | tee -a "$LOG"
