#!/usr/bin/env bash
# scripts/device-check.sh [probe] [cpu] [webgpu] [torch] [cuda] — the one-shot GPU timing of issue 13:
# ssl-bench's R18-CIFAR SimCLR step (scripts/bench-step.js, width 64 = the real ResNet-18, batch
# 128) on WebGPU and on the CUDA EP, each interleaved in the same run with PyTorch on CUDA
# (scripts/torch_reference.py bench), plus a CPU sanity step and a PyTorch-only timing that
# survives a failing ssl-bench side. Each part is guarded (own timeout, own log); one failure still
# reports the others. Logs and summary.txt go to $OUT (the device tool's folder; else
# $SSL_DEVICE_DIR/out). Runs from the unpacked tree, never from this checkout (the device has no node).
#
# ===== How to spend the device minutes (prepared here; needs a task lent a GPU machine) =====
# Here, first (no device time):
#   npm run build && bash scripts/device-pack.sh --cuda
# It prints the call folders .device/call1 .. .device/callN and their sizes. Measured 2026-12-03:
# runtime archive 36 MiB + CUDA archive 169 MiB = N 4 (call1 57.5 MiB = runtime + CUDA part 1;
# call2, call3 57.5 MiB; call4 32.7 MiB), working tree 4.5 MiB travelling beside each. Then `run`
# calls, one right after the other: the machine is given back 30 s after a call ends, and the
# unpacked files in /tmp/ssl-dev live only while it stays warm. Read no output between calls 2..N
# beyond a glance at the last line; answer-to-call time must stay well under 30 s.
#   call 1   carry [".device/call1"]  timeout_s 450
#            bash scripts/device-unpack.sh; bash scripts/device-check.sh probe cpu webgpu torch
#            (runtime unpacked; WebGPU vs PyTorch CUDA ratio comes back even if the CUDA chain breaks;
#             the first part of the CUDA archive is staged in /tmp/ssl-dev/parts)
#   call 2 .. N-1   carry [".device/callK"]  timeout_s 60
#            bash scripts/device-unpack.sh
#            (stages that part: a few seconds; it prints "cuda: K part(s) here")
#   call N   carry [".device/callN"]  timeout_s 260
#            bash scripts/device-unpack.sh && bash scripts/device-check.sh probe cuda
#            (rejoins + checks sha256 + unpacks the CUDA archive, ORT 1.29 CUDA EP vs PyTorch CUDA)
#   then give_back.
# If the machine went back between calls (unpack says "k of n parts here"), start again at call 1
# only when at least 7 device minutes are left; otherwise stop with what came back.
# Cost: machine start 1-2 min; call 1 ~3-4 min (transfer, unpack ~10 s, cpu ~10 s, webgpu model
# build + shader compilation + 12 steps + 2 PyTorch runs ~1-3 min); calls 2..N-1 ~0.5 min each;
# call N ~2 min. Expected ~7-9 device minutes of the 15; worst case, every part at its limit
# (call 1: 30+60+240+60 s, call N: 30+180 s), ~13.
# Fallback without the CUDA chain: calls 1 alone (~5 min) give the WebGPU ratio.
#
# Environment: SSL_DEVICE_DIR (default /tmp/ssl-dev), SSL_CHECK_WIDTH (64), SSL_CHECK_BATCH (128),
# SSL_CHECK_STEPS (10). Here (no GPU) the cpu and webgpu parts run on lavapipe with
# VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json and small SSL_CHECK_* values; torch and
# cuda then fail with "no CUDA".
set -uo pipefail
D=${SSL_DEVICE_DIR:-/tmp/ssl-dev}
OUT=${OUT:-$D/out}
mkdir -p "$OUT"
if [ ! -f "$D/env.sh" ] || [ ! -x "$D/ssl/bin/node" ]; then
  echo "device-check.sh: nothing unpacked in $D; run scripts/device-unpack.sh with the carried .device/call* first" | tee -a "$OUT/summary.txt"
  exit 1
fi
# shellcheck source=/dev/null
. "$D/env.sh"
WIDTH=${SSL_CHECK_WIDTH:-64}
BATCH=${SSL_CHECK_BATCH:-128}
STEPS=${SSL_CHECK_STEPS:-10}
PY=$SSL_BENCH_TORCH_PYTHON
SUMMARY=$OUT/summary.txt
PARTS=("$@")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(probe cpu webgpu torch cuda)

