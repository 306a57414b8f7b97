// Document: one record of a corpus as the index layer sees it.
//
// Text is UTF-8 (validated by whoever builds the Document). The index analyses
// `title` and `text` into one searchable field ("contents", as Anserini does)
// and stores both for display and for the reranking stages; the index's
// text fields (field_values.h) are analysed again, each on its own. Values of the
// index's keyword and numeric fields (field_values.h) are stored and
// indexed as they are. Every other top-level field of a JSON record is kept
// in `extra` (when the index stores extras, IndexOptions::store_extra) and
// returned as given.
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
  std::string text;   // may be empty (but not together with title and texts)
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
  // Values of keyword fields ({"tags": ["a", "b"]}) and numeric fields
  // ({"year": 1987}) by field name, each field at most once; checked
  // against the index's schema by the writer (CheckFieldValues). Read back
  // (IndexReader::ReadDocument) in schema order, fields without values
  // left out.
  std::vector<std::pair<std::string, std::vector<std::string>>> keywords = {};
  std::vector<std::pair<std::string, std::vector<double>>> numbers = {};
  // Values of the index's text fields other than title and text
  // ({"abstract": "..."}) by field name, each at most once: analysed into
  // the field's own postings and stored (field_values.h). Checked like the
  // values above; read back in schema order, empty ones left out.
  std::vector<std::pair<std::string, std::string>> texts = {};
  // The record's other top-level fields ("anything else stored"), as one
  // JSON object text in input order: {"author":"x","meta":{"a":[1,2]}}.
  // Each value is its raw JSON as given, whitespace outside strings
  // removed; names are never id, _id, title, text, tilde, vectors or a
  // schema field, and distinct (the parser keeps the last value of a
  // repeated name, in the place of the first: JSON.parse's rule). Empty:
  // none. Checked by the writer (CheckExtraJson), stored after the schema
  // values (keys.h, "docs"), counted in the document size limit.
  std::string extra = {};
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_DOCUMENT_H_
