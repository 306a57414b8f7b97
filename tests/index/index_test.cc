// Storage tests for Store, IndexWriter and IndexReader on a real RocksDB in a
// fresh folder under testing::TempDir(): persistence across reopen, several
// segments ranking like one, replacement of duplicate ids, what an
// uncommitted writer leaves behind, refused documents and writers, the
// errors Store::Open gives for things that are not (current) Cascade
// indexes, and that the options an index was created with are kept.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include "cascade/status.h"
#include "index/document.h"
#include "index/index_options.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/store.h"
#include "query/searcher.h"

namespace cascade::index {
namespace {

namespace fs = std::filesystem;

// A small corpus (stemmer "none", stop words on). What the queries below
// should return:
//   "apple"          d1, d3 (d1 first: shorter, tf 2)
//   "banana cherry"  d1, d2, d4 (d2 has both)
//   "date"           d3, d4
//   "zebra"          nothing
const Document kDocs[] = {
    {"d1", "Apple", "apple banana"},
    {"d2", "", "banana cherry"},
    {"d3", "", "the apple and the date are ripe"},
    {"d4", "Cherry", "date pudding with cherry sauce"},
    {"d5", "", "an unrelated document about kiwis"},
};
const char* const kQueries[] = {"apple", "banana cherry", "date", "zebra",
                                "kiwis pudding apple"};

struct Ranked {
  std::vector<query::ScoredDoc> hits;
  uint64_t total_hits = 0;
};

class IndexTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("index_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    path_ = (root_ / "index").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static StoreOptions Create() {
    StoreOptions options;
    options.create_if_missing = true;
    options.create_options.analyzer.stemmer = "none";
    options.block_cache_mb = 8;
    return options;
  }
  static StoreOptions Existing() {
    StoreOptions options;
    options.block_cache_mb = 8;
    return options;
  }

