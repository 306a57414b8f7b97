// Tests of the embedded library through its public header alone: a real
// index in a fresh folder under testing::TempDir(), removed afterwards.
#include "cascade/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace cascade {
namespace {

namespace fs = std::filesystem;

// Eight hand-written documents. Title and text are both indexed; the
// analyser lowercases, drops Lucene's 33 English stop words and applies
// Porter stemming, with BM25 k1 0.9, b 0.4.
const std::vector<Document>& Corpus() {
  static const std::vector<Document> docs = {
      {"d1", "Danube", "The Danube flows east through Vienna and Budapest"},
      {"d2", "Lakes", "lake water from a glacier"},
      {"d3", "Desert", "sand dunes cover the desert floor"},
      {"d4", "Ocean",
       "the ocean reef is home to many fish species and the ocean covers "
       "most of the planet surface today with deep cold salty water"},
      {"d5", "Coral", "coral reef"},
      {"d6", "Harbor", "boats anchor near the harbor wall"},
      {"d7", "Harbor", "boats anchor near the harbor wall"},
      {"d8", "Glacier", "glacier ice melts slowly"},
  };
  return docs;
}

// The four queries, each with the result the corpus is built to give.
struct Expectation {
  const char* query;
  std::vector<std::string> ids;
};
const std::vector<Expectation>& Expectations() {
  static const std::vector<Expectation> e = {
      // Only d1 holds "danube" (title and text): one hit.
      {"danube", {"d1"}},
      // d4 and d5 hold "reef" once each; d5 is 3 terms long, d4 about 20,
      // so length normalisation puts the short one first, against insertion
      // order.
      {"reef", {"d5", "d4"}},
      // d6 and d7 are identical, so their scores tie; ties go by insertion
      // order.
      {"anchor", {"d6", "d7"}},
      // d8 matches both terms ("glacier" twice: title and text), d2 only
      // "glacier" once: matching more terms, more often, wins, against
      // insertion order.
      {"glacier ice", {"d8", "d2"}},
  };
  return e;
}

std::vector<std::string> Ids(const SearchResult& result) {
  std::vector<std::string> ids;
  for (const Hit& hit : result.hits) ids.push_back(hit.id);
  return ids;
}

class EngineTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::path(testing::TempDir()) /
            ("engine_test_" + std::string(info->name()) + "_" +
             std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    path_ = (root_ / "index").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  static OpenOptions CreateOptions() {
    OpenOptions options;
    options.create_if_missing = true;
    return options;
  }

  // Creates an index at `path` holding Corpus(), committed.
  static std::unique_ptr<Index> Build(const std::string& path,
                                      OpenOptions options = CreateOptions()) {
    auto index = Index::Open(path, options);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    if (!index.ok()) return nullptr;
    EXPECT_TRUE((*index)->AddBatch(Corpus()).ok());
    EXPECT_TRUE((*index)->Commit().ok());
    return std::move(*index);
  }

  static std::vector<std::string> SearchIds(const Index& index,
                                            std::string_view query,
                                            SearchOptions options = {}) {
    auto result = index.Search(query, options);
    EXPECT_TRUE(result.ok()) << query << ": " << result.status().ToString();
    return result.ok() ? Ids(*result) : std::vector<std::string>{};
  }

  // RefreshIntervalWithConcurrentWriters*: below.
  static void ExpectConcurrentWritesAndSearchesHold(const std::string& path,
                                                    OpenOptions options);

  fs::path root_;
  std::string path_;
};

TEST_F(EngineTest, HandWrittenQueriesRankAsExpected) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  for (const Expectation& e : Expectations()) {
    auto result = index->Search(e.query, {});
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(Ids(*result), e.ids) << "query: " << e.query;
    EXPECT_EQ(result->total_hits, e.ids.size()) << "query: " << e.query;
    for (size_t i = 1; i < result->hits.size(); ++i) {
      EXPECT_GE(result->hits[i - 1].score, result->hits[i].score);
    }
    for (const Hit& hit : result->hits) EXPECT_GT(hit.score, 0);
    // Where the order is not insertion order, scores must differ.
    if (e.ids.size() == 2 && e.ids[0] > e.ids[1]) {
      EXPECT_GT(result->hits[0].score, result->hits[1].score) << e.query;
    }
    EXPECT_GE(result->took_ms, 0);
  }
  // Tied documents tie exactly.
  auto tie = index->Search("anchor", {});
  ASSERT_TRUE(tie.ok());
  ASSERT_EQ(tie->hits.size(), 2u);
  EXPECT_EQ(tie->hits[0].score, tie->hits[1].score);
  // Stop words only, and an unknown word: no hits, no error.
  EXPECT_TRUE(SearchIds(*index, "the and of").empty());
  EXPECT_TRUE(SearchIds(*index, "zeppelin").empty());
  // The query goes through the same analysis: case and stemming.
  EXPECT_EQ(SearchIds(*index, "GLACIERS"),
            (std::vector<std::string>{"d8", "d2"}));
}

TEST_F(EngineTest, AddOneByOneEqualsAddBatch) {
  auto batch = Build(path_);
  ASSERT_NE(batch, nullptr);
  auto single = Index::Open((root_ / "single").string(), CreateOptions());
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  for (const Document& doc : Corpus()) ASSERT_TRUE((*single)->Add(doc).ok());
  ASSERT_TRUE((*single)->Commit().ok());
  for (const Expectation& e : Expectations()) {
    auto a = batch->Search(e.query, {});
    auto b = (*single)->Search(e.query, {});
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ(Ids(*a), Ids(*b));
    for (size_t i = 0; i < a->hits.size(); ++i) {
      EXPECT_EQ(a->hits[i].score, b->hits[i].score);
    }
  }
}

