// Document: one record of a corpus as the index layer sees it.
//
// Text is UTF-8 (validated by whoever builds the Document). The index analyses
// `title` and `text` into one searchable field ("contents", as Anserini does)
// and stores both for display and for the reranking stages.
#ifndef CASCADE_INDEX_DOCUMENT_H_
#define CASCADE_INDEX_DOCUMENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cascade::index {

struct Document {
  std::string id;     // external id, unique within an index; never empty
  std::string title;  // may be empty
  std::string text;   // may be empty (but not together with title)
  // TILDEv2 term weights given with the document, as the input spells them
  // ({"token": weight}); the caller maps them to `tilde` with the index's
  // TILDE tokenizer before the writer sees the document.
  std::vector<std::pair<std::string, float>> tilde_terms = {};
  // TILDEv2 weights by token id (distinct ids, weights >= 0), stored
  // quantized (keys.h, "tilde"). Empty: the document has none.
  std::vector<std::pair<int32_t, float>> tilde = {};
  // Dense vectors by field name ({"vectors": {"name": [...]}}): one per
  // vector field of the index, checked against it by the writer
  // (index/dense/vector_field.h) and stored in "vectors" (keys.h).
  std::vector<std::pair<std::string, std::vector<float>>> vectors = {};
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_DOCUMENT_H_
