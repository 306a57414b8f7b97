// The reranking stages (rerank/pipeline.h) over an in-memory candidate
// source: stage semantics (depth, order below the depth, ties), the TILDE
// score of hand-made documents, interpolation, budgets, explain, truncate
// versus chunk, failing models, and the TILDE query tokens (stop ids) of a
// real BERT vocabulary.
#include "rerank/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

namespace cascade::rerank {
namespace {

const std::string kTokenizerDir =
    std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/cross-encoder";

std::unique_ptr<WordPieceTokenizer> Tokenizer() {
  auto tok = WordPieceTokenizer::FromFolder(kTokenizerDir);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

// Documents by id: a passage and optional TILDE weights {token: weight}.
class FakeSource : public CandidateSource {
 public:
  FakeSource(const WordPieceTokenizer* tok, float scale) : tok_(tok), scale_(scale) {}

  void Add(uint32_t doc, std::string passage,
           std::map<std::string, float> weights = {}) {
    passages_[doc] = std::move(passage);
    if (weights.empty()) return;
    TermWeights w;
    std::map<int32_t, uint8_t> by_id;
    for (const auto& [token, weight] : weights) {
      const int32_t id = tok_->id(token);
      EXPECT_GE(id, 0) << token;
      by_id[id] = TildeQuantizer(scale_).Quantize(weight);
    }
    for (const auto& [id, code] : by_id) {
      w.ids.push_back(id);
      w.codes.push_back(code);
    }
    std::string bytes;
    EncodeTermWeights(w, &bytes);
    weights_[doc] = bytes;
  }

  Status ReadTermWeights(std::span<const uint32_t> docs,
                     std::vector<std::optional<std::string>>* out) override {
    ++weight_calls;
    out->assign(docs.size(), std::nullopt);
    for (size_t i = 0; i < docs.size(); ++i) {
      auto it = weights_.find(docs[i]);
      if (it != weights_.end()) (*out)[i] = it->second;
    }
    return Status::OK();
  }
  Result<std::string> Passage(uint32_t doc) override {
    auto it = passages_.find(doc);
    if (it == passages_.end()) return Status::NotFound("doc", std::to_string(doc));
    return it->second;
  }

  int weight_calls = 0;

 private:
  const WordPieceTokenizer* tok_;
  float scale_;
  std::map<uint32_t, std::string> passages_;
  std::map<uint32_t, std::string> weights_;
};

std::vector<RankedCandidate> Candidates(std::vector<uint32_t> docs) {
  std::vector<RankedCandidate> out;
  float score = 100;
  for (uint32_t d : docs) out.push_back({d, score--, {}});
  return out;
}

std::vector<uint32_t> Order(const std::vector<RankedCandidate>& c) {
  std::vector<uint32_t> out;
  for (const auto& x : c) out.push_back(x.doc);
  return out;
}

std::vector<query::StageSpec> Spec(std::string_view text) {
  auto spec = query::ParseCascadeSpec(text);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : std::vector<query::StageSpec>{};
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_ = Tokenizer();
    ASSERT_NE(tok_, nullptr);
    encoder_ = std::make_unique<TildeQueryEncoder>(tok_.get());
    models_.tilde = encoder_.get();
    models_.tilde_quantizer = TildeQuantizer(kScale);
    models_.ce_tokenizer = tok_.get();
    models_.ce_max_length = 32;
  }

  // A cross-encoder stand-in: each sequence scores the number of times the
  // token `marker` appears in its passage segment (type id 1).
  void ScoreByMarker(const std::string& marker) {
    const int32_t id = tok_->id(marker);
    ASSERT_GE(id, 0);
    models_.ce_run = [this, id](gpu::PairBatch batch) -> Result<std::vector<float>> {
      ++ce_calls_;
      sequences_seen_ += batch.size();
      std::vector<float> scores;
      for (size_t s = 0; s < batch.size(); ++s) {
        float n = 0;
        for (int32_t t = batch.offsets[s]; t < batch.offsets[s + 1]; ++t) {
          n += batch.token_ids[t] == id && batch.segment_ids[t] == 1;
        }
        EXPECT_LE(static_cast<size_t>(batch.offsets[s + 1] - batch.offsets[s]),
                  models_.ce_max_length);
        scores.push_back(n);
      }
      return scores;
    };
  }

  static constexpr float kScale = 0.01f;
  std::unique_ptr<WordPieceTokenizer> tok_;
  std::unique_ptr<TildeQueryEncoder> encoder_;
  RerankModels models_;
  int ce_calls_ = 0;
  size_t sequences_seen_ = 0;
};

TEST_F(PipelineTest, TildeScoresHandMadeDocumentsAndKeepsOrderBelowDepth) {
  FakeSource source(tok_.get(), kScale);
  // Query "heart attack risk": tokens heart, attack, risk (no stop words).
  source.Add(1, "p1", {{"heart", 0.5f}, {"attack", 1.0f}});           // 1.5
  source.Add(2, "p2", {{"risk", 0.25f}});                              // 0.25
  source.Add(3, "p3", {{"heart", 2.0f}, {"risk", 1.0f}, {"lung", 3}});  // 3.0
  source.Add(4, "p4");                                                 // 0: none
  source.Add(5, "p5", {{"attack", 9.0f}});  // below the depth: never read
  std::vector<RankedCandidate> c = Candidates({1, 2, 3, 4, 5});
  std::vector<StageReport> reports;
  ASSERT_TRUE(RunRerankStages("heart attack risk", Spec("bm25:5,tilde:4"), source,
                              models_, RerankOptions(), true, &c, &reports)
                  .ok());
  EXPECT_EQ(Order(c), (std::vector<uint32_t>{3, 1, 2, 4, 5}));
  EXPECT_NEAR(c[0].score, 3.0f, 1e-5);
  EXPECT_NEAR(c[1].score, 1.5f, 1e-5);
  EXPECT_NEAR(c[2].score, 0.25f, 1e-5);
  EXPECT_EQ(c[3].score, 0.0f);
  EXPECT_EQ(c[4].score, 96.0f);  // untouched: the first stage's score
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].kind, query::StageKind::kTilde);
  EXPECT_EQ(reports[0].candidates, 4u);
  EXPECT_EQ(reports[0].scored, 4u);
  EXPECT_FALSE(reports[0].budget_exhausted);
  EXPECT_TRUE(reports[0].error.empty());
  // Explain: entry 1 holds the TILDE rank and score; the doc below the
  // depth has none.
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(c[i].stages.size(), 2u);
    ASSERT_TRUE(c[i].stages[1].has_value());
    EXPECT_EQ(c[i].stages[1]->rank, i + 1);
    EXPECT_EQ(c[i].stages[1]->score, c[i].score);
  }
  ASSERT_EQ(c[4].stages.size(), 2u);
  EXPECT_FALSE(c[4].stages[1].has_value());
}

