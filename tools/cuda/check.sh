#!/usr/bin/env bash
# The CUDA engine's GPU check, one command on the GPU machine (after tools/cuda/prepare.sh here,
# carrying .cuda):   bash tools/cuda/check.sh
# (a) libraries/driver/GPU found, (b) each kernel against its float64 reference, (c) the model
# against HF PyTorch on the same GPU (fp32 TF32 off: logits <= 1e-4, AdamW step <= 1e-5; tf32 and
# bf16 reported), (d) 2 processes sharing the GPU == 1 process at twice the batch, (e) training
# throughput at $SHAPES in fp32 and bf16 against PyTorch in the same call, then summary.md.
# Results: $OUT and bench/results/cuda-<card>-<time>/. Needs PyTorch + transformers + the CUDA
# pip libraries in $PYTHON's environment (default /opt/torch/.venv/bin/python).
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
C=$REPO/.cuda
OUT=${OUT:-$REPO/cuda-out}
# The reference model, its gradients (~0.5 GB each) and the ranks' gradients stay out of $OUT.
PARITY=${PARITY:-/tmp/ner-cuda-parity}
SHAPES=${SHAPES:-16x128,16x512}
STEPS=${STEPS:-10}
PYTHON=${PYTHON:-/opt/torch/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
mkdir -p "$OUT"
say() { echo "[check] $*" | tee -a "$OUT/check.log" >&2; }
[ -s "$C/gpu-check.mjs" ] || { say "missing $C/gpu-check.mjs: run tools/cuda/prepare.sh first and carry .cuda"; exit 2; }

NODE=/tmp/ner-node
if [ ! -x "$NODE" ]; then
  if command -v xz >/dev/null; then xz -dc "$C/node.xz" >"$NODE"
  else "$PYTHON" -c 'import lzma,sys; open(sys.argv[2],"wb").write(lzma.open(sys.argv[1]).read())' "$C/node.xz" "$NODE"; fi
  chmod +x "$NODE"
fi
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv >"$OUT/nvidia-smi.csv" 2>&1
"$PYTHON" - >"$OUT/libraries.txt" 2>&1 <<'PY'
import glob, site
for s in site.getsitepackages():
    for d in sorted(glob.glob(s + "/nvidia/*/lib") + glob.glob(s + "/nvidia/*/include")):
        print(d); [print("   ", f) for f in sorted(glob.glob(d + "/*.so*"))]
PY
export NER_LAUNCH_CUDA_PYTHON=$PYTHON NER_LAUNCH_CUDA_KERNELS=$C/kernels NER_LAUNCH_CUDA_CACHE=/tmp/ner-cuda-cache
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}

# Every step's timeout is cut to what is left of BUDGET seconds, so the whole check stays < 8 min.
BUDGET=${BUDGET:-450}
left() { local l=$((BUDGET - SECONDS)); [ "$l" -lt "$1" ] && echo $((l > 5 ? l : 5)) || echo "$1"; }
node_step() { # name timeout args...
  local name=$1 limit
  limit=$(left "$2")
  shift 2
  say "$name: $*"
  timeout "$limit" "$NODE" "$C/gpu-check.mjs" "$@" 2>"$OUT/$name.log"
  local rc=$?
  grep -E '\[cuda-check\]' "$OUT/$name.log" | cut -c1-400 >&2
  say "$name: exit $rc"
}

node_step env 30 --env "$OUT/env.json"
say "torch reference: $PYTHON tools/cuda/torch_reference.py --out $PARITY"
(cd tools/cuda && timeout "$(left 120)" "$PYTHON" torch_reference.py --out "$PARITY" --batch 4 --seq 128) >"$OUT/torch-reference.log" 2>&1
say "torch reference: exit $?"
say "torch: $PYTHON tools/cuda/torch_bench.py --shapes $SHAPES --modes fp32,bf16 --steps $STEPS"
timeout "$(left 100)" "$PYTHON" tools/cuda/torch_bench.py --shapes "$SHAPES" --modes fp32,bf16 --steps "$STEPS" >"$OUT/torch.json" 2>"$OUT/torch.log"
say "torch: exit $?"
node_step kernels 90 --kernels "$OUT/kernels.json"
for precision in fp32 tf32 bf16; do
  node_step "parity-$precision" 60 --parity "$PARITY" --precision "$precision" --out "$OUT/parity-$precision.json"
done
node_step ddp 60 --ddp "$PARITY" --out "$OUT/ddp.json"
node_step throughput 120 --throughput "$SHAPES" --precisions fp32,bf16 --steps "$STEPS" --out "$OUT/throughput.json"
"$NODE" "$C/gpu-check.mjs" --summary "$OUT"
cp "$PARITY/meta.json" "$OUT/parity-meta.json" 2>/dev/null

card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr -cs 'A-Za-z0-9' '-' | sed 's/^-//;s/-$//')
# On a lent machine $OUT is what comes back: copy it to bench/results/cuda-<card>-<time>/ there.
dest=$REPO/bench/results/cuda-${card:-unknown}-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest" && cp -r "$OUT"/. "$dest"/ && say "results copied to $dest"
