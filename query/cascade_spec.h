// CascadeSpec: the stages a search runs, written as a compact string
// ("bm25:1000,tilde:200,ce:50"): a first-stage retriever with the number
// of candidates it hands on, then rerankers, each rescoring the top `depth`
// candidates of the stage before it. An optional third field is the stage's
// time budget in milliseconds ("ce:50:20" = at most 20 ms of
// cross-encoder work; when it runs out the stage returns what it finished
// and the rest keeps the previous order).
//
// This is the grammar shared by the index's stored default, per-request
// overrides, the CLI's --rerank flag and the HTTP API.
//
// Thread-safety: plain values and pure functions.
#ifndef CASCADE_QUERY_CASCADE_SPEC_H_
#define CASCADE_QUERY_CASCADE_SPEC_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::query {

// Persisted by name (in index options and requests); never rename.
enum class StageKind {
  kBm25,          // "bm25": first stage, lexical retrieval
  kTilde,         // "tilde": TILDEv2 exact-term scoring (CPU)
  kCrossEncoder,  // "ce": cross-encoder over (query, passage)
};

std::string_view StageName(StageKind kind);

struct StageSpec {
  StageKind kind = StageKind::kBm25;
  size_t depth = 0;                  // candidates this stage outputs/reranks
  std::optional<double> budget_ms;   // wall-clock budget; none = unbounded
};

// The largest depth any stage may have.
inline constexpr size_t kMaxStageDepth = 10000;

// Parses "stage:depth[:budget_ms],...". InvalidArgument naming the stage
// (by position and text) for: an empty spec or stage, an unknown stage
// name, a depth that is not an integer in 1..kMaxStageDepth, a budget that
// is not a positive number, a first stage that is not a retriever (bm25),
// a retriever after the first stage, or a depth larger than the previous
// stage's (a reranker cannot rescore candidates it was not given).
Result<std::vector<StageSpec>> ParseCascadeSpec(std::string_view spec);

// The canonical text of a spec (ParseCascadeSpec(Format(x)) == x).
std::string FormatCascadeSpec(const std::vector<StageSpec>& stages);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_CASCADE_SPEC_H_
