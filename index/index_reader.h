// IndexReader: a point-in-time view of an index for searching.
//
// Open() takes a RocksDB snapshot and loads what every search needs in
// memory: the segment list with document lengths (Lucene keeps norms in
// memory too), the deleted documents, and the collection statistics. Later
// writes are not seen; open a new reader to see them.
//
// Deleted documents: the "deletes" column family holds one key per deleted
// global doc id (keys.h); the reader loads them into one compressed bitmap
// (CRoaring) of global ids, run-optimized, instead of a bit per id of the
// whole id space, and counts each segment's share (SegmentInfo::deleted).
// Lookups cost nothing where nothing is deleted: IsDeleted(doc) tests a
// per-reader flag and IsDeleted(seg, local) the segment's count before the
// bitmap is touched, so hot loops over a segment without deletes never
// look one up. Loops that visit a segment's docs in order (document-at-a-
// time scoring, merges) use a DeletedCursor, which walks the deletes
// alongside instead of looking each doc up; segment-wide work (statistics,
// exhaustive scoring, clearing a merged range's delete keys) walks the
// deleted docs of a range (ForEachDeleted). The on-disk format is
// unchanged: the bitmap is rebuilt from the keys at each Open.
//
// Thread-safety: const methods may be called from many threads at once.
#ifndef CASCADE_INDEX_INDEX_READER_H_
#define CASCADE_INDEX_INDEX_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <roaring/roaring.hh>
#include <rocksdb/db.h>

#include "cascade/status.h"
#include "index/document.h"
#include "index/store.h"

// CRoaring 0.3 and later declare Roaring in namespace roaring; 0.2 (Debian
// 12's libroaring-dev) declares it globally. Unqualified lookup through the
// using-directive finds either.
namespace roaring {}
namespace cascade::index {
namespace roaring_compat {
using namespace ::roaring;
using DocBitmap = Roaring;
}  // namespace roaring_compat

// A set of uint32 doc ids (CRoaring's 32-bit bitmap).
using DocBitmap = roaring_compat::DocBitmap;

// Per-document lengths of one text field in one segment.
struct FieldLengths {
  std::vector<uint32_t> lengths;  // per local doc: indexed terms
  std::vector<uint8_t> norms;     // as SegmentInfo::norms
};

struct SegmentInfo {
  uint32_t id = 0;
  uint32_t base = 0;   // first global doc id
  uint32_t count = 0;  // documents, deleted ones included
  uint32_t deleted = 0;  // of them, deleted in this reader's view
  std::vector<uint32_t> lengths;  // per local doc: indexed terms
  // LengthToNormByte(lengths[i]) (length_norm.h); empty unless the index
  // uses LengthNorm::kLucene.
  std::vector<uint8_t> norms;
  // The same for each text field of the index (field_values.h), in schema
  // order; lengths and norms above are those of "contents".
  std::vector<FieldLengths> text_fields;
};

// BM25's N and avgdl inputs of one field.
struct FieldStats {
  uint64_t docs_with_terms = 0;  // live documents with a term in the field
  uint64_t sum_lengths = 0;      // their summed lengths
};

struct CollectionStats {
  uint64_t live_docs = 0;        // documents not deleted
  uint64_t deleted_docs = 0;
  // BM25's N and avgdl inputs, as Lucene's CollectionStatistics: live
  // documents with at least one indexed term, and their summed lengths.
  uint64_t docs_with_terms = 0;
  uint64_t sum_lengths = 0;
  uint32_t segments = 0;
  // The same two for each text field, in schema order (those above are
  // "contents"').
  std::vector<FieldStats> text_fields;
};

class IndexReader {
 public:
  // tilde_in_memory: read every TILDE record of this view into memory at
  // open (about 3 bytes per stored weight), so the tilde stage makes no
  // RocksDB lookups; each reopen reads them again.
  static Result<std::unique_ptr<IndexReader>> Open(std::shared_ptr<Store> store,
                                                   bool tilde_in_memory = false);
  ~IndexReader();
  IndexReader(const IndexReader&) = delete;
  IndexReader& operator=(const IndexReader&) = delete;

