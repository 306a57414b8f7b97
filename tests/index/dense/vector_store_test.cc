// Vectors in a real RocksDB index: schema persistence, inline JSON vectors,
// search after reopen, deletes and replacements, rejected input leaving the
// index unchanged, IVF training and lists, and new documents after
// training. Fixture: ten documents d0..d9 whose 4-d vectors are spread on
// two clusters (e0 side and e1 side), so expected neighbours are obvious.
#include "index/dense/vector_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "index/document_json.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/store.h"

namespace cascade::dense {
namespace {

namespace fs = std::filesystem;
using index::Document;
using index::IndexReader;
using index::IndexWriter;
using index::Store;
using index::StoreOptions;

// d<i>: (1, i/10, 0, 0) for even i, (0, 0, 1, i/10) for odd i.
std::vector<float> FixtureVector(int i) {
  const float t = static_cast<float>(i) / 10;
  return i % 2 == 0 ? std::vector<float>{1, t, 0, 0} : std::vector<float>{0, 0, 1, t};
}

Document Doc(int i) {
  Document d;
  d.id = "d" + std::to_string(i);
  d.text = "document number " + std::to_string(i) + (i % 2 ? " odd" : " even");
  d.vectors = {{"emb", FixtureVector(i)}};
  return d;
}

class VectorStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("vector_store_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    path_ = (root_ / "index").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::shared_ptr<Store> Create(std::string_view spec = "emb:4:dot") {
    StoreOptions options;
    options.create_if_missing = true;
    options.block_cache_mb = 8;
    auto field = ParseVectorFieldSpec(spec);
    EXPECT_TRUE(field.ok());
    options.create_options.vector_fields.push_back(*field);
    auto store = Store::Open(path_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return *store;
  }
  std::shared_ptr<Store> Reopen(bool read_only = false) {
    StoreOptions options;
    options.read_only = read_only;
    options.block_cache_mb = 8;
    auto store = Store::Open(path_, options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return *store;
  }
  static std::unique_ptr<IndexWriter> Writer(std::shared_ptr<Store> store) {
    auto writer = IndexWriter::Open(std::move(store), {});
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    return std::move(*writer);
  }
  // The ids of the k nearest docs to q.
  static std::vector<std::string> Knn(const std::shared_ptr<Store>& store,
                                      std::vector<float> q, size_t k, size_t nprobe = 0) {
    auto reader = IndexReader::Open(store);
    EXPECT_TRUE(reader.ok());
    auto index = LoadVectorIndex(*store, **reader, "emb");
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    VectorSearchParams params;
    params.k = k;
    params.nprobe = nprobe;
    auto hits = (*index)->Search(q, params);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::vector<std::string> ids;
    for (const Neighbor& h : *hits) {
      auto doc = (*reader)->ReadDocument(h.doc);
      EXPECT_TRUE(doc.ok());
      ids.push_back(doc->id);
    }
    return ids;
  }

  fs::path root_;
  std::string path_;
};

TEST_F(VectorStoreTest, SchemaPersistsAndSearchSurvivesReopen) {
  {
    auto store = Create("emb:4:dot");
    auto writer = Writer(store);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Add(Doc(i)).ok());
    ASSERT_TRUE(writer->Commit().ok());
    EXPECT_EQ(writer->stats().vectors, 10u);
  }
  auto store = Reopen(/*read_only=*/true);
  ASSERT_EQ(store->options().vector_fields.size(), 1u);
  EXPECT_EQ(FormatVectorFieldSpec(store->options().vector_fields[0]), "emb:4:dot:f32");
  // q = (1, 1, 0, 0): even docs score 1 + i/10, so d8, d6, d4; odd score 0.
  EXPECT_EQ(Knn(store, {1, 1, 0, 0}, 3), (std::vector<std::string>{"d8", "d6", "d4"}));
  // q = (0, 0, 0, 1): odd docs by i.
  EXPECT_EQ(Knn(store, {0, 0, 0, 1}, 2), (std::vector<std::string>{"d9", "d7"}));
  EXPECT_EQ(FindVectorField(*store, "nope").status().code(), Status::Code::kNotFound);
}

TEST_F(VectorStoreTest, DeletesAndReplacementsApplyToVectors) {
  auto store = Create();
  auto writer = Writer(store);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Add(Doc(i)).ok());
  ASSERT_TRUE(writer->Commit().ok());
  ASSERT_TRUE(writer->Delete("d8").ok());
  // d6 replaced: now on the odd side, far up its axis.
  Document moved = Doc(6);
  moved.vectors[0].second = {0, 0, 1, 5};
  ASSERT_TRUE(writer->Add(moved).ok());
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(Knn(store, {1, 1, 0, 0}, 2), (std::vector<std::string>{"d4", "d2"}));
  EXPECT_EQ(Knn(store, {0, 0, 0, 1}, 2), (std::vector<std::string>{"d6", "d9"}));
  // Every live doc once, deleted ones never.
  EXPECT_EQ(Knn(store, {1, 1, 1, 1}, 100).size(), 9u);
}

TEST_F(VectorStoreTest, BadVectorsAreRejectedAndNothingIsIndexed) {
  auto store = Create("emb:4:cosine");
  auto writer = Writer(store);
  ASSERT_TRUE(writer->Add(Doc(0)).ok());
  struct Bad {
    std::vector<std::pair<std::string, std::vector<float>>> vectors;
    std::string message;
  };
  const float nan = std::nanf("");
  const std::vector<Bad> bad = {
      {{{"emb", {1, 2, 3}}}, "has dimension 3, the field's is 4"},
      {{{"emb", {1, nan, 0, 0}}}, "value 1 is not finite"},
      {{{"emb", {1, INFINITY, 0, 0}}}, "value 1 is not finite"},
      {{{"emb", {0, 0, 0, 0}}}, "nonzero norm"},
      {{}, "missing vector \"emb\""},
      {{{"emb", {1, 0, 0, 0}}, {"other", {1}}}, "no vector field \"other\""},
      {{{"emb", {1, 0, 0, 0}}, {"emb", {1, 0, 0, 0}}}, "given twice"},
  };
  for (const Bad& b : bad) {
    Document doc = Doc(1);
    doc.vectors = b.vectors;
    Status s = writer->Add(doc);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << b.message;
    EXPECT_NE(s.message().find(b.message), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("d1"), std::string::npos) << s.message();
    EXPECT_EQ(writer->CheckDocument(doc).code(), Status::Code::kInvalidArgument);
  }
  EXPECT_EQ(writer->buffered_documents(), 1u);
  ASSERT_TRUE(writer->Commit().ok());
  auto reader = IndexReader::Open(store);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->stats().live_docs, 1u);
  EXPECT_EQ(Knn(store, {1, 1, 1, 1}, 10), (std::vector<std::string>{"d0"}));
  // An index without vector fields refuses vectors.
  reader->reset();
  writer.reset();
  store.reset();
  fs::remove_all(path_);
  StoreOptions plain;
  plain.create_if_missing = true;
  auto bare = Store::Open(path_, plain);
  ASSERT_TRUE(bare.ok());
  auto bare_writer = Writer(*bare);
  Status s = bare_writer->Add(Doc(0));
  EXPECT_NE(s.message().find("created without vector fields"), std::string::npos) << s.message();
}

