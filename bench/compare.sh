#!/usr/bin/env bash
# Cascade beside Lucene 4.10 and Xapian 1.4 on the same corpus and queries.
#
#   bench/compare.sh [CORPUS|generated:N] [--threads T] [--queries FILE]
#
# CORPUS is a BEIR folder (default ../shared/data/reuters21578) or a JSONL
# file; generated:N writes N documents with `cascade gen-corpus` (like
# reuters21578 + 20newsgroups, seed 1) and 1,000 generated queries. Queries:
# --queries FILE, else the corpus's queries.jsonl, else title queries (the
# titles of every 10th record that has one, up to 2,000, as
# bench/http/search_load.sh takes them).
#
# In one run it builds two Cascade indexes (`cascade index --threads T`:
# frequencies only with --no-positions, and with positions, the default),
# two Lucene indexes (T threads on one IndexWriter; the same two kinds) and
# a Xapian index (one thread: Xapian has a single writer; no positions),
# then runs the queries top-10 and top-1000 on one thread against the
# frequencies-only indexes of Cascade and Lucene and against Xapian. Queries
# without phrases read no positions, so the positional indexes are built
# for their size and build speed only. Each engine gets a warm-up pass: Lucene and Xapian in the process
# (bench/peers/), Cascade by a first `cascade run` whose figures are dropped
# (it warms the page cache, not the process). Prints one table, and the
# ratios Cascade / peer.
#
# Environment: CASCADE_BIN (default build/cascade), CASCADE_RUN_ARGS (extra
# flags for `cascade run`, e.g. "--algorithm exhaustive"), CASCADE_DATA
# (../shared/data), CASCADE_BENCH_WORK (scratch folder, default a fresh one
# under /tmp, removed at the end), CASCADE_JAVA_OPTS (default -Xmx4g),
# CASCADE_PEERS (default "lucene xapian": the peers to run; "lucene" alone
# skips Xapian, whose single writer takes about 20 minutes per million
# generated documents here), CASCADE_POSITIONS_INDEXES (default 1; 0 skips
# building the two positional indexes, which no query here reads).
# Installs the bench-only Debian packages when missing (Lucene 4.10, a JDK,
# Xapian); CI does not need them, so tools/deps.sh does not list them.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${CASCADE_DATA:-$root/../shared/data}
cascade=${CASCADE_BIN:-$root/build/cascade}
java_opts=${CASCADE_JAVA_OPTS:--Xmx4g}
input=""
threads=2
queries=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --threads=*) threads=${1#*=}; shift ;;
    --queries) queries=$2; shift 2 ;;
    --queries=*) queries=${1#*=}; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    -*) echo "unknown flag: $1" >&2; exit 2 ;;
    *) input=$1; shift ;;
  esac
done
input=${input:-$data/reuters21578}
[ -x "$cascade" ] || { echo "no cascade binary at $cascade (set CASCADE_BIN)" >&2; exit 2; }

# Bench-only packages, installed the way tools/deps.sh installs the build's.
packages=(liblucene4.10-java default-jdk-headless libxapian-dev libsimdjson-dev zlib1g-dev g++ python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Any JDK will do for javac.
if command -v javac >/dev/null; then
  missing=("${missing[@]/default-jdk-headless}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"; }
fi

if [ -n "${CASCADE_BENCH_WORK:-}" ]; then
  work=$CASCADE_BENCH_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/cascade-compare.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi
results=$work/results.jsonl
: > "$results"

# Peers.
jars=/usr/share/java/lucene-core-4.10.4.jar:/usr/share/java/lucene-analyzers-common-4.10.4.jar
mkdir -p "$work/classes"
javac -nowarn -cp "$jars" -d "$work/classes" "$root/bench/peers/lucene/LuceneBench.java" 2>&1 |
  grep -v '^Note:' >&2 || true
g++ -O2 -std=c++20 -o "$work/xapian_bench" "$root/bench/peers/xapian/xapian_bench.cc" \
  $(xapian-config --cxxflags --libs) -lsimdjson -lz
lucene() { java $java_opts -cp "$work/classes:$jars" LuceneBench "$@"; }
peers=${CASCADE_PEERS:-lucene xapian}
has_peer() { case " $peers " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Corpus and queries.
case "$input" in
  generated:*)
    n=${input#generated:}
    corpus=$work/generated-$n.jsonl
    "$cascade" gen-corpus --docs "$n" --seed 1 --like "$data/reuters21578" \
      --like "$data/20newsgroups" --out "$corpus" --queries 1000 \
      --queries-out "$work/generated-queries.jsonl" >&2
    [ -n "$queries" ] || queries=$work/generated-queries.jsonl
    label="generated $n docs (like reuters21578 + 20newsgroups, seed 1)"
    ;;
  *)
    corpus=$input
    label=$(basename "$input")
    ;;
esac
if [ -z "$queries" ] && [ -f "$corpus/queries.jsonl" ]; then
  queries=$corpus/queries.jsonl
fi
if [ -z "$queries" ]; then
  queries=$work/title-queries.jsonl
  if [ -d "$corpus" ]; then
    file=$corpus/corpus.jsonl
    [ -f "$file" ] || file=$corpus/corpus.jsonl.gz
  else
    file=$corpus
  fi
  { case "$file" in *.gz) zcat "$file" ;; *) cat "$file" ;; esac; } |
    python3 -c '