TEST_F(EngineTest, OffsetPagingEqualsSlicingABiggerK) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  // Matches d1, d2, d4, d5, d6, d7, d8: seven hits.
  const char* query = "danube glacier ice reef anchor";
  SearchOptions all;
  all.k = 7;
  auto full = index->Search(query, all);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->hits.size(), 7u);
  EXPECT_EQ(full->total_hits, 7u);

  std::vector<Hit> paged;
  for (size_t offset = 0; offset < 9; offset += 3) {
    SearchOptions page;
    page.k = 3;
    page.offset = offset;
    auto result = index->Search(query, page);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ(result->total_hits, 7u);
    EXPECT_EQ(result->hits.size(), offset == 6 ? 1u : 3u);
    paged.insert(paged.end(), result->hits.begin(), result->hits.end());
  }
  ASSERT_EQ(paged.size(), full->hits.size());
  for (size_t i = 0; i < paged.size(); ++i) {
    EXPECT_EQ(paged[i].id, full->hits[i].id) << i;
    EXPECT_EQ(paged[i].score, full->hits[i].score) << i;
  }
  // An offset past the last hit gives an empty page, not an error.
  SearchOptions past;
  past.offset = 20;
  EXPECT_TRUE(SearchIds(*index, query, past).empty());
}

TEST_F(EngineTest, LoadTextFillsTextOnlyWhenAsked) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  auto plain = index->Search("danube", {});
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(plain->hits.size(), 1u);
  EXPECT_EQ(plain->hits[0].title, "Danube");
  EXPECT_EQ(plain->hits[0].text, "");

  SearchOptions with_text;
  with_text.load_text = true;
  auto loaded = index->Search("danube", with_text);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->hits.size(), 1u);
  EXPECT_EQ(loaded->hits[0].title, "Danube");
  EXPECT_EQ(loaded->hits[0].text, Corpus()[0].text);
}

TEST_F(EngineTest, GetById) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  for (const Document& doc : Corpus()) {
    auto got = index->Get(doc.id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_TRUE(got->has_value()) << doc.id;
    EXPECT_EQ((*got)->id, doc.id);
    EXPECT_EQ((*got)->title, doc.title);
    EXPECT_EQ((*got)->text, doc.text);
  }
  auto unknown = index->Get("no-such-id");
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_FALSE(unknown->has_value());
}

// Text fields through the library: created with weights, documents carry
// Document::texts, Get and hits return them, a word searches every default
// field and field:word one; ParseDocument reads the index's text fields.
TEST_F(EngineTest, TextFieldsWithWeights) {
  OpenOptions options = CreateOptions();
  options.text_fields = {"title^3", "summary"};
  options.contents_weight = 0.5;
  auto index = Index::Open(path_, options);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  Document a{"a", "Glacier", "ice and snow"};
  a.texts = {{"summary", "cold water"}};
  Document b{"b", "Lakes", "a glacier feeds the lake"};
  Document c{"c", "", ""};
  c.texts = {{"summary", "glacier lake water"}};
  ASSERT_TRUE((*index)->AddBatch(std::vector<Document>{a, b, c}).ok());
  Result<Document> parsed =
      (*index)->ParseDocument(R"({"id":"d","title":"Sea","summary":"salt water"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->texts.size(), 1u);
  EXPECT_EQ(parsed->texts[0].second, "salt water");
  ASSERT_TRUE((*index)->Add(*parsed).ok());
  Document bad{"e", "x", ""};
  bad.texts = {{"nope", "y"}};
  EXPECT_TRUE((*index)->Add(bad).IsInvalidArgument());
  ASSERT_TRUE((*index)->Commit().ok());

  EXPECT_EQ(SearchIds(**index, "glacier"), (std::vector<std::string>{"a", "c", "b"}));
  SearchOptions lucene;
  lucene.syntax = "lucene";
  // a and d tie (two words each), c is longer; ties go by insertion order.
  EXPECT_EQ(SearchIds(**index, "summary:water", lucene),
            (std::vector<std::string>{"a", "d", "c"}));
  EXPECT_EQ(SearchIds(**index, "contents:water", lucene), std::vector<std::string>{});
  auto result = (*index)->Search("salt", {});
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->hits.size(), 1u);
  ASSERT_EQ(result->hits[0].texts.size(), 1u);
  EXPECT_EQ(result->hits[0].texts[0].first, "summary");
  SearchOptions snippets;
  snippets.snippet_words = 10;
  auto summary_only = (*index)->Search("lake", snippets);
  ASSERT_TRUE(summary_only.ok());
  ASSERT_EQ(summary_only->hits.size(), 2u);
  EXPECT_EQ(summary_only->hits[1].id, "c");
  EXPECT_EQ(summary_only->hits[1].snippet, "glacier <b>lake</b> water");
  auto got = (*index)->Get("c");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->texts, c.texts);
  const IndexStats stats = (*index)->Stats();
  EXPECT_EQ(stats.text_fields, (std::vector<std::string>{"title^3", "summary"}));
  EXPECT_EQ(stats.contents_weight, 0.5);
  // title: glacier, lakes, sea (one term each); summary: 2, 3 and 2 terms.
  ASSERT_EQ(stats.text_field_average_lengths.size(), 2u);
  EXPECT_DOUBLE_EQ(stats.text_field_average_lengths[0], 1.0);
  EXPECT_DOUBLE_EQ(stats.text_field_average_lengths[1], 7.0 / 3);

  OpenOptions bad_options = CreateOptions();
  bad_options.text_fields = {"title^-1"};
  auto refused = Index::Open((root_ / "other").string(), bad_options);
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
}

TEST_F(EngineTest, StatsAndReplacingAnId) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  IndexStats stats = index->Stats();
  EXPECT_EQ(stats.documents, 8u);
  EXPECT_EQ(stats.deleted_documents, 0u);
  EXPECT_EQ(stats.segments, 1u);  // one commit of a small buffer
  EXPECT_GT(stats.average_length, 0);
  EXPECT_GT(stats.format_version, 0u);

  // Replace d3: "dunes" was only in the old version, "oasis" is only in
  // the new one.
  ASSERT_TRUE(index->Add({"d3", "Desert", "an oasis in the sand"}).ok());
  ASSERT_TRUE(index->Commit().ok());
  stats = index->Stats();
  EXPECT_EQ(stats.documents, 8u);
  EXPECT_EQ(stats.deleted_documents, 1u);
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_TRUE(SearchIds(*index, "dunes").empty());
  EXPECT_EQ(SearchIds(*index, "oasis"), std::vector<std::string>{"d3"});
  auto got = index->Get("d3");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->text, "an oasis in the sand");
}

