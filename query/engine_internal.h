// Hooks into cascade::Index for in-tree callers that own resources the
// public API does not expose (not part of the public library).
#ifndef CASCADE_QUERY_ENGINE_INTERNAL_H_
#define CASCADE_QUERY_ENGINE_INTERNAL_H_

#include <functional>
#include <memory>

#include "cascade/engine.h"
#include "rerank/batch_queue.h"

namespace cascade {

struct IndexInternals {
  // Makes `queue` (over a cross-encoder) the model of the index's "ce"
  // stage, shared with its other users (the HTTP server's /rerank), so one
  // model and one batching queue serve both. InvalidArgument when the model
  // is not a cross-encoder.
  static Status AttachCrossEncoder(Index& index,
                                   std::shared_ptr<rerank::BatchQueue> queue);
  // Tests only: the next background refresh (OpenOptions::refresh_interval_ms)
  // that finds changes to commit fails with `error` instead, committing
  // nothing; later ones run as usual. Explicit commits are not affected.
  static void TEST_FailNextBackgroundCommit(Index& index, Status error);
  // Tests only: with OpenOptions::merge.background, `hook` runs on the
  // merge thread after each merge is prepared and before it is written
  // (without the writer's lock, so it may add, delete and commit). Set it
  // before the first commit that can start a merge.
  static void TEST_BeforeMergeCommit(Index& index, std::function<void()> hook);
};

}  // namespace cascade

#endif  // CASCADE_QUERY_ENGINE_INTERNAL_H_
