#!/usr/bin/env bash
# Where the GPU cross-encoder's time goes, beside PyTorch's, in one call on
# a GPU machine (after bench/gpu/pack_device_deps.sh here; carry .devdeps):
#
#   bash bench/gpu/profile_device.sh
#
# 1. run_device.sh for MiniLM-L6 alone (build, parity tests, benchmark);
# 2. Nsight Compute's per-kernel device time for Cascade's encoder on one
#    case (default MiniLM-L6, L=256, batch 100; five forward passes, CUDA
#    graphs off so that every kernel is seen; --clock-control none: the
#    card's clocks as found, not locked to base, and left alone);
# 3. torch.profiler's per-kernel device time for transformers on the same
#    shape, length and batch (five forward passes).
# Environment: OUT (default /tmp/cascade-gpu-profile), SHAPE, LENGTH, BATCH.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-/tmp/cascade-gpu-profile}
shape=${SHAPE:-minilm-l6}
length=${LENGTH:-256}
batch=${BATCH:-100}
build=${BUILD:-$root/build-gpu}
mkdir -p "$out/run"
status=0

OUT="$out/run" SHAPES=$shape SECONDS_PER_CASE=${SECONDS_PER_CASE:-1} \
  BUILD=$build bash "$root/bench/gpu/run_device.sh" || status=1
[ -x "$build/bench/cuda_encoder_bench" ] || exit 1
if [ -d "$root/.devdeps/usr" ]; then
  export LD_LIBRARY_PATH="$root/.devdeps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
fi

echo "== Cascade kernels ($shape, L=$length, batch $batch, 5 passes)"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
timeout 240 "$ncu" --clock-control none --metrics gpu__time_duration.sum \
  --print-summary per-kernel \
  --csv "$build/bench/cuda_encoder_bench" --shape "$shape" --lengths "$length" \
  --batches "$batch" --mixed-batches "" --seconds 0 --no-graphs \
  >"$out/ncu.csv" 2>"$out/ncu.err" || { status=1; tail -5 "$out/ncu.err"; }
python3 - "$out/ncu.csv" <<'PY' | tee "$out/cascade_kernels.txt"
import csv, sys, collections
rows = [l for l in open(sys.argv[1]) if l.startswith('"')]
total = collections.Counter(); count = collections.Counter()
if not rows or "Kernel Name" not in rows[0]:
    print("unexpected ncu output; first lines:"); print("".join(rows[:4])); sys.exit()
for r in csv.DictReader(rows):
    if r.get("Metric Name") != "gpu__time_duration.sum":
        continue
    name = r["Kernel Name"][:90]
    unit = r.get("Metric Unit", "nsecond")
    scale = {"nsecond": 1e-6, "usecond": 1e-3, "msecond": 1.0}.get(unit, 1e-6)
    # per-kernel summary: average value times invocations
    inv = int(r.get("Invocations", "1") or 1)
    total[name] += float(r["Average"].replace(",", "")) * scale * inv
    count[name] += inv
s = sum(total.values())
print(f"total {s / 5:.3f} ms per pass (sum of kernel times)")
for name, ms in total.most_common(25):
    print(f"{ms / 5:8.3f} ms {100 * ms / s:5.1f}%  x{count[name] // 5:<4d} {name}")
PY

echo "== PyTorch kernels ($shape, L=$length, batch $batch, 5 passes)"
PYTHONUNBUFFERED=1 python3 - "$root/bench/gpu" "$shape" "$length" "$batch" \
  <<'PY' 2>&1 | tee "$out/torch_kernels.txt" || status=1
import sys
sys.path.insert(0, sys.argv[1])
import torch
from torch_gpu_bench import build_model
shape, length, batch = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
model, version = build_model(shape, "transformers", torch.float16, torch.device("cuda"))
g = torch.Generator().manual_seed(1)
ids = torch.randint(1000, 30000, (batch, length), generator=g).cuda()
types = torch.zeros_like(ids); mask = torch.ones_like(ids)
with torch.inference_mode():
    for _ in range(3):
        model(input_ids=ids, token_type_ids=types, attention_mask=mask)
    torch.cuda.synchronize()
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(5):
            model(input_ids=ids, token_type_ids=types, attention_mask=mask)
        torch.cuda.synchronize()
events = [e for e in prof.key_averages() if e.device_type.name == "CUDA"]
attr = "self_device_time_total" if hasattr(events[0], "self_device_time_total") else "self_cuda_time_total"
events.sort(key=lambda e: -getattr(e, attr))
s = sum(getattr(e, attr) for e in events)
print(version)
print(f"total {s / 5000:.3f} ms per pass (sum of kernel times)")
for e in events[:25]:
    t = getattr(e, attr)
    print(f"{t / 5000:8.3f} ms {100 * t / s:5.1f}%  x{e.count // 5:<4d} {e.key[:90]}")
PY
exit $status