# part NAME LIMIT_S SHELL_COMMAND: runs it in bash (the functions below exported) with a time limit
# into $OUT/NAME.log and appends its exit status, duration and result lines to summary.txt.
part() {
  local name=$1 limit=$2 cmd=$3 start rc
  start=$(date +%s)
  echo "== $name (limit ${limit} s): $cmd"
  timeout --kill-after=10 "$limit" bash -c "$cmd" > "$OUT/$name.log" 2>&1
  rc=$?
  [ $rc = 0 ] || FAILED=$((FAILED + 1))
  {
    echo "== $name: exit $rc after $(( $(date +%s) - start )) s$([ $rc = 124 ] && echo ' (TIMED OUT)')"
    grep -E '^(ssl-bench:|PyTorch|ratio|REFUSED|device |no CUDA|torch |node |GPU |vulkan|provider)' "$OUT/$name.log" || tail -n 5 "$OUT/$name.log"
  } >> "$SUMMARY"
  tail -n 3 "$OUT/$name.log"
}

probe() {
  echo "node $(command -v node) $(node --version)"
  nvidia-smi -L 2>&1 || echo "GPU none: nvidia-smi failed"
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1
  echo "vulkan loader: $(ldconfig -p | grep -c 'libvulkan\.so\.1') in ldconfig, carried $(ls "$D/ssl/gl" 2>/dev/null | tr '\n' ' '); VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
  local prov=$D/ssl/app-cuda/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
  if [ -f "$prov" ]; then
    echo "provider libraries not found: $(ldd "$prov" | grep 'not found' | awk '{print $1}' | tr '\n' ' ')"
  else
    echo "provider not unpacked (yet)"
  fi
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
}

torch_only() {
  "$PY" - "$WIDTH" "$BATCH" "$STEPS" "$D/ssl/app/scripts/torch_reference.py" <<'EOF'
import json, subprocess, sys
import torch
if not torch.cuda.is_available():
    print("no CUDA: torch.cuda.is_available() is False"); sys.exit(3)
w, b, s = (int(a) for a in sys.argv[1:4])
args = {"batch": b, "size": 32, "steps": s, "width": w, "threads": 16, "warmup": 2, "device": "cuda"}
r = subprocess.run([sys.executable, sys.argv[4], "bench", json.dumps(args)], capture_output=True, text=True)
sys.stderr.write(r.stderr)
if r.returncode:
    sys.exit(r.returncode)
out = json.loads(r.stdout.strip().splitlines()[-1])
print(f"PyTorch {out['torch']} on {out['gpu']} alone: step median {out['median_s']:.4f} s over {len(out['times_s'])} steps, "
      f"peak CUDA memory {out['peak_cuda_gb']:.2f} GB [width {w}, batch {b}]")
EOF
}

bench() {  # bench APP_DIR DEVICE: bench-step.js from that tree
  local app=$1 device=$2
  if [ ! -d "$app" ]; then echo "device $device: $app is not unpacked (its call folders were not all carried)"; return 3; fi
  (cd "$app" && node scripts/bench-step.js --device "$device" --width "$WIDTH" --batch "$BATCH" --steps "$STEPS" --rounds 2)
}

FAILED=0
export D WIDTH BATCH STEPS PY
export -f probe torch_only bench
echo "device-check: parts ${PARTS[*]}; width $WIDTH, batch $BATCH, steps $STEPS; $(date -u +%FT%TZ)" >> "$SUMMARY"
for p in "${PARTS[@]}"; do
  case $p in
    probe) part probe 30 probe ;;
    cpu) part cpu 60 'cd "$D/ssl/app" && node scripts/bench-step.js --width 8 --batch 32 --steps 2 --warmup 1 --no-torch' ;;
    webgpu) part webgpu 240 'bench "$D/ssl/app" webgpu' ;;
    torch) part torch 60 torch_only ;;
    cuda) part cuda 180 'bench "$D/ssl/app-cuda" cuda' ;;
    *) echo "device-check.sh: unknown part $p (parts: probe cpu webgpu torch cuda)" >&2; exit 2 ;;
  esac
done
echo "---- $SUMMARY"
cat "$SUMMARY"
exit $((FAILED > 0 ? 10 + FAILED : 0))   # 10 + the number of failed parts
