#!/usr/bin/env bash
# Cascade's CPU encoder beside PyTorch on the CPU, same shape, same machine,
# one run: MiniLM-L6 (hidden 384, 6 layers, 12 heads, FFN 1536), random
# weights, every pair L tokens, batches of 32 and 100. Prints pairs/s and the
# ratio. Needs Debian's python3-torch (apt-get install python3-torch).
#   bench/gpu/cpu_vs_torch.sh [BUILD_DIR] [THREADS]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
threads=${2:-$(nproc)}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cascade=$(mktemp)
trap 'rm -f "$cascade"' EXIT
"$build/bench/encoder_bench" --benchmark_filter='BM_CpuEncoderScore/' \
  --benchmark_min_time=3 --benchmark_format=json > "$cascade"
ROOT="$root" /usr/bin/python3 - "$cascade" "$threads" <<'PY'
import json, subprocess, sys
cascade = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    # name: BM_CpuEncoderScore/seq_len:<L>/batch:<B>/...
    args = dict(p.split(":", 1) for p in b["name"].split("/")[1:] if ":" in p)
    cascade[(int(args["seq_len"]), int(args["batch"]))] = b["pairs/s"]
import os
script = os.path.join(os.environ["ROOT"], "bench/gpu/torch_cpu_bench.py")
out = subprocess.run(["/usr/bin/python3", script, "--threads", sys.argv[2]],
                     capture_output=True, text=True, check=True)
print(f"{'L':>4} {'batch':>5} {'cascade pairs/s':>16} {'pytorch pairs/s':>16} {'ratio':>6}")
for line in out.stdout.splitlines():
    t = json.loads(line)
    key = (t["length"], t["batch"])
    c = cascade.get(key)
    if c is None:
        continue
    print(f"{key[0]:>4} {key[1]:>5} {c:>16.1f} {t['pairs_per_s']:>16.1f} {c / t['pairs_per_s']:>6.2f}"
          f"   (torch {t['torch']}, {t['threads']} threads)")
PY
