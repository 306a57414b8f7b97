#include "tools/dense_flags.h"

#include <map>

#include "tools/cli_common.h"
#include "tools/vector_input.h"

namespace cascade::tools {

void AddDenseFlags(CLI::App* cmd, DenseFlags* flags, bool with_vector) {
  WithEnv(cmd->add_option("--mode", flags->mode,
                          with_vector
                              ? "bm25, dense (kNN of --vector; query words, if any, filter) or "
                                "hybrid (BM25 and kNN fused)"
                              : "bm25, dense (kNN of each query's vector; its words unused) or "
                                "hybrid (BM25 and kNN fused)")
              ->check(CLI::IsMember({"bm25", "dense", "hybrid"}))
              ->capture_default_str());
  if (with_vector) {
    WithEnv(cmd->add_option("--vector", flags->vector,
                            "Query vector: a JSON array, or a .fvecs/.npy/.jsonl file (first "
                            "vector)"));
  }
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
  WithEnv(cmd->add_option("--embedding-model", flags->embedding_model,
                          with_vector
                              ? "Bi-encoder folder: --mode dense/hybrid without --vector embeds "
                                "the query text (dense: no lexical filter then); its size must "
                                "equal the field's dimension"
                              : "Bi-encoder folder: --mode dense/hybrid without --query-vectors "
                                "embeds each query's text; its size must equal the field's "
                                "dimension"));
}

void ApplyDenseOpenOptions(const DenseFlags& flags, OpenOptions* open) {
  open->embedding_model = flags.embedding_model;
}

void ApplyDenseOptions(const DenseFlags& flags, SearchOptions* search) {
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
}

Status ApplyDenseFlags(const DenseFlags& flags, SearchOptions* search) {
  ApplyDenseOptions(flags, search);
  if (flags.mode == "bm25") return Status::OK();
  if (flags.vector.empty()) {
    if (!flags.embedding_model.empty()) return Status::OK();  // the text is embedded
    return Status::InvalidArgument("--mode " + flags.mode +
                                   " needs --vector (or --embedding-model DIR and query text)");
  }
  CASCADE_ASSIGN_OR_RETURN(search->vector, ReadQueryVector(flags.vector));
  return Status::OK();
}

void AddQueryVectorsFlag(CLI::App* cmd, std::string* path) {
  WithEnv(cmd->add_option("--query-vectors", *path,
                          "--mode dense/hybrid: one vector per query, .fvecs/.npy in the "
                          "queries file's order, or JSON lines {\"_id\": qid, \"vector\": "
                          "[...]}"));
}

Result<std::vector<std::vector<float>>> ReadQueryVectors(const std::string& path,
                                                         const std::string& mode,
                                                         const std::vector<Query>& queries,
                                                         bool embed_text) {
  std::vector<std::vector<float>> out(queries.size());
  if (path.empty()) {
    if (mode == "bm25" || embed_text) return out;
    return Status::InvalidArgument("--mode " + mode +
                                   " needs --query-vectors (or --embedding-model DIR)");
  }
  CASCADE_ASSIGN_OR_RETURN(std::vector<VectorRecord> records, ReadVectorFile(path));
  bool by_id = !records.empty();
  for (const VectorRecord& r : records) by_id = by_id && !r.id.empty();
  if (!by_id) {
    if (records.size() != queries.size()) {
      return Status::InvalidArgument(path + " holds " + std::to_string(records.size()) +
                                     " vectors for " + std::to_string(queries.size()) +
                                     " queries (without \"_id\", vectors go by order)");
    }
    for (size_t i = 0; i < records.size(); ++i) out[i] = std::move(records[i].values);
    return out;
  }
  std::map<std::string, std::vector<float>, std::less<>> by_qid;
  for (VectorRecord& r : records) {
    const std::string id = r.id;
    if (!by_qid.emplace(id, std::move(r.values)).second) {
      return Status::InvalidArgument(path + ": query " + id + " has two vectors");
    }
  }
  for (size_t i = 0; i < queries.size(); ++i) {
    auto it = by_qid.find(queries[i].id);
    if (it == by_qid.end()) {
      return Status::InvalidArgument(path + " has no vector for query " + queries[i].id);
    }
    out[i] = it->second;
  }
  return out;
}

}  // namespace cascade::tools