import json, sys
n = 0
for i, line in enumerate(sys.stdin, 1):
    if i % 10 or n >= 2000:
        continue
    title = " ".join((json.loads(line).get("title") or "").split())
    if title:
        n += 1
        print(json.dumps({"_id": "t%d" % n, "text": title}))' > "$queries"
fi
nq=$(grep -c . "$queries")
echo "corpus: $label; queries: $nq from $queries; threads: $threads" >&2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Indexing.
kinds="freqs positions"
[ "${CASCADE_POSITIONS_INDEXES:-1}" = 0 ] && kinds=freqs
for mode in $kinds; do
  rm -rf "$work/cascade-$mode"
  flag=; [ "$mode" = freqs ] && flag=--no-positions
  # shellcheck disable=SC2086
  line=$("$cascade" index --quiet --index "$work/cascade-$mode" --threads "$threads" $flag "$corpus")
  echo "cascade ($mode): $line" >&2
  echo "$line" | python3 -c '
import json, re, sys
s = sys.stdin.read()
num = lambda p: float(re.search(p, s).group(1))
print(json.dumps({"engine": "cascade", "phase": "index", "threads": int(sys.argv[1]),
  "positions": sys.argv[2] == "positions",
  "docs": int(num(r"indexed (\d+) documents")), "docs_per_s": num(r"([\d.]+) docs/s"),
  "index_mib": num(r"([\d.]+) MiB on disk"), "peak_rss_mib": num(r"peak memory ([\d.]+) MiB")}))' \
    "$threads" "$mode" >> "$results"
done
if has_peer lucene; then
  for mode in $kinds; do
    rm -rf "$work/lucene-$mode"
    lucene index "$corpus" "$work/lucene-$mode" "$threads" "$mode" | tee -a "$results" >&2
  done
fi
if has_peer xapian; then
  rm -rf "$work/xapian-idx"
  "$work/xapian_bench" index "$corpus" "$work/xapian-idx" | tee -a "$results" >&2
fi

# Queries, one thread, top-10 and top-1000.
for k in 10 1000; do
  # shellcheck disable=SC2086
  "$cascade" run --index "$work/cascade-freqs" --queries "$queries" --k "$k" ${CASCADE_RUN_ARGS:-} --json >/dev/null
  # shellcheck disable=SC2086
  "$cascade" run --index "$work/cascade-freqs" --queries "$queries" --k "$k" ${CASCADE_RUN_ARGS:-} --json |
    python3 -c '
import json, sys
r = json.loads(sys.stdin.read()); r.update(engine="cascade", phase="search", k=int(sys.argv[1]))
bm25 = r.get("stages", {}).get("bm25", {})
if "p50_ms" in bm25:
    r.update(rank_p50_ms=bm25["p50_ms"], rank_p99_ms=bm25["p99_ms"])