TEST_F(VectorStoreTest, JsonVectors) {
  index::DocumentJsonParser parser;
  Document doc;
  std::string problem;
  ASSERT_TRUE(parser.Parse(R"({"_id":"a","text":"x","vectors":{"emb":[1,2.5,-3e2,0]}})", &doc,
                           &problem))
      << problem;
  ASSERT_EQ(doc.vectors.size(), 1u);
  EXPECT_EQ(doc.vectors[0].first, "emb");
  EXPECT_EQ(doc.vectors[0].second, (std::vector<float>{1, 2.5f, -300, 0}));
  ASSERT_TRUE(parser.Parse(R"({"_id":"a","text":"x"})", &doc, &problem));
  EXPECT_TRUE(doc.vectors.empty());
  for (auto [json, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"_id":"a","text":"x","vectors":[1,2]})", "expected an object of named vectors"},
           {R"({"_id":"a","text":"x","vectors":{"emb":"1,2"}})", "expected an array of numbers"},
           {R"({"_id":"a","text":"x","vectors":{"emb":[1,"2"]}})", "value 1: expected a number"},
           {R"({"_id":"a","text":"x","vectors":{"emb":[1,1e39]}})", "value 1 is not a finite float"},
       }) {
    EXPECT_FALSE(parser.Parse(json, &doc, &problem)) << json;
    EXPECT_NE(problem.find(message), std::string::npos) << problem;
  }
}

