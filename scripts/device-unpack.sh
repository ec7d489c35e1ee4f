#!/usr/bin/env bash
# scripts/device-unpack.sh — runs on the device machine (see the call sequence at the top of
# scripts/device-check.sh). Copies the parts carried in .device/call*/ (scripts/device-pack.sh) to
# $SSL_DEVICE_DIR (default /tmp/ssl-dev), which outlives the call while the machine stays warm;
# once an archive's parts are all there (its .manifest came with the last one) it checks the
# sha256 of the rejoined parts and unpacks them:
#   rt    -> $SSL_DEVICE_DIR/ssl/{bin/node, gl/, app/{dist,scripts,node_modules}}
#   cuda  -> $SSL_DEVICE_DIR/ssl/cuda/node_modules (ORT 1.29.0 + CUDA provider), and the tree
#            $SSL_DEVICE_DIR/ssl/app-cuda: app/ with those two packages in place of ORT 1.30
# Then writes $SSL_DEVICE_DIR/env.sh: PATH with the unpacked node first, LD_LIBRARY_PATH with the
# pip nvidia-* CUDA 13 libraries of python3's torch (found through `import nvidia`), the driver's
# libraries, and the carried libvulkan/libGLdispatch last (the machine's own win where present),
# VK_DRIVER_FILES for the NVIDIA Vulkan driver, SSL_BENCH_TORCH_PYTHON. Safe to run again.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=${SSL_DEVICE_DIR:-/tmp/ssl-dev}
mkdir -p "$D/parts"
shopt -s nullglob
for f in "$ROOT"/.device/call*/*; do cp -f "$f" "$D/parts/"; done

status=0
for name in rt cuda; do
  [ -f "$D/$name.unpacked" ] && { echo "$name: unpacked already"; continue; }
  parts=("$D/parts/$name".part*)
  if [ ! -f "$D/parts/$name.manifest" ]; then
    [ ${#parts[@]} -gt 0 ] && echo "$name: ${#parts[@]} part(s) here, the rest (and its manifest) come with a later call"
    continue
  fi
  read -r sha count < "$D/parts/$name.manifest"
  if [ "${#parts[@]}" != "$count" ]; then
    echo "$name: ${#parts[@]} of $count parts here; carry the missing call folders (was the machine given back between calls?)"
    status=1; continue
  fi
  got=$(cat "${parts[@]}" | sha256sum | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then echo "$name: sha256 of the rejoined parts is $got, expected $sha"; status=1; continue; fi
  if cat "${parts[@]}" | xz -d | tar -x -C "$D"; then
    touch "$D/$name.unpacked"; rm -f "${parts[@]}"; echo "$name: unpacked into $D/ssl"
  else
    echo "$name: unpacking failed"; status=1
  fi
done

if [ -f "$D/cuda.unpacked" ] && [ -f "$D/rt.unpacked" ] && [ ! -d "$D/ssl/app-cuda" ]; then
  cp -al "$D/ssl/app" "$D/ssl/app-cuda"
  rm -rf "$D/ssl/app-cuda/node_modules/onnxruntime-node" "$D/ssl/app-cuda/node_modules/onnxruntime-common"
  cp -al "$D/ssl/cuda/node_modules/onnxruntime-node" "$D/ssl/cuda/node_modules/onnxruntime-common" "$D/ssl/app-cuda/node_modules/"
  echo "cuda: $D/ssl/app-cuda runs onnxruntime-node $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$D/ssl/app-cuda/node_modules/onnxruntime-node/package.json" | head -1) with the CUDA provider"
fi

PY=${SSL_BENCH_TORCH_PYTHON:-$(command -v python3 || true)}
NV_LIBS=""
if [ -n "$PY" ]; then
  NV_ROOTS=$("$PY" -c 'import nvidia; print("\n".join(nvidia.__path__))' 2>/dev/null \
    || "$PY" -c 'import os, sysconfig; d = os.path.join(sysconfig.get_paths()["purelib"], "nvidia"); print(d if os.path.isdir(d) else "")' 2>/dev/null || true)
  [ -n "$NV_ROOTS" ] && NV_LIBS=$(find $NV_ROOTS -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | paste -sd: -)
fi
DRIVER_LIBS=$(for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && echo "$d"; done | paste -sd: -)
{
  echo "# written by scripts/device-unpack.sh"
  echo "export SSL_DEVICE_DIR='$D'"
  echo "export PATH='$D/ssl/bin':\"\$PATH\""
  echo "export LD_LIBRARY_PATH='${NV_LIBS:+$NV_LIBS:}${DRIVER_LIBS:+$DRIVER_LIBS:}'\"\${LD_LIBRARY_PATH:+\$LD_LIBRARY_PATH:}\"'$D/ssl/gl'"
  echo "export SSL_BENCH_TORCH_PYTHON='$PY'"
  f=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$f" ] && echo "[ -n \"\${VK_ICD_FILENAMES:-}\" ] || export VK_DRIVER_FILES=\${VK_DRIVER_FILES:-$f}"
  f=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  [ -f "$f" ] && echo "export __EGL_VENDOR_LIBRARY_FILENAMES=\${__EGL_VENDOR_LIBRARY_FILENAMES:-$f}"
} > "$D/env.sh"
echo "env: $D/env.sh (nvidia pip lib dirs: $(echo "$NV_LIBS" | tr ':' '\n' | grep -c . || true); driver lib dirs: ${DRIVER_LIBS:-none})"
exit $status