TEST_F(EngineTest, ReplacingWithinOneBatchKeepsTheLater) {
  auto index = Index::Open(path_, CreateOptions());
  ASSERT_TRUE(index.ok());
  const std::vector<Document> docs = {{"x", "", "first version walrus"},
                                      {"y", "", "bystander walrus"},
                                      {"x", "", "second version narwhal"}};
  ASSERT_TRUE((*index)->AddBatch(docs).ok());
  ASSERT_TRUE((*index)->Commit().ok());
  EXPECT_EQ(SearchIds(**index, "walrus"), std::vector<std::string>{"y"});
  EXPECT_EQ(SearchIds(**index, "narwhal"), std::vector<std::string>{"x"});
  EXPECT_EQ((*index)->Stats().documents, 2u);
}

TEST_F(EngineTest, SearchesDoNotSeeUncommittedDocuments) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(index->Add({"d9", "Airships", "a zeppelin floats"}).ok());
  EXPECT_TRUE(SearchIds(*index, "zeppelin").empty());
  EXPECT_EQ(index->Stats().documents, 8u);
  auto got = index->Get("d9");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());

  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(SearchIds(*index, "zeppelin"), std::vector<std::string>{"d9"});
  EXPECT_EQ(index->Stats().documents, 9u);
}

TEST_F(EngineTest, ReopenReadOnlySeesCommittedAndRefusesWrites) {
  {
    auto index = Build(path_);
    ASSERT_NE(index, nullptr);
    // Never committed: lost when the handle closes.
    ASSERT_TRUE(index->Add({"d9", "Airships", "a zeppelin floats"}).ok());
  }
  OpenOptions read_only;
  read_only.read_only = true;
  auto index = Index::Open(path_, read_only);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->Stats().documents, 8u);
  for (const Expectation& e : Expectations()) {
    EXPECT_EQ(SearchIds(**index, e.query), e.ids) << e.query;
  }
  EXPECT_TRUE(SearchIds(**index, "zeppelin").empty());
  Status add = (*index)->Add({"d10", "", "text"});
  EXPECT_FALSE(add.ok());
  EXPECT_FALSE((*index)->AddBatch(Corpus()).ok());
  EXPECT_FALSE((*index)->Commit().ok());
  EXPECT_EQ((*index)->Stats().documents, 8u);
}

TEST_F(EngineTest, ReadOnlyOpensBesideAWriter) {
  auto writer = Build(path_);
  ASSERT_NE(writer, nullptr);
  OpenOptions read_only;
  read_only.read_only = true;
  auto reader = Index::Open(path_, read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->Stats().documents, 8u);
  EXPECT_EQ(SearchIds(**reader, "danube"), std::vector<std::string>{"d1"});
  // A second writer is refused while the first holds the index.
  auto second = Index::Open(path_, OpenOptions{});
  EXPECT_FALSE(second.ok());
}

TEST_F(EngineTest, ReopenForWritingExtendsTheIndex) {
  { ASSERT_NE(Build(path_), nullptr); }
  OpenOptions options;  // no create_if_missing: the index exists
  auto index = Index::Open(path_, options);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->Stats().documents, 8u);
  ASSERT_TRUE((*index)->Add({"d9", "Airships", "a zeppelin floats"}).ok());
  ASSERT_TRUE((*index)->Commit().ok());
  EXPECT_EQ((*index)->Stats().documents, 9u);
  EXPECT_EQ(SearchIds(**index, "danube"), std::vector<std::string>{"d1"});
}

TEST_F(EngineTest, OpenErrors) {
  // Missing folder, no create_if_missing.
  auto missing = Index::Open((root_ / "missing").string(), OpenOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();

  // Bad options are named.
  OpenOptions bad_ram = CreateOptions();
  bad_ram.ram_buffer_mb = 0;
  auto ram = Index::Open(path_, bad_ram);
  ASSERT_FALSE(ram.ok());
  EXPECT_TRUE(ram.status().IsInvalidArgument()) << ram.status().ToString();
  EXPECT_NE(ram.status().message().find("ram_buffer_mb"), std::string::npos)
      << ram.status().ToString();

  OpenOptions bad_cache = CreateOptions();
  bad_cache.block_cache_mb = 0;
  auto cache = Index::Open(path_, bad_cache);
  ASSERT_FALSE(cache.ok());
  EXPECT_TRUE(cache.status().IsInvalidArgument());
  EXPECT_NE(cache.status().message().find("block_cache_mb"), std::string::npos)
      << cache.status().ToString();

  OpenOptions conflict = CreateOptions();
  conflict.read_only = true;
  auto both = Index::Open(path_, conflict);
  ASSERT_FALSE(both.ok());
  EXPECT_TRUE(both.status().IsInvalidArgument());
  EXPECT_NE(both.status().message().find("read_only"), std::string::npos)
      << both.status().ToString();

  // Bad options leave nothing behind.
  EXPECT_FALSE(fs::exists(path_) && !fs::is_empty(path_));

  // A folder that holds something else is not an index.
  const fs::path other = root_ / "other";
  fs::create_directories(other);
  {
    std::FILE* f = std::fopen((other / "notes.txt").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("not an index\n", f);
    std::fclose(f);
  }
  auto not_index = Index::Open(other.string(), CreateOptions());
  ASSERT_FALSE(not_index.ok());
  EXPECT_TRUE(not_index.status().IsInvalidArgument())
      << not_index.status().ToString();
  EXPECT_NE(not_index.status().message().find("not a Cascade index"),
            std::string::npos)
      << not_index.status().ToString();
}

// SearchOptions::syntax: "plain" reads operators as words (the default),
// "lucene" runs them; anything else is refused.
TEST_F(EngineTest, QuerySyntaxOption) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  SearchOptions lucene;
  lucene.syntax = "lucene";
  // d4 and d5 hold "reef"; d4 also "ocean".
  EXPECT_EQ(SearchIds(*index, "reef -ocean", lucene), std::vector<std::string>{"d5"});
  EXPECT_EQ(SearchIds(*index, "+reef +ocean", lucene), std::vector<std::string>{"d4"});
  EXPECT_EQ(SearchIds(*index, "reef -ocean"), (std::vector<std::string>{"d4", "d5"}));
  auto bad = index->Search("reef AND", lucene);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("column"), std::string::npos);
  SearchOptions unknown;
  unknown.syntax = "sql";
  auto refused = index->Search("reef", unknown);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
}

