#!/usr/bin/env bash
# HTTP load benchmark: BM25 top-10 title queries against /search on the
# reuters21578 index, with wrk at 1, 8 and 64 connections (2 wrk threads, 1 for 1 connection,
# 15 s each). Queries are the titles of 2,000 reuters documents (every 10th).
# Prints requests/s, p50/p99 latency and the error count for each level.
#   bench/http/search_load.sh [BUILD_DIR]     # needs wrk (apt-get install wrk)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
data=${CASCADE_DATA:-$root/../shared/data}
duration=${CASCADE_BENCH_SECONDS:-15}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -d "$data/reuters21578" ] || { echo "shared data missing: $data" >&2; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$build/cascade" index --quiet --index "$work/idx" --threads 2 "$data/reuters21578" >/dev/null 2>&1
zcat "$data/reuters21578/corpus.jsonl.gz" | awk 'NR % 10 == 0 && n < 2000 { print; n++ }' |
  /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    title = json.loads(line).get("title", "").strip()
    if title:
        print(json.dumps({"query": title, "k": 10}))' > "$work/bodies.jsonl"

"$build/cascade" serve --index "$work/idx" --port 0 --threads 2 --workers 2 \
  --refresh-interval-ms 0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/serve.out")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server $url; $(wc -l < "$work/bodies.jsonl") queries"
printf '%-12s %10s %10s %10s %8s\n' connections req/s p50_ms p99_ms errors
for c in 1 8 64; do
  threads=$(( c < 2 ? 1 : 2 ))
  out=$(CASCADE_BODIES="$work/bodies.jsonl" wrk -t "$threads" -c "$c" -d "${duration}s" --latency \
        -s "$root/bench/http/search.lua" "$url")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  sockerr=$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}')
  to_ms() { case "$1" in *us) echo "${1%us}" | awk '{printf "%.3f", $1/1000}';; *ms) echo "${1%ms}";; *s) echo "${1%s}" | awk '{printf "%.1f", $1*1000}';; *) echo "$1";; esac; }
  printf '%-12s %10s %10s %10s %8s\n' "$c" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$(( ${non2xx:-0} + ${sockerr:-0} ))"
done
