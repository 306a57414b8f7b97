// BatchQueue: runs a NeuralModel on one worker thread, merging the
// sequences of concurrent requests into shared batches up to a token budget
// (ten requests of 50 pairs become one forward pass), as TEI's queue does.
//
// Callers (HTTP worker threads, never I/O threads) block in Run() until
// their sequences are done. The queue is bounded: a full queue answers
// ResourceExhausted at once instead of growing.
//
// Thread-safety: Run(), depth() and stats() may be called from any thread.
#ifndef CASCADE_RERANK_BATCH_QUEUE_H_
#define CASCADE_RERANK_BATCH_QUEUE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cascade/status.h"
#include "gpu/backend.h"
#include "rerank/neural_model.h"

namespace cascade::rerank {

struct BatchQueueOptions {
  // Tokens per merged forward pass; a single larger request runs alone.
  size_t max_batch_tokens = 16384;
  // Requests waiting (not yet running) before Run() refuses new ones.
  size_t max_pending = 256;
};

struct BatchQueueStats {
  uint64_t requests = 0;   // requests completed
  uint64_t batches = 0;    // forward passes run
  uint64_t sequences = 0;  // sequences scored
};

class BatchQueue {
 public:
  // `model` must outlive the queue.
  BatchQueue(NeuralModel* model, const BatchQueueOptions& options);
  // Stops the worker after the batch in progress; waiting requests get
  // Unavailable.
  ~BatchQueue();
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Runs `batch` (already tokenized, within the model's max length) and
  // returns what NeuralModel::RunTokens returns for it. ResourceExhausted
  // when max_pending requests are waiting; Unavailable after shutdown.
  Result<std::vector<float>> Run(gpu::PairBatch batch);

  size_t depth() const;  // requests waiting
  BatchQueueStats stats() const;
  const NeuralModel& model() const { return *model_; }

 private:
  struct Job {
    gpu::PairBatch batch;
    std::promise<Result<std::vector<float>>> done;
  };
  void Work();
  // Outputs the model produces for sequences [begin, end) of a batch.
  size_t OutputsFor(const gpu::PairBatch& batch) const;

  NeuralModel* model_;
  BatchQueueOptions options_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Job>> pending_;
  bool stopping_ = false;
  BatchQueueStats stats_;
  std::thread worker_;
};

}  // namespace cascade::rerank

#endif  // CASCADE_RERANK_BATCH_QUEUE_H_