TEST_F(EngineTest, SearchArgumentLimits) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  SearchOptions zero;
  zero.k = 0;
  auto k0 = index->Search("reef", zero);
  ASSERT_FALSE(k0.ok());
  EXPECT_TRUE(k0.status().IsInvalidArgument()) << k0.status().ToString();

  SearchOptions too_many;
  too_many.k = 100001;
  auto big = index->Search("reef", too_many);
  ASSERT_FALSE(big.ok());
  EXPECT_TRUE(big.status().IsInvalidArgument()) << big.status().ToString();

  SearchOptions most;
  most.k = 100000;
  EXPECT_EQ(SearchIds(*index, "reef", most),
            (std::vector<std::string>{"d5", "d4"}));

  // Queries of up to 16 KiB are fine; one byte more is refused.
  std::string query;
  while (query.size() < 16 * 1024) query += "reef ";
  query.resize(16 * 1024);
  EXPECT_EQ(SearchIds(*index, query), (std::vector<std::string>{"d5", "d4"}));
  query.push_back('x');
  auto long_query = index->Search(query, {});
  ASSERT_FALSE(long_query.ok());
  EXPECT_TRUE(long_query.status().IsInvalidArgument())
      << long_query.status().ToString();
}

TEST_F(EngineTest, AddRefusesBadDocuments) {
  auto index = Index::Open(path_, CreateOptions());
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE((*index)->Add({"", "title", "text"}).IsInvalidArgument());
  EXPECT_TRUE((*index)->Add({"empty", "", ""}).IsInvalidArgument());
  EXPECT_TRUE((*index)
                  ->Add({"huge", "", std::string((1 << 20) + 1, 'a')})
                  .IsInvalidArgument());
  ASSERT_TRUE((*index)->Commit().ok());
  EXPECT_EQ((*index)->Stats().documents, 0u);
}

TEST_F(EngineTest, DeleteByIdCommittedAndBuffered) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  // Committed document: gone after the next Commit, not before.
  ASSERT_TRUE(index->Delete("d1").ok());
  EXPECT_EQ(SearchIds(*index, "danube"), (std::vector<std::string>{"d1"}));
  EXPECT_EQ(index->Stats().pending_changes, 1u);
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_TRUE(SearchIds(*index, "danube").empty());
  auto got = index->Get("d1");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(index->Stats().documents, 7u);
  EXPECT_EQ(index->Stats().pending_changes, 0u);
  // Twice, or an unknown id: NotFound.
  EXPECT_TRUE(index->Delete("d1").IsNotFound());
  EXPECT_TRUE(index->Delete("nope").IsNotFound());

  // Buffered document deleted before any commit: never visible.
  ASSERT_TRUE(index->Add({"b1", "Zeppelin", "An airship."}).ok());
  ASSERT_TRUE(index->Delete("b1").ok());
  EXPECT_TRUE(index->Delete("b1").IsNotFound());
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_TRUE(SearchIds(*index, "zeppelin").empty());

  // Deleted, then added again with new text: the new one is live.
  ASSERT_TRUE(index->Delete("d2").ok());
  ASSERT_TRUE(index->Add({"d2", "Zeppelin", "Back again."}).ok());
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(SearchIds(*index, "zeppelin"), (std::vector<std::string>{"d2"}));
  EXPECT_EQ(index->Stats().documents, 7u);  // 8 - d1 (b1 never counted)

  // The deletes survive a reopen.
  index.reset();
  OpenOptions read_only;
  read_only.read_only = true;
  auto reopened = Index::Open(path_, read_only);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_TRUE(SearchIds(**reopened, "danube").empty());
  EXPECT_EQ(SearchIds(**reopened, "zeppelin"), (std::vector<std::string>{"d2"}));
  EXPECT_TRUE((*reopened)->Delete("d2").IsInvalidArgument());
}

TEST_F(EngineTest, SmallRamBufferFlushesSeveralSegments) {
  OpenOptions options = CreateOptions();
  options.ram_buffer_mb = 1;
  auto index = Index::Open(path_, options);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  // About 2.5 MiB of text: at least two segments flush on their own.
  const std::string filler(1600, 'x');
  std::vector<Document> docs;
  for (int i = 0; i < 1600; ++i) {
    std::string id = "n";
    id += std::to_string(i);
    docs.push_back({id, "", "common " + id + " " + filler});
  }
  docs[0].text = "common unique marker " + filler;
  ASSERT_TRUE((*index)->AddBatch(docs).ok());
  // Flushed segments are not searchable before Commit.
  EXPECT_TRUE(SearchIds(**index, "marker").empty());
  EXPECT_EQ((*index)->Stats().documents, 0u);
  ASSERT_TRUE((*index)->Commit().ok());
  IndexStats stats = (*index)->Stats();
  EXPECT_EQ(stats.documents, 1600u);
  EXPECT_GE(stats.segments, 2u);
  EXPECT_EQ(SearchIds(**index, "marker"), std::vector<std::string>{"n0"});
  SearchOptions many;
  many.k = 2000;
  auto all = (*index)->Search("common", many);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total_hits, 1600u);
  ASSERT_EQ(all->hits.size(), 1600u);

  // Replacing a document of the first segment.
  ASSERT_TRUE((*index)->Add({"n0", "", "replacement"}).ok());
  ASSERT_TRUE((*index)->Commit().ok());
  stats = (*index)->Stats();
  EXPECT_EQ(stats.documents, 1600u);
  EXPECT_EQ(stats.deleted_documents, 1u);
  EXPECT_TRUE(SearchIds(**index, "marker").empty());
  EXPECT_EQ(SearchIds(**index, "replacement"), std::vector<std::string>{"n0"});
}