  static std::shared_ptr<Store> OpenStore(const std::string& path,
                                          const StoreOptions& options) {
    Result<std::shared_ptr<Store>> store = Store::Open(path, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }
  static std::unique_ptr<IndexWriter> OpenWriter(
      std::shared_ptr<Store> store, const WriterOptions& options = {}) {
    Result<std::unique_ptr<IndexWriter>> writer =
        IndexWriter::Open(std::move(store), options);
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return writer.ok() ? std::move(*writer) : nullptr;
  }
  static std::shared_ptr<const IndexReader> OpenReader(
      std::shared_ptr<Store> store) {
    Result<std::unique_ptr<IndexReader>> reader =
        IndexReader::Open(std::move(store));
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::shared_ptr<const IndexReader>(std::move(*reader))
                       : nullptr;
  }
  static void AddAll(IndexWriter* writer, std::span<const Document> docs) {
    for (const Document& doc : docs) {
      Status s = writer->Add(doc);
      EXPECT_TRUE(s.ok()) << doc.id << ": " << s.ToString();
    }
  }
  static void ExpectOk(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }

  static Ranked Search(std::shared_ptr<const IndexReader> reader,
                       std::string_view text, size_t k = 10) {
    Ranked out;
    Result<std::unique_ptr<query::Searcher>> searcher =
        query::Searcher::Create(std::move(reader));
    EXPECT_TRUE(searcher.ok()) << searcher.status().ToString();
    if (!searcher.ok()) return out;
    query::SearchParams params;
    params.k = k;
    Result<query::TopDocs> top = (*searcher)->Search(text, params);
    EXPECT_TRUE(top.ok()) << text << ": " << top.status().ToString();
    if (!top.ok()) return out;
    out.hits = top->hits;
    out.total_hits = top->total_hits;
    return out;
  }
  // External ids of the hits, best first.
  static std::vector<std::string> Ids(const IndexReader& reader,
                                      const Ranked& ranked) {
    std::vector<std::string> ids;
    for (const query::ScoredDoc& hit : ranked.hits) {
      Result<Document> doc = reader.ReadDocument(hit.doc);
      EXPECT_TRUE(doc.ok()) << doc.status().ToString();
      ids.push_back(doc.ok() ? doc->id : "?");
    }
    return ids;
  }
  static void ExpectSameRanking(const Ranked& a, const Ranked& b,
                                std::string_view query) {
    EXPECT_EQ(a.total_hits, b.total_hits) << query;
    ASSERT_EQ(a.hits.size(), b.hits.size()) << query;
    for (size_t i = 0; i < a.hits.size(); ++i) {
      EXPECT_EQ(a.hits[i].doc, b.hits[i].doc) << query << " rank " << i;
      EXPECT_FLOAT_EQ(a.hits[i].score, b.hits[i].score) << query << " rank " << i;
    }
  }
  static std::optional<uint32_t> Lookup(const IndexReader& reader,
                                        std::string_view id) {
    Result<std::optional<uint32_t>> found = reader.Lookup(id);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    return found.ok() ? *found : std::nullopt;
  }

  // Opens `path` with plain RocksDB, with the given column families
  // (created if missing), runs `fn`, and closes it.
  template <typename Fn>
  static void WithRawDb(const std::string& path,
                        const std::vector<std::string_view>& cf_names, Fn fn) {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (std::string_view name : cf_names) {
      cfs.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path, cfs, &handles, &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    fn(db, handles);
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db->Close().ok());
    delete db;
  }
  static std::vector<std::string_view> AllCfs() {
    return {kCfDefault, kCfSegments, kCfPostings, kCfDocs,     kCfIds,     kCfDeletes,
            kCfTilde,   kCfVectors,  kCfIvf,      kCfPositions, kCfKeywords, kCfNumerics};
  }

  fs::path root_;
  std::string path_;
};

// ----------------------------------------------------------- persistence

TEST_F(IndexTest, PersistsAcrossReopen) {
  std::vector<Ranked> before;
  CollectionStats stats_before;
  {
    std::shared_ptr<Store> store = OpenStore(path_, Create());
    ASSERT_NE(store, nullptr);
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    // Two segments, so that reopen reads a segment list.
    AddAll(writer.get(), std::span(kDocs).first(3));
    ExpectOk(writer->Flush());
    AddAll(writer.get(), std::span(kDocs).subspan(3));
    ExpectOk(writer->Commit());
    writer.reset();
    std::shared_ptr<const IndexReader> reader = OpenReader(store);
    ASSERT_NE(reader, nullptr);
    stats_before = reader->stats();
    for (const char* q : kQueries) before.push_back(Search(reader, q));
    // The fixture's notes.
    EXPECT_EQ(Ids(*reader, before[0]), (std::vector<std::string>{"d1", "d3"}));
    EXPECT_EQ(Ids(*reader, before[1])[0], "d2");
    EXPECT_EQ(before[1].total_hits, 3u);
    EXPECT_EQ(before[2].total_hits, 2u);
    EXPECT_EQ(before[3].total_hits, 0u);
  }  // every object destroyed: RocksDB closed

  std::shared_ptr<Store> store = OpenStore(path_, Existing());
  ASSERT_NE(store, nullptr);
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  const CollectionStats& stats = reader->stats();
  EXPECT_EQ(stats.live_docs, 5u);
  EXPECT_EQ(stats.live_docs, stats_before.live_docs);
  EXPECT_EQ(stats.deleted_docs, stats_before.deleted_docs);
  EXPECT_EQ(stats.docs_with_terms, stats_before.docs_with_terms);
  EXPECT_EQ(stats.sum_lengths, stats_before.sum_lengths);
  EXPECT_EQ(stats.segments, 2u);
  EXPECT_EQ(store->options().analyzer.stemmer, "none");
  for (size_t i = 0; i < std::size(kQueries); ++i) {
    ExpectSameRanking(Search(reader, kQueries[i]), before[i], kQueries[i]);
  }
  for (uint32_t i = 0; i < std::size(kDocs); ++i) {
    Result<Document> doc = reader->ReadDocument(i);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    EXPECT_EQ(doc->id, kDocs[i].id);
    EXPECT_EQ(doc->title, kDocs[i].title);
    EXPECT_EQ(doc->text, kDocs[i].text);
    EXPECT_EQ(Lookup(*reader, kDocs[i].id), i);
  }
  EXPECT_TRUE(reader->ReadDocument(5).status().IsNotFound());
  EXPECT_EQ(Lookup(*reader, "nope"), std::nullopt);

  // A writer opened later continues the doc id and segment counters.
  std::unique_ptr<IndexWriter> writer = OpenWriter(store);
  ASSERT_NE(writer, nullptr);
  ExpectOk(writer->Add({"d6", "", "apple"}));
  ExpectOk(writer->Commit());
  reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Lookup(*reader, "d6"), 5u);
  ASSERT_EQ(reader->segments().size(), 3u);
  EXPECT_EQ(reader->segments()[2].base, 5u);
}

// ---------------------------------------------------------- segmentation

// Documents of random words from a skewed vocabulary, so that terms have
// very different document frequencies. "zq" prefixes keep stop words out.
std::vector<Document> GeneratedCorpus(size_t count, size_t words_per_doc) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Document> docs;
  for (size_t i = 0; i < count; ++i) {
    Document doc;
    doc.id = "g";  // appends, not operator+: GCC 12 warns (-Wrestrict)
    doc.id += std::to_string(i);
    for (size_t w = 0; w < words_per_doc; ++w) {
      const auto word = static_cast<uint32_t>(2000 * u(rng) * u(rng) * u(rng));
      doc.text += "zq";
      doc.text += std::to_string(word);
      doc.text += ' ';
    }
    docs.push_back(std::move(doc));
  }
  return docs;
}

