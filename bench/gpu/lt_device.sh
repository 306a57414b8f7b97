#!/usr/bin/env bash
# The check for the cuBLASLt GEMM path (fused bias + GELU epilogue) and the
# 16-byte LayerNorm kernels, in one GPU call (after pack_device_deps.sh
# here; carry .devdeps):
#
#   bash bench/gpu/lt_device.sh
#
# 0. the LayerNorm kernels alone (layer_norm_bench.cu, built with nvcc);
# 1. run_device.sh: build, parity tests, Cascade beside PyTorch (SHAPES,
#    SECONDS_PER_CASE as there; default both shapes, 1 s per case);
# 2. an A/B on the same warm card, MiniLM-L6, L=256, batches 100 and 1000
#    and mixed 100: the default encoder (cuBLASLt + GELU epilogue), the
#    earlier GEMM path (--gemm cublas: cublasGemmEx + BiasActivate) and
#    cuBLASLt with exact erf GELU in its own kernel (--exact-gelu); the
#    LayerNorm kernels are the new ones in all three;
# 3. the parity tests' norm-wise errors, largest per mode, and the
#    LayerNorm kernel's global loads and stores from its SASS.
# Environment: OUT (default /tmp/cascade-lt), BUILD, SHAPES,
# SECONDS_PER_CASE, RUN_DEVICE_TIMEOUT (seconds for step 1, default 220).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-/tmp/cascade-lt}
build=${BUILD:-$root/build-gpu}
mkdir -p "$out"
status=0

echo "== LayerNorm kernels alone (bench/gpu/layer_norm_bench.cu)"
if nvcc -O3 -std=c++17 -arch=sm_90 -I"$root" "$root/bench/gpu/layer_norm_bench.cu" \
  -o "$out/layer_norm_bench" >"$out/layer_norm_build.log" 2>&1; then
  timeout 60 "$out/layer_norm_bench" | tee "$out/layer_norm.txt" || status=1
  rm -f "$out/layer_norm_bench"
else
  tail -5 "$out/layer_norm_build.log"
  status=1
fi

OUT=$out BUILD=$build SECONDS_PER_CASE=${SECONDS_PER_CASE:-1} \
  timeout "${RUN_DEVICE_TIMEOUT:-220}" bash "$root/bench/gpu/run_device.sh" || status=1
[ -x "$build/bench/cuda_encoder_bench" ] || exit 1
if [ -d "$root/.devdeps/usr" ]; then
  export LD_LIBRARY_PATH="$root/.devdeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi

echo "== A/B (minilm-l6, L=256; same card, same inputs)"
for variant in "" "--gemm cublas" "--exact-gelu"; do
  # shellcheck disable=SC2086  # the variant's flags split on purpose
  "$build/bench/cuda_encoder_bench" --shape minilm-l6 --precision fp16 \
    --lengths 256 --batches 100,1000 --mixed-batches 100 --seconds 1 $variant ||
    status=1
done >"$out/ab.jsonl"
python3 - "$out/ab.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| engine | L | batch | ms/batch | pairs/s |")
print("|---|---|---|---|---|")
for r in rows:
    print(f"| {r['engine']} | {r['length']} | {r['batch']} | "
          f"{r['ms_per_batch']:.3f} | {r['pairs_per_s']:,.0f} |")
PY

echo "== parity: largest norm-wise relative error per mode"
python3 - "$out/cuda_encoder_test.log" <<'PY'
import re, sys
worst = {}
for line in open(sys.argv[1]):
    m = re.match(r"\[ norm-wise \] (.*): (\S+)", line)
    if m:
        worst[m.group(1)] = max(worst.get(m.group(1), 0.0), float(m.group(2)))
for mode, v in sorted(worst.items()):
    print(f"{mode}: {v:.3g}")
PY
grep -hE "FAILED|Failure|Expected|Which is|tolerance" "$out/cuda_encoder_test.log" | head -20

echo "== SASS: BiasResidualLayerNormVec<__half, 16> global accesses"
cuobjdump --dump-sass \
  --function '_ZN7cascade3gpu7kernels24BiasResidualLayerNormVecI6__halfLi16EEEvPKT_PKfiiS8_S8_fPS4_' \
  "$build/libcascade_cuda.so" 2>&1 | grep -oE "(LDG|STG)[A-Z0-9._]*" | sort | uniq -c
exit $status