TEST_F(EngineTest, ConcurrentSearchesAgree) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  const std::vector<std::string> queries = {"danube",
                                            "reef",
                                            "anchor",
                                            "glacier ice",
                                            "danube glacier ice reef anchor",
                                            "water fish ocean",
                                            "zeppelin"};
  std::vector<SearchResult> expected;
  for (const std::string& q : queries) {
    auto r = index->Search(q, {});
    ASSERT_TRUE(r.ok());
    expected.push_back(*r);
  }
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 100; ++round) {
        for (size_t i = 0; i < queries.size(); ++i) {
          auto r = index->Search(queries[i], {});
          if (!r.ok() || r->hits.size() != expected[i].hits.size() ||
              r->total_hits != expected[i].total_hits) {
            ++mismatches[t];
            continue;
          }
          for (size_t h = 0; h < r->hits.size(); ++h) {
            if (r->hits[h].id != expected[i].hits[h].id ||
                r->hits[h].score != expected[i].hits[h].score ||
                r->hits[h].title != expected[i].hits[h].title) {
              ++mismatches[t];
            }
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST_F(EngineTest, AddBatchOnTwoThreadsEqualsOneThread) {
  // The corpus plus generated documents, so that each thread gets a share.
  std::vector<Document> docs = Corpus();
  const char* words[] = {"reef", "glacier", "anchor", "ocean", "lake",
                         "sand", "boat",    "fish",   "ice",   "water"};
  for (int i = 0; i < 200; ++i) {
    std::string text;
    for (int w = 0; w <= i % 7; ++w) {
      text += words[(i * 7 + w * 3) % 10];
      text += ' ';
    }
    std::string id = "g";
    id += std::to_string(i);
    docs.push_back({id, "", text});
  }
  docs.push_back({"d5", "Coral", "coral reef replaced"});  // replaces d5

  std::vector<std::unique_ptr<Index>> indexes;
  for (unsigned threads : {1u, 2u}) {
    OpenOptions options = CreateOptions();
    options.threads = threads;
    std::string name = "threads";
    name += std::to_string(threads);
    auto index = Index::Open((root_ / name).string(), options);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    ASSERT_TRUE((*index)->AddBatch(docs).ok());
    ASSERT_TRUE((*index)->Commit().ok());
    indexes.push_back(std::move(*index));
  }
  const IndexStats one = indexes[0]->Stats(), two = indexes[1]->Stats();
  EXPECT_EQ(one.documents, two.documents);
  EXPECT_EQ(one.documents, 208u);
  EXPECT_EQ(one.deleted_documents, two.deleted_documents);
  EXPECT_EQ(one.segments, two.segments);
  EXPECT_EQ(one.average_length, two.average_length);
  SearchOptions options;
  options.k = 300;
  for (const char* q : {"reef", "glacier ice", "anchor boat", "water fish",
                        "sand lake ocean", "danube"}) {
    auto a = indexes[0]->Search(q, options);
    auto b = indexes[1]->Search(q, options);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_GT(a->hits.size(), 0u) << q;
    EXPECT_EQ(a->total_hits, b->total_hits) << q;
    ASSERT_EQ(Ids(*a), Ids(*b)) << q;
    for (size_t i = 0; i < a->hits.size(); ++i) {
      EXPECT_EQ(a->hits[i].score, b->hits[i].score) << q << " rank " << i;
    }
  }
}

// Deleting by query removes exactly the documents a search counts as
// matches (total_hits of an exhaustive search), whatever their rank.
TEST_F(EngineTest, DeleteByQueryRemovesEveryMatch) {
  struct Case {
    const char* query;
    const char* syntax;
    std::vector<std::string> deleted;  // ids, in insertion order
  };
  const std::vector<Case> cases = {
      {"reef", "plain", {"d4", "d5"}},           // both holders of "reef"
      {"glacier ice", "plain", {"d2", "d8"}},    // any of the words
      {"\"glacier ice\"", "lucene", {"d8"}},     // the phrase: d2 lacks "ice"
      {"anchor -boats", "lucene", {}},           // d6 and d7 hold both
      {"+water -glacier", "lucene", {"d4"}},     // d2 has the glacier
      {"the", "plain", {}},                      // a stop word: no term
      {"*:*", "lucene", {"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    fs::remove_all(path_);
    auto index = Build(path_);
    ASSERT_NE(index, nullptr);
    SearchOptions search;
    search.syntax = c.syntax;
    search.algorithm = "exhaustive";
    search.k = 100;
    auto before = index->Search(c.query, search);
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    EXPECT_EQ(before->total_hits, c.deleted.size());

    DeleteByQueryOptions options;
    options.syntax = c.syntax;
    std::vector<std::string> ids;
    auto deleted = index->DeleteByQuery(c.query, options, &ids);
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    EXPECT_EQ(*deleted, c.deleted.size());
    EXPECT_EQ(ids, c.deleted);
    // Not visible before the commit.
    EXPECT_EQ(index->Stats().documents, 8u);
    EXPECT_EQ(index->Stats().pending_changes, c.deleted.size());
    ASSERT_TRUE(index->Commit().ok());
    const IndexStats stats = index->Stats();
    EXPECT_EQ(stats.documents, 8 - c.deleted.size());
    EXPECT_EQ(stats.deleted_documents, c.deleted.size());
    auto after = index->Search(c.query, search);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->total_hits, 0u);
    // No deleted document comes back, whatever the query.
    SearchOptions all;
    all.syntax = "lucene";
    all.k = 100;
    for (const std::string& hit : SearchIds(*index, "*:*", all)) {
      EXPECT_EQ(std::count(c.deleted.begin(), c.deleted.end(), hit), 0) << hit;
    }
    EXPECT_EQ(SearchIds(*index, "*:*", all).size(), 8 - c.deleted.size());
    for (const std::string& id : c.deleted) {
      auto got = index->Get(id);
      ASSERT_TRUE(got.ok());
      EXPECT_FALSE(got->has_value()) << id;
    }
    // Running it again finds nothing left to delete.
    auto again = index->DeleteByQuery(c.query, options);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0u);
  }
}

TEST_F(EngineTest, DeleteByQuerySeesUncommittedChanges) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  // An add since the last commit is matched; a delete since then is not
  // counted twice.
  ASSERT_TRUE(index->Add({"b1", "Zeppelin", "an airship over the reef"}).ok());
  ASSERT_TRUE(index->Delete("d5").ok());
  EXPECT_TRUE(index->Stats().uncommitted_changes);
  std::vector<std::string> ids;
  auto none = index->DeleteByQuery("nosuchword", {}, &ids);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(*none, 0u);
  // The buffered add and delete went to a segment: nothing is pending in
  // the buffer, yet searches do not see them.
  EXPECT_EQ(index->Stats().pending_changes, 0u);
  EXPECT_TRUE(index->Stats().uncommitted_changes);
  auto deleted = index->DeleteByQuery("reef", {}, &ids);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2u);
  EXPECT_EQ(ids, (std::vector<std::string>{"d4", "b1"}));
  // Searches still see the last commit: d5 and d4, not b1.
  EXPECT_EQ(SearchIds(*index, "reef"), (std::vector<std::string>{"d5", "d4"}));
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_FALSE(index->Stats().uncommitted_changes);
  EXPECT_TRUE(SearchIds(*index, "reef").empty());
  EXPECT_TRUE(SearchIds(*index, "zeppelin").empty());
  EXPECT_EQ(index->Stats().documents, 6u);
  // Deleted ids may be added again.
  ASSERT_TRUE(index->Add({"d4", "Ocean", "a reef again"}).ok());
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(SearchIds(*index, "reef"), std::vector<std::string>{"d4"});
}

TEST_F(EngineTest, DeleteByQueryErrorsDeleteNothing) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  // A syntax error is refused before anything is written: the buffered
  // add stays buffered.
  ASSERT_TRUE(index->Add({"b1", "Zeppelin", "an airship over the reef"}).ok());
  DeleteByQueryOptions lucene;
  lucene.syntax = "lucene";
  auto bad = index->DeleteByQuery("reef AND (glacier", lucene);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("column"), std::string::npos)
      << bad.status().ToString();
  EXPECT_EQ(index->Stats().pending_changes, 1u);
  auto field = index->DeleteByQuery("colour:red", lucene);
  ASSERT_FALSE(field.ok());
  EXPECT_NE(field.status().message().find("colour"), std::string::npos);
  // A range on a field the index does not have (it has no numeric fields).
  auto range = index->DeleteByQuery("year:[1 TO 5]", lucene);
  EXPECT_TRUE(range.status().IsInvalidArgument()) << range.status().ToString();
  EXPECT_NE(range.status().message().find("unknown field \"year\""), std::string::npos)
      << range.status().ToString();
  DeleteByQueryOptions unknown;
  unknown.syntax = "regex";
  EXPECT_TRUE(index->DeleteByQuery("reef", unknown).status().IsInvalidArgument());
  EXPECT_TRUE(index->DeleteByQuery(std::string(20000, 'a')).status().IsInvalidArgument());
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(index->Stats().documents, 9u);
  EXPECT_EQ(index->Stats().deleted_documents, 0u);

  index.reset();
  OpenOptions read_only;
  read_only.read_only = true;
  auto reader = Index::Open(path_, read_only);
  ASSERT_TRUE(reader.ok());
  EXPECT_TRUE((*reader)->DeleteByQuery("reef").status().IsInvalidArgument());
}

