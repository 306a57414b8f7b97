// The reranking cascade through the embedded library, on a real index in a
// temp folder with the fixture models of tests/data/hf-bert: TILDE weights
// stored at index time (from the weigher, or given with the documents),
// the tilde and ce stages, explain, budgets, truncate versus chunk, the
// index's default cascade, and bad specs. Also what needs the internal
// hooks of query/engine_internal.h: a failing background refresh.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cascade/engine.h"
#include "query/engine_internal.h"
#include "index/index_reader.h"
#include "index/store.h"
#include "rerank/neural_model.h"
#include "rerank/tilde.h"
#include "rerank/tilde_query.h"

namespace cascade {
namespace {

namespace fs = std::filesystem;

const std::string kData = std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/";
const std::string kTilde = kData + "tildev2";
const std::string kCrossEncoder = kData + "cross-encoder";

std::vector<Document> Docs() {
  return {
      {"d1", "Rocket engines", "liquid rocket engines burn fuel and oxidizer", {}},
      {"d2", "Solid boosters", "solid rocket boosters give thrust at launch", {}},
      {"d3", "Sailing", "a boat with sails crosses the harbor", {}},
      {"d4", "Jet engines", "jet engines compress air before burning fuel", {}},
      {"d5", "Orbits", "a rocket reaches orbit when it is fast enough", {}},
      {"d6", "Fuel", "kerosene is a common rocket fuel", {}},
      {"d7", "Harbor", "ships anchor in the harbor", {}},
      {"d8", "Launch pads", "rockets launch from pads near the coast", {}},
  };
}

std::string Passage(const Document& d) { return d.title + " " + d.text; }

class CascadeEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::path(::testing::TempDir()) /
             ("cascade_engine_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(path_);
  }
  void TearDown() override { fs::remove_all(path_); }

  std::unique_ptr<Index> Open(OpenOptions options) {
    options.device = "cpu";
    auto index = Index::Open(path_, options);
    EXPECT_TRUE(index.ok()) << index.status().ToString();
    return index.ok() ? std::move(index).value() : nullptr;
  }

  std::unique_ptr<Index> Build(const std::vector<Document>& docs,
                               OpenOptions options) {
    options.create_if_missing = true;
    auto index = Open(options);
    if (!index) return nullptr;
    EXPECT_TRUE(index->AddBatch(docs).ok());
    EXPECT_TRUE(index->Commit().ok());
    return index;
  }

