// An index's field schema (IndexOptions::fields): keyword, numeric and text
// fields, the checks a document's values pass, and the encodings they are
// stored in (keys.h: the "keywords" and "numerics" column families and the
// tail of a "docs" record).
//
// A keyword field holds exact, unanalysed UTF-8 strings (ids, tags,
// categories); a numeric field holds doubles. Either may hold several
// values per document, or none. A text field is one string per document,
// analysed like "contents" into postings of its own, scored with BM25 on
// its own statistics (document frequencies, lengths) and weighted in the
// default query (below). All are declared when an index is created and
// never change; an index without a schema behaves as before they existed.
//
// Text fields and "contents". Every index has the "contents" field: title
// and text analysed together (as Anserini indexes them). A text field adds
// a separately analysed field: "title" and "text" take the document's title
// and text, any other name the record's top-level string of that name
// (Document::texts). A query word without a field then scores, for each
// default field (contents, unless its weight is 0, and each text field of
// weight > 0), that field's BM25 times its weight, summed: a weighted sum of
// per-field BM25 scores (Elasticsearch's multi_match "most_fields"), not
// BM25F (which would pool the term frequencies before saturating them).
//
// Thread-safety: plain values and pure functions.
#ifndef CASCADE_INDEX_FIELD_VALUES_H_
#define CASCADE_INDEX_FIELD_VALUES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cascade/status.h"
#include "index/document.h"

namespace cascade::index {

// Keyword plus numeric fields one index may declare (an ordinal is one byte
// in keys; this leaves room).
inline constexpr size_t kMaxSchemaFields = 64;
// Bytes of a field name: [A-Za-z0-9_] first, then also '.' and '-', so that
// a query names it without escapes.
inline constexpr size_t kMaxFieldNameBytes = 64;
// Bytes of one keyword value (non-empty).
inline constexpr size_t kMaxKeywordBytes = 4096;
// Values one document may give one field.
inline constexpr size_t kMaxFieldValues = 1024;
// Text fields one index may declare.
inline constexpr size_t kMaxTextFields = 16;
// The largest weight of a text field (or of contents).
inline constexpr double kMaxFieldWeight = 1000;

struct TextField {
  std::string name;
  double weight = 1;  // in the default query; 0: searched only by name
  bool operator==(const TextField&) const = default;
};

struct FieldSchema {
  // Field names in declaration order; a field's place in its list is its
  // ordinal in keys (keys.h), fixed at creation.
  std::vector<std::string> keyword_fields;
  std::vector<std::string> numeric_fields;
  std::vector<TextField> text_fields;
  // The weight of "contents" in the default query (0: searched only by
  // name). Only meaningful with text fields.
  double contents_weight = 1;

  bool empty() const {
    return keyword_fields.empty() && numeric_fields.empty() && text_fields.empty();
  }
  // The ordinal of a field of that kind, or -1.
  int KeywordOrdinal(std::string_view name) const;
  int NumericOrdinal(std::string_view name) const;
  int TextOrdinal(std::string_view name) const;
  bool operator==(const FieldSchema&) const = default;
};

// InvalidArgument naming the bad field: an empty, too long or badly spelt
// name, a reserved one (id, _id, title, text, contents, tilde, vectors;
// a text field may be title or text), one declared twice (in any kinds),
// more than kMaxSchemaFields keyword and numeric fields or kMaxTextFields
// text fields, a weight that is not a number in [0, kMaxFieldWeight], or
// text fields whose weights and contents' are all 0 (an unfielded word
// would search nothing).
Status ValidateFieldSchema(const FieldSchema& schema);

// "name" or "name^weight" (the options line and the command line's
// spelling of a text field). FormatTextField writes it back ("^w" only when
// the weight is not 1, in the shortest form that reads back exactly).
// InvalidArgument for a bad weight; the name is checked by
// ValidateFieldSchema.
Result<TextField> ParseTextField(std::string_view spec);
std::string FormatTextField(const TextField& field);

// A text field's value in `doc`: title and text for those names, else the
// value in doc.texts (empty when absent).
std::string_view TextFieldValue(const Document& doc, std::string_view name);

// The checks IndexWriter::Add makes on doc.keywords, doc.numbers and
// doc.texts: every field declared with that kind and given at most once, at
// most kMaxFieldValues values each, keyword values non-empty and at most
// kMaxKeywordBytes bytes, numbers finite; texts never named title or text
// (those are Document::title and text). InvalidArgument naming the
// document and the field.
Status CheckFieldValues(const FieldSchema& schema, const Document& doc);

// The stored values of `doc`, appended to its "docs" record after the text
// (keys.h): for each keyword field in schema order, varint32 count then each
// value varint32 length-prefixed; then for each numeric field, varint32
// count then each value as 8 bytes (IEEE-754 bits, little-endian); then for
// each text field other than title and text, in schema order, its value
// varint32 length-prefixed (empty when absent); then, with store_extra and
// a non-empty doc.extra, that JSON text varint32 length-prefixed. Nothing is
// appended for an empty schema and no extra.
// The values must have passed CheckFieldValues (and CheckExtraJson).
void EncodeStoredFields(const FieldSchema& schema, const Document& doc,
                        bool store_extra, std::string* out);
// Reads what EncodeStoredFields wrote (`tail` is the record after the
// text) into doc->keywords, doc->numbers and doc->texts, in schema order,
// fields without values left out, and doc->extra. An empty tail (a record written before
// the index had fields) reads as no values; nothing after the schema values
// (a record written before extras were stored, or without any) as no
// extra. Bytes after the extra are ignored (room for later additions, as
// builds before extras ignore the extra). Corruption for a truncated tail.
Status DecodeStoredFields(const FieldSchema& schema, std::string_view tail,
                          Document* doc);

// A double as 8 bytes whose bytewise order is numeric order (-0.0 is
// written as 0.0): the sign bit flipped for positives, every bit flipped
// for negatives, big-endian. For the "numerics" keys.
void PutSortableDouble(std::string* out, double v);
double DecodeSortableDouble(const char* p);

// A sorted list of distinct segment-local doc ids: varint32 count, then
// varint32 gaps (the first id as is). The value of a "keywords" record.
void EncodeDocList(const std::vector<uint32_t>& docs, std::string* out);
// Corruption for a truncated or unsorted list.
Status DecodeDocList(std::string_view in, std::vector<uint32_t>* docs);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_FIELD_VALUES_H_