TEST_F(EngineTest, UpdateReplacesOnlyExistingIds) {
  auto index = Build(path_);
  ASSERT_NE(index, nullptr);
  // A new id is refused, and nothing is buffered.
  EXPECT_TRUE(index->Update({"d9", "Airships", "a zeppelin floats"}).IsNotFound());
  EXPECT_EQ(index->Stats().pending_changes, 0u);
  // An existing one is replaced, visible after the commit.
  ASSERT_TRUE(index->Update({"d1", "Airships", "a zeppelin floats"}).ok());
  EXPECT_EQ(SearchIds(*index, "danube"), std::vector<std::string>{"d1"});
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_TRUE(SearchIds(*index, "danube").empty());
  EXPECT_EQ(SearchIds(*index, "zeppelin"), std::vector<std::string>{"d1"});
  EXPECT_EQ(index->Stats().documents, 8u);
  EXPECT_EQ(index->Stats().deleted_documents, 1u);
  auto got = index->Get("d9");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());

  // Uncommitted state counts: an add since the commit may be updated, a
  // delete since then may not.
  ASSERT_TRUE(index->Add({"b1", "Balloon", "hot air"}).ok());
  ASSERT_TRUE(index->Update({"b1", "Balloon", "hot air rises"}).ok());
  ASSERT_TRUE(index->Delete("d2").ok());
  EXPECT_TRUE(index->Update({"d2", "Lakes", "a lake"}).IsNotFound());
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(SearchIds(*index, "rises"), std::vector<std::string>{"b1"});
  EXPECT_TRUE(SearchIds(*index, "lake").empty());
  // Update keeps Add's checks.
  EXPECT_TRUE(index->Update({"d3", "", ""}).IsInvalidArgument());
}