TEST_F(IndexTest, ExplicitFlushesRankLikeOneSegment) {
  const std::string one_path = (root_ / "one").string();
  const std::string many_path = (root_ / "many").string();
  std::shared_ptr<Store> one = OpenStore(one_path, Create());
  std::shared_ptr<Store> many = OpenStore(many_path, Create());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(many, nullptr);
  {
    std::unique_ptr<IndexWriter> w1 = OpenWriter(one);
    std::unique_ptr<IndexWriter> w2 = OpenWriter(many);
    ASSERT_NE(w1, nullptr);
    ASSERT_NE(w2, nullptr);
    AddAll(w1.get(), kDocs);
    for (const Document& doc : kDocs) {
      ExpectOk(w2->Add(doc));
      ExpectOk(w2->Flush());  // one document per segment
    }
    ExpectOk(w1->Commit());
    ExpectOk(w2->Commit());
    EXPECT_EQ(w1->stats().segments, 1u);
    EXPECT_EQ(w2->stats().segments, 5u);
  }
  std::shared_ptr<const IndexReader> r1 = OpenReader(one);
  std::shared_ptr<const IndexReader> r2 = OpenReader(many);
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  EXPECT_EQ(r1->stats().segments, 1u);
  EXPECT_EQ(r2->stats().segments, 5u);
  EXPECT_EQ(r1->stats().sum_lengths, r2->stats().sum_lengths);
  EXPECT_EQ(r1->stats().docs_with_terms, r2->stats().docs_with_terms);
  for (const char* q : kQueries) {
    ExpectSameRanking(Search(r2, q), Search(r1, q), q);
  }
}

TEST_F(IndexTest, SmallRamBufferRanksLikeOneSegment) {
  // ~800 docs x ~600 words x ~6 bytes = ~2.9 MB of text: with a 1 MiB
  // buffer the writer must flush at least twice on its own.
  const std::vector<Document> docs = GeneratedCorpus(800, 600);
  const std::string one_path = (root_ / "one").string();
  const std::string many_path = (root_ / "many").string();
  std::shared_ptr<Store> one = OpenStore(one_path, Create());
  std::shared_ptr<Store> many = OpenStore(many_path, Create());
  ASSERT_NE(one, nullptr);
  ASSERT_NE(many, nullptr);
  {
    std::unique_ptr<IndexWriter> w1 = OpenWriter(one);
    WriterOptions small;
    small.ram_buffer_bytes = size_t{1} << 20;
    std::unique_ptr<IndexWriter> w2 = OpenWriter(many, small);
    ASSERT_NE(w1, nullptr);
    ASSERT_NE(w2, nullptr);
    AddAll(w1.get(), docs);
    AddAll(w2.get(), docs);
    EXPECT_LT(w2->buffered_bytes(), small.ram_buffer_bytes);
    ExpectOk(w1->Commit());
    ExpectOk(w2->Commit());
    EXPECT_EQ(w1->stats().segments, 1u);
    EXPECT_GE(w2->stats().segments, 3u);
  }
  std::shared_ptr<const IndexReader> r1 = OpenReader(one);
  std::shared_ptr<const IndexReader> r2 = OpenReader(many);
  ASSERT_NE(r1, nullptr);
  ASSERT_NE(r2, nullptr);
  ASSERT_GE(r2->segments().size(), 3u);
  // Segments tile the doc id space in order.
  uint32_t next = 0;
  for (const SegmentInfo& seg : r2->segments()) {
    EXPECT_EQ(seg.base, next);
    next = seg.base + seg.count;
  }
  EXPECT_EQ(next, 800u);
  EXPECT_EQ(r1->stats().live_docs, 800u);
  EXPECT_EQ(r2->stats().live_docs, 800u);
  EXPECT_EQ(r1->stats().sum_lengths, r2->stats().sum_lengths);
  EXPECT_EQ(r1->stats().sum_lengths, 800u * 600u);
  // Common, mid and rare terms, alone and mixed.
  for (const char* q : {"zq0", "zq1 zq2", "zq17 zq250", "zq900 zq1500 zq3",
                        "zq1999 zq1998 zq0 zq0", "zq5 zq6 zq7 zq8 zq9 zq10"}) {
    const Ranked a = Search(r1, q, 20);
    EXPECT_GT(a.total_hits, 0u) << q;
    ExpectSameRanking(Search(r2, q, 20), a, q);
  }
}

// Every record of every column family of `store`, as (family, key, value).
std::vector<std::tuple<int, std::string, std::string>> Dump(const Store& store) {
  std::vector<std::tuple<int, std::string, std::string>> out;
  for (int c = static_cast<int>(Cf::kDefault); c <= static_cast<int>(Cf::kNumerics); ++c) {
    rocksdb::ColumnFamilyHandle* cf = store.cf(static_cast<Cf>(c));
    if (cf == nullptr) continue;
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(c, it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  }
  return out;
}

// Both stores hold the same records in every column family.
void ExpectSameRecords(const Store& x, const Store& y) {
  const auto a = Dump(x);
  const auto b = Dump(y);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i], b[i]) << "record " << i << " of family " << std::get<0>(a[i]);
  }
}

