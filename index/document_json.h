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
//    or absent: no value), ...other fields ignored}
// "_id" wins over "id"; a null or absent title/text is empty; a document
// with neither is refused ("empty document: no title or text"); invalid
// UTF-8 and malformed JSON are refused with simdjson's reason; so are
// keyword and numeric values of the wrong type or over the limits of
// field_values.h. Messages name the field: `field "text": expected a string,
// got number`, `field "year": expected a number or an array of numbers, got
// string`.
//
// Thread-safety: a parser reuses its buffers; use one per thread.
#ifndef CASCADE_INDEX_DOCUMENT_JSON_H_
#define CASCADE_INDEX_DOCUMENT_JSON_H_

#include <memory>
#include <string>
#include <string_view>

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

}  // namespace cascade::index

#endif  // CASCADE_INDEX_DOCUMENT_JSON_H_
