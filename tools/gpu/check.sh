#!/usr/bin/env bash
# The GPU check, one command on the GPU machine (after tools/gpu/prepare.sh here, carrying .gpu):
#   bash tools/gpu/check.sh
# (a) logits/gradient parity of webgpu against the tfjs-cpu results in .gpu/parity.json,
# (b) each fused kernel against its float64 reference, then timed,
# (c) bert-base (FinBERT vocab) training throughput at $SHAPES, with tfjs's matmul and ours,
# (d) HF PyTorch BertForTokenClassification on the same GPU in fp32, TF32 and bf16,
# then tools/gpu/summarize.py: our tokens/s over theirs. Results: $OUT and bench/results/gpu-<time>/.
# DRY_RUN=1 runs it all here on the CPU (Dawn's null adapter: numbers meaningless, tiny model).
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
G=$REPO/.gpu
OUT=${OUT:-$REPO/gpu-out}
SHAPES=${SHAPES:-16x128,16x512}
STEPS=${STEPS:-10}
mkdir -p "$OUT"
say() { echo "[check] $*" | tee -a "$OUT/check.log" >&2; }
[ -s "$G/gpu-check.mjs" ] || { say "missing $G/gpu-check.mjs: run tools/gpu/prepare.sh first and carry .gpu"; exit 2; }

if [ "${DRY_RUN:-0}" = 1 ]; then
  NODE=$(command -v node)
  PYTHON=${PYTHON:-$REPO/.venv/bin/python}
  export DAWNNODE_BACKEND=null
  TINY=--tiny
  TORCH_ARGS="--tiny --device cpu --steps 2 --warmup 1"
  STEPS=2
else
  NODE=/tmp/ner-node
  PYTHON=python3
  TINY=
  TORCH_ARGS="--steps $STEPS"
  nvidia-smi --query-gpu=index,pci.bus_id,name,memory.total,driver_version --format=csv >"$OUT/nvidia-smi.csv" 2>&1
  for f in "$G"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  for icd in "${VK_DRIVER_FILES:-}" /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
    /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -n "$icd" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
  done
  say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
  xz -dc "$G/node.xz" >"$NODE" && chmod +x "$NODE"
  # Pin GPU 0 the way a launched worker would: exercises the adapter selection with nvidia-smi.
  export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
fi
dawn=$G/node_modules/webgpu/dist/linux-x64/dawn.node
[ -s "$dawn" ] || xz -dk "$dawn.xz"
# Here, keep .gpu small enough to carry (64 MiB): drop the unpacked dawn.node when done.
[ "${DRY_RUN:-0}" = 1 ] && trap 'rm -f "$dawn"' EXIT

run() { # name timeout args...
  local name=$1 limit=$2
  shift 2
  say "$name: $*"
  # Not `node bundle.mjs`: inside a bundle every module's import.meta.url is the bundle's, so the
  # worker self-test's "am I the main script" guard would fire; argv[1] gets a stand-in instead.
  GPU_CHECK_BUNDLE=$G/gpu-check.mjs timeout "$limit" "$NODE" --input-type=module \
    -e 'process.argv.splice(1, 0, process.execPath); await import(process.env.GPU_CHECK_BUNDLE);' \
    -- --backend webgpu --out "$OUT/$name" "$@" 2>"$OUT/$name.log"
  local rc=$?
  grep -E '\[gpu-check\]|WebGPU uses|Error' "$OUT/$name.log" | cut -c1-400 >&2
  say "$name: exit $rc"
}

run kernels "${T_KERNELS:-140}" --parity "$G/parity.json" --kernels --kernel-bench
run throughput-tfjs-matmul "${T_TPUT:-100}" --throughput "$SHAPES" --steps "$STEPS" $TINY
run throughput-tiled-matmul "${T_TPUT:-100}" --tiled-matmul --throughput "$SHAPES" --steps "$STEPS" $TINY
say "torch: $PYTHON tools/gpu/torch_bench.py --shapes $SHAPES $TORCH_ARGS"
timeout "${T_TORCH:-120}" "$PYTHON" tools/gpu/torch_bench.py --shapes "$SHAPES" $TORCH_ARGS >"$OUT/torch.json" 2>"$OUT/torch.log"
say "torch: exit $?"
"$PYTHON" tools/gpu/summarize.py "$OUT"

if [ "${DRY_RUN:-0}" != 1 ]; then
  dest=$REPO/bench/results/gpu-$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$dest" && cp -r "$OUT"/. "$dest"/ && say "results copied to $dest"
fi
