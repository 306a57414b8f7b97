// IndexWriter: adds documents to an index, Lucene-style.
//
// Added documents are analysed and buffered in memory (an in-memory inverted
// index); Flush() writes the buffer as one immutable segment in a single
// atomic RocksDB WriteBatch (keys.h), so a failure or a crash leaves the
// index as it was before the flush. A document whose external id is already
// in the index (or earlier in the buffer) replaces it: the older one is
// marked deleted in the same batch.
//
// BM25 statistics follow Lucene: document frequencies count replaced
// documents until their segment is merged (MaybeMerge, ForceMerge;
// segment_merger.h); document counts and length sums leave them out.
//
// Thread-safety: one IndexWriter per Store (Open refuses a second), used
// from one thread at a time. AddBatch() analyses on its own threads.
#ifndef CASCADE_INDEX_INDEX_WRITER_H_
#define CASCADE_INDEX_INDEX_WRITER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <rocksdb/write_batch.h>

#include "cascade/status.h"
#include "index/analyzer.h"
#include "index/document.h"
#include "index/merge_policy.h"
#include "index/store.h"

namespace cascade::index {

struct WriterOptions {
  // Flush a segment when the buffer's estimated memory passes this (bytes).
  size_t ram_buffer_bytes = size_t{256} << 20;
  // Threads that analyse documents in AddBatch(); 0 = hardware threads.
  unsigned threads = 1;
  // Documents larger than this (id + title + text bytes, plus keyword
  // values' bytes and 8 per numeric value) are refused with
  // InvalidArgument.
  size_t max_document_bytes = size_t{1} << 20;
};

struct WriterStats {
  uint64_t added = 0;     // documents accepted since Open
  uint64_t replaced = 0;  // of which replaced an existing id
  uint64_t deleted = 0;   // documents deleted by id
  uint64_t segments = 0;  // segments flushed since Open
  uint64_t terms = 0;     // postings (term, doc) pairs written
  uint64_t tilde_documents = 0;  // documents stored with TILDE weights
  uint64_t tilde_saturated = 0;  // weights above the index's scale (code 255)
  uint64_t vectors = 0;          // dense vectors stored (all fields)
  uint64_t merges = 0;           // merges run since Open
  uint64_t merged_segments = 0;  // segments they took in
  uint64_t reclaimed = 0;        // deleted documents they dropped
};

class IndexWriter {
 public:
  // Errors: InvalidArgument when the store is read-only, Unavailable when
  // another writer is open on it.
  static Result<std::unique_ptr<IndexWriter>> Open(std::shared_ptr<Store> store,
                                                   const WriterOptions& options);
  ~IndexWriter();  // drops unflushed documents; call Commit() first
  IndexWriter(const IndexWriter&) = delete;
  IndexWriter& operator=(const IndexWriter&) = delete;

  // Adds one document. InvalidArgument for an empty id, a document with
  // neither title nor text, one over max_document_bytes, bad vectors (a
  // vector field missing, unknown or given twice; a wrong dimension; a
  // non-finite value), or bad keyword or numeric values (CheckFieldValues;
  // all of these are CheckDocument); the index is unchanged then. May flush a segment (and return its I/O error).
  Status Add(const Document& doc);

  // Adds documents in order, analysing them on `threads` threads. The
  // result is the same as Add() on each in turn (deterministic). Stops at
  // the first invalid document, having added the ones before it.
  Status AddBatch(std::span<const Document> docs);

  // Deletes the document with this external id (committed or buffered).
  // NotFound when no live document has it. Takes effect for readers at the
  // next Flush(), like an add.
  Status Delete(std::string_view id);

  // Whether a live document has this external id: one added since the last
  // Flush() and not deleted since, or a committed one not deleted since.
  // IOError or Corruption from the id lookup.
  Result<bool> Contains(std::string_view id) const;

  // Writes buffered documents as a segment, and buffered deletes (no-op
  // when there are neither).
  Status Flush();
  // Flush() and make everything durable (fsync of the WAL).
  Status Commit();

