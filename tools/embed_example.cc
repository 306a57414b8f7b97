// A program that embeds Cascade through include/cascade/ alone: it creates
// an index in the folder given as its argument, adds a few documents,
// commits, searches, then reopens the index read-only and searches again.
//
//   embed_example /tmp/example-index
//
// Exits 0 when every step worked (the tests run it), 1 otherwise.
#include <cstdio>
#include <vector>

#include "cascade/engine.h"

namespace {

int Fail(const char* step, const cascade::Status& status) {
  std::fprintf(stderr, "embed_example: %s: %s\n", step, status.ToString().c_str());
  return 1;
}

int PrintSearch(const cascade::Index& index, const char* query) {
  auto result = index.Search(query, cascade::SearchOptions{});
  if (!result.ok()) return Fail("search", result.status());
  std::printf("query \"%s\": %zu hits\n", query, result->hits.size());
  for (const cascade::Hit& hit : result->hits) {
    std::printf("  %-4s %.4f  %s\n", hit.id.c_str(), hit.score, hit.title.c_str());
  }
  return result->hits.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: embed_example INDEX_DIR\n");
    return 2;
  }
  {
    cascade::OpenOptions options;
    options.create_if_missing = true;
    auto index = cascade::Index::Open(argv[1], options);
    if (!index.ok()) return Fail("open", index.status());
    const std::vector<cascade::Document> docs = {
        {"d1", "Rivers of Europe", "The Danube flows through ten countries."},
        {"d2", "Mountains", "The Alps are the highest mountains in Europe."},
        {"d3", "Deserts", "The Sahara is the largest hot desert."},
    };
    cascade::Status s = (*index)->AddBatch(docs);
    if (!s.ok()) return Fail("add", s);
    s = (*index)->Commit();
    if (!s.ok()) return Fail("commit", s);
    if (PrintSearch(**index, "european rivers") != 0) return 1;
  }
  cascade::OpenOptions read_only;
  read_only.read_only = true;
  auto index = cascade::Index::Open(argv[1], read_only);
  if (!index.ok()) return Fail("reopen", index.status());
  const cascade::IndexStats stats = (*index)->Stats();
  std::printf("reopened: %llu documents in %u segments\n",
              static_cast<unsigned long long>(stats.documents), stats.segments);
  return PrintSearch(**index, "highest mountains");
}
