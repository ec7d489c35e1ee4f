#!/usr/bin/env bash
# scripts/device-pack.sh [--cuda] — packs what the GPU check (scripts/device-check.sh) needs on the
# device machine, which has no node and reaches no registry, into folders a `run` call can carry.
#
# Output: the ignored folder .device/ (this script adds `/.device/` to .git/info/exclude):
#   .device/call1, .device/call2, ...   one folder per `run` call (its `carry`), each under the
#                                       64 MiB a call carries minus the working tree that travels too
#   .device/cache/                      npm downloads and the compressed CUDA archive (not carried)
# Two archives, cut into parts across the call folders in this order:
#   rt.tar.xz   node (this machine's binary), dist/, scripts/, package.json, libvulkan.so.1,
#               libGLdispatch.so.0 and the
#               node_modules bench-step.js loads at run time (onnxruntime-node linux/x64 only,
#               onnxruntime-common, onnx-buf, @bufbuild/protobuf: found by a require hook)
#   cuda.tar.xz (--cuda) onnxruntime-node 1.29.0 + onnxruntime-common 1.29.0 with the CUDA 13
#               provider of com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 copied next to
#               libonnxruntime.so.1 (as scripts/install-cuda-npm.js does), installed with npm into
#               .device/cache/npm-cuda, never into this checkout's node_modules
# scripts/device-unpack.sh rejoins and unpacks them on the device; device-check.sh says which calls
# to make. Needs: npm run build first (dist/), xz, split.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CUDA=0
for a in "$@"; do
  case $a in
    --cuda) CUDA=1 ;;
    *) echo "device-pack.sh: unknown option $a (options: --cuda)" >&2; exit 2 ;;
  esac
done
MIB=$((1024 * 1024))
[ -f dist/engine/index.js ] || { echo "device-pack.sh: dist/ is missing; run npm run build first" >&2; exit 1; }
mkdir -p .git/info
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude

D=.device
rm -rf "$D"/call* "$D"/stage
mkdir -p "$D/cache" "$D/stage/rt/ssl/bin" "$D/stage/rt/ssl/gl" "$D/stage/rt/ssl/app/node_modules"

# --- runtime ---
NODE_BIN=$(command -v node)
cp "$(readlink -f "$NODE_BIN")" "$D/stage/rt/ssl/bin/node"
# The Vulkan loader Dawn opens, and glvnd's libGLdispatch that the NVIDIA Vulkan driver links: the
# device image may lack them (device README); device-unpack.sh puts them last on LD_LIBRARY_PATH.
for lib in libvulkan.so.1 libGLdispatch.so.0; do
  found=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !p {p = $NF} END {print p}')
  if [ -n "$found" ]; then cp "$(readlink -f "$found")" "$D/stage/rt/ssl/gl/$lib"; else echo "device-pack.sh: no $lib here; not carried" >&2; fi
done
# The packages bench-step.js resolves, cpu and webgpu paths alike (checked with a require hook:
# onnxruntime-node onnxruntime-common @bufbuild/protobuf onnx-buf).
MODULES="onnxruntime-node onnxruntime-common onnx-buf @bufbuild/protobuf"
cp -r dist scripts package.json "$D/stage/rt/ssl/app/"
for m in $MODULES; do
  mkdir -p "$D/stage/rt/ssl/app/node_modules/$(dirname "$m")"
  cp -r "node_modules/$m" "$D/stage/rt/ssl/app/node_modules/$m"
done
# Only the linux/x64 binaries of onnxruntime-node travel.
ORTBIN="$D/stage/rt/ssl/app/node_modules/onnxruntime-node/bin/napi-v6"
find "$ORTBIN" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
find "$ORTBIN/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
echo "packing runtime (node $(node --version), onnxruntime-node $(node -p "require('./node_modules/onnxruntime-node/package.json').version"))"
tar -C "$D/stage/rt" -cf - ssl | xz -T0 -6 > "$D/cache/rt.tar.xz"
ARCHIVES=("$D/cache/rt.tar.xz")