TEST_F(IndexTest, IngestedSegmentsHoldExactlyWhatBatchesWrite) {
  // The same adds, replacements and deletes, flushed through table-file
  // ingestion in one index and through write batches in the other, leave
  // the same records in every column family.
  StoreOptions create = Create();
  create.create_options.positions = true;
  create.create_options.fields.keyword_fields = {"tag"};
  create.create_options.fields.numeric_fields = {"year"};
  std::shared_ptr<Store> ingested = OpenStore((root_ / "ingested").string(), create);
  std::shared_ptr<Store> batched = OpenStore((root_ / "batched").string(), create);
  ASSERT_NE(ingested, nullptr);
  ASSERT_NE(batched, nullptr);
  std::vector<Document> docs = GeneratedCorpus(300, 40);
  for (size_t i = 0; i < docs.size(); ++i) {
    docs[i].keywords = {{"tag", {"t" + std::to_string(i % 7)}}};
    docs[i].numbers = {{"year", {1980.0 + static_cast<double>(i % 30)}}};
  }
  WriterOptions always;
  always.ingest_min_bytes = 0;
  always.threads = 2;
  WriterOptions never;
  never.ingest_min_bytes = SIZE_MAX;
  std::unique_ptr<IndexWriter> wi = OpenWriter(ingested, always);
  std::unique_ptr<IndexWriter> wb = OpenWriter(batched, never);
  ASSERT_NE(wi, nullptr);
  ASSERT_NE(wb, nullptr);
  std::shared_ptr<const IndexReader> before;  // a view of the first commit
  for (IndexWriter* w : {wi.get(), wb.get()}) {
    ExpectOk(w->AddBatch(std::span(docs).subspan(0, 100)));
    ExpectOk(w->Commit());
    if (w == wi.get()) before = OpenReader(ingested);
    // Replacements of committed ids, and an id twice in one buffer.
    std::vector<Document> round = {docs.begin() + 100, docs.begin() + 200};
    for (size_t i = 0; i < 10; ++i) {
      Document again = docs[i * 9];
      again.text = "zqreplaced " + again.text;
      round.push_back(again);
    }
    round.push_back(round[0]);
    ExpectOk(w->AddBatch(round));
    ExpectOk(w->Delete("g3"));
    ExpectOk(w->Delete("g150"));
    ExpectOk(w->Commit());
    ExpectOk(w->AddBatch(std::span(docs).subspan(200)));
    ExpectOk(w->Delete("g250"));
    ExpectOk(w->Commit());
  }
  EXPECT_EQ(wi->stats().ingested_segments, 3u);
  EXPECT_EQ(wb->stats().ingested_segments, 0u);
  EXPECT_EQ(wi->stats().segments, wb->stats().segments);
  ExpectSameRecords(*ingested, *batched);
  // A reader opened before later ingests keeps its view.
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->stats().live_docs, 100u);
  EXPECT_EQ(Search(before, "zqreplaced").total_hits, 0u);
  std::shared_ptr<const IndexReader> after = OpenReader(ingested);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->stats().live_docs, 297u);
  EXPECT_EQ(Search(after, "zqreplaced").total_hits, 10u);
  // Nothing is left staged.
  EXPECT_TRUE(fs::is_empty(root_ / "ingested" / "ingest"));
}

TEST_F(IndexTest, ManyBatchesOnParkedThreadsEqualAddingOneByOne) {
  // The analysis threads are started by the first AddBatch and reused by
  // the next ones (of every size, an invalid document stopping one of
  // them); the index equals one built by Add() alone.
  std::shared_ptr<Store> pooled = OpenStore((root_ / "pooled").string(), Create());
  std::shared_ptr<Store> serial = OpenStore((root_ / "serial").string(), Create());
  ASSERT_NE(pooled, nullptr);
  ASSERT_NE(serial, nullptr);
  // ~400 x 600 words: the 1 MiB buffer flushes in the middle of batches.
  const std::vector<Document> docs = GeneratedCorpus(400, 600);
  WriterOptions three;
  three.threads = 3;
  three.ram_buffer_bytes = size_t{1} << 20;
  WriterOptions one = three;
  one.threads = 1;
  std::unique_ptr<IndexWriter> wp = OpenWriter(pooled, three);
  std::unique_ptr<IndexWriter> ws = OpenWriter(serial, one);
  ASSERT_NE(wp, nullptr);
  ASSERT_NE(ws, nullptr);
  size_t at = 0;
  for (size_t size : {size_t{0}, size_t{1}, size_t{2}, size_t{31}, size_t{33}, size_t{64},
                      size_t{100}, size_t{169}}) {
    ExpectOk(wp->AddBatch(std::span(docs).subspan(at, size)));
    AddAll(ws.get(), std::span(docs).subspan(at, size));
    at += size;
  }
  ASSERT_EQ(at, docs.size());
  // A batch with an invalid document adds the ones before it, in both.
  std::vector<Document> bad(docs.begin(), docs.begin() + 40);
  for (Document& d : bad) d.id += "x";
  bad[37].id.clear();
  EXPECT_TRUE(wp->AddBatch(bad).IsInvalidArgument());
  for (size_t i = 0; i < 37; ++i) ExpectOk(ws->Add(bad[i]));
  ExpectOk(wp->Commit());
  ExpectOk(ws->Commit());
  EXPECT_EQ(wp->stats().added, 437u);
  EXPECT_GE(wp->stats().segments, 2u);
  EXPECT_EQ(wp->stats().segments, ws->stats().segments);
  ExpectSameRecords(*pooled, *serial);
}

// ---------------------------------------------------------- replacement

