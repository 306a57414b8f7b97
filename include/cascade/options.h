// Options of the embedded Cascade library. Every field gives its meaning,
// unit and default. Index::Open checks them once and returns
// InvalidArgument naming each bad one.
#ifndef CASCADE_OPTIONS_H_
#define CASCADE_OPTIONS_H_

#include <cstddef>
#include <optional>
#include <string>

namespace cascade {

// How a new index analyses text. Fixed when the index is created (stored in
// it); ignored when opening an existing index.
struct AnalysisOptions {
  // libstemmer algorithm ("porter", "english", "french", "russian", ...) or
  // "none". Default: "porter", as Anserini.
  std::string stemmer = "porter";
  // Remove Lucene's 33 English stopwords. Default: true.
  bool stopwords = true;
};

struct OpenOptions {
  // Create the index when the folder does not exist or is empty.
  bool create_if_missing = false;
  // Open for searching only (Add/Commit then fail). Several processes may
  // open one index read-only while one process writes it.
  bool read_only = false;
  // For a new index: analysis, and the default BM25 parameters.
  AnalysisOptions analysis;
  double k1 = 0.9;  // BM25 term-frequency saturation, >= 0
  double b = 0.4;   // BM25 length normalisation, in [0, 1]
  // Flush a segment when buffered documents use about this much memory
  // (MiB, >= 1). Default 256.
  size_t ram_buffer_mb = 256;
  // Threads that analyse documents in AddBatch; 0 = all cores. Default 1.
  unsigned threads = 1;
  // RocksDB block cache (MiB). Default 256.
  size_t block_cache_mb = 256;

  // Reranking (README "Reranking cascade"). Models are Hugging Face
  // checkpoint folders, loaded once here.
  // The "ce" stage's cross-encoder. Empty: searches cannot use "ce".
  std::string cross_encoder_model;
  // A TILDEv2 token weigher, run over every document added without "tilde"
  // weights (batched like AddBatch). Its tokenizer becomes the index's TILDE
  // tokenizer (stored in the index; one vocabulary per index).
  std::string tilde_model;
  // Only a tokenizer folder, for indexes whose TILDE weights all come with
  // the documents ({"tilde": {"token": weight}}). Ignored with tilde_model.
  std::string tilde_tokenizer;
  // Where models run: "cpu", "cuda" or "auto" (a GPU when one is present).
  std::string device = "auto";
  // CPU threads for models; 0 = all cores.
  unsigned model_threads = 0;
  // When not empty, stored in the index as the cascade searches run when
  // they name none, e.g. "bm25:1000,tilde:200,ce:50" (checked here).
  std::string default_cascade;
};

struct SearchOptions {
  size_t k = 10;              // hits to return, 1..100000
  size_t offset = 0;          // hits to skip (for paging)
  std::optional<double> k1;   // BM25 k1 for this search; default: the index's
  std::optional<double> b;    // BM25 b for this search; default: the index's
  bool load_text = false;     // fill Hit::text (title is always filled)
  // First-stage (BM25) top-k algorithm: "auto", "exhaustive", "wand", "bmw"
  // (block-max WAND) or "maxscore" (block-max MaxScore). All return the
  // same hits and scores; the pruning ones are faster on long lists and may
  // report total_hits as a lower bound (SearchResult::total_hits_exact).
  std::string algorithm = "auto";

  // The stages to run, "bm25:DEPTH[,tilde:DEPTH][,ce:DEPTH]" with an
  // optional per-stage budget in ms ("ce:50:20"). Empty: the index's default
  // cascade, else BM25 alone with depth k + offset. Hits are taken from the
  // final order; at most the first stage's depth exist.
  std::string cascade;
  // Fill Hit::explain with each hit's rank and score at every stage.
  bool explain = false;
  // TILDE stage: alpha * tilde + (1 - alpha) * previous score, alpha in
  // [0, 1]. Default 1: TILDE alone.
  double tilde_alpha = 1.0;
  // Cross-encoder stage: passages longer than the model's maximum length
  // are "truncate"d or split into overlapping windows ("chunk"), the
  // passage taking its best window's score.
  std::string long_passages = "truncate";
  size_t chunk_overlap = 64;  // tokens shared by consecutive windows
};

}  // namespace cascade

#endif  // CASCADE_OPTIONS_H_