TEST_F(EngineTest, StatsReportColumnFamiliesAndVectorFields) {
  {
    OpenOptions options = CreateOptions();
    options.vector_fields = {"emb:4:cosine"};
    auto index = Index::Open(path_, options);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    std::vector<Document> docs = Corpus();
    for (size_t i = 0; i < docs.size(); ++i) {
      docs[i].vectors = {{"emb", {1.0f, static_cast<float>(i), 0.5f, 0.25f}}};
    }
    ASSERT_TRUE((*index)->AddBatch(docs).ok());
    ASSERT_TRUE((*index)->Commit().ok());
    ASSERT_TRUE((*index)->Delete("d3").ok());
    ASSERT_TRUE((*index)->Commit().ok());
    const IndexStats stats = (*index)->Stats();
    ASSERT_EQ(stats.vector_fields.size(), 1u);
    EXPECT_EQ(stats.vector_fields[0].rfind("emb:4:cosine", 0), 0u) << stats.vector_fields[0];
    // Before any table file is written, the data is in the memtables.
    uint64_t memtables = 0;
    for (const ColumnFamilyStats& cf : stats.column_families) memtables += cf.memtable_bytes;
    EXPECT_GT(memtables, 0u);
  }
  // Opening for writing flushes the write-ahead log into table files.
  const OpenOptions writable;
  { ASSERT_TRUE(Index::Open(path_, writable).ok()); }
  OpenOptions read_only;
  read_only.read_only = true;
  auto index = Index::Open(path_, read_only);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  const IndexStats stats = (*index)->Stats();
  EXPECT_EQ(stats.documents, 7u);
  EXPECT_EQ(stats.deleted_documents, 1u);
  EXPECT_EQ(stats.segments, 1u);
  EXPECT_TRUE(stats.positions);
  std::vector<std::string> names;
  for (const ColumnFamilyStats& cf : stats.column_families) {
    names.push_back(cf.name);
    if (cf.name == "postings" || cf.name == "positions" || cf.name == "docs" ||
        cf.name == "ids" || cf.name == "vectors" || cf.name == "deletes") {
      EXPECT_GT(cf.table_bytes, 0u) << cf.name;
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"default", "segments", "postings", "docs", "ids",
                                             "deletes", "tilde", "vectors", "ivf",
                                             "positions", "keywords", "numerics"}));
}

TEST_F(EngineTest, ReadOnlyStatsBesideAWriter) {
  auto writer = Build(path_);
  ASSERT_NE(writer, nullptr);
  OpenOptions read_only;
  read_only.read_only = true;
  auto reader = Index::Open(path_, read_only);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  // The writer goes on; the reader's figures stay those of its open.
  ASSERT_TRUE(writer->Add({"d9", "Airships", "a zeppelin floats"}).ok());
  ASSERT_TRUE(writer->DeleteByQuery("reef").ok());
  ASSERT_TRUE(writer->Commit().ok());
  const IndexStats stats = (*reader)->Stats();
  EXPECT_EQ(stats.documents, 8u);
  EXPECT_EQ(stats.deleted_documents, 0u);
  EXPECT_EQ(stats.column_families.size(), 12u);
  EXPECT_EQ(writer->Stats().documents, 7u);
  EXPECT_EQ(writer->Stats().deleted_documents, 2u);
}


// OpenOptions::refresh_interval_ms. Waits are polls bounded by seconds, so
// that a loaded machine cannot fail them; nothing asserts a tighter timing.
constexpr auto kRefreshWait = std::chrono::seconds(5);

// Searches `query` until `done(ids)` holds or kRefreshWait passes; returns
// whether it held.
template <typename Done>
bool PollSearch(const Index& index, std::string_view query, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kRefreshWait;
  while (true) {
    auto result = index.Search(query, {});
    if (result.ok() && done(Ids(*result))) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_F(EngineTest, RefreshIntervalMakesChangesVisibleWithoutCommit) {
  OpenOptions options = CreateOptions();
  options.refresh_interval_ms = 50;
  auto index = Build(path_, options);
  ASSERT_NE(index, nullptr);
  using IdList = std::vector<std::string>;

  ASSERT_TRUE(index->Add({"d9", "Airships", "a zeppelin floats"}).ok());
  EXPECT_TRUE(PollSearch(*index, "zeppelin", [](const IdList& ids) { return ids == IdList{"d9"}; }));
  EXPECT_EQ(index->Stats().documents, 9u);
  EXPECT_EQ(index->Stats().pending_changes, 0u);

  // Deletes too, by id and by query (which flushes to a segment, so that
  // nothing is pending in the buffer: still refreshed).
  ASSERT_TRUE(index->Delete("d1").ok());
  EXPECT_TRUE(PollSearch(*index, "danube", [](const IdList& ids) { return ids.empty(); }));
  auto deleted = index->DeleteByQuery("reef");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2u);
  EXPECT_TRUE(PollSearch(*index, "reef", [](const IdList& ids) { return ids.empty(); }));
  EXPECT_EQ(index->Stats().documents, 6u);
  // An explicit Commit still works beside the timer.
  ASSERT_TRUE(index->Add({"d10", "Kites", "a kite flies"}).ok());
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(SearchIds(*index, "kite"), IdList{"d10"});
}

TEST_F(EngineTest, RefreshIntervalZeroKeepsChangesInvisible) {
  auto index = Build(path_);  // refresh_interval_ms = 0, the default
  ASSERT_NE(index, nullptr);
  ASSERT_TRUE(index->Add({"d9", "Airships", "a zeppelin floats"}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(SearchIds(*index, "zeppelin").empty());
  EXPECT_EQ(index->Stats().documents, 8u);
  EXPECT_EQ(index->Stats().pending_changes, 1u);
  ASSERT_TRUE(index->Commit().ok());
  EXPECT_EQ(SearchIds(*index, "zeppelin"), std::vector<std::string>{"d9"});
}

std::string WriterDocId(int writer, int i) {
  std::string id = "w";
  id += std::to_string(writer);
  id += '-';
  id += std::to_string(i);
  return id;
}

// Two writers (adds, updates, deletes, commits) and a searcher run while
// the timer commits every 5 ms; after a final Commit every document is
// found exactly once. Views only move forward: a searcher never sees fewer
// of the documents that stay than before.

// Two writers add, replace, add-then-delete documents (one of them also
// commits) while a thread searches and the refresh thread commits every
// 5 ms: no call fails, a search never sees fewer lasting documents than
// an earlier one did, and the end state holds each lasting document once.
void EngineTest::ExpectConcurrentWritesAndSearchesHold(const std::string& path,
                                                       OpenOptions options) {
  options.refresh_interval_ms = 5;
  auto index = Build(path, options);
  ASSERT_NE(index, nullptr);
  constexpr int kWriters = 2;
  constexpr int kDocs = 150;
  std::atomic<bool> writing{true};
  std::vector<int> failures(kWriters + 1, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kDocs; ++i) {
        const std::string id = WriterDocId(t, i);
        std::string text = "common payload ";
        text += id;
        if (!index->Add({id, "", text}).ok()) ++failures[t];
        // Replace every 10th and add then delete a temporary document.
        if (i % 10 == 0 && !index->Update({id, "", "common payload updated"}).ok()) {
          ++failures[t];
        }
        if (i % 7 == 0) {
          std::string temp = WriterDocId(t, i);
          temp += "temp";
          if (!index->Add({temp, "", "common temporary"}).ok()) ++failures[t];
          if (!index->Delete(temp).ok()) ++failures[t];
        }
        if (t == 0 && i % 40 == 0 && !index->Commit().ok()) ++failures[t];
      }
    });
  }
  threads.emplace_back([&] {
    SearchOptions search;
    search.k = 1000;
    size_t seen = 0;
    while (writing.load()) {
      auto result = index->Search("common", search);
      if (!result.ok()) {
        ++failures[kWriters];
        continue;
      }
      const size_t staying = std::count_if(result->hits.begin(), result->hits.end(),
                                           [](const Hit& hit) {
                                             return hit.id.find("temp") == std::string::npos;
                                           });
      if (staying < seen) ++failures[kWriters];
      seen = std::max(seen, staying);
    }
  });
  for (int t = 0; t < kWriters; ++t) threads[t].join();
  writing.store(false);
  threads.back().join();
  for (size_t t = 0; t < failures.size(); ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;

  ASSERT_TRUE(index->Commit().ok());
  SearchOptions search;
  search.k = 1000;
  auto result = index->Search("common", search);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::vector<std::string> ids = Ids(*result);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected;
  for (int t = 0; t < kWriters; ++t) {
    for (int i = 0; i < kDocs; ++i) {
      expected.push_back(WriterDocId(t, i));
    }
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);  // each once, no temporary one
  EXPECT_EQ(result->total_hits, expected.size());
  EXPECT_EQ(index->Stats().documents, 8u + kWriters * kDocs);
  EXPECT_EQ(index->Stats().pending_changes, 0u);
  if (options.merge.background) {
    // The merges the refreshes called for leave few segments, and the same
    // documents.
    ASSERT_TRUE(index->WaitForMerges().ok());
    ASSERT_TRUE(index->Commit().ok());
    EXPECT_LE(index->Stats().segments, 8u);
    EXPECT_EQ(index->Stats().documents, 8u + kWriters * kDocs);
    result = index->Search("common", search);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ids = Ids(*result);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, expected);
  }
}