TEST_F(IndexTest, DuplicateIdInOneBufferReplacesTheEarlierDocument) {
  std::shared_ptr<Store> store = OpenStore(path_, Create());
  ASSERT_NE(store, nullptr);
  std::unique_ptr<IndexWriter> writer = OpenWriter(store);
  ASSERT_NE(writer, nullptr);
  ExpectOk(writer->Add({"x", "", "old alpha"}));
  ExpectOk(writer->Add({"y", "", "other gamma"}));
  ExpectOk(writer->Add({"x", "", "new beta"}));
  EXPECT_EQ(writer->stats().added, 3u);
  EXPECT_EQ(writer->stats().replaced, 1u);
  ExpectOk(writer->Commit());

  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 2u);
  EXPECT_EQ(reader->stats().deleted_docs, 1u);
  EXPECT_EQ(reader->stats().docs_with_terms, 2u);
  EXPECT_EQ(reader->stats().sum_lengths, 4u);  // the replaced doc is out
  EXPECT_EQ(Lookup(*reader, "x"), 2u);
  EXPECT_EQ(Lookup(*reader, "y"), 1u);
  EXPECT_TRUE(reader->IsDeleted(0));
  EXPECT_FALSE(reader->IsDeleted(2));
  const Ranked old = Search(reader, "old alpha");
  EXPECT_TRUE(old.hits.empty());
  EXPECT_EQ(old.total_hits, 0u);
  const Ranked now = Search(reader, "beta");
  ASSERT_EQ(now.hits.size(), 1u);
  EXPECT_EQ(now.hits[0].doc, 2u);
  // The replaced document is still stored (deleted, not erased).
  Result<Document> gone = reader->ReadDocument(0);
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_EQ(gone->text, "old alpha");
}

TEST_F(IndexTest, DuplicateIdAcrossSegmentsAndCommitsReplaces) {
  std::shared_ptr<Store> store = OpenStore(path_, Create());
  ASSERT_NE(store, nullptr);
  {
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    ExpectOk(writer->Add({"x", "", "first alpha"}));   // 0
    ExpectOk(writer->Add({"y", "", "keeper"}));        // 1
    ExpectOk(writer->Flush());
    ExpectOk(writer->Add({"x", "", "second beta"}));   // 2, replaces 0
    ExpectOk(writer->Commit());
    EXPECT_EQ(writer->stats().replaced, 1u);
  }
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().segments, 2u);
  EXPECT_EQ(reader->stats().live_docs, 2u);
  EXPECT_EQ(reader->stats().deleted_docs, 1u);
  EXPECT_EQ(Lookup(*reader, "x"), 2u);
  EXPECT_EQ(Search(reader, "first alpha").total_hits, 0u);
  EXPECT_EQ(Search(reader, "second beta").total_hits, 1u);

  // A later writer session: replace the committed x, and then replace that
  // replacement again inside the same buffer.
  {
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    ExpectOk(writer->Add({"x", "", "third gamma"}));   // 3, replaces 2
    ExpectOk(writer->Add({"x", "", "fourth delta"}));  // 4, replaces 3
    ExpectOk(writer->Commit());
    EXPECT_EQ(writer->stats().replaced, 2u);
  }
  reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 2u);
  EXPECT_EQ(reader->stats().deleted_docs, 3u);
  EXPECT_EQ(Lookup(*reader, "x"), 4u);
  EXPECT_EQ(Lookup(*reader, "y"), 1u);
  for (uint32_t doc : {0u, 2u, 3u}) EXPECT_TRUE(reader->IsDeleted(doc)) << doc;
  for (uint32_t doc : {1u, 4u}) EXPECT_FALSE(reader->IsDeleted(doc)) << doc;
  for (const char* q : {"first", "alpha", "second", "beta", "third", "gamma"}) {
    EXPECT_EQ(Search(reader, q).total_hits, 0u) << q;
  }
  const Ranked now = Search(reader, "fourth delta keeper");
  EXPECT_EQ(now.total_hits, 2u);
  EXPECT_EQ(Ids(*reader, now).size(), 2u);
  Ranked x = Search(reader, "delta");
  ASSERT_EQ(x.hits.size(), 1u);
  EXPECT_EQ(x.hits[0].doc, 4u);

  // Survives reopen.
  reader.reset();
  store.reset();
  store = OpenStore(path_, Existing());
  ASSERT_NE(store, nullptr);
  reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().deleted_docs, 3u);
  EXPECT_EQ(Lookup(*reader, "x"), 4u);
}

// ------------------------------------------------------ uncommitted data

