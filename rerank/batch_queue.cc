#include "rerank/batch_queue.h"

namespace cascade::rerank {

BatchQueue::BatchQueue(NeuralModel* model, const BatchQueueOptions& options)
    : model_(model), options_(options) {
  worker_ = std::thread([this] { Work(); });
}

BatchQueue::~BatchQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  worker_.join();
  for (auto& job : pending_) {
    job->done.set_value(Status::Unavailable("reranking queue shut down"));
  }
}

size_t BatchQueue::depth() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

BatchQueueStats BatchQueue::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t BatchQueue::OutputsFor(const gpu::PairBatch& batch) const {
  switch (model_->config().kind) {
    case gpu::ModelKind::kCrossEncoder:
      return batch.size();
    case gpu::ModelKind::kBiEncoder:
      return batch.size() * static_cast<size_t>(model_->config().bert.hidden_size);
    case gpu::ModelKind::kTokenWeigher:
      return batch.token_ids.size();
  }
  return 0;
}

Result<std::vector<float>> BatchQueue::Run(gpu::PairBatch batch) {
  if (batch.size() == 0) return std::vector<float>();
  CASCADE_RETURN_IF_ERROR(gpu::ValidateBatch(
      batch, model_->config().bert.vocab_size, model_->config().bert.type_vocab_size,
      static_cast<int>(model_->max_length())));
  auto job = std::make_unique<Job>();
  job->batch = std::move(batch);
  auto future = job->done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("reranking queue shut down");
    if (pending_.size() >= options_.max_pending) {
      return Status::ResourceExhausted(
          "reranking queue is full (" + std::to_string(options_.max_pending) +
          " requests waiting)");
    }
    pending_.push_back(std::move(job));
  }
  ready_.notify_one();
  return future.get();
}

void BatchQueue::Work() {
  while (true) {
    std::vector<std::unique_ptr<Job>> jobs;
    {
      std::unique_lock lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      size_t tokens = 0;
      while (!pending_.empty()) {
        const size_t next = pending_.front()->batch.token_ids.size();
        if (!jobs.empty() && tokens + next > options_.max_batch_tokens) break;
        tokens += next;
        jobs.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    // One forward pass over every job's sequences, end to end.
    gpu::PairBatch merged;
    merged.offsets.push_back(0);
    for (const auto& job : jobs) {
      const int32_t shift = static_cast<int32_t>(merged.token_ids.size());
      merged.token_ids.insert(merged.token_ids.end(), job->batch.token_ids.begin(),
                              job->batch.token_ids.end());
      merged.segment_ids.insert(merged.segment_ids.end(),
                                job->batch.segment_ids.begin(),
                                job->batch.segment_ids.end());
      for (size_t i = 1; i < job->batch.offsets.size(); ++i) {
        merged.offsets.push_back(job->batch.offsets[i] + shift);
      }
    }
    Result<std::vector<float>> out = model_->RunTokens(merged);
    {
      // Counted before any caller wakes, so a caller that returns sees its
      // own request in stats().
      std::lock_guard lock(mu_);
      stats_.requests += jobs.size();
      stats_.batches += 1;
      stats_.sequences += merged.size();
    }
    size_t at = 0;
    for (auto& job : jobs) {
      if (!out.ok()) {
        job->done.set_value(out.status());
        continue;
      }
      const size_t n = OutputsFor(job->batch);
      job->done.set_value(
          std::vector<float>(out->begin() + at, out->begin() + at + n));
      at += n;
    }
  }
}

}  // namespace cascade::rerank
