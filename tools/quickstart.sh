#!/usr/bin/env bash
# The main job end to end: install what is missing, build, index a corpus,
# and run a few queries.
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