TEST_F(IndexTest, UncommittedDocumentsAreGoneAfterReopen) {
  {
    std::shared_ptr<Store> store = OpenStore(path_, Create());
    ASSERT_NE(store, nullptr);
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    AddAll(writer.get(), std::span(kDocs).first(2));
    ExpectOk(writer->Commit());
    AddAll(writer.get(), std::span(kDocs).subspan(2));
    // A document replacing a committed one, also uncommitted: d1 must stay.
    ExpectOk(writer->Add({"d1", "", "replacement zebra"}));
    EXPECT_EQ(writer->buffered_documents(), 4u);
    writer.reset();  // no Commit()

    // Not visible to a reader in the same process either.
    std::shared_ptr<const IndexReader> reader = OpenReader(store);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->stats().live_docs, 2u);
  }
  std::shared_ptr<Store> store = OpenStore(path_, Existing());
  ASSERT_NE(store, nullptr);
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 2u);
  EXPECT_EQ(reader->stats().deleted_docs, 0u);
  EXPECT_EQ(reader->stats().segments, 1u);
  EXPECT_EQ(reader->doc_id_limit(), 2u);
  EXPECT_EQ(Lookup(*reader, "d1"), 0u);
  EXPECT_EQ(Lookup(*reader, "d3"), std::nullopt);
  EXPECT_EQ(Search(reader, "date").total_hits, 0u);
  EXPECT_EQ(Search(reader, "zebra").total_hits, 0u);
  EXPECT_EQ(Search(reader, "apple").total_hits, 1u);
  EXPECT_TRUE(reader->ReadDocument(2).status().IsNotFound());

  // The next writer hands out id 2 again: nothing of the lost buffer
  // advanced the counters.
  std::unique_ptr<IndexWriter> writer = OpenWriter(store);
  ASSERT_NE(writer, nullptr);
  ExpectOk(writer->Add({"d9", "", "late"}));
  ExpectOk(writer->Commit());
  reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(Lookup(*reader, "d9"), 2u);
}

// ------------------------------------------------------- refused input

TEST_F(IndexTest, AddRefusesInvalidDocumentsAndLeavesTheIndexAlone) {
  std::shared_ptr<Store> store = OpenStore(path_, Create());
  ASSERT_NE(store, nullptr);
  std::unique_ptr<IndexWriter> writer = OpenWriter(store);
  ASSERT_NE(writer, nullptr);
  ExpectOk(writer->Add({"x", "", "existing text"}));
  ExpectOk(writer->Commit());
  ExpectOk(writer->Add({"buffered", "", "waiting"}));

  const std::string huge((size_t{1} << 20) + 1, 'a');
  const std::vector<Document> bad = {
      {"", "title", "text"},           // empty id
      {"x", "", ""},                   // empty doc (would replace x)
      {"big", "", huge},               // over 1 MiB
      {"big", huge.substr(0, 600000), huge.substr(0, 600000)},  // together
      {"x", "", huge.substr(0, (size_t{1} << 20))},  // 1 MiB + the id
  };
  for (const Document& doc : bad) {
    Status s = writer->Add(doc);
    EXPECT_TRUE(s.IsInvalidArgument())
        << "id '" << doc.id << "' size " << doc.text.size() << ": " << s.ToString();
  }
  EXPECT_EQ(writer->stats().added, 2u);
  EXPECT_EQ(writer->stats().replaced, 0u);
  EXPECT_EQ(writer->buffered_documents(), 1u);

  // AddBatch stops at the first invalid document, keeping those before it.
  const std::vector<Document> batch = {
      {"b1", "", "batch one"}, {"", "", "no id"}, {"b3", "", "batch three"}};
  EXPECT_TRUE(writer->AddBatch(batch).IsInvalidArgument());
  EXPECT_EQ(writer->buffered_documents(), 2u);
  ExpectOk(writer->Commit());

  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 3u);  // x, buffered, b1
  EXPECT_EQ(reader->stats().deleted_docs, 0u);
  EXPECT_EQ(Lookup(*reader, "x"), 0u);
  EXPECT_EQ(Lookup(*reader, "big"), std::nullopt);
  EXPECT_EQ(Lookup(*reader, "b3"), std::nullopt);
  EXPECT_EQ(Search(reader, "existing").total_hits, 1u);
  Result<Document> x = reader->ReadDocument(0);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->text, "existing text");
}

TEST_F(IndexTest, DocumentOfExactlyTheLimitIsAccepted) {
  std::shared_ptr<Store> store = OpenStore(path_, Create());
  ASSERT_NE(store, nullptr);
  std::unique_ptr<IndexWriter> writer = OpenWriter(store);
  ASSERT_NE(writer, nullptr);
  // id (3 bytes) + text = 1 MiB: words "zqa " and padding.
  std::string text;
  while (text.size() + 4 <= (size_t{1} << 20) - 3) text += "zqa ";
  text.append((size_t{1} << 20) - 3 - text.size(), ' ');
  ASSERT_EQ(text.size() + 3, size_t{1} << 20);
  ExpectOk(writer->Add({"big", "", text}));
  text.push_back('b');
  EXPECT_TRUE(writer->Add({"big", "", text}).IsInvalidArgument());
  ExpectOk(writer->Commit());
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 1u);
  EXPECT_EQ(reader->stats().sum_lengths, ((size_t{1} << 20) - 3) / 4);
  EXPECT_EQ(Search(reader, "zqa").total_hits, 1u);
}