TEST_F(VectorStoreTest, StorageEncodingsSearchAlike) {
  for (const char* spec : {"emb:4:l2:f16", "emb:4:l2:int8"}) {
    SCOPED_TRACE(spec);
    fs::remove_all(path_);
    {
      auto store = Create(spec);
      auto writer = Writer(store);
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Add(Doc(i)).ok());
      ASSERT_TRUE(writer->Commit().ok());
    }
    auto store = Reopen();
    // Nearest (l2) to (1, 0.42, 0, 0): d4, then d2 or d6 (0.02 apart: d6
    // at 0.18, d2 at 0.22).
    EXPECT_EQ(Knn(store, {1, 0.42f, 0, 0}, 3), (std::vector<std::string>{"d4", "d6", "d2"}));
  }
}

TEST_F(VectorStoreTest, IvfTrainingListsAndLaterDocuments) {
  auto store = Create("emb:4:cosine");
  auto writer = Writer(store);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Add(Doc(i)).ok());
  ASSERT_TRUE(writer->Commit().ok());
  ASSERT_TRUE(writer->Delete("d2").ok());
  ASSERT_TRUE(writer->Commit().ok());
  IvfTrainOptions options;
  options.lists = 2;
  options.kmeans.seed = 5;
  EXPECT_EQ(TrainIvf(store, "emb", IvfTrainOptions{.lists = 20}).status().code(),
            Status::Code::kInvalidArgument);  // 9 live vectors
  auto report = TrainIvf(store, "emb", options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->vectors, 9u);
  EXPECT_EQ(report->lists, 2u);
  // The two clusters became the two lists: one probe finds a whole side.
  EXPECT_EQ(Knn(store, {1, 1, 0, 0}, 3, 1), (std::vector<std::string>{"d8", "d6", "d4"}));
  EXPECT_EQ(Knn(store, {1, 1, 0, 0}, 3, 2), Knn(store, {1, 1, 0, 0}, 3, 0));
  // A document added after training goes to its nearest list.
  Document late;
  late.id = "late";
  late.text = "late";
  late.vectors = {{"emb", {0, 0, 1, 2}}};
  ASSERT_TRUE(writer->Add(late).ok());
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(Knn(store, {0, 0, 0.5f, 1}, 1, 1), (std::vector<std::string>{"late"}));
  // Lists persist across reopen, with stats showing both lists used.
  writer.reset();
  store.reset();
  store = Reopen(/*read_only=*/true);
  auto reader = IndexReader::Open(store);
  ASSERT_TRUE(reader.ok());
  auto index = LoadVectorIndex(*store, **reader, "emb");
  ASSERT_TRUE(index.ok());
  const IvfStats stats = (*index)->ivf_stats();
  EXPECT_EQ(stats.lists, 2u);
  EXPECT_EQ(stats.vectors, 10u);
  EXPECT_EQ(stats.empty_lists, 0u);
  EXPECT_EQ(stats.min_size + stats.max_size, 10u);
  EXPECT_EQ(Knn(store, {0, 0, 0.5f, 1}, 1, 1), (std::vector<std::string>{"late"}));
}

TEST_F(VectorStoreTest, AutoTrainPastThreshold) {
  auto store = Create("emb:4:dot:f32:8");
  auto writer = Writer(store);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer->Add(Doc(i)).ok());
  ASSERT_TRUE(writer->Commit().ok());
  auto trained = MaybeAutoTrainIvf(store);
  ASSERT_TRUE(trained.ok());
  EXPECT_TRUE(trained->empty());  // 5 < 8
  for (int i = 5; i < 10; ++i) ASSERT_TRUE(writer->Add(Doc(i)).ok());
  ASSERT_TRUE(writer->Commit().ok());
  trained = MaybeAutoTrainIvf(store);
  ASSERT_TRUE(trained.ok());
  EXPECT_EQ(*trained, (std::vector<std::string>{"emb"}));
  auto reader = IndexReader::Open(store);
  auto index = LoadVectorIndex(*store, **reader, "emb");
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE((*index)->has_ivf());
  EXPECT_EQ((*index)->size(), 10u);
  trained = MaybeAutoTrainIvf(store);
  ASSERT_TRUE(trained.ok());
  EXPECT_TRUE(trained->empty());  // trained already
}

}  // namespace
}  // namespace cascade::dense
