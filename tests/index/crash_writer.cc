// The child of durability_test: indexes, commits, replaces and merges until
// it is killed.
//
//   crash_writer INDEX_DIR LOG_FILE ROUND
//
// Each batch adds new documents "q<ROUND>z<n>" whose text holds their id as
// a unique term, and sometimes replaces documents logged by earlier batches
// or rounds (same id and unique term, other text). Only after Commit()
// returns OK are the batch's new ids appended to LOG_FILE, one per line, in
// one write(2): every id in the log was acknowledged as committed. Commits
// merge by a tiered policy with tiny tiers (inside the commit, or on the
// background merge thread), and every few batches a forced
// merge runs, so a kill lands in merges too. Exits 3 on any error (the
// parent expects to kill it, not to see it exit).
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cascade/engine.h"

namespace {

const char* const kFiller[] = {"river", "stone", "bridge", "lantern", "harbor", "meadow",
                               "copper", "violet", "falcon", "garden", "candle", "thunder"};

std::string Filler(std::mt19937& rng) {
  std::string text;
  for (int i = 0; i < 3 + static_cast<int>(rng() % 12); ++i) {
    text += kFiller[rng() % std::size(kFiller)];
    text += ' ';
  }
  return text;
}

// "q<round>z<n>": one term to the analyzer (letters and digits).
std::string Id(int round, uint64_t n) {
  std::string id(1, 'q');
  id += std::to_string(round);
  id += 'z';
  id += std::to_string(n);
  return id;
}

int Fail(const char* what, const cascade::Status& s) {
  std::fprintf(stderr, "crash_writer: %s: %s\n", what, s.ToString().c_str());
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer INDEX_DIR LOG_FILE ROUND\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string log_path = argv[2];
  const int round = std::atoi(argv[3]);

  // Ids committed by earlier rounds: candidates for replacement.
  std::vector<std::string> committed;
  {
    std::ifstream in(log_path);
    std::string line;
    while (std::getline(in, line)) {
      if (!in.eof()) committed.push_back(line);  // a line cut by a kill has no '\n'
    }
  }
  const int log = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (log < 0) {
    std::perror("crash_writer: open log");
    return 3;
  }

  cascade::OpenOptions options;
  options.create_if_missing = true;  // the first round creates the index
  options.block_cache_mb = 8;
  // Rounds 2, 3, 6, 7, ... merge on the background thread, beside the
  // adds and commits; the others inside each commit.
  options.merge.background = round % 4 >= 2;
  options.merge.merge_on_commit = !options.merge.background;
  options.merge.segments_per_tier = 3;
  options.merge.max_merge_at_once = 3;
  options.merge.floor_segment_docs = 1;
  // Odd rounds write every segment as ingested table files, even rounds
  // through the write-ahead log: kill -9 lands in both.
  options.ingest_min_mb = round % 2 == 1 ? 0 : 1024;
  auto index = cascade::Index::Open(dir, options);
  if (!index.ok()) return Fail("open", index.status());

  std::mt19937 rng(static_cast<uint32_t>(round) * 7919u + 1);
  for (uint64_t n = 0, batch = 0;; ++batch) {
    std::vector<cascade::Document> docs;
    std::string logged;
    const int fresh = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < fresh; ++i, ++n) {
      const std::string id = Id(round, n);
      docs.push_back({id, "", Filler(rng) + id + " " + Filler(rng)});
      logged += id + "\n";
    }
    if (!committed.empty() && rng() % 3 == 0) {
      for (int i = 1 + static_cast<int>(rng() % 3); i > 0; --i) {
        const std::string& id = committed[rng() % committed.size()];
        docs.push_back({id, "", Filler(rng) + id});
      }
    }
    cascade::Status s = (*index)->AddBatch(docs);
    if (!s.ok()) return Fail("add", s);
    s = (*index)->Commit();
    if (!s.ok()) return Fail("commit", s);
    if (::write(log, logged.data(), logged.size()) != static_cast<ssize_t>(logged.size())) {
      std::perror("crash_writer: write log");
      return 3;
    }
    for (int i = 0; i < fresh; ++i) {
      committed.push_back(Id(round, n - fresh + i));
    }
    if (batch % 8 == 7) {
      s = (*index)->ForceMerge(1 + rng() % 2);
      if (!s.ok()) return Fail("force merge", s);
    }
  }
}