TEST_F(IndexTest, OneWriterPerStore) {
  std::shared_ptr<Store> store = OpenStore(path_, Create());
  ASSERT_NE(store, nullptr);
  std::unique_ptr<IndexWriter> first = OpenWriter(store);
  ASSERT_NE(first, nullptr);
  Result<std::unique_ptr<IndexWriter>> second =
      IndexWriter::Open(store, WriterOptions());
  EXPECT_EQ(second.status().code(), Status::Code::kUnavailable)
      << second.status().ToString();
  // Refusing the second must not release the first's hold.
  Result<std::unique_ptr<IndexWriter>> third =
      IndexWriter::Open(store, WriterOptions());
  EXPECT_EQ(third.status().code(), Status::Code::kUnavailable);
  ExpectOk(first->Add({"a", "", "still works"}));
  ExpectOk(first->Commit());
  first.reset();
  // Once the first is gone, another may open.
  std::unique_ptr<IndexWriter> again = OpenWriter(store);
  EXPECT_NE(again, nullptr);
}

TEST_F(IndexTest, WriterRefusesTooSmallRamBuffer) {
  std::shared_ptr<Store> store = OpenStore(path_, Create());
  ASSERT_NE(store, nullptr);
  WriterOptions options;
  options.ram_buffer_bytes = (size_t{1} << 20) - 1;
  EXPECT_TRUE(IndexWriter::Open(store, options).status().IsInvalidArgument());
  // The refusal did not keep the writer slot.
  EXPECT_NE(OpenWriter(store), nullptr);
}

TEST_F(IndexTest, ReadOnlyStoreRefusesAWriterButReads) {
  {
    std::shared_ptr<Store> store = OpenStore(path_, Create());
    ASSERT_NE(store, nullptr);
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    AddAll(writer.get(), kDocs);
    ExpectOk(writer->Commit());
  }
  StoreOptions options = Existing();
  options.read_only = true;
  std::shared_ptr<Store> store = OpenStore(path_, options);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->read_only());
  Result<std::unique_ptr<IndexWriter>> writer =
      IndexWriter::Open(store, WriterOptions());
  EXPECT_TRUE(writer.status().IsInvalidArgument()) << writer.status().ToString();
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 5u);
  EXPECT_EQ(Search(reader, "apple").total_hits, 2u);
}

// ------------------------------------------------------- Store::Open

TEST_F(IndexTest, OpenMissingFolderWithoutCreateIsNotFound) {
  Result<std::shared_ptr<Store>> store = Store::Open(path_, Existing());
  EXPECT_TRUE(store.status().IsNotFound()) << store.status().ToString();
  EXPECT_FALSE(fs::exists(path_));
  // Read-only never creates, even when asked to.
  StoreOptions options = Create();
  options.read_only = true;
  store = Store::Open(path_, options);
  EXPECT_TRUE(store.status().IsNotFound()) << store.status().ToString();
  EXPECT_FALSE(fs::exists(path_));
  // An empty folder holds no index either.
  fs::create_directories(path_);
  store = Store::Open(path_, Existing());
  EXPECT_TRUE(store.status().IsNotFound()) << store.status().ToString();
}

TEST_F(IndexTest, OpenRefusesInvalidCreateOptions) {
  StoreOptions options = Create();
  options.create_options.k1 = -1;
  Result<std::shared_ptr<Store>> store = Store::Open(path_, options);
  EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(IndexTest, OpenFolderWithAnUnrelatedFileIsInvalidArgument) {
  fs::create_directories(path_);
  const fs::path file = fs::path(path_) / "notes.txt";
  { std::ofstream(file) << "my notes\n"; }
  for (bool create : {false, true}) {
    StoreOptions options = create ? Create() : Existing();
    Result<std::shared_ptr<Store>> store = Store::Open(path_, options);
    EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
    EXPECT_NE(store.status().message().find("not a Cascade index"),
              std::string::npos)
        << store.status().ToString();
  }
  // Left as it was.
  EXPECT_EQ(std::distance(fs::directory_iterator(path_), fs::directory_iterator()), 1);
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "my notes");

  // A plain file where the folder should be.
  Result<std::shared_ptr<Store>> store = Store::Open(file.string(), Create());
  EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
  EXPECT_NE(store.status().message().find("not a Cascade index"), std::string::npos);
}

TEST_F(IndexTest, OpenPlainRocksDbIsInvalidArgument) {
  // Only the default column family, with a key in it.
  WithRawDb(path_, {kCfDefault}, [](rocksdb::DB* db, auto& handles) {
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), "hello", "world").ok());
  });
  for (bool create : {false, true}) {
    Result<std::shared_ptr<Store>> store =
        Store::Open(path_, create ? Create() : Existing());
    EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
    EXPECT_NE(store.status().message().find("not a Cascade index"),
              std::string::npos)
        << store.status().ToString();
  }
  // Still a database with just our key: Open added nothing.
  WithRawDb(path_, {kCfDefault}, [](rocksdb::DB* db, auto& handles) {
    std::string value;
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "hello", &value).ok());
    EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), std::string(kMetaFormatVersion),
                        &value).IsNotFound());
  });
}

TEST_F(IndexTest, OpenRocksDbWithOurColumnFamiliesButNoMetadataIsInvalidArgument) {
  WithRawDb(path_, AllCfs(), [](rocksdb::DB*, auto&) {});
  Result<std::shared_ptr<Store>> store = Store::Open(path_, Existing());
  EXPECT_TRUE(store.status().IsInvalidArgument()) << store.status().ToString();
  EXPECT_NE(store.status().message().find("not a Cascade index"), std::string::npos)
      << store.status().ToString();
}

