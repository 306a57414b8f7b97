// IndexWriter: adds documents to an index, Lucene-style.
//
// Added documents are analysed and buffered in memory (an in-memory inverted
// index); Flush() writes the buffer as one immutable segment (keys.h) in
// one atomic step, a WriteBatch or, for a large buffer, table files ingested
// together (segment_sink.h), so a failure or a crash leaves the index as it
// was before the flush. A document whose external id is already in the
// index (or earlier in the buffer) replaces it: the older one is marked
// deleted in the same step.
//
// BM25 statistics follow Lucene: document frequencies count replaced
// documents until their segment is merged (MaybeMerge, ForceMerge;
// segment_merger.h); document counts and length sums leave them out.
//
// Thread-safety: one IndexWriter per Store (Open refuses a second), used
// from one thread at a time. AddBatch() analyses on threads of its own,
// started by its first call and parked between calls.
#ifndef CASCADE_INDEX_INDEX_WRITER_H_
#define CASCADE_INDEX_INDEX_WRITER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cascade/status.h"
#include "index/analyzer.h"
#include "index/document.h"
#include "index/merge_policy.h"
#include "index/posting_pool.h"
#include "index/store.h"
#include "index/term_dictionary.h"

namespace cascade::index {

class PreparedMerge;
class SegmentSink;

struct WriterOptions {
  // Flush a segment when the buffer's estimated memory passes this (bytes).
  // At least 1 MiB, at most 4 GiB (as Lucene caps its per-thread buffers).
  size_t ram_buffer_bytes = size_t{256} << 20;
  // Threads that analyse documents in AddBatch(); 0 = hardware threads.
  unsigned threads = 1;
  // Documents larger than this (id + title + text bytes, plus keyword
  // values' bytes, 8 per numeric value and, when the index stores them,
  // the bytes of the other fields' JSON text, Document::extra) are refused
  // with InvalidArgument.
  size_t max_document_bytes = size_t{1} << 20;
  // A flush whose buffer holds at least this many bytes (the flush
  // trigger's estimate) writes its segment as table files ingested in one
  // atomic step; smaller ones go through a WriteBatch (segment_sink.h).
  // 0: every flush with documents ingests.
  size_t ingest_min_bytes = size_t{16} << 20;
};

struct WriterStats {
  uint64_t added = 0;     // documents accepted since Open
  uint64_t replaced = 0;  // of which replaced an existing id
  uint64_t deleted = 0;   // documents deleted by id
  uint64_t segments = 0;  // segments flushed since Open
  uint64_t ingested_segments = 0;  // of which written as ingested files
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
  // non-finite value), bad keyword or numeric values (CheckFieldValues),
  // or bad other fields (CheckExtraJson; all of these are CheckDocument); the index is unchanged then. May flush a segment (and return its I/O error).
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
  // Writes a merge prepared beside this writer, on another thread
  // (segment_merger.h: PrepareMerge, over any reader of the store), while
  // documents were added, replaced and deleted: deletes flushed since its
  // snapshot move with their documents, and so do the buffered ones.
  // Called like the other methods (one thread at a time). Errors of
  // CommitMerge; the index is then unchanged.
  Status ApplyMerge(PreparedMerge& merge);

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
  // A document as the analysis threads hand it to the writer thread: its
  // distinct terms with their frequencies (and positions), hashed for the
  // term dictionary, and its stored record, ready to be written.
  struct AnalyzedDoc {
    struct Term {
      uint64_t hash;  // HashTerm
      uint32_t end;   // the term is terms[previous term's end, end)
      uint32_t tf;
    };
    Status check;                     // Check(doc); nothing else is set unless OK
    std::string terms;                // the distinct terms, end to end
    std::vector<Term> distinct;       // in order of first occurrence
    std::vector<uint32_t> positions;  // grouped by distinct term, ascending
    uint32_t length = 0;              // terms in the document's contents
    std::vector<uint32_t> field_lengths;  // terms in each text field
    std::string record;               // the "docs" value (keys.h)
  };
  // Reused buffers of Analyze, one set per analysis thread.
  struct AnalyzeScratch {
    std::vector<std::string> terms;
    std::vector<uint32_t> positions;
    std::vector<uint32_t> slots;     // open-addressing table -> distinct term
    std::vector<uint32_t> term_of;   // token -> distinct term
    std::vector<uint32_t> cursor;
  };
  struct TermPostings {
    PostingPool::Stream doc_tf;     // (segment-local doc, tf) pairs
    PostingPool::Stream positions;  // tf per doc, when stored
  };
  struct BufferedDoc {
    std::string record;
    uint32_t length = 0;
    std::vector<uint32_t> field_lengths;  // per text field
    std::vector<std::pair<int32_t, float>> tilde;
    std::vector<std::pair<std::string, std::vector<float>>> vectors;
  };
  struct Buffer {
    TermDictionary terms;
    std::vector<TermPostings> postings;  // by term id
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
  // the title's); then each text field's terms (FieldTerm keys, positions
  // from 0 in each field), their counts into *field_lengths.
  void AnalyzeDocument(Analyzer& analyzer, const Document& doc,
                       std::vector<std::string>* terms, std::vector<uint32_t>* positions,
                       std::vector<uint32_t>* field_lengths) const;
  // Checks and analyses `doc` into `*out` (thread-safe: reads only the
  // store's options).
  void Analyze(Analyzer& analyzer, const Document& doc, AnalyzeScratch& scratch,
               AnalyzedDoc* out) const;
  // Adds a document that Analyze() analysed (returning its check's error);
  // takes the record out of `analyzed`.
  Status AddAnalyzed(const Document& doc, AnalyzedDoc& analyzed);
  Status LoadCounters();
  // Flush(), then runs the merges `plan` picks for the segments (in doc id
  // order), rounds after rounds until it picks none.
  template <typename Plan>
  Status RunMerges(Plan plan);
  // Adds the buffered documents' keyword and numeric index entries to
  // `batch`, keyed by `segment`.
  Status FlushFields(uint32_t segment, SegmentSink* sink);
  // Adds the buffered postings (and positions) to `sink`, in key order.
  Status FlushPostings(uint32_t segment, SegmentSink* sink);
  // Where ingested segment files are staged: "ingest" in the index folder.
  std::string IngestDir() const;
  // Adds the buffered documents' TILDE weights to `batch`, fixing the
  // index's weight scale first if this is the first segment with weights.
  Status FlushTilde(uint32_t base, SegmentSink* sink);
  // Adds the buffered documents' vectors to `batch`, and their IVF list
  // entries for fields with centroids (nearest list, no retraining).
  Status FlushVectors(uint32_t base, SegmentSink* sink);

  std::shared_ptr<Store> store_;
  WriterOptions options_;
  std::vector<std::unique_ptr<Analyzer>> analyzers_;  // one per thread
  bool positions_ = false;  // the index stores term positions
  struct AnalysisPool;
  std::unique_ptr<AnalysisPool> pool_threads_;  // AddBatch's, started by the first
  std::vector<AnalyzeScratch> worker_scratch_;  // one per pool thread
  AnalyzeScratch scratch_;   // Add()'s
  AnalyzedDoc analyzed_;     // Add()'s
  Buffer buffer_;
  PostingPool pool_;  // the streams of buffer_.postings; kept across flushes
  std::vector<uint32_t> term_ids_;  // AddAnalyzed's
  uint32_t next_doc_ = 0;      // global id of the next document
  uint32_t next_segment_ = 0;
  std::optional<float> tilde_scale_;  // weight per code; set once per index
  WriterStats stats_;
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_INDEX_WRITER_H_