TEST_F(PipelineTest, TildeTiesKeepThePreviousOrderAndAlphaInterpolates) {
  FakeSource source(tok_.get(), kScale);
  source.Add(1, "p", {{"rocket", 1.0f}});
  source.Add(2, "p", {{"rocket", 1.0f}});
  source.Add(3, "p", {{"rocket", 2.0f}});
  {
    std::vector<RankedCandidate> c = Candidates({2, 1, 3});
    std::vector<StageReport> reports;
    ASSERT_TRUE(RunRerankStages("rocket", Spec("bm25:3,tilde:3"), source, models_,
                                RerankOptions(), false, &c, &reports)
                    .ok());
    EXPECT_EQ(Order(c), (std::vector<uint32_t>{3, 2, 1}));  // 2 before 1: tie
    EXPECT_TRUE(c[0].stages.empty());  // no explain asked
  }
  {
    // alpha 0.5: 0.5 * tilde + 0.5 * previous (100, 99, 98).
    RerankOptions options;
    options.tilde_alpha = 0.5;
    std::vector<RankedCandidate> c = Candidates({2, 1, 3});
    std::vector<StageReport> reports;
    ASSERT_TRUE(RunRerankStages("rocket", Spec("bm25:3,tilde:3"), source, models_,
                                options, false, &c, &reports)
                    .ok());
    EXPECT_EQ(Order(c), (std::vector<uint32_t>{2, 1, 3}));
    EXPECT_NEAR(c[0].score, 50.5f, 1e-4);
    EXPECT_NEAR(c[1].score, 50.0f, 1e-4);
    EXPECT_NEAR(c[2].score, 50.0f, 1e-4);
    options.tilde_alpha = 1.5;
    EXPECT_TRUE(RunRerankStages("rocket", Spec("bm25:3,tilde:3"), source, models_,
                                options, false, &c, &reports)
                    .IsInvalidArgument());
  }
}