TEST_F(EngineTest, RefreshIntervalWithConcurrentWritersAndSearches) {
  ExpectConcurrentWritesAndSearchesHold(path_, CreateOptions());
}

// The same with background merges of tiny tiers: merges run beside the
// writers, searches and refreshes the whole time.
TEST_F(EngineTest, RefreshIntervalWithConcurrentWritersSearchesAndBackgroundMerges) {
  OpenOptions options = CreateOptions();
  options.merge.background = true;
  options.merge.segments_per_tier = 2;
  options.merge.max_merge_at_once = 4;
  options.merge.floor_segment_docs = 1;
  ExpectConcurrentWritesAndSearchesHold(path_, options);
}

TEST_F(EngineTest, RefreshIntervalStopsPromptlyOnDestruction) {
  using Clock = std::chrono::steady_clock;
  {
    // A timer that ticks often, destroyed while it runs.
    OpenOptions options = CreateOptions();
    options.refresh_interval_ms = 1;
    auto index = Build(path_, options);
    ASSERT_NE(index, nullptr);
    ASSERT_TRUE(index->Add({"d9", "Airships", "a zeppelin floats"}).ok());
    ASSERT_TRUE(index->Commit().ok());
    const auto start = Clock::now();
    index.reset();
    EXPECT_LT(Clock::now() - start, kRefreshWait);
  }
  {
    // A timer far from its tick: destruction does not wait for it, and
    // does not commit what is pending (as without a timer).
    OpenOptions options;
    options.refresh_interval_ms = 600'000;
    auto index = Index::Open(path_, options);
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ((*index)->Stats().documents, 9u);
    ASSERT_TRUE((*index)->Add({"d10", "Kites", "a kite flies"}).ok());
    const auto start = Clock::now();
    index->reset();
    EXPECT_LT(Clock::now() - start, kRefreshWait);
  }
  const OpenOptions reopen;
  auto index = Index::Open(path_, reopen);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->Stats().documents, 9u);
  for (const Expectation& e : Expectations()) {
    EXPECT_EQ(SearchIds(**index, e.query), e.ids) << e.query;
  }
  EXPECT_EQ(SearchIds(**index, "zeppelin"), std::vector<std::string>{"d9"});
  EXPECT_TRUE(SearchIds(**index, "kite").empty());
}

TEST_F(EngineTest, RefreshIntervalBadValuesAreRefused) {
  for (int64_t interval : {int64_t{-1}, int64_t{86'400'001}, INT64_MIN, INT64_MAX}) {
    OpenOptions options = CreateOptions();
    options.refresh_interval_ms = interval;
    auto index = Index::Open(path_, options);
    ASSERT_FALSE(index.ok()) << interval;
    EXPECT_TRUE(index.status().IsInvalidArgument()) << index.status().ToString();
    EXPECT_NE(index.status().message().find("refresh_interval_ms"), std::string::npos)
        << index.status().ToString();
  }
  EXPECT_FALSE(fs::exists(path_) && !fs::is_empty(path_));

  { ASSERT_NE(Build(path_), nullptr); }
  // Read-only indexes cannot commit: a timer is refused, 0 accepted.
  OpenOptions read_only;
  read_only.read_only = true;
  read_only.refresh_interval_ms = 50;
  auto refused = Index::Open(path_, read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsInvalidArgument()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("refresh_interval_ms with read_only"),
            std::string::npos)
      << refused.status().ToString();
  read_only.refresh_interval_ms = 0;
  EXPECT_TRUE(Index::Open(path_, read_only).ok());

  // The bounds themselves are accepted.
  OpenOptions longest;
  longest.refresh_interval_ms = 86'400'000;
  auto index = Index::Open(path_, longest);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->Stats().documents, 8u);
}

}  // namespace
}  // namespace cascade
