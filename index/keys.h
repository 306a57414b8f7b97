// The on-disk layout of a Cascade index: one RocksDB database, its column
// families, and the keys and values in each. Everything persistent is
// described here and nowhere else.
//
// NEVER RENAME A COLUMN FAMILY OR RENUMBER/REUSE A KEY PREFIX OR FIELD: old
// indexes must keep opening. A change of meaning bumps kFormatVersion, and
// Open() refuses versions it does not know (newer ones) with a clear error.
//
// Integers inside keys are big-endian so that RocksDB's bytewise order is
// numeric order (a segment's postings are one contiguous key range).
// Integers inside values are little-endian fixed width or LEB128 varints, as
// each value says.
//
// Column families:
//   "default"   metadata. Keys are the kMeta* strings below; values:
//               kMetaFormatVersion  decimal text, e.g. "1"
//               kMetaOptions        IndexOptions as "key=value\n" lines
//                                   (index_options.h)
//               kMetaNextDocId      fixed32: the next internal doc id
//               kMetaNextSegmentId  fixed32: the next segment id
//               kMetaCreatedBy      text: "cascade <version>"
//   "segments"  key: fixed32-BE segment id.
//               value: fixed32 base doc id, fixed32 doc count, then doc count
//               x fixed32 document lengths (indexed terms of the
//               "contents" field, i.e. title + text after analysis); then,
//               when the index has text fields (field_values.h), doc count
//               x fixed32 lengths of each text field, in schema order.
//               A segment holds doc ids [base, base + count). Segment
//               ids and bases increase together; after a merge
//               (segment_merger.h) ids between segments may be unused.
//   "postings"  key: fixed32-BE segment id, then the term's UTF-8 bytes
//               for "contents"; for text field f (its ordinal among
//               IndexOptions::fields.text_fields): fixed32-BE segment id,
//               a 0x00 byte, one byte f, then the term (FieldTerm below;
//               an analysed term never starts with 0x00, so a segment's
//               contents terms and each field's are separate ranges).
//               value: a posting list of segment-local doc ids
//               (posting_codec.h). Version 2: the list carries block-max
//               metadata for dynamic pruning (a per-term (tf, length)
//               frontier, skip_bytes, and each skip entry's max tf and min
//               document length); version 1 lists had none and do not
//               decode as version 2.
//   "positions" key: as "postings". value: the positions of the term in
//               each document of its posting list, in the same order
//               (positions_codec.h). Written when the index options say
//               positions=true (the default since positions exist).
//   "docs"      key: fixed32-BE internal doc id.
//               value: stored fields: varint32 length + bytes, for the
//               external id, title and text, in that order. When the index
//               has keyword, numeric or text fields (IndexOptions::fields),
//               the values of each follow, in schema order: keyword fields
//               first, each a varint32 count then the values varint32
//               length-prefixed; then numeric fields, each a varint32 count
//               then the values as 8 bytes (IEEE-754 bits, little-endian);
//               then text fields other than title and text, each varint32
//               length-prefixed (field_values.h). A record with nothing after the text has
//               no values (an index without fields writes nothing there).
//               Then, when the document has other fields and the index
//               stores them (IndexOptions::store_extra), their JSON object
//               text (Document::extra), varint32 length-prefixed. A record
//               with nothing after the schema values has none: records
//               written before extras existed read unchanged, and builds
//               from before ignore the bytes (no version bump; an index
//               created with store_extra off carries a "store_extra=false"
//               options line, which such builds refuse as unknown).
//   "ids"       key: external id bytes. value: fixed32 internal doc id of the
//               live document with that id.
//   "deletes"   key: fixed32-BE internal doc id of a deleted (or replaced)
//               document. value: empty.
//   "tilde"     key: fixed32-BE internal doc id. value: the document's
//               TILDEv2 term weights (rerank/tilde.h encoding: distinct
//               WordPiece ids of the index's TILDE tokenizer with 8-bit
//               codes). Absent for documents without weights. New in
//               version 2.
//   "vectors"   key: one byte, the vector field's ordinal (its place in
//               IndexOptions::vector_fields), then fixed32-BE internal doc
//               id. value: the document's vector in the field's storage
//               encoding (index/dense/vector_field.h: f32, f16 or int8).
//               Like "docs", kept for deleted documents; readers skip them
//               through "deletes". New in version 2.
//   "ivf"       key: one byte field ordinal, fixed32-BE list id, fixed32-BE
//               internal doc id. value: empty. The IVF inverted lists of a
//               field: list l is the key range with prefix (field, l), so a
//               probe is a prefix scan. Written for every document added
//               once the field has centroids (kMetaIvfCentroidsPrefix), to
//               its nearest list; training rewrites the field's whole range
//               from its live documents. New in version 2.
//   "keywords"  key: fixed32-BE segment id, one byte: the keyword field's
//               ordinal (its place in IndexOptions::fields.keyword_fields),
//               then the value's UTF-8 bytes, exactly as given (not
//               analysed). value: the segment-local ids of the documents
//               holding that value, sorted and distinct: varint32 count,
//               then varint32 gaps (field_values.h). A segment's keyword
//               index is one key range, as its postings are. Written only
//               for indexes with keyword fields; optional (opened when
//               present, created on a writable open). New in version 2
//               (fields added without a version bump: an index without
//               fields writes nothing new, and one with fields carries
//               "keyword_field" lines in its options, which an older build
//               refuses as unknown).
//   "numerics"  key: fixed32-BE segment id, one byte: the numeric field's
//               ordinal (its place in IndexOptions::fields.numeric_fields),
//               8 bytes: the value in sortable form (PutSortableDouble:
//               bytewise order is numeric order), fixed32-BE segment-local
//               doc id. value: empty. One key per (value, document); a
//               range query is one seek and a scan. Optional, as
//               "keywords".
// Dense metadata in "default":
//               kMetaIvfCentroidsPrefix + field name: the field's IVF
//                                   centroids: fixed32 nlist, fixed32 dim,
//                                   fixed32 seed, then nlist x dim float32
//                                   (row-major; unit length for cosine)
// TILDE metadata in "default" (absent until the index has TILDE weights):
//               kMetaTildeScale     decimal text: weight = code * scale,
//                                   fixed by the first segment with weights
//               kMetaTildeTokenizer the tokenizer's files: four varint32
//                                   length-prefixed strings (source,
//                                   tokenizer.json, vocab.txt,
//                                   tokenizer_config.json; unused ones empty)
//               kMetaTildeModel     text: the model folder weights came from
//               kMetaDefaultCascade text: the cascade spec searches run when
//                                   a request names none (query/cascade_spec.h)
//
// A segment and everything it adds (postings, lengths, stored fields, ids,
// deletes of the documents it replaces, the advanced counters) is written in
// one atomic WriteBatch, so a reader sees a segment whole or not at all. A
// merge likewise rewrites its segments and every record of their documents
// in one WriteBatch (segment_merger.h).
#ifndef CASCADE_INDEX_KEYS_H_
#define CASCADE_INDEX_KEYS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace cascade::index {

