// BatchQueue: requests from many threads are merged into shared forward
// passes and each gets exactly its own outputs back.
#include "rerank/batch_queue.h"

#include <gtest/gtest.h>

#include <thread>

namespace cascade::rerank {
namespace {

const std::string kModel = std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert/cross-encoder";

std::unique_ptr<NeuralModel> OpenModel() {
  ModelOptions options;
  options.device = Device::kCpu;
  options.threads = 1;
  options.max_length = 64;
  auto model = NeuralModel::Open(kModel, options);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(*model) : nullptr;
}

gpu::PairBatch Pairs(const NeuralModel& model, const std::string& query, int n) {
  gpu::PairBatch batch;
  batch.offsets.push_back(0);
  for (int i = 0; i < n; ++i) {
    auto e = model.tokenizer().EncodePair(
        query, "passage number " + std::to_string(i) + " about " + query, 64,
        Truncation::kLongestFirst);
    EXPECT_TRUE(e.ok());
    batch.token_ids.insert(batch.token_ids.end(), e->ids.begin(), e->ids.end());
    batch.segment_ids.insert(batch.segment_ids.end(), e->type_ids.begin(),
                             e->type_ids.end());
    batch.offsets.push_back(static_cast<int32_t>(batch.token_ids.size()));
  }
  return batch;
}

TEST(BatchQueueTest, ConcurrentRequestsGetTheirOwnScores) {
  auto model = OpenModel();
  ASSERT_NE(model, nullptr);
  constexpr int kThreads = 8;
  std::vector<gpu::PairBatch> batches;
  std::vector<std::vector<float>> alone;
  for (int t = 0; t < kThreads; ++t) {
    batches.push_back(Pairs(*model, "query " + std::to_string(t), 5 + t));
    auto scores = model->RunTokens(batches.back());
    ASSERT_TRUE(scores.ok());
    alone.push_back(*scores);
  }
  BatchQueue queue(model.get(), BatchQueueOptions{});
  std::vector<std::vector<float>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        auto scores = queue.Run(batches[t]);
        ASSERT_TRUE(scores.ok()) << scores.status().ToString();
        got[t] = *scores;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), alone[t].size());
    for (size_t i = 0; i < got[t].size(); ++i) EXPECT_NEAR(got[t][i], alone[t][i], 1e-5);
  }
  const BatchQueueStats stats = queue.stats();
  EXPECT_EQ(stats.requests, uint64_t{kThreads * 5});
  EXPECT_LE(stats.batches, stats.requests);
  EXPECT_EQ(queue.depth(), 0u);
}

TEST(BatchQueueTest, FullQueueRefusesAtOnce) {
  auto model = OpenModel();
  ASSERT_NE(model, nullptr);
  BatchQueueOptions options;
  options.max_pending = 0;
  BatchQueue queue(model.get(), options);
  auto scores = queue.Run(Pairs(*model, "q", 2));
  ASSERT_FALSE(scores.ok());
  EXPECT_EQ(scores.status().code(), Status::Code::kResourceExhausted);
}

TEST(BatchQueueTest, InvalidSequencesAreRefusedBeforeQueueing) {
  auto model = OpenModel();
  ASSERT_NE(model, nullptr);
  BatchQueue queue(model.get(), BatchQueueOptions{});
  gpu::PairBatch bad;
  bad.offsets = {0, 3};
  bad.token_ids = {101, 40000000, 102};
  bad.segment_ids = {0, 0, 0};
  EXPECT_TRUE(queue.Run(bad).status().IsInvalidArgument());
  EXPECT_TRUE(queue.Run(gpu::PairBatch{})->empty());
}

}  // namespace
}  // namespace cascade::rerank
