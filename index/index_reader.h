// IndexReader: a point-in-time view of an index for searching.
//
// Open() takes a RocksDB snapshot and loads what every search needs in
// memory: the segment list with document lengths (Lucene keeps norms in
// memory too), the deleted documents, and the collection statistics. Later
// writes are not seen; open a new reader to see them.
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

#include <rocksdb/db.h>

#include "cascade/status.h"
#include "index/document.h"
#include "index/store.h"

namespace cascade::index {

struct SegmentInfo {
  uint32_t id = 0;
  uint32_t base = 0;   // first global doc id
  uint32_t count = 0;  // documents, deleted ones included
  std::vector<uint32_t> lengths;  // per local doc: indexed terms
  // LengthToNormByte(lengths[i]) (length_norm.h); empty unless the index
  // uses LengthNorm::kLucene.
  std::vector<uint8_t> norms;
};

struct CollectionStats {
  uint64_t live_docs = 0;        // documents not deleted
  uint64_t deleted_docs = 0;
  // BM25's N and avgdl inputs, as Lucene's CollectionStatistics: live
  // documents with at least one indexed term, and their summed lengths.
  uint64_t docs_with_terms = 0;
  uint64_t sum_lengths = 0;
  uint32_t segments = 0;
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
  bool IsDeleted(uint32_t doc) const {
    return doc < deleted_.size() && deleted_[doc];
  }
  // One past the largest doc id in this view. Segments may leave gaps below
  // it (ids freed by merges, segment_merger.h).
  uint32_t doc_id_limit() const { return doc_id_limit_; }
  // Read options pinned to this view's snapshot, for scans of it (merges).
  const rocksdb::ReadOptions& read_options() const { return read_options_; }

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
  // are one contiguous key range (keys.h).
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
  // values included. NotFound for an unknown doc id, Corruption for a bad
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
  std::vector<bool> deleted_;
  uint32_t doc_id_limit_ = 0;
  std::optional<float> tilde_scale_;
  // With tilde_in_memory: records of doc d are tilde_data_[tilde_offsets_[d],
  // tilde_offsets_[d + 1]); an empty range means none.
  bool tilde_in_memory_ = false;
  std::vector<uint64_t> tilde_offsets_;
  std::string tilde_data_;
  CollectionStats stats_;
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_INDEX_READER_H_