  const std::vector<SegmentInfo>& segments() const { return segments_; }
  const CollectionStats& stats() const { return stats_; }
  const IndexOptions& options() const { return store_->options(); }
  // Whether global doc id `doc` is deleted in this view (false for ids no
  // segment holds, unless a stray delete key names one).
  bool IsDeleted(uint32_t doc) const { return has_deletes_ && deleted_.contains(doc); }
  // The same for document `local` of `seg` (one of segments()); no bitmap
  // lookup when the segment has no deleted document.
  bool IsDeleted(const SegmentInfo& seg, uint32_t local) const {
    return seg.deleted != 0 && deleted_.contains(seg.base + local);
  }
  // The deleted global doc ids of this view, below doc_id_limit().
  const DocBitmap& deleted() const { return deleted_; }
  // Calls fn(doc) for each deleted global doc id in [begin, end), ascending.
  template <typename Fn>
  void ForEachDeleted(uint32_t begin, uint32_t end, Fn&& fn) const {
    if (!has_deletes_ || begin >= end) return;
    auto it = deleted_.begin();
    it.equalorlarger(begin);
    for (; it != deleted_.end() && *it < end; ++it) fn(static_cast<uint32_t>(*it));
  }
  // Calls fn(local) for each deleted document of `seg`, ascending.
  template <typename Fn>
  void ForEachDeleted(const SegmentInfo& seg, Fn&& fn) const {
    if (seg.deleted == 0) return;
    ForEachDeleted(seg.base, seg.base + seg.count, [&](uint32_t doc) { fn(doc - seg.base); });
  }
  // One past the largest doc id in this view. Segments may leave gaps below
  // it (ids freed by merges, segment_merger.h).
  uint32_t doc_id_limit() const { return doc_id_limit_; }
  // Read options pinned to this view's snapshot, for scans of it (merges).
  const rocksdb::ReadOptions& read_options() const { return read_options_; }

  // Terms below are "contents" terms, or FieldTerm(f, term) (keys.h) for
  // text field f.
  // The encoded posting list of `term` in `segment` into *bytes; false when
  // the term does not occur there.
  Result<bool> ReadPostings(uint32_t segment, std::string_view term,
                            std::string* bytes) const;
  // The same without a copy where RocksDB can pin the value (mmap'd table
  // file, block cache or memtable): *bytes stays valid until it is Reset()
  // or destroyed, and may hold a block cache entry meanwhile, so release it
  // after the search. Skips block checksums (query_read_options_ below);
  // a damaged list is still caught by the decoder's bounds checks.
  Result<bool> ReadPostings(uint32_t segment, std::string_view term,
                            rocksdb::PinnableSlice* bytes) const;
  // Whether the index stores term positions (phrase queries).
  bool has_positions() const {
    return options().positions && store_->cf(Cf::kPositions) != nullptr;
  }
  // The encoded positions of `term` in `segment` (positions_codec.h), pinned
  // as ReadPostings pins; false when the term does not occur there.
  // NotSupported when the index stores no positions.
  Result<bool> ReadPositions(uint32_t segment, std::string_view term,
                             rocksdb::PinnableSlice* bytes) const;
  // Calls fn(term, encoded postings) for each term of `segment` that starts
  // with `prefix`, in byte order, until fn returns false. Both views are
  // valid only during the call. For prefix queries: the terms of a segment
  // are one contiguous key range (keys.h). An empty prefix visits the text
  // fields' terms too (they sort first).
  Status ForEachTermWithPrefix(
      uint32_t segment, std::string_view prefix,
      const std::function<bool(std::string_view term, std::string_view postings)>& fn)
      const;
  // Keyword fields (field_values.h). The segment-local docs of `segment`
  // whose keyword field `field` (ordinal) holds exactly `value`, ascending,
  // into *docs (empty when none).
  Status ReadKeywordDocs(uint32_t segment, uint8_t field, std::string_view value,
                         std::vector<uint32_t>* docs) const;
  // Calls fn(value, encoded doc list) for each value of keyword field
  // `field` in `segment` that starts with `prefix`, in byte order, until fn
  // returns false. Both views are valid only during the call.
  Status ForEachKeywordWithPrefix(
      uint32_t segment, uint8_t field, std::string_view prefix,
      const std::function<bool(std::string_view value, std::string_view docs)>& fn) const;
  // The segment-local docs of `segment` with a value of numeric field
  // `field` (ordinal) in the range, ascending and distinct, into *docs. An
  // absent bound is open; `*_inclusive` say whether a value equal to the
  // bound is in.
  Status ReadNumericRange(uint32_t segment, uint8_t field, std::optional<double> lower,
                          bool lower_inclusive, std::optional<double> upper,
                          bool upper_inclusive, std::vector<uint32_t>* docs) const;

