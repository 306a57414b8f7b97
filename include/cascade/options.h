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
};

struct SearchOptions {
  size_t k = 10;              // hits to return, 1..100000
  size_t offset = 0;          // hits to skip (for paging)
  std::optional<double> k1;   // BM25 k1 for this search; default: the index's
  std::optional<double> b;    // BM25 b for this search; default: the index's
  bool load_text = false;     // fill Hit::text (title is always filled)
};

}  // namespace cascade

#endif  // CASCADE_OPTIONS_H_