# --- CUDA provider (npm registry, private prefix) ---
if [ "$CUDA" = 1 ]; then
  ORT_VERSION=1.29.0
  GPU_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu
  GPU_VERSION=0.4.9
  NPMDIR="$D/cache/npm-cuda"
  if [ ! -f "$D/cache/cuda.tar.xz" ]; then
    if [ ! -f "$NPMDIR/node_modules/$GPU_PACKAGE/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" ]; then
      mkdir -p "$NPMDIR"
      echo '{"name":"ssl-bench-device-cuda","version":"0.0.0","private":true}' > "$NPMDIR/package.json"
      (cd "$NPMDIR" && npm install --ignore-scripts --no-audit --no-fund "onnxruntime-node@$ORT_VERSION" "$GPU_PACKAGE@$GPU_VERSION")
    fi
    C="$D/stage/cuda/ssl/cuda/node_modules"
    mkdir -p "$C"
    cp -r "$NPMDIR/node_modules/onnxruntime-node" "$NPMDIR/node_modules/onnxruntime-common" "$C/"
    find "$C/onnxruntime-node/bin/napi-v6" -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} +
    find "$C/onnxruntime-node/bin/napi-v6/linux" -mindepth 1 -maxdepth 1 ! -name x64 -exec rm -rf {} +
    for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
      cp "$NPMDIR/node_modules/$GPU_PACKAGE/Plugins/Linux/x64/$lib" "$C/onnxruntime-node/bin/napi-v6/linux/x64/"
    done
    echo "packing the CUDA provider (onnxruntime-node $ORT_VERSION + $GPU_PACKAGE@$GPU_VERSION; xz of ~270 MB takes minutes)"
    tar -C "$D/stage/cuda" -cf - ssl | xz -T0 -6 > "$D/cache/cuda.tar.xz.tmp"
    mv "$D/cache/cuda.tar.xz.tmp" "$D/cache/cuda.tar.xz"
  fi
  ARCHIVES+=("$D/cache/cuda.tar.xz")
fi
rm -rf "$D/stage"

# --- cut into call folders ---
# What travels besides the carry: tracked and untracked-not-ignored files (and shared/ if present).
TREE=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
[ -d shared ] && TREE=$((TREE + $(du -sb shared | cut -f1)))
BUDGET=$((64 * MIB - TREE - 2 * MIB))   # 2 MiB margin for files others add before the call
[ "$BUDGET" -gt $((8 * MIB)) ] || { echo "device-pack.sh: the working tree ($((TREE / MIB)) MiB) leaves no room to carry" >&2; exit 1; }
call=1
room=$BUDGET
mkdir -p "$D/call1"
for archive in "${ARCHIVES[@]}"; do
  name=$(basename "$archive" .tar.xz)
  size=$(stat -c %s "$archive")
  off=0
  part=1
  while [ "$off" -lt "$size" ]; do
    if [ "$room" -le $((256 * 1024)) ]; then call=$((call + 1)); room=$BUDGET; mkdir -p "$D/call$call"; fi
    n=$((size - off < room ? size - off : room))
    dd if="$archive" of="$D/call$call/$name.part$(printf %02d $part)" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$n" status=none
    off=$((off + n)); room=$((room - n)); part=$((part + 1))
  done
  # The call that carries an archive's last part also carries its manifest: parts and checksum.
  echo "$(sha256sum < "$archive" | cut -d' ' -f1) $((part - 1))" > "$D/call$call/$name.manifest"
done
echo "working tree that travels: $((TREE / 1024)) KiB; carry budget per call: $((BUDGET / MIB)) MiB"
for c in "$D"/call*; do
  printf '%s: %s KiB (%s)\n' "$c" "$(( $(du -cb "$c"/* | tail -1 | cut -f1) / 1024 ))" "$(cd "$c" && ls | tr '\n' ' ')"
done