TEST_F(PipelineTest, QueryTokensDropStopIdsAsTheReference) {
  // NLTK stop words (one token each) go, question words stay, and so do
  // "##" pieces; punctuation and "##s" go.
  const std::vector<int32_t> ids = encoder_->Encode("What is the rocket's speed?");
  std::vector<std::string> tokens;
  for (int32_t id : ids) tokens.emplace_back(tok_->token(id));
  EXPECT_EQ(tokens, (std::vector<std::string>{"what", "rocket", "speed"}));
  const std::vector<int32_t> stop = TildeStopIds(*tok_);
  EXPECT_TRUE(std::binary_search(stop.begin(), stop.end(), tok_->id("the")));
  EXPECT_TRUE(std::binary_search(stop.begin(), stop.end(), tok_->id("##s")));
  EXPECT_TRUE(std::binary_search(stop.begin(), stop.end(), tok_->id("[CLS]")));
  EXPECT_FALSE(std::binary_search(stop.begin(), stop.end(), tok_->id("where")));
  EXPECT_FALSE(std::binary_search(stop.begin(), stop.end(), tok_->id("##ing")));
  EXPECT_FALSE(std::binary_search(stop.begin(), stop.end(), tok_->id("rocket")));
}

TEST_F(PipelineTest, CrossEncoderRescoresTheTopAndExplainsEveryStage) {
  ScoreByMarker("rocket");
  FakeSource source(tok_.get(), kScale);
  source.Add(1, "a boat", {{"boat", 2.0f}});
  source.Add(2, "rocket rocket", {{"rocket", 1.0f}});
  source.Add(3, "rocket", {{"rocket", 0.5f}});
  source.Add(4, "rocket rocket rocket", {{"rocket", 0.1f}});
  std::vector<RankedCandidate> c = Candidates({1, 2, 3, 4});
  for (size_t i = 0; i < c.size(); ++i) {
    c[i].stages.resize(3);
    c[i].stages[0] = RankedCandidate::StageScore{i + 1, c[i].score};
  }
  std::vector<StageReport> reports;
  // tilde on 4: 2 (1.0), 3 (0.5), 4 (0.1), 1 (0: "boat" is not queried);
  // ce on the top 2 of those: 2 (two markers) then 3 (one).
  ASSERT_TRUE(RunRerankStages("rocket", Spec("bm25:4,tilde:4,ce:2"), source, models_,
                              RerankOptions(), true, &c, &reports)
                  .ok());
  EXPECT_EQ(Order(c), (std::vector<uint32_t>{2, 3, 4, 1}));
  EXPECT_EQ(c[0].score, 2.0f);
  EXPECT_EQ(c[1].score, 1.0f);
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[1].kind, query::StageKind::kCrossEncoder);
  EXPECT_EQ(reports[1].scored, 2u);
  EXPECT_EQ(reports[1].sequences, 2u);
  // Every candidate has all three entries; ce only for the top 2.
  const std::map<uint32_t, size_t> bm25_rank = {{1, 1}, {2, 2}, {3, 3}, {4, 4}};
  for (const RankedCandidate& x : c) {
    ASSERT_EQ(x.stages.size(), 3u);
    ASSERT_TRUE(x.stages[0].has_value());
    EXPECT_EQ(x.stages[0]->rank, bm25_rank.at(x.doc));
    ASSERT_TRUE(x.stages[1].has_value());
  }
  EXPECT_EQ(c[0].stages[2]->rank, 1u);
  EXPECT_EQ(c[1].stages[2]->rank, 2u);
  EXPECT_FALSE(c[2].stages[2].has_value());
  EXPECT_FALSE(c[3].stages[2].has_value());
}

