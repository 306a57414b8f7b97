#!/usr/bin/env bash
# The main job end to end: install what is missing, build, index a corpus,
# run a few queries, then serve the index over HTTP and query it with curl.
#   tools/quickstart.sh                       # indexes this repository's docs and sources
#   tools/quickstart.sh CORPUS [QUERY...]     # a BEIR folder, .jsonl[.gz] file or folder of text files
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CASCADE_BUILD_DIR:-$root/build}
source "$root/tools/deps.sh"
cascade_ensure_deps
cascade_configure "$root" "$build"
cmake --build "$build" -j "$(nproc)" --target cascade_cli

corpus=${1:-$root}
shift || true
queries=("$@")
if [ ${#queries[@]} -eq 0 ]; then
  if [ "$corpus" = "$root" ]; then
    queries=("bm25 length normalisation" "rocksdb column families" "posting list block encoding")
  else
    queries=("information retrieval" "search engine")
  fi
fi

index="$root/.quickstart/index"
rm -rf "$index"
echo "== Indexing $corpus into $index"
"$build/cascade" index --index "$index" --threads 0 "$corpus"
for q in "${queries[@]}"; do
  echo
  echo "== cascade search --index $index --k 5 \"$q\""
  "$build/cascade" search --index "$index" --k 5 "$q"
done

echo
echo "== cascade serve --index $index --port 0"
log=$(mktemp)
"$build/cascade" serve --index "$index" --port 0 > "$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^listening on' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log")
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
echo "$url"
echo "== curl -s $url/health"
curl -s "$url/health"; echo
body=$(printf '{"query":"%s","k":3,"fields":["id","score","title"]}' "${queries[0]//\"/}")
echo "== curl -s $url/search -d '$body'"
curl -s "$url/search" -d "$body"; echo
kill -TERM "$server"
wait "$server" || true
echo "== server stopped"