// Version 2: the layout above. Version 1 (no block-max metadata in
// postings, no "tilde", "vectors" or "ivf" column family) is refused with a request to
// re-index: its posting lists do not decode as version 2.
inline constexpr uint32_t kFormatVersion = 2;
// The oldest version this build reads.
inline constexpr uint32_t kMinFormatVersion = 2;

inline constexpr std::string_view kCfDefault = "default";
inline constexpr std::string_view kCfSegments = "segments";
inline constexpr std::string_view kCfPostings = "postings";
inline constexpr std::string_view kCfDocs = "docs";
inline constexpr std::string_view kCfIds = "ids";
inline constexpr std::string_view kCfDeletes = "deletes";
inline constexpr std::string_view kCfTilde = "tilde";
inline constexpr std::string_view kCfVectors = "vectors";
inline constexpr std::string_view kCfIvf = "ivf";
inline constexpr std::string_view kCfPositions = "positions";
inline constexpr std::string_view kCfKeywords = "keywords";
inline constexpr std::string_view kCfNumerics = "numerics";

inline constexpr std::string_view kMetaFormatVersion = "format_version";
inline constexpr std::string_view kMetaOptions = "options";
inline constexpr std::string_view kMetaNextDocId = "next_doc_id";
inline constexpr std::string_view kMetaNextSegmentId = "next_segment_id";
inline constexpr std::string_view kMetaCreatedBy = "created_by";
inline constexpr std::string_view kMetaTildeScale = "tilde_scale";
inline constexpr std::string_view kMetaTildeTokenizer = "tilde_tokenizer";
inline constexpr std::string_view kMetaTildeModel = "tilde_model";
inline constexpr std::string_view kMetaDefaultCascade = "default_cascade";
inline constexpr std::string_view kMetaIvfCentroidsPrefix = "ivf_centroids/";