  std::string path_;
};

TEST_F(CascadeEngineTest, StoredWeightsEqualTheWeighersOutputWithinHalfAStep) {
  const std::vector<Document> docs = Docs();
  {
    OpenOptions options;
    options.tilde_model = kTilde;
    auto index = Build(docs, options);
    ASSERT_NE(index, nullptr);
    EXPECT_TRUE(index->Stats().tilde);
  }
  // What the weigher says, max-pooled per token.
  rerank::ModelOptions model_options;
  model_options.device = rerank::Device::kCpu;
  auto model = rerank::NeuralModel::Open(kTilde, model_options);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<std::string> passages;
  for (const Document& d : docs) passages.push_back(Passage(d));
  auto expected = rerank::WeighPassages(**model, passages);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();
  float max_weight = 0;
  for (const auto& list : *expected) {
    for (const auto& [id, w] : list) max_weight = std::max(max_weight, w);
  }

  index::StoreOptions store_options;
  store_options.read_only = true;
  auto store = index::Store::Open(path_, store_options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto reader = index::IndexReader::Open(*store);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE((*reader)->tilde_scale().has_value());
  const float scale = *(*reader)->tilde_scale();
  EXPECT_NEAR(scale, max_weight / 255, 1e-7);  // the largest weight is code 255
  std::vector<uint32_t> ids(docs.size());
  for (uint32_t i = 0; i < ids.size(); ++i) ids[i] = i;
  std::vector<std::optional<std::string>> stored;
  ASSERT_TRUE((*reader)->ReadTermWeights(ids, &stored).ok());
  size_t compared = 0;
  for (size_t d = 0; d < docs.size(); ++d) {
    SCOPED_TRACE(docs[d].id);
    std::map<int32_t, float> want((*expected)[d].begin(), (*expected)[d].end());
    // The fixture model is random: ReLU zeroes many passages' every token,
    // and a passage with no weight above half a step stores nothing.
    const bool any = std::any_of(want.begin(), want.end(),
                                 [&](const auto& e) { return e.second >= scale / 2; });
    ASSERT_EQ(stored[d].has_value(), any);
    if (!any) continue;
    auto weights = rerank::DecodeTermWeights(*stored[d]);
    ASSERT_TRUE(weights.ok());
    std::map<int32_t, float> got;
    for (size_t i = 0; i < weights->ids.size(); ++i) {
      got[weights->ids[i]] = weights->codes[i] * scale;
    }
    for (const auto& [id, w] : want) {
      if (w < scale / 2) {
        EXPECT_FALSE(got.count(id)) << id;  // rounds to code 0: not stored
        continue;
      }
      ASSERT_TRUE(got.count(id)) << id;
      EXPECT_LE(std::fabs(got[id] - w), scale / 2 + 1e-6f) << id;
      ++compared;
    }
    for (const auto& [id, w] : got) EXPECT_TRUE(want.count(id)) << id;
  }
  EXPECT_GT(compared, 10u);
}

TEST_F(CascadeEngineTest, PrecomputedWeightsAreMappedAndScoredByHand) {
  std::vector<Document> docs = Docs();
  // "thrust" is an expansion token: d1's text does not have it.
  docs[0].tilde = {{"rocket", 2.0f}, {"engine", 1.0f}, {"##s", 0.5f}, {"thrust", 1.0f}};
  docs[1].tilde = {{"rocket", 1.0f}, {"launch", 4.0f}};  // 4.0 is the max
  docs[4].tilde = {{"orbit", 3.0f}, {"rocket", 0.2f}};
  OpenOptions options;
  options.tilde_tokenizer = kTilde;
  auto index = Build(docs, options);
  ASSERT_NE(index, nullptr);
  // Only three documents have weights; the scale is 4.0 / 255.
  const float scale = 4.0f / 255;
  SearchOptions search;
  search.cascade = "bm25:10,tilde:10";
  search.explain = true;
  auto result = index->Search("rocket engine", search);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_GE(result->hits.size(), 3u);
  // d1: rocket 2.0 + engine 1.0; d2: rocket 1.0; d5: rocket 0.2.
  EXPECT_EQ(result->hits[0].id, "d1");
  EXPECT_NEAR(result->hits[0].score, (std::round(2.0f / scale) + std::round(1.0f / scale)) * scale, 1e-5);
  EXPECT_EQ(result->hits[1].id, "d2");
  EXPECT_NEAR(result->hits[1].score, std::round(1.0f / scale) * scale, 1e-5);
  EXPECT_EQ(result->hits[2].id, "d5");
  EXPECT_NEAR(result->hits[2].score, std::round(0.2f / scale) * scale, 1e-5);
  for (size_t i = 3; i < result->hits.size(); ++i) EXPECT_EQ(result->hits[i].score, 0.0f);
  ASSERT_EQ(result->stages.size(), 2u);
  EXPECT_EQ(result->stages[1].stage, "tilde");
  EXPECT_EQ(result->cascade, "bm25:10,tilde:10");
  for (const Hit& hit : result->hits) {
    ASSERT_EQ(hit.explain.size(), 2u);
    EXPECT_EQ(hit.explain[0].stage, "bm25");
    EXPECT_TRUE(hit.explain[0].scored);
    EXPECT_TRUE(hit.explain[1].scored);
  }

  // With Lucene syntax the rerankers read the words of the clauses that are
  // not prohibited: "+rocket engine^2 -thrust" scores d1 as "rocket engine"
  // does (its "thrust" weight is not added; BM25 keeps d1, whose text lacks
  // the word).
  search.syntax = "lucene";
  auto lucene = index->Search("+rocket engine^2 -thrust", search);
  ASSERT_TRUE(lucene.ok()) << lucene.status().ToString();
  ASSERT_FALSE(lucene->hits.empty());
  EXPECT_EQ(lucene->hits[0].id, "d1");
  EXPECT_EQ(lucene->hits[0].score, result->hits[0].score);
  search.syntax = "plain";

  // An unknown token is refused, naming it; nothing of the batch is added.
  std::vector<Document> bad = {{"d9", "x", "y", {{"rocket", 1.0f}}},
                               {"d10", "x", "y", {{"zzqqxxnotatoken", 1.0f}}}};
  Status s = index->AddBatch(bad);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("zzqqxxnotatoken"), std::string::npos) << s.ToString();
  EXPECT_EQ(index->Stats().pending_changes, 0u);
  bad = {{"d9", "x", "y", {{"rocket", -1.0f}}}};
  EXPECT_TRUE(index->AddBatch(bad).IsInvalidArgument());
}

TEST_F(CascadeEngineTest, WeightsHeldInMemoryScoreTheSame) {
  std::vector<Document> docs = Docs();
  docs[0].tilde = {{"rocket", 2.0f}, {"engine", 1.0f}};
  docs[2].tilde = {{"boat", 1.0f}, {"rocket", 0.5f}};
  docs[7].tilde = {{"rocket", 3.0f}, {"launch", 1.0f}};
  SearchOptions search;
  search.cascade = "bm25:10,tilde:10";
  search.explain = true;
  std::vector<std::pair<std::string, float>> from_storage;
  {
    OpenOptions options;
    options.tilde_tokenizer = kTilde;
    auto index = Build(docs, options);
    ASSERT_NE(index, nullptr);
    // A later commit adds a document with weights: in memory after reopen.
    std::vector<Document> more = {{"d9", "Rockets", "rocket", {{"rocket", 1.5f}}}};
    ASSERT_TRUE(index->AddBatch(more).ok());
    ASSERT_TRUE(index->Commit().ok());
    auto result = index->Search("rocket launch", search);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    for (const Hit& hit : result->hits) from_storage.emplace_back(hit.id, hit.score);
  }
  OpenOptions options;
  options.read_only = true;
  options.tilde_in_memory = true;
  auto index = Open(options);
  ASSERT_NE(index, nullptr);
  auto result = index->Search("rocket launch", search);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::vector<std::pair<std::string, float>> from_memory;
  for (const Hit& hit : result->hits) from_memory.emplace_back(hit.id, hit.score);
  EXPECT_EQ(from_memory, from_storage);
  ASSERT_GE(from_memory.size(), 4u);
  EXPECT_EQ(from_memory[0].first, "d8");  // rocket 3.0 + launch 1.0
  EXPECT_EQ(from_memory[1].first, "d1");  // rocket 2.0
  EXPECT_EQ(from_memory[2].first, "d9");  // rocket 1.5
  EXPECT_GT(from_memory[2].second, 0.0f);
}

TEST_F(CascadeEngineTest, WeightsWithoutATokenizerAreRefused) {
  OpenOptions options;
  options.create_if_missing = true;
  auto index = Open(options);
  ASSERT_NE(index, nullptr);
  std::vector<Document> docs = {{"d1", "x", "rocket", {{"rocket", 1.0f}}}};
  Status s = index->AddBatch(docs);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("TILDE tokenizer"), std::string::npos) << s.ToString();
  // And a tilde stage on an index without weights names what is missing.
  docs[0].tilde.clear();
  ASSERT_TRUE(index->AddBatch(docs).ok());
  ASSERT_TRUE(index->Commit().ok());
  SearchOptions search;
  search.cascade = "bm25:10,tilde:5";
  auto result = index->Search("rocket", search);
  EXPECT_TRUE(result.status().IsInvalidArgument());
  EXPECT_NE(result.status().message().find("no TILDE weights"), std::string::npos)
      << result.status().ToString();
}

