#!/usr/bin/env bash
# Builds .cuda/ (git-ignored) for tools/cuda/check.sh on a GPU machine with
# no Node.js and no network (../shared/docs/CUDA.md): the bundled check, koffi with its linux-x64
# koffi.node, the kernel sources (NVRTC compiles them there for the card's sm_XX), and the node
# binary (stripped, xz). Run here: bash tools/cuda/prepare.sh ; then carry `.cuda` to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
C=.cuda
LIMIT_BYTES=$((60 * 1024 * 1024))

echo "[prepare] bundling tools/cuda/gpu-check.ts" >&2
node tools/build.mjs --generated --cuda

rm -rf "$C/node_modules" "$C/kernels"
mkdir -p "$C/node_modules/@koromix" "$C/kernels"
cp -r node_modules/koffi "$C/node_modules/koffi"
rm -rf "$C/node_modules/koffi/doc"
cp -r node_modules/@koromix/koffi-linux-x64 "$C/node_modules/@koromix/"
rm -rf "$C/node_modules/@koromix/koffi-linux-x64/musl_x64"
cp packages/cuda/src/kernels/*.cu packages/cuda/src/kernels/*.cuh "$C/kernels/"

if [ ! -s "$C/node.xz" ]; then
  echo "[prepare] strip + xz the node binary ($(node --version))" >&2
  cp "$(readlink -f "$(command -v node)")" "$C/node.tmp"
  strip "$C/node.tmp" 2>/dev/null || true
  xz -T2 -c "$C/node.tmp" >"$C/node.xz.tmp" && mv "$C/node.xz.tmp" "$C/node.xz"
  rm -f "$C/node.tmp"
fi

# The bundle must start with only .cuda/ beside it: here it reports that CUDA is unavailable.
node "$C/gpu-check.mjs" --env "$C/env-here.json" 2>/dev/null || true
[ -s "$C/env-here.json" ] || { echo "[prepare] the bundle did not start (see node $C/gpu-check.mjs --env x.json)" >&2; exit 1; }
rm -f "$C/env-here.json"

bytes=$(du -sb "$C" | cut -f1)
echo "[prepare] $C is $((bytes / 1024 / 1024)) MiB (limit 60):" >&2
du -sh "$C"/* >&2
if [ "$bytes" -gt "$LIMIT_BYTES" ]; then
  echo "[prepare] $C exceeds 60 MiB: the GPU machine's carry limit is 64 MiB" >&2
  exit 1
fi