TEST_F(PipelineTest, ChunkingFindsWhatTruncationCuts) {
  ScoreByMarker("rocket");
  FakeSource source(tok_.get(), kScale);
  // 60 filler words, then the marker: past a 32-token window.
  std::string long_passage;
  for (int i = 0; i < 60; ++i) long_passage += "boat ";
  long_passage += "rocket";
  source.Add(1, "rocket short");
  source.Add(2, long_passage);
  {
    std::vector<RankedCandidate> c = Candidates({1, 2});
    std::vector<StageReport> reports;
    ASSERT_TRUE(RunRerankStages("fast", Spec("bm25:2,ce:2"), source, models_,
                                RerankOptions(), false, &c, &reports)
                    .ok());
    EXPECT_EQ(Order(c), (std::vector<uint32_t>{1, 2}));
    EXPECT_EQ(c[1].score, 0.0f);  // the marker was cut away
    EXPECT_EQ(reports[0].sequences, 2u);
  }
  {
    RerankOptions options;
    options.long_passages = LongPassages::kChunk;
    options.chunk_overlap = 8;
    std::vector<RankedCandidate> c = Candidates({1, 2});
    std::vector<StageReport> reports;
    ASSERT_TRUE(RunRerankStages("fast", Spec("bm25:2,ce:2"), source, models_,
                                options, false, &c, &reports)
                    .ok());
    EXPECT_EQ(c[0].score, 1.0f);
    EXPECT_EQ(c[1].score, 1.0f);  // the last window holds the marker
    // Window = 32 - 3 - 1 query token = 28, stride 20: 61 tokens need
    // windows at 0, 20, 40 (40 + 28 >= 61): 3 sequences, plus 1 for doc 1.
    EXPECT_EQ(reports[0].sequences, 4u);
    // At most max_chunks windows: later text is not read.
    options.max_chunks = 2;
    c = Candidates({2});
    reports.clear();
    ASSERT_TRUE(RunRerankStages("fast", Spec("bm25:1,ce:1"), source, models_,
                                options, false, &c, &reports)
                    .ok());
    EXPECT_EQ(c[0].score, 0.0f);
    EXPECT_EQ(reports[0].sequences, 2u);
  }
}

TEST_F(PipelineTest, BudgetStopsAfterTheBatchInProgressAndSaysSo) {
  ScoreByMarker("rocket");
  auto inner = models_.ce_run;
  models_.ce_run = [inner](gpu::PairBatch batch) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return inner(std::move(batch));
  };
  models_.ce_budget_batch = 2;
  FakeSource source(tok_.get(), kScale);
  std::vector<uint32_t> ids;
  for (uint32_t d = 1; d <= 10; ++d) {
    source.Add(d, d == 9 ? "rocket" : "boat");
    ids.push_back(d);
  }
  std::vector<RankedCandidate> c = Candidates(ids);
  std::vector<StageReport> reports;
  // 10 ms budget, 20 ms per call: one call of 2 candidates, then stop.
  ASSERT_TRUE(RunRerankStages("q", Spec("bm25:10,ce:10:10"), source, models_,
                              RerankOptions(), true, &c, &reports)
                  .ok());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].budget_exhausted);
  EXPECT_EQ(reports[0].scored, 2u);
  EXPECT_EQ(reports[0].candidates, 10u);
  EXPECT_EQ(ce_calls_, 1);
  // The 8 not reached keep the previous order after the 2 scored ones.
  EXPECT_EQ(Order(c), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_TRUE(c[0].stages[1].has_value());
  EXPECT_FALSE(c[2].stages[1].has_value());
  // Without a budget, everything is scored (doc 9 wins).
  c = Candidates(ids);
  reports.clear();
  ASSERT_TRUE(RunRerankStages("q", Spec("bm25:10,ce:10"), source, models_,
                              RerankOptions(), false, &c, &reports)
                  .ok());
  EXPECT_FALSE(reports[0].budget_exhausted);
  EXPECT_EQ(reports[0].scored, 10u);
  EXPECT_EQ(c[0].doc, 9u);
}

