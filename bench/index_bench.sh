#!/usr/bin/env bash
# End-to-end indexing benchmark: indexes each speed corpus of ../shared/data
# with 1 and 2 threads into a fresh folder and prints one line per run
# (docs/s, size on disk, peak memory, as reported by `cascade index`), then
# the query latency of `cascade run` on the judged collections.
#   bench/index_bench.sh [BUILD_DIR]      # default ./build (Release)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
data=${CASCADE_DATA:-$root/../shared/data}
[ -d "$data" ] || { echo "shared data missing: $data" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for corpus in reuters21578 20newsgroups cacm nfcorpus-orig-test; do
  for threads in 1 2; do
    rm -rf "$work/idx"
    printf '%-20s threads=%s  ' "$corpus" "$threads"
    "$build/cascade" index --quiet --index "$work/idx" --threads "$threads" \
      "$data/$corpus" 2>/dev/null | sed 's/^indexed //'
  done
done
for corpus in cacm nfcorpus-orig-test; do
  rm -rf "$work/idx"
  "$build/cascade" index --quiet --index "$work/idx" "$data/$corpus" >/dev/null 2>&1
  printf '%-20s cascade run --k 10:   ' "$corpus"
  "$build/cascade" run --index "$work/idx" --queries "$data/$corpus/queries.jsonl" --k 10 --json
  printf '%-20s cascade run --k 1000: ' "$corpus"
  "$build/cascade" run --index "$work/idx" --queries "$data/$corpus/queries.jsonl" --k 1000 --json
done
