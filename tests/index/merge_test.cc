// Segment merging: the tiered and forced merge policies' choices on
// hand-made segment sizes, and merges of real indexes (RocksDB in a fresh
// folder under testing::TempDir()): search results identical before and
// after a merge, and after reopening; deleted documents gone, their records
// reclaimed, and results equal to an index built from the live documents
// alone; merging a merged index; merging on commit and in the background
// (beside writes, with the changes made during a merge carried over);
// positions, TILDE weights, vectors and IVF lists moving with their
// documents.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/db.h>

#include "cascade/engine.h"
#include "query/engine_internal.h"
#include "index/dense/vector_field.h"
#include "index/dense/vector_store.h"
#include "index/document.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/merge_policy.h"
#include "index/positions_codec.h"
#include "index/posting_codec.h"
#include "index/segment_merger.h"
#include "index/store.h"

namespace cascade::index {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------ the policies

std::vector<SegmentSize> Sizes(std::initializer_list<uint64_t> live) {
  std::vector<SegmentSize> out;
  for (uint64_t n : live) out.push_back({n, 0});
  return out;
}
std::vector<SegmentSize> Repeat(size_t count, SegmentSize size) {
  return std::vector<SegmentSize>(count, size);
}

TEST(TieredMergePolicyTest, NoMergeWhileTheTiersHoldTheSegments) {
  // Nine flushes of 100: fewer than segments_per_tier (10).
  EXPECT_TRUE(FindTieredMerges(Repeat(9, {100, 0}), TieredMergeOptions()).empty());
  EXPECT_TRUE(FindTieredMerges(Repeat(10, {100, 0}), TieredMergeOptions()).empty());
  EXPECT_TRUE(FindTieredMerges({}, TieredMergeOptions()).empty());
}

TEST(TieredMergePolicyTest, MergesRunsOfMaxMergeAtOnceUntilTheTiersHoldThem) {
  // 25 segments of 100 (floored to 1,000): one tier of 10 allowed. The
  // runs of 10 all score alike; the earliest wins, then the next; the last
  // 5 fit.
  const std::vector<MergeSpec> merges =
      FindTieredMerges(Repeat(25, {100, 0}), TieredMergeOptions());
  EXPECT_EQ(merges, (std::vector<MergeSpec>{{0, 10}, {10, 20}}));
}

TEST(TieredMergePolicyTest, PrefersEvenRunsOverOnesWithABigSegment) {
  // A segment of 5,000 then ten of 100: the ten small ones merge (skew
  // 1/10) rather than the big one with nine small ones (skew 5/14).
  std::vector<SegmentSize> sizes = Sizes({5000});
  for (int i = 0; i < 10; ++i) sizes.push_back({100, 0});
  EXPECT_EQ(FindTieredMerges(sizes, TieredMergeOptions()), (std::vector<MergeSpec>{{1, 11}}));
}

TEST(TieredMergePolicyTest, LeavesTooLargeSegmentsOut) {
  // With max_merged_segment_docs 60,000 a segment of 50,000 is over half
  // of it: not eligible, and not counted. Eleven of 100 are one too many.
  TieredMergeOptions options;
  options.max_merged_segment_docs = 60'000;
  std::vector<SegmentSize> sizes = Sizes({50'000});
  for (int i = 0; i < 11; ++i) sizes.push_back({100, 0});
  EXPECT_EQ(FindTieredMerges(sizes, options), (std::vector<MergeSpec>{{1, 11}}));
  // A run may not pass max_merged_segment_docs: six of 450 with tiers
  // allowing four want a merge, and three of them (the least skewed run)
  // would be 1,350 > 1,000, so two merge.
  options.max_merged_segment_docs = 1'000;
  options.floor_segment_docs = 1;
  options.segments_per_tier = 2;
  EXPECT_EQ(FindTieredMerges(Repeat(6, {450, 0}), options), (std::vector<MergeSpec>{{0, 2}}));
}

TEST(TieredMergePolicyTest, SegmentsWithDeletesGoFirst) {
  // Twenty segments of 100 live documents; the last ten have 100 deleted
  // each, so merging them reclaims the most: (live fraction)^2 = 1/4.
  std::vector<SegmentSize> sizes = Repeat(10, {100, 0});
  for (int i = 0; i < 10; ++i) sizes.push_back({100, 100});
  EXPECT_EQ(FindTieredMerges(sizes, TieredMergeOptions()), (std::vector<MergeSpec>{{10, 20}}));
}

TEST(TieredMergePolicyTest, DropsSegmentsWithoutLiveDocuments) {
  const std::vector<SegmentSize> sizes = {{100, 0}, {0, 50}, {0, 7}, {100, 3}, {0, 1}};
  EXPECT_EQ(FindTieredMerges(sizes, TieredMergeOptions()),
            (std::vector<MergeSpec>{{1, 3}, {4, 5}}));
}

TEST(TieredMergePolicyTest, RewritesTooLargeSegmentsWithManyDeletes) {
  TieredMergeOptions options;
  options.max_merged_segment_docs = 1'000;
  // 40% deleted is over 33%; 20% is not.
  EXPECT_EQ(FindTieredMerges(std::vector<SegmentSize>{{600, 400}, {600, 150}}, options),
            (std::vector<MergeSpec>{{0, 1}}));
  options.deletes_pct_allowed = 50;
  EXPECT_TRUE(FindTieredMerges(std::vector<SegmentSize>{{600, 400}}, options).empty());
}

TEST(TieredMergePolicyTest, RespectsMaxMergeAtOnce) {
  TieredMergeOptions options;
  options.segments_per_tier = 2;
  options.max_merge_at_once = 3;
  options.floor_segment_docs = 1;
  // Seven of 10: tiers of 10, 20 and 40 documents allow 2 + 2 + 1
  // segments; the least skewed run is as long as allowed: three.
  EXPECT_EQ(FindTieredMerges(Repeat(7, {10, 0}), options), (std::vector<MergeSpec>{{0, 3}}));
  options.max_merge_at_once = 10;
  EXPECT_EQ(FindTieredMerges(Repeat(7, {10, 0}), options), (std::vector<MergeSpec>{{0, 7}}));
}

TEST(TieredMergePolicyTest, ValidatesOptions) {
  EXPECT_TRUE(ValidateTieredMergeOptions(TieredMergeOptions()).ok());
  TieredMergeOptions bad;
  bad.segments_per_tier = 1;
  bad.deletes_pct_allowed = 101;
  const Status s = ValidateTieredMergeOptions(bad);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.ToString().find("segments_per_tier"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("deletes_pct_allowed"), std::string::npos) << s.ToString();
}

TEST(ForcedMergePolicyTest, MergesDownToOne) {
  EXPECT_EQ(FindForcedMerges(Sizes({5, 1, 7, 2, 9}), 1), (std::vector<MergeSpec>{{0, 5}}));
}

TEST(ForcedMergePolicyTest, BalancesRunsByLiveDocuments) {
  // The best cut into two: 1,000 + 10 + 10 | 10 + 1,000 (largest 1,020).
  EXPECT_EQ(FindForcedMerges(Sizes({1000, 10, 10, 10, 1000}), 2),
            (std::vector<MergeSpec>{{0, 3}, {3, 5}}));
  // Three: 1,000 | 10 + 10 + 10 | 1,000 (largest 1,000); the big ones
  // stay as they are.
  EXPECT_EQ(FindForcedMerges(Sizes({1000, 10, 10, 10, 1000}), 3),
            (std::vector<MergeSpec>{{1, 4}}));
}

TEST(ForcedMergePolicyTest, RewritesSegmentsWithDeletesWhenFewEnough) {
  const std::vector<SegmentSize> sizes = {{100, 0}, {100, 5}};
  EXPECT_EQ(FindForcedMerges(sizes, 2), (std::vector<MergeSpec>{{1, 2}}));
  EXPECT_TRUE(FindForcedMerges(Sizes({100, 100}), 3).empty());
  EXPECT_TRUE(FindForcedMerges({}, 1).empty());
}

// ------------------------------------------------------ merging real indexes

// A random corpus over a small vocabulary, skewed so that some words are
// in most documents; some documents repeat earlier ones word for word, so
// that scores tie and ties (insertion order) are exercised.
const char* const kWords[] = {
    "river",  "stone",  "bridge", "lantern", "harbor", "meadow", "copper", "violet",
    "falcon", "garden", "candle", "thunder", "silver", "orchard", "pepper", "marble",
    "willow", "canyon", "ember",  "glacier", "harvest", "island", "jungle", "kettle",
    "ladder", "mirror", "nectar", "oyster",  "pebble",  "quartz", "ribbon", "saddle"};
constexpr size_t kVocabulary = std::size(kWords);

std::string RandomText(std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> length(2, 25);
  std::string text;
  for (int i = length(rng); i > 0; --i) {
    const double x = u(rng);
    if (!text.empty()) text.push_back(' ');
    text += kWords[static_cast<size_t>(x * x * kVocabulary)];
  }
  return text;
}

std::vector<cascade::Document> RandomCorpus(size_t n, uint32_t seed, const std::string& prefix) {
  std::mt19937 rng(seed);
  std::vector<cascade::Document> docs;
  for (size_t i = 0; i < n; ++i) {
    cascade::Document doc;
    doc.id = prefix + std::to_string(i);
    if (i >= 10 && i % 9 == 0) {
      doc.text = docs[i / 2].text;  // a duplicate: ties
    } else {
      doc.text = RandomText(rng);
    }
    if (i % 4 == 0) doc.title = kWords[i % kVocabulary];
    docs.push_back(std::move(doc));
  }
  return docs;
}

std::vector<std::string> RandomQueries(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> word(0, kVocabulary - 1);
  std::uniform_int_distribution<int> length(1, 4);
  std::vector<std::string> queries;
  for (size_t i = 0; i < n; ++i) {
    std::string q;
    for (int j = length(rng); j > 0; --j) {
      if (!q.empty()) q += ' ';
      q += kWords[word(rng)];
    }
    queries.push_back(std::move(q));
  }
  return queries;
}

// Every hit (id, score) of every query, by every first-stage algorithm and
// in Lucene syntax: two equal snapshots mean identical search results.
struct Snapshot {
  std::vector<std::vector<std::pair<std::string, float>>> hits;
  std::vector<uint64_t> total_hits;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

Snapshot Take(const cascade::Index& index, const std::vector<std::string>& queries) {
  Snapshot out;
  for (const char* algorithm : {"exhaustive", "wand", "bmw", "maxscore", "auto"}) {
    for (const std::string& q : queries) {
      cascade::SearchOptions options;
      options.k = 1000;
      options.algorithm = algorithm;
      auto result = index.Search(q, options);
      EXPECT_TRUE(result.ok()) << q << ": " << result.status().ToString();
      if (!result.ok()) continue;
      std::vector<std::pair<std::string, float>> hits;
      for (const cascade::Hit& hit : result->hits) hits.emplace_back(hit.id, hit.score);
      out.hits.push_back(std::move(hits));
      out.total_hits.push_back(result->total_hits);
    }
  }
  for (const char* q : {"+river -stone", "bridge^2 lantern*", "*:*", "(copper OR violet) AND river",
                        "\"river stone\"", "\"stone river bridge\"~3"}) {
    cascade::SearchOptions options;
    options.k = 1000;
    options.syntax = "lucene";
    auto result = index.Search(q, options);
    EXPECT_TRUE(result.ok()) << q << ": " << result.status().ToString();
    if (!result.ok()) continue;
    std::vector<std::pair<std::string, float>> hits;
    for (const cascade::Hit& hit : result->hits) hits.emplace_back(hit.id, hit.score);
    out.hits.push_back(std::move(hits));
    out.total_hits.push_back(result->total_hits);
  }
  return out;
}

// Where two snapshots first differ, for a readable failure.
std::string FirstDifference(const Snapshot& a, const Snapshot& b) {
  if (a.hits.size() != b.hits.size()) return "different query counts";
  for (size_t q = 0; q < a.hits.size(); ++q) {
    if (a.total_hits[q] != b.total_hits[q]) {
      return "query " + std::to_string(q) + ": total hits " + std::to_string(a.total_hits[q]) +
             " vs " + std::to_string(b.total_hits[q]);
    }
    if (a.hits[q] != b.hits[q]) {
      for (size_t i = 0; i < std::min(a.hits[q].size(), b.hits[q].size()); ++i) {
        if (a.hits[q][i] != b.hits[q][i]) {
          return "query " + std::to_string(q) + " rank " + std::to_string(i) + ": " +
                 a.hits[q][i].first + " " + std::to_string(a.hits[q][i].second) + " vs " +
                 b.hits[q][i].first + " " + std::to_string(b.hits[q][i].second);
        }
      }
      return "query " + std::to_string(q) + ": hit counts differ";
    }
  }
  return "none";
}

class MergeTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("merge_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    path_ = (root_ / "index").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static cascade::OpenOptions Create() {
    cascade::OpenOptions options;
    options.create_if_missing = true;
    options.block_cache_mb = 8;
    return options;
  }
  static std::unique_ptr<cascade::Index> Open(const std::string& path,
                                              const cascade::OpenOptions& options = Create()) {
    auto index = cascade::Index::Open(path, options);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? std::move(*index) : nullptr;
  }
  static void ExpectOk(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }
  // Adds `docs`, committing every `per_segment` documents (one segment each).
  static void AddInSegments(cascade::Index* index, std::span<const cascade::Document> docs,
                            size_t per_segment) {
    for (size_t i = 0; i < docs.size(); i += per_segment) {
      const size_t n = std::min(per_segment, docs.size() - i);
      ExpectOk(index->AddBatch(docs.subspan(i, n)));
      ExpectOk(index->Commit());
    }
  }

  // `index` gives the same hits and scores for `queries` as a fresh index of
  // `live` alone (added in that order, as one segment).
  void ExpectSameResultsAsFreshIndex(const cascade::Index& index,
                                     std::span<const cascade::Document> live,
                                     const std::vector<std::string>& queries) {
    auto fresh = Open((root_ / "fresh").string());
    ASSERT_NE(fresh, nullptr);
    AddInSegments(fresh.get(), live, 1000);
    const Snapshot a = Take(index, queries);
    const Snapshot b = Take(*fresh, queries);
    EXPECT_TRUE(a == b) << FirstDifference(a, b);
  }

  // Records per column family, read with plain RocksDB access to the store.
  static std::map<Cf, size_t> CountRecords(const std::string& path) {
    StoreOptions options;
    options.read_only = true;
    auto store = Store::Open(path, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    std::map<Cf, size_t> counts;
    if (!store.ok()) return counts;
    for (Cf cf : {Cf::kSegments, Cf::kPostings, Cf::kDocs, Cf::kIds, Cf::kDeletes, Cf::kTilde,
                  Cf::kVectors, Cf::kIvf}) {
      std::unique_ptr<rocksdb::Iterator> it(
          (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->cf(cf)));
      size_t n = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
      EXPECT_TRUE(it->status().ok());
      counts[cf] = n;
    }
    return counts;
  }

  fs::path root_;
  std::string path_;
};

TEST_F(MergeTest, ResultsAreIdenticalAfterForceMergeAndReopen) {
  const std::vector<cascade::Document> docs = RandomCorpus(400, 7, "d");
  const std::vector<std::string> queries = RandomQueries(30, 11);
  Snapshot before;
  {
    auto index = Open(path_);
    ASSERT_NE(index, nullptr);
    AddInSegments(index.get(), docs, 37);  // 11 segments
    EXPECT_EQ(index->Stats().segments, 11u);
    before = Take(*index, queries);
    ExpectOk(index->ForceMerge(1));
    const cascade::IndexStats stats = index->Stats();
    EXPECT_EQ(stats.segments, 1u);
    EXPECT_EQ(stats.documents, docs.size());
    const Snapshot after = Take(*index, queries);
    EXPECT_TRUE(after == before) << FirstDifference(before, after);
    // Merging again changes nothing.
    ExpectOk(index->ForceMerge(1));
    EXPECT_TRUE(Take(*index, queries) == before);
  }
  auto reopened = Open(path_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Stats().segments, 1u);
  const Snapshot after = Take(*reopened, queries);
  EXPECT_TRUE(after == before) << FirstDifference(before, after);
  for (const cascade::Document& doc : docs) {
    auto got = reopened->Get(doc.id);
    ASSERT_TRUE(got.ok() && got->has_value()) << doc.id;
    EXPECT_EQ((*got)->text, doc.text);
    EXPECT_EQ((*got)->title, doc.title);
  }
}

TEST_F(MergeTest, PartialMergesKeepResultsIdentical) {
  const std::vector<cascade::Document> docs = RandomCorpus(300, 3, "p");
  const std::vector<std::string> queries = RandomQueries(20, 5);
  auto index = Open(path_);
  ASSERT_NE(index, nullptr);
  AddInSegments(index.get(), docs, 20);  // 15 segments
  const Snapshot before = Take(*index, queries);
  ExpectOk(index->ForceMerge(4));
  EXPECT_EQ(index->Stats().segments, 4u);
  Snapshot after = Take(*index, queries);
  EXPECT_TRUE(after == before) << FirstDifference(before, after);
  ExpectOk(index->ForceMerge(2));
  EXPECT_EQ(index->Stats().segments, 2u);
  after = Take(*index, queries);
  EXPECT_TRUE(after == before) << FirstDifference(before, after);
}

// The order the live documents of an index were added in, and their
// contents, as re-indexing them alone would add them.
// Tiers of three segments, no floor: merges come after a few commits.
cascade::OpenOptions TinyTiers(cascade::OpenOptions options) {
  options.merge.segments_per_tier = 3;
  options.merge.max_merge_at_once = 3;
  options.merge.floor_segment_docs = 1;
  return options;
}

class Mirror {
 public:
  void Add(const cascade::Document& doc) {
    Remove(doc.id);
    order_.push_back(doc);
  }
  void Remove(const std::string& id) {
    std::erase_if(order_, [&](const cascade::Document& d) { return d.id == id; });
  }
  const std::vector<cascade::Document>& docs() const { return order_; }

 private:
  std::vector<cascade::Document> order_;
};

TEST_F(MergeTest, DeletesAreReclaimedAsIfNeverIndexed) {
  const std::vector<cascade::Document> docs = RandomCorpus(300, 21, "d");
  const std::vector<std::string> queries = RandomQueries(30, 23);
  Mirror mirror;
  std::mt19937 rng(99);
  std::set<std::string> gone;
  {
    auto index = Open(path_);
    ASSERT_NE(index, nullptr);
    for (size_t i = 0; i < docs.size(); i += 30) {
      for (size_t j = i; j < i + 30; ++j) {
        ExpectOk(index->Add(docs[j]));
        mirror.Add(docs[j]);
      }
      // Replace a few earlier documents and delete a few.
      for (int r = 0; r < 4 && i > 0; ++r) {
        cascade::Document doc = docs[rng() % i];
        if (gone.count(doc.id)) continue;
        doc.text = RandomText(rng);
        ExpectOk(index->Add(doc));
        mirror.Add(doc);
      }
      for (int r = 0; r < 3 && i > 0; ++r) {
        const std::string id = docs[rng() % i].id;
        if (!gone.insert(id).second) continue;
        ExpectOk(index->Delete(id));
        mirror.Remove(id);
      }
      ExpectOk(index->Commit());
    }
    const cascade::IndexStats stats = index->Stats();
    EXPECT_GT(stats.deleted_documents, 40u);
    EXPECT_EQ(stats.documents, mirror.docs().size());

    ExpectOk(index->ForceMerge(1));
    const cascade::IndexStats merged = index->Stats();
    EXPECT_EQ(merged.deleted_documents, 0u);
    EXPECT_EQ(merged.documents, mirror.docs().size());
    EXPECT_EQ(merged.segments, 1u);
    EXPECT_DOUBLE_EQ(merged.average_length, stats.average_length);
    for (const std::string& id : gone) {
      auto got = index->Get(id);
      ASSERT_TRUE(got.ok());
      EXPECT_FALSE(got->has_value()) << id;
    }
  }
  // The deleted documents' records are gone: one "docs" and "ids" record
  // per live document, no "deletes" record.
  std::map<Cf, size_t> records = CountRecords(path_);
  EXPECT_EQ(records[Cf::kDocs], mirror.docs().size());
  EXPECT_EQ(records[Cf::kIds], mirror.docs().size());
  EXPECT_EQ(records[Cf::kDeletes], 0u);
  EXPECT_EQ(records[Cf::kSegments], 1u);

  // The same hits and scores as an index of the live documents alone, in
  // the order they were (last) added.
  auto merged = Open(path_);
  ASSERT_NE(merged, nullptr);
  ExpectSameResultsAsFreshIndex(*merged, mirror.docs(), queries);
  for (const cascade::Document& doc : mirror.docs()) {
    auto got = merged->Get(doc.id);
    ASSERT_TRUE(got.ok() && got->has_value()) << doc.id;
    EXPECT_EQ((*got)->text, doc.text);
  }
}

TEST_F(MergeTest, MergingAMergedIndexAndMergeOnCommit) {
  const std::vector<cascade::Document> docs = RandomCorpus(360, 31, "m");
  const std::vector<std::string> queries = RandomQueries(20, 37);
  cascade::OpenOptions options = TinyTiers(Create());
  options.merge.merge_on_commit = true;
  Mirror mirror;
  auto index = Open(path_, options);
  ASSERT_NE(index, nullptr);
  std::mt19937 rng(5);
  uint32_t most_segments = 0;
  for (size_t i = 0; i < docs.size(); i += 12) {
    for (size_t j = i; j < i + 12; ++j) {
      ExpectOk(index->Add(docs[j]));
      mirror.Add(docs[j]);
    }
    if (i > 0) {
      cascade::Document doc = docs[rng() % i];
      doc.text = RandomText(rng);
      ExpectOk(index->Add(doc));
      mirror.Add(doc);
    }
    ExpectOk(index->Commit());  // merges as the policy picks
    most_segments = std::max(most_segments, index->Stats().segments);
    if (i == 180) {
      ExpectOk(index->ForceMerge(1));  // later commits merge into a merged index
      EXPECT_EQ(index->Stats().segments, 1u);
    }
  }
  // 30 commits, yet the tiers kept the segment count small.
  EXPECT_LE(most_segments, 10u);
  EXPECT_EQ(index->Stats().documents, mirror.docs().size());

  // Before the full merge df still counts replaced documents; after it, the
  // index gives what a fresh index of the live documents gives.
  ExpectOk(index->ForceMerge(1));
  ExpectSameResultsAsFreshIndex(*index, mirror.docs(), queries);
}

// Every live document of `mirror` is found by id with its text, no other
// document is (a "*:*" search returns exactly the mirror's ids), and the
// counts agree.
void ExpectSameDocuments(const cascade::Index& index, const Mirror& mirror,
                         const std::set<std::string>& gone) {
  std::set<std::string> want;
  for (const cascade::Document& doc : mirror.docs()) {
    want.insert(doc.id);
    auto got = index.Get(doc.id);
    ASSERT_TRUE(got.ok() && got->has_value()) << doc.id;
    EXPECT_EQ((*got)->text, doc.text) << doc.id;
  }
  for (const std::string& id : gone) {
    auto got = index.Get(id);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value()) << id;
  }
  cascade::SearchOptions all;
  all.syntax = "lucene";
  all.k = 100000;
  auto result = index.Search("*:*", all);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::multiset<std::string> found;
  for (const cascade::Hit& hit : result->hits) found.insert(hit.id);
  EXPECT_EQ(found, std::multiset<std::string>(want.begin(), want.end()));
  EXPECT_EQ(index.Stats().documents, mirror.docs().size());
}

TEST_F(MergeTest, BackgroundMergesKeepTheTiersWhileWritesGoOn) {
  const std::vector<cascade::Document> docs = RandomCorpus(480, 43, "b");
  const std::vector<std::string> queries = RandomQueries(20, 47);
  cascade::OpenOptions options = TinyTiers(Create());
  options.merge.background = true;
  Mirror mirror;
  std::set<std::string> gone;
  auto index = Open(path_, options);
  ASSERT_NE(index, nullptr);
  std::mt19937 rng(11);
  // 40 commits of 12 documents, a replacement and a delete each; the merge
  // thread merges while the next batches are added and committed.
  for (size_t i = 0; i < docs.size(); i += 12) {
    for (size_t j = i; j < i + 12; ++j) {
      ExpectOk(index->Add(docs[j]));
      mirror.Add(docs[j]);
      gone.erase(docs[j].id);
    }
    if (i > 0) {
      cascade::Document doc = docs[rng() % i];
      doc.text = RandomText(rng);
      ExpectOk(index->Add(doc));
      mirror.Add(doc);
      gone.erase(doc.id);
      const std::string id = docs[rng() % i].id;
      if (gone.insert(id).second) {
        ExpectOk(index->Delete(id));
        mirror.Remove(id);
      }
    }
    ExpectOk(index->Commit());
  }
  ExpectOk(index->WaitForMerges());
  ExpectOk(index->Commit());  // shows the last merges
  // 40 commits, yet the tiers held: the policy wants no merge of the
  // segments left. How many those are depends on their sizes, so on which
  // merges the thread ran between which commits (9 or 10 here).
  index.reset();
  {
    StoreOptions read_only;
    read_only.read_only = true;
    auto store = Store::Open(path_, read_only);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto reader = IndexReader::Open(*store);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    TieredMergeOptions policy;
    policy.segments_per_tier = options.merge.segments_per_tier;
    policy.max_merge_at_once = options.merge.max_merge_at_once;
    policy.floor_segment_docs = options.merge.floor_segment_docs;
    policy.max_merged_segment_docs = options.merge.max_merged_segment_docs;
    policy.deletes_pct_allowed = options.merge.deletes_pct_allowed;
    std::string sizes;
    const auto merges = PlanMerges(**reader, [&](std::span<const SegmentSize> segments) {
      for (const SegmentSize& s : segments) sizes += " " + std::to_string(s.live);
      return FindTieredMerges(segments, policy);
    });
    EXPECT_TRUE(merges.empty()) << "live documents per segment:" << sizes;
    EXPECT_LE((*reader)->segments().size(), 12u) << sizes;
  }
  index = Open(path_, options);
  ASSERT_NE(index, nullptr);
  ExpectSameDocuments(*index, mirror, gone);

  // After a full merge, the same results as an index of the live documents.
  ExpectOk(index->ForceMerge(1));
  ExpectSameResultsAsFreshIndex(*index, mirror.docs(), queries);
  index.reset();
  // Reopened (background merges again), nothing lost.
  auto reopened = Open(path_, options);
  ASSERT_NE(reopened, nullptr);
  ExpectSameDocuments(*reopened, mirror, gone);
}

TEST_F(MergeTest, ChangesMadeDuringABackgroundMergeAreCarriedOver) {
  const std::vector<cascade::Document> docs = RandomCorpus(30, 53, "c");
  Mirror mirror;
  std::set<std::string> gone;
  // Six segments of five documents, c1 deleted: built without background
  // merges, so that the first merge runs below, with the hook set.
  {
    auto index = Open(path_);
    ASSERT_NE(index, nullptr);
    AddInSegments(index.get(), docs, 5);
    ExpectOk(index->Delete("c1"));
    ExpectOk(index->Commit());
    ASSERT_EQ(index->Stats().segments, 6u);
  }
  for (const cascade::Document& doc : docs) mirror.Add(doc);
  mirror.Remove("c1");
  gone.insert("c1");
  cascade::OpenOptions options = Create();
  options.merge.background = true;
  options.merge.segments_per_tier = 2;
  options.merge.max_merge_at_once = 3;
  options.merge.floor_segment_docs = 5;
  auto index = Open(path_, options);
  ASSERT_NE(index, nullptr);
  std::mt19937 rng(3);
  auto replace = [&](const std::string& id) {
    cascade::Document doc{id, "", "replaced " + RandomText(rng)};
    ExpectOk(index->Add(doc));
    mirror.Add(doc);
    gone.erase(id);
  };
  auto remove = [&](const std::string& id) {
    ExpectOk(index->Delete(id));
    mirror.Remove(id);
    gone.insert(id);
  };
  // While the first merge is prepared from its snapshot: a delete and a
  // replacement flushed and committed, then a delete and replacements left
  // in the writer's buffer. The merge favours the segment with the delete,
  // whose documents after c1 all move down one id.
  int merges_seen = 0;
  cascade::IndexInternals::TEST_BeforeMergeCommit(*index, [&] {
    if (++merges_seen != 1) return;
    remove("c3");
    replace("c5");
    ExpectOk(index->Commit());
    remove("c12");
    replace("c9");
    replace("c21");
    remove("c21");  // replaced, then deleted, all in the buffer
  });
  ExpectOk(index->Commit());  // nothing new: starts the merges
  ExpectOk(index->WaitForMerges());
  EXPECT_GE(merges_seen, 1);
  ExpectOk(index->Commit());  // writes the buffered delete and replacements
  ExpectOk(index->WaitForMerges());
  ExpectOk(index->Commit());
  ExpectSameDocuments(*index, mirror, gone);
  // A full merge reclaims every delete: nothing of the deleted or replaced
  // versions is left, and the records match the live documents.
  ExpectOk(index->ForceMerge(1));
  ExpectSameDocuments(*index, mirror, gone);
  EXPECT_EQ(index->Stats().deleted_documents, 0u);
  ExpectSameResultsAsFreshIndex(*index, mirror.docs(), RandomQueries(20, 59));
  index.reset();
  std::map<Cf, size_t> records = CountRecords(path_);
  EXPECT_EQ(records[Cf::kDocs], mirror.docs().size());
  EXPECT_EQ(records[Cf::kIds], mirror.docs().size());
  EXPECT_EQ(records[Cf::kDeletes], 0u);
}

TEST_F(MergeTest, BackgroundMergeOptionsAreChecked) {
  cascade::OpenOptions both = Create();
  both.merge.background = true;
  both.merge.merge_on_commit = true;
  auto refused = cascade::Index::Open(path_, both);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("merge.background with merge.merge_on_commit"),
            std::string::npos)
      << refused.status().ToString();
  {
    auto index = Open(path_);  // creates it
    ASSERT_NE(index, nullptr);
    ExpectOk(index->WaitForMerges());  // no merge thread: returns at once
  }
  cascade::OpenOptions read_only;
  read_only.read_only = true;
  read_only.merge.background = true;
  refused = cascade::Index::Open(path_, read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("merge.background with read_only"),
            std::string::npos)
      << refused.status().ToString();
}

TEST_F(MergeTest, ForceMergeRefusesZeroAndReadOnly) {
  {
    auto index = Open(path_);
    ASSERT_NE(index, nullptr);
    EXPECT_TRUE(index->ForceMerge(0).IsInvalidArgument());
    ExpectOk(index->ForceMerge(1));  // an empty index: nothing to do
    ExpectOk(index->MaybeMerge());
  }
  cascade::OpenOptions read_only;
  read_only.read_only = true;
  auto index = Open(path_, read_only);
  ASSERT_NE(index, nullptr);
  EXPECT_TRUE(index->ForceMerge(1).IsInvalidArgument());
  cascade::OpenOptions bad = Create();
  bad.merge.segments_per_tier = 1;
  auto refused = cascade::Index::Open((root_ / "bad").string(), bad);
  EXPECT_TRUE(refused.status().IsInvalidArgument());
}

TEST_F(MergeTest, ReadersOpenedBeforeAMergeKeepTheirView) {
  const std::vector<cascade::Document> docs = RandomCorpus(100, 41, "v");
  StoreOptions options;
  options.create_if_missing = true;
  auto store = Store::Open(path_, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto writer = IndexWriter::Open(*store, WriterOptions());
  ASSERT_TRUE(writer.ok());
  for (size_t i = 0; i < docs.size(); ++i) {
    Document doc{docs[i].id, docs[i].title, docs[i].text};
    ExpectOk((*writer)->Add(doc));
    if (i % 10 == 9) ExpectOk((*writer)->Flush());
  }
  for (int i = 0; i < 50; i += 3) ExpectOk((*writer)->Delete("v" + std::to_string(i)));
  ExpectOk((*writer)->Commit());
  auto old_view = IndexReader::Open(*store);
  ASSERT_TRUE(old_view.ok());
  ExpectOk((*writer)->ForceMerge(1));
  EXPECT_EQ((*writer)->stats().reclaimed, 17u);
  auto new_view = IndexReader::Open(*store);
  ASSERT_TRUE(new_view.ok());
  EXPECT_EQ((*old_view)->segments().size(), 10u);
  EXPECT_EQ((*new_view)->segments().size(), 1u);
  EXPECT_EQ((*new_view)->stats().deleted_docs, 0u);
  EXPECT_EQ((*new_view)->stats().live_docs, (*old_view)->stats().live_docs);
  EXPECT_EQ((*new_view)->stats().sum_lengths, (*old_view)->stats().sum_lengths);
  // Every live document reads the same through both views.
  for (const cascade::Document& d : docs) {
    auto before = (*old_view)->Lookup(d.id);
    auto after = (*new_view)->Lookup(d.id);
    ASSERT_TRUE(before.ok() && after.ok());
    ASSERT_EQ(before->has_value(), after->has_value()) << d.id;
    if (!before->has_value()) continue;
    auto a = (*old_view)->ReadDocument(**before);
    auto b = (*new_view)->ReadDocument(**after);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->id, d.id);
    EXPECT_EQ(b->id, d.id);
    EXPECT_EQ(a->text, b->text);
  }
}

TEST_F(MergeTest, TildeWeightsVectorsAndIvfListsMoveWithTheirDocuments) {
  StoreOptions options;
  options.create_if_missing = true;
  options.create_options.vector_fields.push_back(
      *dense::ParseVectorFieldSpec("emb:4:l2"));
  auto store = Store::Open(path_, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto writer = IndexWriter::Open(*store, WriterOptions());
  ASSERT_TRUE(writer.ok());
  std::mt19937 rng(3);
  std::normal_distribution<float> gauss(0, 1);
  const auto make = [&](int i) {
    Document doc;
    doc.id = "t" + std::to_string(i);
    doc.text = "document " + std::to_string(i) + " about " + kWords[i % kVocabulary];
    std::vector<float> v(4);
    for (float& x : v) x = gauss(rng) + (i % 3) * 4.0f;
    doc.vectors = {{"emb", v}};
    if (i % 2 == 0) doc.tilde = {{100 + i % 7, 0.5f + i % 5}, {2000, 1.0f}};
    return doc;
  };
  for (int i = 0; i < 120; ++i) {
    ExpectOk((*writer)->Add(make(i)));
    if (i % 20 == 19) ExpectOk((*writer)->Flush());
  }
  ExpectOk((*writer)->Commit());
  dense::IvfTrainOptions train;
  train.lists = 3;
  ASSERT_TRUE(dense::TrainIvf(*store, "emb", train).ok());
  // Deletes and replacements spread over the segments; the replacements
  // get list entries at flush (nearest centroid).
  for (int i = 0; i < 120; i += 7) ExpectOk((*writer)->Delete("t" + std::to_string(i)));
  for (int i = 3; i < 120; i += 11) ExpectOk((*writer)->Add(make(i)));
  ExpectOk((*writer)->Commit());

  // Per external id: stored TILDE record and dense hits, through a view.
  struct Seen {
    std::map<std::string, std::optional<std::string>> tilde;
    std::vector<std::vector<std::pair<std::string, float>>> dense;
  };
  const auto see = [&](const IndexReader& reader) {
    Seen out;
    std::vector<uint32_t> ids;
    std::vector<std::string> names;
    for (int i = 0; i < 120; ++i) {
      std::string id("t");
      id += std::to_string(i);
      auto doc = reader.Lookup(id);
      EXPECT_TRUE(doc.ok());
      if (!doc.ok() || !doc->has_value()) continue;
      ids.push_back(**doc);
      names.push_back(id);
    }
    std::vector<std::optional<std::string>> weights;
    EXPECT_TRUE(reader.ReadTermWeights(ids, &weights).ok());
    for (size_t i = 0; i < ids.size(); ++i) out.tilde[names[i]] = weights[i];
    auto vectors = dense::LoadVectorIndex(**store, reader, "emb", 1);
    EXPECT_TRUE(vectors.ok()) << vectors.status().ToString();
    if (!vectors.ok()) return out;
    EXPECT_EQ((*vectors)->size(), ids.size());
    EXPECT_EQ((*vectors)->nlist(), 3u);
    for (size_t nprobe : {0, 1, 2}) {
      for (int q = 0; q < 6; ++q) {
        std::vector<float> query(4, static_cast<float>(q) * 1.7f);
        dense::VectorSearchParams params;
        params.k = 200;
        params.nprobe = nprobe;
        auto hits = (*vectors)->Search(query, params);
        EXPECT_TRUE(hits.ok());
        if (!hits.ok()) continue;
        std::vector<std::pair<std::string, float>> named;
        for (const dense::Neighbor& n : *hits) {
          auto doc = reader.ReadDocument(n.doc);
          EXPECT_TRUE(doc.ok());
          named.emplace_back(doc.ok() ? doc->id : "?", n.score);
        }
        out.dense.push_back(std::move(named));
      }
    }
    return out;
  };
  auto before_view = IndexReader::Open(*store);
  ASSERT_TRUE(before_view.ok());
  const Seen before = see(**before_view);
  EXPECT_GT((*before_view)->stats().deleted_docs, 20u);

  ExpectOk((*writer)->ForceMerge(1));
  auto after_view = IndexReader::Open(*store);
  ASSERT_TRUE(after_view.ok());
  EXPECT_EQ((*after_view)->stats().deleted_docs, 0u);
  const Seen after = see(**after_view);
  EXPECT_EQ(after.tilde, before.tilde);
  // Ties between equal scores may reorder only by doc id, which keeps its
  // order: the lists are equal as they stand.
  EXPECT_EQ(after.dense, before.dense);
  size_t with_tilde = 0;
  for (const auto& [id, w] : after.tilde) with_tilde += w.has_value();
  EXPECT_GT(with_tilde, 30u);

  // One record per live document in each doc-keyed column family.
  const uint64_t live = (*after_view)->stats().live_docs;
  std::map<Cf, size_t> counts;
  for (Cf cf : {Cf::kDocs, Cf::kVectors, Cf::kIvf, Cf::kTilde, Cf::kDeletes}) {
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->cf(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++counts[cf];
  }
  EXPECT_EQ(counts[Cf::kDocs], live);
  EXPECT_EQ(counts[Cf::kVectors], live);
  EXPECT_EQ(counts[Cf::kIvf], live);
  EXPECT_EQ(counts[Cf::kTilde], with_tilde);
  EXPECT_EQ(counts[Cf::kDeletes], 0u);
}

// Every live document's positions of every term, by (external id, term),
// read from the "positions" column family of a view.
std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> AllPositions(
    const Store& store, const IndexReader& reader) {
  std::map<std::pair<std::string, std::string>, std::vector<uint32_t>> out;
  std::vector<uint32_t> docs, tfs, one;
  for (const SegmentInfo& seg : reader.segments()) {
    const std::string prefix = SegmentKey(seg.id);
    std::unique_ptr<rocksdb::Iterator> it(
        store.db()->NewIterator(reader.read_options(), store.cf(Cf::kPositions)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string term(it->key().data() + 4, it->key().size() - 4);
      std::string postings;
      auto found = reader.ReadPostings(seg.id, term, &postings);
      EXPECT_TRUE(found.ok() && *found) << term;
      if (!found.ok() || !*found) continue;
      EXPECT_TRUE(DecodePostings(postings, &docs, &tfs).ok());
      PositionsReader positions;
      EXPECT_TRUE(positions.Reset(it->value().ToStringView(), tfs).ok());
      for (size_t i = 0; i < docs.size(); ++i) {
        EXPECT_TRUE(positions.Read(static_cast<uint32_t>(i), &one).ok());
        if (reader.IsDeleted(seg.base + docs[i])) continue;
        auto doc = reader.ReadDocument(seg.base + docs[i]);
        EXPECT_TRUE(doc.ok());
        out[{doc.ok() ? doc->id : "?", term}] = one;
      }
    }
  }
  return out;
}

TEST_F(MergeTest, PositionsMoveWithTheirPostings) {
  const std::vector<cascade::Document> docs = RandomCorpus(150, 51, "x");
  StoreOptions options;
  options.create_if_missing = true;
  ASSERT_TRUE(options.create_options.positions);  // the default
  auto store = Store::Open(path_, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto writer = IndexWriter::Open(*store, WriterOptions());
  ASSERT_TRUE(writer.ok());
  for (size_t i = 0; i < docs.size(); ++i) {
    ExpectOk((*writer)->Add(Document{docs[i].id, docs[i].title, docs[i].text}));
    if (i % 25 == 24) ExpectOk((*writer)->Flush());
  }
  for (size_t i = 0; i < docs.size(); i += 4) ExpectOk((*writer)->Delete(docs[i].id));
  ExpectOk((*writer)->Commit());
  auto before_view = IndexReader::Open(*store);
  ASSERT_TRUE(before_view.ok());
  const auto before = AllPositions(**store, **before_view);
  EXPECT_GT(before.size(), 500u);

  ExpectOk((*writer)->ForceMerge(1));
  auto after_view = IndexReader::Open(*store);
  ASSERT_TRUE(after_view.ok());
  EXPECT_EQ((*after_view)->segments().size(), 1u);
  EXPECT_EQ(AllPositions(**store, **after_view), before);
  // One positions record per posting list.
  size_t lists = 0, positions = 0;
  for (Cf cf : {Cf::kPostings, Cf::kPositions}) {
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(rocksdb::ReadOptions(), (*store)->cf(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++(cf == Cf::kPostings ? lists : positions);
  }
  EXPECT_EQ(lists, positions);
}

}  // namespace
}  // namespace cascade::index