TEST_F(CascadeEngineTest, FullCascadeMatchesTheModelsAndExplainsEveryStage) {
  OpenOptions options;
  options.tilde_model = kTilde;
  options.cross_encoder_model = kCrossEncoder;
  const std::vector<Document> docs = Docs();
  auto index = Build(docs, options);
  ASSERT_NE(index, nullptr);
  const std::string query = "rocket fuel engines";
  SearchOptions search;
  search.cascade = "bm25:8,tilde:6,ce:3";
  search.explain = true;
  search.k = 8;
  auto result = index->Search(query, search);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->stages.size(), 3u);
  EXPECT_EQ(result->stages[2].stage, "ce");
  EXPECT_EQ(result->stages[2].scored, 3u);
  EXPECT_EQ(result->stages[2].sequences, 3u);
  const size_t found = result->stages[0].candidates;
  ASSERT_GE(found, 4u);
  ASSERT_EQ(result->hits.size(), found);

  // The top 3 carry the cross-encoder's own scores, best first.
  rerank::ModelOptions model_options;
  model_options.device = rerank::Device::kCpu;
  auto ce = rerank::NeuralModel::Open(kCrossEncoder, model_options);
  ASSERT_TRUE(ce.ok());
  std::map<std::string, std::string> passage;
  for (const Document& d : docs) passage[d.id] = Passage(d);
  std::vector<std::string> top;
  for (size_t i = 0; i < 3; ++i) top.push_back(passage[result->hits[i].id]);
  auto scores = (*ce)->Score(query, top);
  ASSERT_TRUE(scores.ok());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(result->hits[i].score, (*scores)[i], 1e-4);
    if (i > 0) {
      EXPECT_GE(result->hits[i - 1].score, result->hits[i].score);
    }
    ASSERT_EQ(result->hits[i].explain.size(), 3u);
    EXPECT_EQ(result->hits[i].explain[2].rank, i + 1);
    EXPECT_EQ(result->hits[i].explain[2].score, result->hits[i].score);
  }
  // Below the ce depth, the TILDE order; below the TILDE depth, BM25's.
  for (size_t i = 3; i < result->hits.size(); ++i) {
    const Hit& hit = result->hits[i];
    EXPECT_FALSE(hit.explain[2].scored);
    if (i < 6) {
      ASSERT_TRUE(hit.explain[1].scored);
      EXPECT_EQ(hit.score, hit.explain[1].score);
      if (i > 3) {
        EXPECT_GT(hit.explain[1].rank, result->hits[i - 1].explain[1].rank);
      }
    } else {
      EXPECT_FALSE(hit.explain[1].scored);
      EXPECT_EQ(hit.score, hit.explain[0].score);
    }
  }
  // Paging applies to the final order.
  search.offset = 2;
  search.k = 2;
  auto page = index->Search(query, search);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->hits.size(), 2u);
  EXPECT_EQ(page->hits[0].id, result->hits[2].id);
  EXPECT_EQ(page->hits[1].id, result->hits[3].id);
}

