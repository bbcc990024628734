#!/usr/bin/env bash
# Builds .gpu/ (ignored through .git/info/exclude) for tools/gpu/check.sh on a GPU machine that
# has no Node.js and no network (../shared/docs/GPU.md): the bundled check, Dawn's dawn.node and
# the node binary (xz), the Vulkan/GL loader .debs, and the parity expectations computed here
# on tfjs-cpu. Run here: bash tools/gpu/prepare.sh ; then carry `.gpu` to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
G=.gpu
LIMIT_BYTES=$((60 * 1024 * 1024))

exclude=.git/info/exclude
mkdir -p "$(dirname "$exclude")"
grep -qx '.gpu/' "$exclude" 2>/dev/null || echo '.gpu/' >>"$exclude"

mkdir -p "$G/node_modules/webgpu/dist/linux-x64" "$G/gl"
echo "[prepare] bundling the GPU check" >&2
node tools/build.mjs --gpu

cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$G/node_modules/webgpu/"
dawn="$G/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
if [ ! -s "$dawn" ]; then
  echo "[prepare] xz dawn.node" >&2
  xz -T2 -c node_modules/webgpu/dist/linux-x64/dawn.node >"$dawn.tmp" && mv "$dawn.tmp" "$dawn"
fi
if [ ! -s "$G/node.xz" ]; then
  echo "[prepare] xz the node binary ($(node --version))" >&2
  xz -T2 -c "$(readlink -f "$(command -v node)")" >"$G/node.xz.tmp" && mv "$G/node.xz.tmp" "$G/node.xz"
fi
if ! ls "$G"/gl/*.deb >/dev/null 2>&1; then
  echo "[prepare] apt-get download Vulkan/GL loaders" >&2
  (cd "$G/gl" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

echo "[prepare] parity expectations on tfjs-cpu" >&2
node --import tsx tools/gpu/gpu-check.ts --backend cpu --record "$G/parity.json" --out "$G/record" 2>&1 |
  grep '\[gpu-check\]' >&2

bytes=$(du -sb "$G" | cut -f1)
echo "[prepare] $G is $((bytes / 1024 / 1024)) MiB (limit 60):" >&2
du -sh "$G"/* "$G"/node_modules/webgpu/dist/linux-x64/* >&2
if [ "$bytes" -gt "$LIMIT_BYTES" ]; then
  echo "[prepare] $G exceeds 60 MiB: the GPU machine's carry limit is 64 MiB" >&2
  exit 1
fi