TEST_F(PipelineTest, FailingModelKeepsThePreviousOrderOverloadIsReturned) {
  FakeSource source(tok_.get(), kScale);
  for (uint32_t d = 1; d <= 3; ++d) source.Add(d, "text", {{"rocket", 0.1f * d}});
  models_.ce_run = [](gpu::PairBatch) -> Result<std::vector<float>> {
    return Status::Internal("device lost");
  };
  std::vector<RankedCandidate> c = Candidates({1, 2, 3});
  std::vector<StageReport> reports;
  ASSERT_TRUE(RunRerankStages("rocket", Spec("bm25:3,tilde:3,ce:2"), source, models_,
                              RerankOptions(), false, &c, &reports)
                  .ok());
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_NE(reports[1].error.find("device lost"), std::string::npos);
  EXPECT_EQ(reports[1].scored, 0u);
  EXPECT_EQ(Order(c), (std::vector<uint32_t>{3, 2, 1}));  // the TILDE order
  EXPECT_NEAR(c[0].score, 0.3f, 1e-5);                     // TILDE scores kept

  models_.ce_run = [](gpu::PairBatch) -> Result<std::vector<float>> {
    return Status::ResourceExhausted("queue full");
  };
  c = Candidates({1, 2, 3});
  reports.clear();
  EXPECT_EQ(RunRerankStages("rocket", Spec("bm25:3,ce:2"), source, models_,
                            RerankOptions(), false, &c, &reports)
                .code(),
            Status::Code::kResourceExhausted);
}

TEST_F(PipelineTest, MissingModelsAreClearErrorsBeforeAnyWork) {
  FakeSource source(tok_.get(), kScale);
  source.Add(1, "x");
  RerankModels none;
  std::vector<RankedCandidate> c = Candidates({1});
  std::vector<StageReport> reports;
  Status s = RunRerankStages("q", Spec("bm25:1,tilde:1"), source, none,
                             RerankOptions(), false, &c, &reports);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("stage 2 (tilde)"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("TILDE"), std::string::npos) << s.ToString();
  s = RunRerankStages("q", Spec("bm25:1,ce:1"), source, none, RerankOptions(), false,
                      &c, &reports);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("cross-encoder"), std::string::npos) << s.ToString();
  EXPECT_EQ(source.weight_calls, 0);
  EXPECT_TRUE(reports.empty());
  EXPECT_TRUE(ParseLongPassages("split").status().IsInvalidArgument());
  EXPECT_EQ(*ParseLongPassages("chunk"), LongPassages::kChunk);
}

TEST_F(PipelineTest, EmptyCandidateListsAndQueriesWithoutTokensAreFine) {
  FakeSource source(tok_.get(), kScale);
  source.Add(1, "x", {{"rocket", 1.0f}});
  source.Add(2, "y", {{"rocket", 2.0f}});
  std::vector<RankedCandidate> c;
  std::vector<StageReport> reports;
  ASSERT_TRUE(RunRerankStages("rocket", Spec("bm25:5,tilde:5"), source, models_,
                              RerankOptions(), false, &c, &reports)
                  .ok());
  EXPECT_EQ(reports[0].candidates, 0u);
  // Only stop words: every TILDE score is 0 and the order stays.
  c = Candidates({1, 2});
  ASSERT_TRUE(RunRerankStages("the of and", Spec("bm25:5,tilde:5"), source, models_,
                              RerankOptions(), false, &c, &reports)
                  .ok());
  EXPECT_EQ(Order(c), (std::vector<uint32_t>{1, 2}));
}

}  // namespace
}  // namespace cascade::rerank
