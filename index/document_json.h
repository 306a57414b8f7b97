// DocumentJsonParser: one JSON document record -> Document, with the rules
// and messages every input path shares (`cascade index` corpus lines, the
// HTTP bulk endpoint, the library's ParseDocumentJson):
//   {"_id" or "id": string (or number, when allowed), "title": string,
//    "text": string, "tilde": {"token": weight, ...} (optional TILDEv2
//    weights, Anserini's JSON vector format), "vectors": {"name": [number,
//    ...], ...} (optional dense vectors, finite float32 values; the writer
//    checks them against the index's vector fields), and for each keyword
//    field of the schema given to SetFields: a string or an array of
//    strings; for each numeric field: a number or an array of numbers (null
//    or absent: no value), ...any other fields}
// "_id" wins over "id"; a null or absent title/text is empty; a document
// with neither is refused ("empty document: no title or text"); invalid
// UTF-8 and malformed JSON are refused with simdjson's reason; so are
// keyword and numeric values of the wrong type or over the limits of
// field_values.h. Messages name the field: `field "text": expected a string,
// got number`, `field "year": expected a number or an array of numbers, got
// string`.
//
// Any other top-level field goes to Document::extra, its value's raw JSON
// as given (any type; whitespace outside strings removed), in input order;
// a name given twice keeps its last value in the place of the first (as
// JSON.parse does). Whether they are stored is the index's choice
// (IndexOptions::store_extra): the writer drops them otherwise.
//
// Thread-safety: a parser reuses its buffers; use one per thread.
#ifndef CASCADE_INDEX_DOCUMENT_JSON_H_
#define CASCADE_INDEX_DOCUMENT_JSON_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "index/document.h"
#include "index/field_values.h"

namespace cascade::index {

// Most "tilde" entries one document may carry.
inline constexpr size_t kMaxTildeEntries = 65536;
// Most values one "vectors" entry may carry (dense::kMaxDimension).
inline constexpr size_t kMaxVectorDimension = 65536;

class DocumentJsonParser {
 public:
  // numeric_ids: accept a number as id (its shortest decimal text: 1e3 ->
  // "1000"), as corpus files do; otherwise only strings.
  explicit DocumentJsonParser(bool numeric_ids = true);
  ~DocumentJsonParser();
  DocumentJsonParser(const DocumentJsonParser&) = delete;
  DocumentJsonParser& operator=(const DocumentJsonParser&) = delete;

  // The keyword and numeric fields to read (the index's schema); none
  // until set.
  void SetFields(const FieldSchema& schema);

  // Fills *doc and returns true, or sets *problem and returns false.
  bool Parse(std::string_view json, Document* doc, std::string* problem);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The checks IndexWriter::Add makes on doc.extra: empty, or a JSON object
// (valid UTF-8) whose member names are distinct and none of id, _id, title,
// text, tilde, vectors or a field of `schema`. InvalidArgument naming the
// document and the problem. Thread-safe.
Status CheckExtraJson(const FieldSchema& schema, const Document& doc);

// The members of a Document::extra object: names unescaped, values as raw
// JSON without whitespace outside strings, in order. Empty text: none.
// InvalidArgument when `json` is not a JSON object. Thread-safe.
Status SplitExtraJson(std::string_view json,
                      std::vector<std::pair<std::string, std::string>>* members);

// The inverse, for documents given as (name, raw JSON value) pairs:
// {"name":value,...}, names escaped, values as given (CheckExtraJson
// checks the result when the document is added). No members: "".
std::string JoinExtraJson(std::span<const std::pair<std::string, std::string>> members);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_DOCUMENT_JSON_H_