TEST_F(CascadeEngineTest, BudgetsAndLongPassages) {
  std::vector<Document> docs;
  std::string long_text;
  for (int i = 0; i < 700; ++i) long_text += "rocket boat ";
  for (int i = 0; i < 40; ++i) {
    docs.push_back({"d" + std::to_string(i), "rocket", i == 0 ? long_text : "rocket boat",
                    {}});
  }
  OpenOptions options;
  options.cross_encoder_model = kCrossEncoder;
  auto index = Build(docs, options);
  ASSERT_NE(index, nullptr);
  SearchOptions search;
  search.cascade = "bm25:40,ce:40:0.001";  // runs out after the first call
  auto result = index->Search("rocket", search);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const StageInfo& ce = result->stages[1];
  EXPECT_TRUE(ce.budget_exhausted);
  EXPECT_GE(ce.scored, 1u);
  EXPECT_LT(ce.scored, 40u);
  ASSERT_TRUE(ce.budget_ms.has_value());
  EXPECT_EQ(result->hits.size(), 10u);

  search.cascade = "bm25:40,ce:40";
  result = index->Search("rocket", search);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->stages[1].budget_exhausted);
  EXPECT_EQ(result->stages[1].scored, 40u);
  EXPECT_EQ(result->stages[1].sequences, 40u);  // truncated: one each
  search.long_passages = "chunk";
  result = index->Search("rocket", search);
  ASSERT_TRUE(result.ok());
  EXPECT_GT(result->stages[1].sequences, 41u);  // the long one in windows
  search.long_passages = "split";
  EXPECT_TRUE(index->Search("rocket", search).status().IsInvalidArgument());
}