inline void PutFixed32BE(std::string* out, uint32_t v) {
  char buf[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(buf, 4);
}
inline uint32_t DecodeFixed32BE(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}
inline void PutFixed32(std::string* out, uint32_t v) {
  char buf[4] = {static_cast<char>(v), static_cast<char>(v >> 8),
                 static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  out->append(buf, 4);
}
inline uint32_t DecodeFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | (uint32_t{u[1]} << 8) | (uint32_t{u[2]} << 16) |
         (uint32_t{u[3]} << 24);
}
inline void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline void PutVarint64(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
// Reads a varint from *in, advancing it. False on truncation or overflow.
inline bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}
inline bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint64_t wide;
  if (!GetVarint64(in, &wide) || wide > UINT32_MAX) return false;
  *v = static_cast<uint32_t>(wide);
  return true;
}
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint32_t len;
  if (!GetVarint32(in, &len) || in->size() < len) return false;
  *out = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

inline std::string SegmentKey(uint32_t segment) {
  std::string key;
  PutFixed32BE(&key, segment);
  return key;
}
inline std::string PostingKey(uint32_t segment, std::string_view term) {
  std::string key;
  key.reserve(4 + term.size());
  PutFixed32BE(&key, segment);
  key.append(term);
  return key;
}
// The "term" of `term` in text field `field` (ordinal) as postings and
// positions keys spell it after the segment id: 0x00, the ordinal byte,
// the term. IndexReader::ReadPostings and friends take it as a term.
inline constexpr char kFieldTermMark = '\0';
inline std::string FieldTerm(uint8_t field, std::string_view term) {
  std::string key;
  key.reserve(2 + term.size());
  key.push_back(kFieldTermMark);
  key.push_back(static_cast<char>(field));
  key.append(term);
  return key;
}
// The text field ordinal of a postings term (after the segment id), or -1
// for a "contents" term.
inline int FieldOfTerm(std::string_view term) {
  return term.size() >= 2 && term[0] == kFieldTermMark ? static_cast<unsigned char>(term[1])
                                                       : -1;
}
inline std::string DocKey(uint32_t doc) {
  std::string key;
  PutFixed32BE(&key, doc);
  return key;
}
inline std::string VectorKey(uint8_t field, uint32_t doc) {
  std::string key(1, static_cast<char>(field));
  PutFixed32BE(&key, doc);
  return key;
}
// The prefix of list `list` of `field` in "ivf"; a key appends the doc id.
inline std::string IvfListPrefix(uint8_t field, uint32_t list) {
  std::string key(1, static_cast<char>(field));
  PutFixed32BE(&key, list);
  return key;
}

// "keywords": the prefix of field `field` in `segment`; a key appends the
// value bytes.
inline std::string KeywordPrefix(uint32_t segment, uint8_t field) {
  std::string key;
  PutFixed32BE(&key, segment);
  key.push_back(static_cast<char>(field));
  return key;
}
// "numerics": the prefix of field `field` in `segment`; a key appends the
// 8 sortable value bytes and the fixed32-BE local doc id.
inline std::string NumericPrefix(uint32_t segment, uint8_t field) {
  return KeywordPrefix(segment, field);
}
// The size of a "numerics" key.
inline constexpr size_t kNumericKeyBytes = 4 + 1 + 8 + 4;

}  // namespace cascade::index

#endif  // CASCADE_INDEX_KEYS_H_