  // Stored fields of a document (deleted or not), keyword and numeric
  // values and other fields (Document::extra) included. NotFound for an unknown doc id, Corruption for a bad
  // record.
  Result<Document> ReadDocument(uint32_t doc) const;
  // The live document with this external id, if any.
  Result<std::optional<uint32_t>> Lookup(std::string_view id) const;

  // The stored TILDE weights of each doc (encoded, rerank/tilde.h), nullopt
  // for a doc without any. *out is resized to docs.size().
  Status ReadTermWeights(std::span<const uint32_t> docs,
                         std::vector<std::optional<std::string>>* out) const;
  // Weight per TILDE code; nullopt until the index has TILDE weights.
  std::optional<float> tilde_scale() const { return tilde_scale_; }

 private:
  explicit IndexReader(std::shared_ptr<Store> store);
  Status Load();
  Status LoadTermWeights();

  std::shared_ptr<Store> store_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  rocksdb::ReadOptions read_options_;
  // read_options_ without block checksum verification, for the query-time
  // posting and position lookups (the pinned ReadPostings and
  // ReadPositions): with mmap reads RocksDB would hash a list's whole block
  // on every lookup (9% of query time at 1M documents). Compactions,
  // merges (read_options_) and every other read still verify.
  rocksdb::ReadOptions query_read_options_;
  std::vector<SegmentInfo> segments_;
  // Deleted global doc ids below doc_id_limit_; has_deletes_ is
  // !deleted_.isEmpty(), kept apart so IsDeleted tests a bool first.
  DocBitmap deleted_;
  bool has_deletes_ = false;
  uint32_t doc_id_limit_ = 0;
  std::optional<float> tilde_scale_;
  // With tilde_in_memory: records of doc d are tilde_data_[tilde_offsets_[d],
  // tilde_offsets_[d + 1]); an empty range means none.
  bool tilde_in_memory_ = false;
  std::vector<uint64_t> tilde_offsets_;
  std::string tilde_data_;
  CollectionStats stats_;
};

// Whether documents of one segment are deleted, asked in ascending order
// of local id, as document-at-a-time scoring visits them: the cursor walks
// the segment's deleted docs alongside, so an answer costs a comparison
// (plus one bitmap step per deleted doc passed) instead of a bitmap lookup,
// and nothing at all when the segment has no deletes. Asking for a smaller
// id than the last one seeks back: still right, only slower.
// Not thread-safe (one per search); `reader` must outlive it.
class DeletedCursor {
 public:
  DeletedCursor(const IndexReader& reader, const SegmentInfo& seg)
      : bitmap_(&reader.deleted()),
        base_(seg.base),
        end_(seg.base + seg.count),
        none_(seg.deleted == 0),
        it_(bitmap_->begin()) {
    if (!none_) Seek(0);
  }
  bool IsDeleted(uint32_t local) {
    if (none_) return false;
    // The common case: no deleted doc in [from_, local].
    if (local < next_ && local >= from_) return false;
    if (local < from_) {
      Seek(local);
    } else {
      while (next_ < local) Advance();
      from_ = local;
    }
    return next_ == local;
  }

 private:
  static constexpr uint64_t kNone = UINT64_MAX;
  // Invariant: next_ is the first deleted local id >= from_, or kNone.
  void Seek(uint32_t local) {
    it_ = bitmap_->begin();
    it_.equalorlarger(base_ + local);
    from_ = local;
    Load();
  }
  void Advance() {
    ++it_;
    Load();
  }
  void Load() {
    next_ = it_ != bitmap_->end() && *it_ < end_ ? uint64_t{*it_} - base_ : kNone;
  }

  const DocBitmap* bitmap_;
  uint32_t base_;
  uint32_t end_;
  bool none_;  // the segment has no deleted doc
  uint32_t from_ = 0;
  uint64_t next_ = kNone;
  DocBitmap::const_iterator it_;
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_INDEX_READER_H_