TEST_F(IndexTest, OpenNewerFormatVersionIsNotSupported) {
  {
    std::shared_ptr<Store> store = OpenStore(path_, Create());
    ASSERT_NE(store, nullptr);
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    AddAll(writer.get(), kDocs);
    ExpectOk(writer->Commit());
  }
  auto set_version = [&](const std::string& version) {
    WithRawDb(path_, AllCfs(), [&](rocksdb::DB* db, auto& handles) {
      std::string value;
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), handles[0],
                          std::string(kMetaFormatVersion), &value).ok());
      EXPECT_EQ(value, std::to_string(kFormatVersion));  // as written
      EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0],
                          std::string(kMetaFormatVersion), version).ok());
    });
  };
  set_version("99");
  for (bool read_only : {false, true}) {
    StoreOptions options = Existing();
    options.read_only = read_only;
    Result<std::shared_ptr<Store>> store = Store::Open(path_, options);
    EXPECT_TRUE(store.status().IsNotSupported()) << store.status().ToString();
    EXPECT_NE(store.status().message().find("99"), std::string::npos)
        << store.status().ToString();
  }
  // An older format (version 1 postings lack block-max metadata) is refused
  // with a request to re-index, not misread.
  WithRawDb(path_, AllCfs(), [&](rocksdb::DB* db, auto& handles) {
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0],
                        std::string(kMetaFormatVersion), "1").ok());
  });
  for (bool read_only : {false, true}) {
    StoreOptions options = Existing();
    options.read_only = read_only;
    Result<std::shared_ptr<Store>> store = Store::Open(path_, options);
    EXPECT_TRUE(store.status().IsNotSupported()) << store.status().ToString();
    EXPECT_NE(store.status().message().find("re-index"), std::string::npos)
        << store.status().ToString();
  }
  // Only the version was in the way: put it back and the index opens.
  WithRawDb(path_, AllCfs(), [&](rocksdb::DB* db, auto& handles) {
    EXPECT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0],
                        std::string(kMetaFormatVersion),
                        std::to_string(kFormatVersion)).ok());
  });
  std::shared_ptr<Store> store = OpenStore(path_, Existing());
  ASSERT_NE(store, nullptr);
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->stats().live_docs, 5u);
}

// ------------------------------------------------------ persisted options

TEST_F(IndexTest, CreateOptionsArePersistedAndWinOnReopen) {
  StoreOptions create = Create();
  create.create_options.analyzer.stemmer = "english";
  create.create_options.analyzer.stopwords = false;
  create.create_options.k1 = 1.5;
  create.create_options.b = 0.6;
  create.create_options.length_norm = LengthNorm::kExact;
  {
    std::shared_ptr<Store> store = OpenStore(path_, create);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->options().analyzer.stemmer, "english");
    std::unique_ptr<IndexWriter> writer = OpenWriter(store);
    ASSERT_NE(writer, nullptr);
    ExpectOk(writer->Add({"r1", "", "The runners were running"}));
    ExpectOk(writer->Commit());
  }
  // Reopen asking for other options, creating if missing: the index's own
  // options win.
  StoreOptions other;
  other.create_if_missing = true;
  other.create_options.analyzer.stemmer = "porter";
  other.create_options.analyzer.stopwords = true;
  other.create_options.k1 = 0.9;
  other.create_options.length_norm = LengthNorm::kLucene;
  std::shared_ptr<Store> store = OpenStore(path_, other);
  ASSERT_NE(store, nullptr);
  const IndexOptions& options = store->options();
  EXPECT_EQ(options.analyzer.stemmer, "english");
  EXPECT_FALSE(options.analyzer.stopwords);
  EXPECT_DOUBLE_EQ(options.k1, 1.5);
  EXPECT_DOUBLE_EQ(options.b, 0.6);
  EXPECT_EQ(options.length_norm, LengthNorm::kExact);

  // And the writer and searcher analyse with them: stop words are indexed,
  // and "runs" stems to the same term as "running".
  std::unique_ptr<IndexWriter> writer = OpenWriter(store);
  ASSERT_NE(writer, nullptr);
  ExpectOk(writer->Add({"r2", "", "She runs"}));
  ExpectOk(writer->Commit());
  writer.reset();
  std::shared_ptr<const IndexReader> reader = OpenReader(store);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->options().analyzer.stemmer, "english");
  EXPECT_EQ(Search(reader, "the").total_hits, 1u);
  EXPECT_EQ(Search(reader, "run").total_hits, 2u);
  // "The runners were running" = the, runner, were, run: 4 terms; "She
  // runs" = she, run: 2 terms.
  EXPECT_EQ(reader->stats().sum_lengths, 6u);

  // The metadata key holds them too, as IndexOptions text.
  std::string raw;
  rocksdb::Status s = store->db()->Get(rocksdb::ReadOptions(),
                                       store->cf(Cf::kDefault),
                                       std::string(kMetaOptions), &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Result<IndexOptions> parsed = ParseIndexOptions(raw);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->analyzer.stemmer, "english");
}

}  // namespace
}  // namespace cascade::index
