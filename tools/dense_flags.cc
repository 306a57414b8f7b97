#include "tools/dense_flags.h"

#include "tools/cli_common.h"
#include "tools/vector_input.h"

namespace cascade::tools {

void AddDenseFlags(CLI::App* cmd, DenseFlags* flags) {
  WithEnv(cmd->add_option("--mode", flags->mode,
                          "bm25, dense (kNN of --vector; query words, if any, filter) or "
                          "hybrid (BM25 and kNN fused)")
              ->check(CLI::IsMember({"bm25", "dense", "hybrid"}))
              ->capture_default_str());
  WithEnv(cmd->add_option("--vector", flags->vector,
                          "Query vector: a JSON array, or a .fvecs/.npy/.jsonl file (first "
                          "vector)"));
  WithEnv(cmd->add_option("--field", flags->field, "Vector field (default: the first)"));
  WithEnv(cmd->add_option("--nprobe", flags->nprobe,
                          "IVF lists to probe (0: exact search over every vector)")
              ->capture_default_str());
  WithEnv(cmd->add_flag("--quantized", flags->quantized,
                        "Score 8-bit codes, then re-score --rescore x k exactly"));
  WithEnv(cmd->add_option("--rescore", flags->rescore, "Shortlist factor of --quantized")
              ->capture_default_str());
  WithEnv(cmd->add_option("--dense-depth", flags->depth,
                          "Hybrid: candidates taken from BM25 and from kNN")
              ->capture_default_str());
  WithEnv(cmd->add_option("--fusion", flags->fusion,
                          "Hybrid fusion: rrf (reciprocal rank) or weighted (normalised scores)")
              ->check(CLI::IsMember({"rrf", "weighted"}))
              ->capture_default_str());
  WithEnv(cmd->add_option("--rrf-k", flags->rrf_k, "RRF constant k")->capture_default_str());
  WithEnv(cmd->add_option("--dense-weight", flags->dense_weight,
                          "Weighted fusion: weight of kNN (BM25 gets 1 - it)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--normalization", flags->normalization,
                          "Weighted fusion: minmax or zscore")
              ->check(CLI::IsMember({"minmax", "zscore"}))
              ->capture_default_str());
}

Status ApplyDenseFlags(const DenseFlags& flags, SearchOptions* search) {
  search->mode = flags.mode;
  search->vector_field = flags.field;
  search->nprobe = flags.nprobe;
  search->quantized = flags.quantized;
  search->rescore = flags.rescore;
  search->dense_depth = flags.depth;
  search->fusion = flags.fusion;
  search->rrf_k = flags.rrf_k;
  search->dense_weight = flags.dense_weight;
  search->normalization = flags.normalization;
  if (flags.mode == "bm25") return Status::OK();
  if (flags.vector.empty()) {
    return Status::InvalidArgument("--mode " + flags.mode + " needs --vector");
  }
  CASCADE_ASSIGN_OR_RETURN(search->vector, ReadQueryVector(flags.vector));
  return Status::OK();
}

}  // namespace cascade::tools