TEST_F(CascadeEngineTest, DefaultCascadePersistsAndRequestsOverrideIt) {
  {
    OpenOptions options;
    options.tilde_model = kTilde;
    options.default_cascade = "bm25:8,tilde:4";
    auto index = Build(Docs(), options);
    ASSERT_NE(index, nullptr);
  }
  OpenOptions options;
  auto index = Open(options);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->Stats().default_cascade, "bm25:8,tilde:4");
  auto result = index->Search("rocket", {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->cascade, "bm25:8,tilde:4");
  SearchOptions search;
  search.cascade = "bm25:5";
  result = index->Search("rocket", search);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->cascade, "bm25:5");
  EXPECT_EQ(result->stages.size(), 1u);
  EXPECT_TRUE(index->SetDefaultCascade("bm25:5,gpt:2").IsInvalidArgument());
  ASSERT_TRUE(index->SetDefaultCascade("").ok());
  result = index->Search("rocket", {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->cascade, "bm25:10");  // k + offset, BM25 alone
  options.default_cascade = "bm25:5,tilde:10";  // deeper than the stage before
  EXPECT_FALSE(Index::Open(path_, options).ok());
}

TEST_F(CascadeEngineTest, BadSpecsAndMissingModelsAreClearErrors) {
  OpenOptions options;
  options.tilde_model = kTilde;
  auto index = Build(Docs(), options);
  ASSERT_NE(index, nullptr);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bm25:10,ce:5", "cross-encoder"},
      {"tilde:5", "retrieve"},
      {"bm25:5,tilde:10", "tilde"},
      {"bm25:10,gpt:5", "gpt"},
      {"bm25:0", "depth"},
      {"", ""},
  };
  for (const auto& [spec, needle] : cases) {
    SCOPED_TRACE(spec);
    SearchOptions search;
    search.cascade = spec;
    auto result = index->Search("rocket", search);
    if (spec.empty()) {
      EXPECT_TRUE(result.ok());  // empty: BM25 alone
      continue;
    }
    EXPECT_TRUE(result.status().IsInvalidArgument()) << result.status().ToString();
    EXPECT_NE(result.status().message().find(needle), std::string::npos)
        << result.status().ToString();
  }
  SearchOptions search;
  search.cascade = "bm25:10,tilde:5";
  search.tilde_alpha = 2;
  EXPECT_TRUE(index->Search("rocket", search).status().IsInvalidArgument());
  // A token weigher is not a cross-encoder, and the other way round.
  OpenOptions wrong;
  wrong.cross_encoder_model = kTilde;
  EXPECT_TRUE(Index::Open(path_ + "_x", wrong).status().IsInvalidArgument() ||
              !Index::Open(path_ + "_x", wrong).ok());
}

// OpenOptions::refresh_interval_ms: a background commit's error is not
// lost. The next Commit() returns it once, even though later background
// commits succeeded meanwhile (no model needed).
TEST_F(CascadeEngineTest, FailedBackgroundRefreshIsReportedByTheNextCommit) {
  OpenOptions options;
  options.refresh_interval_ms = 5;
  auto index = Build(Docs(), options);
  ASSERT_NE(index, nullptr);
  IndexInternals::TEST_FailNextBackgroundCommit(*index,
                                                Status::IOError("injected", "disk full"));
  ASSERT_TRUE(index->Add({"d9", "Balloons", "a zeppelin floats", {}}).ok());
  // The failed tick comes first (it is the first to find the change), then
  // one that commits; bounded by seconds, so a loaded machine passes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool visible = false;
  while (!visible && std::chrono::steady_clock::now() < deadline) {
    auto result = index->Search("zeppelin", {});
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    visible = result->hits.size() == 1;
    if (!visible) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(visible);
  Status reported = index->Commit();
  EXPECT_EQ(reported.code(), Status::Code::kIOError) << reported.ToString();
  EXPECT_EQ(reported.message(), "injected: disk full");
  // Reported once; the index is whole.
  EXPECT_TRUE(index->Commit().ok());
  EXPECT_EQ(index->Stats().documents, 9u);
  EXPECT_EQ(index->Stats().pending_changes, 0u);
}

}  // namespace
}  // namespace cascade