print(json.dumps(r))' "$k" | tee -a "$results" >&2
  if has_peer lucene; then
    lucene search "$work/lucene-freqs" "$queries" "$k" | tee -a "$results" >&2
  fi
  if has_peer xapian; then
    "$work/xapian_bench" search "$work/xapian-idx" "$queries" "$k" | tee -a "$results" >&2
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$results" "$label" "$nq" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def get(engine, phase, **kw):
    for r in rows:
        if r["engine"] == engine and r["phase"] == phase and all(r.get(k) == v for k, v in kw.items()):
            return r
    return None
engines = [("Cascade (freqs)", "cascade", {"positions": False}),
           ("Cascade (positions)", "cascade", {"positions": True}),
           ("Lucene 4.10 (freqs)", "lucene", {"positions": False}),
           ("Lucene 4.10 (positions)", "lucene", {"positions": True}), ("Xapian 1.4", "xapian", {})]
engines = [e for e in engines if get(e[1], "index", **e[2])]
print(f"corpus: {sys.argv[2]}; {sys.argv[3]} queries")
print()
print("| engine | index threads | docs | docs/s | index MiB | indexing peak RSS MiB | serving peak RSS MiB | top-10 p50 ms | top-10 p99 ms | top-10 QPS | top-1000 p50 ms | top-1000 p99 ms | top-1000 QPS |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
table = {}
for name, engine, kw in engines:
    ix = get(engine, "index", **kw) or {}
    searched = not kw.get("positions")
    s10 = get(engine, "search", k=10) if searched else None
    s1k = get(engine, "search", k=1000) if searched else None
    # Serving memory: the larger of the two query processes' peaks (the
    # index's pages they touched through mmap included, for every engine).
    serving = [s["peak_rss_mib"] for s in (s10, s1k) if s and "peak_rss_mib" in s]
    vals = [ix.get("docs_per_s"), ix.get("index_mib"), ix.get("peak_rss_mib"),
            max(serving) if serving else None,
            s10 and s10["p50_ms"], s10 and s10["p99_ms"], s10 and s10["qps"],
            s1k and s1k["p50_ms"], s1k and s1k["p99_ms"], s1k and s1k["qps"]]
    table[name] = vals
    fmt = lambda v, f: "–" if v is None else f.format(v)
    cells = [fmt(vals[0], "{:,.0f}"), fmt(vals[1], "{:.1f}"), fmt(vals[2], "{:.0f}"),
             fmt(vals[3], "{:.0f}")]
    cells += [fmt(v, "{:.3f}") if i % 3 != 2 else fmt(v, "{:,.0f}") for i, v in enumerate(vals[4:])]
    print(f"| {name} | {ix.get('threads', '–')} | {ix.get('docs', '–'):,} | " + " | ".join(cells) + " |")
print()
print("Cascade / peer, each Cascade index beside the peers' index of the same kind (Xapian's has no positions); docs/s and QPS: above 1 is Cascade faster; size, memory, latency: below 1 is Cascade smaller or faster:")
print()
print("| Cascade | peer | docs/s | index MiB | indexing peak RSS | serving peak RSS | top-10 p50 | top-10 p99 | top-10 QPS | top-1000 p50 | top-1000 p99 | top-1000 QPS |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for mine in [m for m in ("Cascade (freqs)", "Cascade (positions)") if m in table]:
    c = table[mine]
    for name, vals in table.items():
        if name.startswith("Cascade") or ("positions" in name) != ("positions" in mine):
            continue
        cells = ["–" if a is None or b in (None, 0) else f"{a / b:.2f}" for a, b in zip(c, vals)]
        print(f"| {mine} | {name} | " + " | ".join(cells) + " |")
print()
print("Ranking alone (the same queries, time to the top-k without reading each hit's stored record; Cascade: its bm25 stage):")
print()
print("| engine | top-10 p50 ms | top-10 p99 ms | top-1000 p50 ms | top-1000 p99 ms |")
print("|---|---|---|---|---|")
for name, engine, kw in engines:
    if kw.get("positions"):
        continue
    s10, s1k = get(engine, "search", k=10), get(engine, "search", k=1000)
    cells = []
    for s in (s10, s1k):
        for key in ("rank_p50_ms", "rank_p99_ms"):
            cells.append("–" if not s or key not in s else f"{s[key]:.3f}")
    print(f"| {name} | " + " | ".join(cells) + " |")
EOF