  // Flush(), then merge segments as the tiered policy picks
  // (merge_policy.h), again until it picks nothing. Each merge is one
  // atomic, synced WriteBatch (segment_merger.h): a crash leaves either the
  // old segments or the merged one. Readers opened before keep their view.
  // InvalidArgument for bad options; errors of Flush and MergeSegments.
  Status MaybeMerge(const TieredMergeOptions& options);
  // Flush(), then merge until at most max_segments segments remain and none
  // holds a deleted document (FindForcedMerges). InvalidArgument when
  // max_segments is 0.
  Status ForceMerge(size_t max_segments);

  // The checks Add() makes, without adding: OK or InvalidArgument naming
  // the problem. Lets a caller skip a bad record before a batch.
  Status CheckDocument(const Document& doc) const { return Check(doc); }

  const WriterStats& stats() const { return stats_; }
  size_t buffered_documents() const { return buffer_.docs.size(); }
  // Documents and deletes waiting for Flush().
  size_t pending_changes() const {
    return buffer_.docs.size() + buffer_.removed_ids.size();
  }
  size_t buffered_bytes() const { return buffer_.bytes; }

 private:
  struct TermPostings {
    std::vector<uint32_t> docs;  // segment-local
    std::vector<uint32_t> tfs;
    std::vector<uint32_t> positions;  // tfs[i] per doc, when stored
  };
  // A term of the document being added: its frequency and its postings.
  struct TermSlot {
    uint32_t tf = 0;
    TermPostings* postings = nullptr;
  };
  struct BufferedDoc {
    Document doc;
    uint32_t length = 0;
  };
  // Lets the term maps be searched by string_view (no string per lookup).
  struct TermHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>()(s);
    }
  };
  struct Buffer {
    std::unordered_map<std::string, TermPostings, TermHash, std::equal_to<>> postings;
    std::vector<BufferedDoc> docs;
    std::unordered_map<std::string, uint32_t> ids;  // external id -> local
    std::vector<uint32_t> deletes;                  // global doc ids
    std::vector<std::string> removed_ids;           // ids deleted, no successor
    // Keyword index: field ordinal byte + value -> local docs (ascending,
    // distinct); numeric index: the "numerics" key after the segment id
    // (ordinal byte, sortable value, fixed32-BE local doc), one per value.
    std::unordered_map<std::string, std::vector<uint32_t>> keywords;
    std::vector<std::string> numerics;
    size_t bytes = 0;
  };

  IndexWriter(std::shared_ptr<Store> store, const WriterOptions& options);
  Status Check(const Document& doc) const;
  // The analysed terms of a document's title then text, and their
  // positions when the index stores them (text positions continue after
  // the title's).
  void AnalyzeDocument(Analyzer& analyzer, const Document& doc,
                       std::vector<std::string>* terms,
                       std::vector<uint32_t>* positions) const;
  // Adds a checked document whose analysed terms (and, when stored, their
  // positions) are given.
  Status AddAnalyzed(const Document& doc, std::span<const std::string> terms,
                     std::span<const uint32_t> positions);
  Status LoadCounters();
  // Flush(), then runs the merges `plan` picks for the segments (in doc id
  // order), rounds after rounds until it picks none.
  template <typename Plan>
  Status RunMerges(Plan plan);
  // Adds the buffered documents' keyword and numeric index entries to
  // `batch`, keyed by `segment`.
  Status FlushFields(uint32_t segment, rocksdb::WriteBatch* batch);
  // Adds the buffered documents' TILDE weights to `batch`, fixing the
  // index's weight scale first if this is the first segment with weights.
  Status FlushTilde(uint32_t base, rocksdb::WriteBatch* batch);
  // Adds the buffered documents' vectors to `batch`, and their IVF list
  // entries for fields with centroids (nearest list, no retraining).
  Status FlushVectors(uint32_t base, rocksdb::WriteBatch* batch);

  std::shared_ptr<Store> store_;
  WriterOptions options_;
  std::vector<std::unique_ptr<Analyzer>> analyzers_;  // one per thread
  bool positions_ = false;  // the index stores term positions
  std::vector<std::string> scratch_terms_;
  std::vector<uint32_t> scratch_positions_;
  std::unordered_map<std::string_view, TermSlot> scratch_tf_;
  Buffer buffer_;
  uint32_t next_doc_ = 0;      // global id of the next document
  uint32_t next_segment_ = 0;
  std::optional<float> tilde_scale_;  // weight per code; set once per index
  WriterStats stats_;
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_INDEX_WRITER_H_
