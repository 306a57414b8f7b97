// IndexOptions: what an index is built with, fixed when it is created and
// persisted in its metadata (keys.h, kMetaOptions), so that queries are
// analysed exactly as the documents were.
#ifndef CASCADE_INDEX_INDEX_OPTIONS_H_
#define CASCADE_INDEX_INDEX_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"
#include "index/analyzer.h"
#include "index/dense/vector_field.h"
#include "index/field_values.h"

namespace cascade::index {

// How BM25 turns a document length into its length norm.
// Persisted by name; never rename.
enum class LengthNorm {
  // Lucene's lossy one-byte norm (SmallFloat.intToByte4): exact up to 24
  // terms, then 3 significant bits. Ranks like Lucene/Anserini do.
  kLucene,
  // The exact length.
  kExact,
};

struct IndexOptions {
  // Analysis of the "contents" field (title + text) and of queries.
  AnalyzerOptions analyzer;
  // Default BM25 parameters of searches on this index (Anserini's defaults).
  // Queries may override them.
  double k1 = 0.9;
  double b = 0.4;
  LengthNorm length_norm = LengthNorm::kLucene;
  // Dense vector fields (index/dense/vector_field.h); every document
  // carries one vector per field. Their order gives each its ordinal in
  // keys (keys.h, "vectors"): fixed at creation.
  std::vector<dense::VectorField> vector_fields;
  // Store term positions ("positions" column family, positions_codec.h) so
  // that phrase queries run. On for new indexes; an index written before
  // positions existed reads as off (its options text has no "positions"
  // line).
  bool positions = true;
  // Keyword and numeric fields (field_values.h), stored per document and
  // indexed for filters ("keywords", "numerics" in keys.h). Empty for an
  // index created without them, or before they existed (no
  // "keyword_field"/"numeric_field" lines): such an index behaves as before.
  FieldSchema fields;
  // Store each document's other top-level JSON fields (Document::extra)
  // and return them with it. On for new indexes and for indexes written
  // before the option existed (no "store_extra" line); off is persisted as
  // "store_extra=false", and the writer then drops them.
  bool store_extra = true;
};

// InvalidArgument naming each bad option (k1 < 0, b outside [0, 1], a bad
// analyzer option, a bad field schema).
Status ValidateIndexOptions(const IndexOptions& options);

// "key=value\n" lines; unknown keys are refused on parse, so an index written
// by a newer Cascade with options this one lacks is not silently misread.
std::string SerializeIndexOptions(const IndexOptions& options);
Result<IndexOptions> ParseIndexOptions(std::string_view text);

std::string_view LengthNormName(LengthNorm norm);
Result<LengthNorm> ParseLengthNorm(std::string_view name);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_INDEX_OPTIONS_H_
