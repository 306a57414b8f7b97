#!/usr/bin/env bash
# The GPU check in one call, for a machine with an NVIDIA GPU, CUDA 13,
# cuBLAS, CMake, ninja and PyTorch + transformers (no RocksDB, ICU or
# network needed): builds the GPU parts (CASCADE_BUILD_SEARCH=OFF), runs
# the encoder parity tests on the device, then benchmarks Cascade's CUDA
# cross-encoder beside PyTorch + transformers on the same input batches
# (random weights of real shapes, fp16) and prints one table.
#
#   bash bench/gpu/run_device.sh
#
# Prepare here first: bash bench/gpu/pack_device_deps.sh (simdjson and
# GoogleTest for a machine without them; carry .devdeps). Environment:
#   OUT       where the logs, the JSON lines and table.md go (default
#             /tmp/cascade-gpu)
#   SHAPES    default "minilm-l6 bert-base"
#   SECONDS_PER_CASE  timed seconds per case and engine (default 1.5)
#   BUILD     build folder (default build-gpu)
#   CASCADE_BENCH_ARGS, TORCH_BENCH_ARGS  extra flags for the two benchmark
#             programs (a dry run on a CPU machine: "--device cpu --lengths
#             64 --batches 2 --mixed-batches 2 --mixed-range 32:64" and
#             "--device cpu --impl plain --dtype fp32")
# Exit status: 1 if the build or a parity test fails (the benchmark still
# runs after a failed test, so its figures can be read with that caveat).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-/tmp/cascade-gpu}
build=${BUILD:-$root/build-gpu}
shapes=${SHAPES:-minilm-l6 bert-base}
secs=${SECONDS_PER_CASE:-1.5}
inputs=$(mktemp -d)
mkdir -p "$out"
python=${PYTHON:-python3}

echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader |
  tee "$out/gpu.txt"
nvcc --version | tail -2

echo "== build"
cmake_extra=()
deps=$root/.devdeps/usr
if [ -d "$deps" ]; then
  cmake_extra+=("-DCMAKE_PREFIX_PATH=$deps"
    "-Dsimdjson_DIR=$deps/lib/x86_64-linux-gnu/cmake/simdjson"
    "-DGTest_DIR=$deps/lib/x86_64-linux-gnu/cmake/GTest")
  export LD_LIBRARY_PATH="$deps/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi
start=$(date +%s)
if ! { cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCASCADE_BUILD_SEARCH=OFF -DCASCADE_BUILD_TOOLS=OFF -DCASCADE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 "${cmake_extra[@]}" &&
  cmake --build "$build" -j"$(nproc)" --target cuda_encoder_test fallback_test \
    cpu_encoder_test cuda_encoder_bench; } >"$out/build.log" 2>&1; then
  grep -m 30 -E "error|Error|not found" "$out/build.log"
  tail -20 "$out/build.log"
  exit 1
fi
echo "built in $(($(date +%s) - start)) s"

echo "== parity tests"
status=0
for t in cuda_encoder_test fallback_test; do
  "$build/tests/$t" --gtest_brief=1 >"$out/$t.log" 2>&1 || status=1
  tail -4 "$out/$t.log"
done
# NeuralModel on CUDA needs the tokenizer (ICU); run it where ICU is there.
if cmake --build "$build" --target neural_model_test >>"$out/build.log" 2>&1; then
  "$build/tests/neural_model_test" --gtest_brief=1 >>"$out/fallback_test.log" 2>&1 || status=1
  tail -3 "$out/fallback_test.log"
else
  echo "neural_model_test not built here (no ICU?); skipped"
fi
# On a GPU machine only CreateWithoutDeviceIsUnavailable may skip.
skipped=$(grep -oE '\[  SKIPPED \] [0-9]+ test' "$out/cuda_encoder_test.log" | grep -oE '[0-9]+' | head -1)
if [ "${skipped:-0}" -gt 1 ]; then
  echo "cuda_encoder_test skipped $skipped tests: is the GPU visible?" >&2
  status=1
fi
[ $status -eq 0 ] && echo "parity tests passed" || echo "PARITY TESTS FAILED (see $out)"

echo "== benchmark"
for shape in $shapes; do
  # shellcheck disable=SC2086  # word splitting of the extra flags is meant
  "$build/bench/cuda_encoder_bench" --shape "$shape" --precision fp16 \
    --seconds "$secs" --write-inputs "$inputs" ${CASCADE_BENCH_ARGS:-} |
    tee -a "$out/cascade.jsonl" || status=1
  # shellcheck disable=SC2086
  PYTHONUNBUFFERED=1 "$python" "$root/bench/gpu/torch_gpu_bench.py" --inputs "$inputs" \
    --shape "$shape" --dtype fp16 --seconds "$secs" ${TORCH_BENCH_ARGS:-} |
    tee -a "$out/torch.jsonl" || status=1
done
rm -rf "$inputs"

"$python" - "$out/cascade.jsonl" "$out/torch.jsonl" "$out/gpu.txt" <<'PY' | tee "$out/table.md"
import json, sys
def load(path):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows[(r["shape"], r["length"], r["batch"])] = r
    return rows
cascade, torch = load(sys.argv[1]), load(sys.argv[2])
card = open(sys.argv[3]).read().strip()
targets = {("minilm-l6", "256", 100): 1.5, ("minilm-l6", "256", 1000): 1.3,
           ("minilm-l6", "mixed", 100): 2.0, ("minilm-l6", "mixed", 1000): 2.0}
version = next(iter(torch.values()))["version"] if torch else "?"
print(f"card: {card}; PyTorch: {version}; fp16, random weights, same inputs")
print()
print("| shape | L | batch | Cascade pairs/s | PyTorch pairs/s | ratio | target |")
print("|---|---|---|---|---|---|---|")
def order(key):
    return (key[0], key[1] == "mixed", int(key[1]) if key[1] != "mixed" else 0, key[2])
for key in sorted(cascade, key=order):
    c, t = cascade[key], torch.get(key)
    ratio = c["pairs_per_s"] / t["pairs_per_s"] if t else float("nan")
    target = targets.get(key)
    verdict = "" if target is None else (f">= {target}x " + ("met" if ratio >= target else "MISSED"))
    length = "32-512 mixed" if key[1] == "mixed" else key[1]
    print(f"| {key[0]} | {length} | {key[2]} | {c['pairs_per_s']:,.0f} | "
          f"{t['pairs_per_s']:,.0f} | {ratio:.2f} | {verdict} |" if t else
          f"| {key[0]} | {length} | {key[2]} | {c['pairs_per_s']:,.0f} | - | - | {verdict} |")
PY
exit $status
