#!/usr/bin/env bash
# Reranking cascade latency on the CPU, through `cascade run` (one query at a
# time, one client thread; models use --model-threads).
#
#  1. TILDE stage at scale: a generated corpus (default 1,000,000 documents
#     like reuters21578 + 20newsgroups) with synthetic TILDE weights (one per
#     distinct word: add_tilde_weights.py), indexed with --tilde-tokenizer;
#     `bm25:1000,tilde:1000` over the generated title-like queries: the tilde
#     stage's p50/p99 for 1,000 candidates.
#  2. Cross-encoder stage: a random MiniLM-L6-H384 cross-encoder of the real
#     shape (random_cross_encoder) over nfcorpus (passages truncated to 512
#     tokens): `bm25:100,ce:50` and `bm25:100,ce:100`, pairs/s = depth / p50.
#  3. End to end `bm25:1000,tilde:200,ce:50` on nfcorpus (TILDE weights from
#     the fixture TILDEv2 model): p50/p99 and per-stage times.
#
#   bench/rerank/cascade_bench.sh [BUILD_DIR]
# Env: CASCADE_BENCH_DOCS (default 1000000), CASCADE_BENCH_CE_QUERIES (20),
#      CASCADE_BENCH_THREADS (model threads, default all cores),
#      CASCADE_BENCH_WORK (work folder, default a fresh temp folder; kept when set).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$root/build}
data=${CASCADE_DATA:-$root/../shared/data}
docs=${CASCADE_BENCH_DOCS:-1000000}
ce_queries=${CASCADE_BENCH_CE_QUERIES:-20}
threads=${CASCADE_BENCH_THREADS:-0}
cascade="$build/cascade"
for d in reuters21578 20newsgroups nfcorpus-orig-test; do
  [ -d "$data/$d" ] || { echo "shared data missing: $data/$d" >&2; exit 1; }
done
[ -x "$build/bench/random_cross_encoder" ] || { echo "build bench/random_cross_encoder first" >&2; exit 1; }
if [ -n "${CASCADE_BENCH_WORK:-}" ]; then
  work=$CASCADE_BENCH_WORK; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. TILDE at scale.
if [ ! -d "$work/gen_idx" ]; then
  "$cascade" gen-corpus --docs "$docs" --seed 7 --like "$data/reuters21578" \
    --like "$data/20newsgroups" --out "$work/gen.jsonl" --queries 200 \
    --queries-out "$work/gen_queries.jsonl" > /dev/null
  /usr/bin/python3 "$root/bench/rerank/add_tilde_weights.py" \
    "$root/tests/data/hf-bert/tildev2/vocab.txt" < "$work/gen.jsonl" > "$work/gen_tilde.jsonl"
  rm -f "$work/gen.jsonl"
  "$cascade" index --quiet --index "$work/gen_idx" --threads 2 \
    --tilde-tokenizer "$root/tests/data/hf-bert/tildev2" "$work/gen_tilde.jsonl" | tail -1
  rm -f "$work/gen_tilde.jsonl"
fi
for where in "" --tilde-in-memory; do
  out=$("$cascade" run --json --warmup 1 $where --index "$work/gen_idx" \
    --queries "$work/gen_queries.jsonl" --k 10 --rerank bm25:1000,tilde:1000)
  echo "$out" | json '"%d docs, tilde over 1000 candidates%s: p50 %.3f ms, p99 %.3f ms, mean %.3f ms (%d candidates scored over %d queries); bm25:1000 p50 %.3f ms" % ('"$docs"', " (in memory)" if "'"$where"'" else " (from RocksDB)", d["stages"]["tilde"]["p50_ms"], d["stages"]["tilde"]["p99_ms"], d["stages"]["tilde"]["mean_ms"], d["stages"]["tilde"]["scored"], d["queries"], d["stages"]["bm25"]["p50_ms"])'
done

# 2 and 3. nfcorpus with a MiniLM-shaped cross-encoder.
"$build/bench/random_cross_encoder" --shape minilm-l6 \
  --tokenizer "$root/tests/data/hf-bert/cross-encoder" --out "$work/minilm" > /dev/null
if [ ! -d "$work/nf_idx" ]; then
  "$cascade" index --quiet --index "$work/nf_idx" --threads 2 \
    --tilde-model "$root/tests/data/hf-bert/tildev2" "$data/nfcorpus-orig-test" > /dev/null
fi
head -n "$ce_queries" "$data/nfcorpus-orig-test/queries.jsonl" > "$work/nf_queries.jsonl"
for spec in bm25:100,ce:50 bm25:100,ce:100; do
  depth=${spec##*:}
  "$cascade" run --json --index "$work/nf_idx" --queries "$work/nf_queries.jsonl" \
    --rerank "$spec" --model "$work/minilm" --device cpu --model-threads "$threads" |
    json '"%s: ce p50 %.1f ms, p99 %.1f ms -> %.1f pairs/s (%d queries)" % ("'"$spec"'", d["stages"]["ce"]["p50_ms"], d["stages"]["ce"]["p99_ms"], '"$depth"' * 1000.0 / d["stages"]["ce"]["p50_ms"], d["queries"])'
done
"$cascade" run --json --index "$work/nf_idx" --queries "$work/nf_queries.jsonl" \
  --rerank bm25:1000,tilde:200,ce:50 --model "$work/minilm" --device cpu --model-threads "$threads" |
  json '"bm25:1000,tilde:200,ce:50 end to end: p50 %.1f ms, p99 %.1f ms (bm25 p50 %.2f ms, tilde p50 %.2f ms, ce p50 %.1f ms; %d queries)" % (d["p50_ms"], d["p99_ms"], d["stages"]["bm25"]["p50_ms"], d["stages"]["tilde"]["p50_ms"], d["stages"]["ce"]["p50_ms"], d["queries"])'
