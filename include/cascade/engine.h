// The embedded Cascade library: create or open an index, add documents,
// commit, search. Only this header, options.h and status.h are public; no
// RocksDB, ICU or Boost type appears in them.
//
// Example:
//   cascade::OpenOptions options;
//   options.create_if_missing = true;
//   auto index = cascade::Index::Open("/tmp/idx", options);
//   if (!index.ok()) { /* index.status().ToString() */ }
//   (*index)->Add({"d1", "Title", "Some text"}).IgnoreError();
//   (*index)->Commit().IgnoreError();
//   auto result = (*index)->Search("text", {});
//
// Thread-safety: an Index may be used from several threads: Search calls
// run concurrently; Add, AddBatch, Update, Delete, DeleteByQuery, Commit
// and merges are serialised internally.
// Searches see what was committed when the last Commit (or Open) finished:
// Commit is the refresh that makes changes visible. For near-real-time
// search, OpenOptions::refresh_interval_ms has a background thread of the
// Index commit changes at that interval (`cascade serve` has its own timer).
// SearchOptions::syntax picks the plain or the Lucene query syntax (README
// "Query syntax").
#ifndef CASCADE_ENGINE_H_
#define CASCADE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cascade/options.h"
#include "cascade/status.h"

namespace cascade {

struct Document {
  std::string id;     // unique; adding an existing id replaces that document
  std::string title;  // UTF-8, may be empty
  std::string text;   // UTF-8, may be empty (not both)
  // Precomputed TILDEv2 weights {token, weight} (tokens of the index's TILDE
  // tokenizer; passage expansion tokens welcome). Empty: the index's TILDE
  // model (if any) weighs the document.
  std::vector<std::pair<std::string, float>> tilde = {};
  // Dense vectors by field name, one per vector field of the index
  // (OpenOptions::vector_fields); checked on Add.
  std::vector<std::pair<std::string, std::vector<float>>> vectors = {};
  // Values of the index's keyword and numeric fields
  // (OpenOptions::keyword_fields, numeric_fields) by field name, each field
  // at most once, any number of values (up to 1,024); keyword values are
  // non-empty and at most 4,096 bytes, numbers finite. Checked on Add
  // (InvalidArgument naming the field). Get returns them in the index's
  // field order, fields without values left out.
  std::vector<std::pair<std::string, std::vector<std::string>>> keywords = {};
  std::vector<std::pair<std::string, std::vector<double>>> numbers = {};
  // Values of the index's text fields other than title and text
  // (OpenOptions::text_fields), {name, UTF-8 text}, each field at most once:
  // analysed and searched as that field, stored and returned like the
  // values above. A document needs a title, a text or one of these.
  std::vector<std::pair<std::string, std::string>> texts = {};
  // The document's other fields ("anything else stored"): {name, value}
  // with the value as raw JSON text (any type: "\"x\"", "1987", "[1,2]",
  // "{\"a\":null}"), names distinct and none of id, _id, title, text,
  // tilde, vectors or a keyword/numeric field. Checked on Add
  // (InvalidArgument), counted in the 1 MiB limit as the JSON object they
  // make, stored and returned by Get and with hits (whitespace outside
  // strings removed) unless the index was created with
  // OpenOptions::store_extra off (then dropped). ParseDocumentJson fills
  // it with a record's other top-level fields, in input order.
  std::vector<std::pair<std::string, std::string>> extra = {};
};

// A hit's place at one stage of the cascade (SearchOptions::explain).
struct StageScore {
  std::string stage;    // "bm25", "tilde", "ce"; hybrid: "bm25", "dense"
  bool scored = false;  // false: below the stage's depth or past its budget
  size_t rank = 0;      // 1-based rank among the stage's scored candidates
  float score = 0;
};

struct Hit {
  std::string id;
  // The score of the last stage that scored the hit.
  float score = 0;
  std::string title;
  std::string text;  // only with SearchOptions::load_text
  // With SearchOptions::snippet_words: the best window of the text (the
  // title when it has no text; the first text field's value when it has
  // neither) for the query, words matching a query term (as analysed) in
  // <b>...</b>, "…" where text was cut (query/snippet.h). Not HTML-escaped.
  std::string snippet;
  std::vector<StageScore> explain;  // one per stage, with explain
  // The hit's keyword and numeric values, as Document::keywords and
  // Document::numbers (index field order, fields without values left out).
  std::vector<std::pair<std::string, std::vector<std::string>>> keywords;
  std::vector<std::pair<std::string, std::vector<double>>> numbers;
  // Its text fields other than title and text, as Document::texts.
  std::vector<std::pair<std::string, std::string>> texts;
  // The document's other stored fields, as Document::extra: {name, raw
  // JSON value}, in input order.
  std::vector<std::pair<std::string, std::string>> extra;
};

// What one stage of a search did.
struct StageInfo {
  std::string stage;        // "bm25", "tilde", "ce"
  size_t depth = 0;         // from the cascade spec
  size_t candidates = 0;    // candidates it was given (first stage: found)
  size_t scored = 0;        // candidates it scored
  size_t sequences = 0;     // cross-encoder sequences run (chunks included)
  double took_ms = 0;
  std::optional<double> budget_ms;
  bool budget_exhausted = false;  // stopped early; the rest kept its order
  // Not empty when the stage's model failed: its candidates kept the
  // previous order.
  std::string error;
};

struct SearchResult {
  std::vector<Hit> hits;     // best first; ties by insertion order
  uint64_t total_hits = 0;   // documents matching at least one term
  // False when the first stage pruned (SearchOptions::algorithm) after
  // counting 1,000 matches: total_hits is then a lower bound (>= 1000).
  bool total_hits_exact = true;
  double took_ms = 0;        // wall time of the search
  std::string cascade;       // the stages run, canonical spec text
  std::vector<StageInfo> stages;
};

// The storage of one RocksDB column family of the index (IndexStats).
struct ColumnFamilyStats {
  std::string name;            // "postings", "positions", "docs", "ids", ...
  uint64_t table_bytes = 0;    // its table files on disk
  // Its writes not yet flushed into table files: an estimate of the memory
  // they hold (their bytes on disk are in the write-ahead log meanwhile).
  uint64_t memtable_bytes = 0;
};

struct IndexStats {
  uint64_t documents = 0;          // live documents
  uint64_t deleted_documents = 0;  // replaced or deleted, awaiting merge
  uint32_t segments = 0;
  double average_length = 0;       // indexed terms per document
  uint32_t format_version = 0;
  uint64_t pending_changes = 0;    // adds and deletes buffered for Commit()
  // Whether searches miss any add or delete made so far: the buffered
  // ones, and ones already flushed to a segment but not committed (a full
  // RAM buffer, DeleteByQuery), which pending_changes no longer counts.
  // Commit() (or the refresh thread) clears it.
  bool uncommitted_changes = false;
  bool tilde = false;              // has TILDE weights (a "tilde" stage can run)
  bool positions = false;          // stores term positions (phrase queries run)
  std::string default_cascade;     // "" when none is stored
  // The index's dense vector fields, as the spec text `--vector-field`
  // takes ("emb:384:cosine:f32").
  std::vector<std::string> vector_fields;
  // Its keyword and numeric fields, in the order they were declared.
  std::vector<std::string> keyword_fields;
  std::vector<std::string> numeric_fields;
  // Its text fields as OpenOptions::text_fields spells them ("title^2"),
  // and the weight of contents; empty and 1 for an index without them.
  std::vector<std::string> text_fields;
  double contents_weight = 1;
  // Per text field, as average_length (contents'): indexed terms per live
  // document holding any.
  std::vector<double> text_field_average_lengths;
  // Every column family of the index, from RocksDB's properties (no I/O).
  // On an index opened read-only the table files are those of the open.
  std::vector<ColumnFamilyStats> column_families;
};

// Parses one JSON document record, {"_id" or "id", "title", "text",
// "tilde", "vectors", and the keyword and numeric fields named here}, by the
// rules `cascade index` applies to corpus lines ("_id" wins over "id"; null
// or absent title/text are empty, but not both; "tilde" is an optional
// object of token weights; a keyword field is a string or an array of
// strings, a numeric field a number or an array of numbers, null or absent
// for none; any other field goes to Document::extra as its raw JSON, a
// name given twice keeping its last value). InvalidArgument whose message names
// the problem, e.g. `field "text": expected a string, got number`,
// `field "year": expected a number or an array of numbers, got string` or
// `invalid UTF-8`. numeric_ids: accept a number as id (as its shortest
// decimal text). Index::ParseDocument passes an index's own fields.
// Thread-safe.
// text_fields: names of text fields read as strings into Document::texts
// (title and text among them are read as always).
Result<Document> ParseDocumentJson(std::string_view json, bool numeric_ids = true,
                                   std::span<const std::string> keyword_fields = {},
                                   std::span<const std::string> numeric_fields = {},
                                   std::span<const std::string> text_fields = {});

struct IndexInternals;  // the HTTP server's hooks (query/engine_internal.h)

class Index {
 public:
  // Opens or creates the index in folder `path`. Errors: NotFound (no index
  // and !create_if_missing), InvalidArgument (bad options, or the folder is
  // not a Cascade index), NotSupported (written by a newer Cascade), IOError.
  static Result<std::unique_ptr<Index>> Open(const std::string& path,
                                             const OpenOptions& options);
  // Stops the refresh thread (OpenOptions::refresh_interval_ms), waiting
  // for the commit it may be running, and closes the index. Changes not
  // committed by then (by Commit or a background refresh) are dropped, as
  // without a refresh thread: destruction never commits. No other call may
  // be running on the index.
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // Buffers a document; visible to searches after Commit(). InvalidArgument
  // for an empty id, no title and no text, over 1 MiB (keyword and numeric
  // values and stored other fields included), keyword/numeric values the
  // index's fields refuse (an undeclared field, a wrong type, over the
  // limits of Document), or other fields that are not valid JSON values or
  // use a name Document::extra may not.
  Status Add(const Document& doc);
  // Adds documents in order, analysing on OpenOptions::threads threads.
  Status AddBatch(std::span<const Document> docs);
  // Replaces the live document with doc.id, as Add does, but refuses to
  // add a new one: NotFound when no live document (committed, or added
  // since the last Commit and not deleted) has that id; the index is then
  // unchanged. Otherwise Add's errors. Visible after Commit().
  Status Update(const Document& doc);
  // Deletes the live document with this id (committed or added since the
  // last Commit). NotFound when there is none. Searches stop seeing it after
  // the next Commit().
  Status Delete(std::string_view id);
  // Deletes every live document `query` matches: all of them, not a top k
  // (plain syntax: those holding any analysed query term; Lucene syntax:
  // the query's matches, "*:*" all). Documents added since the last Commit
  // are matched too: they are flushed into a segment first (still
  // invisible to searches until Commit). Returns how many were deleted;
  // with `deleted_ids`, their ids are appended there. Searches stop seeing
  // them after the next Commit(). Errors: InvalidArgument for a bad syntax
  // name, a query syntax error (naming the column), an unknown field or one
  // used against its type, or a query over the limits; NotSupported for a
  // phrase on an index without positions; IOError. After an I/O error part of the matches may be
  // deleted (at the next Commit).
  Result<uint64_t> DeleteByQuery(std::string_view query,
                                 const DeleteByQueryOptions& options = {},
                                 std::vector<std::string>* deleted_ids = nullptr);
  // Writes buffered documents and deletes durably and makes them
  // searchable; then, with OpenOptions::merge.merge_on_commit, merges as
  // MaybeMerge does (a failed merge is returned; the commit stands).
  // With OpenOptions::refresh_interval_ms, a background commit that failed
  // (or whose merge failed) since the last Commit is reported here: when
  // this call's own work succeeds it returns that error, the last one, once,
  // as it was (this call has then committed what the failed one left
  // pending); when this call fails, its own error is returned and the
  // background one kept for the next Commit.
  Status Commit();

  // Commits, then merges adjacent segments as the tiered policy of
  // OpenOptions::merge picks, until it picks nothing. Searches keep running
  // on the previous view meanwhile and see the merged segments afterwards,
  // with the same hits and scores except that deleted documents no longer
  // count in document frequencies. Each merge is atomic and durable.
  Status MaybeMerge();
  // Commits, then merges until at most max_segments segments remain and no
  // deleted document is stored (deleted_documents becomes 0).
  // InvalidArgument when max_segments is 0 or the index is read-only.
  Status ForceMerge(size_t max_segments);
  // With OpenOptions::merge.background: waits until the merge thread has
  // run every merge the commits so far called for, then returns what
  // Commit would report of failed background work (a failed merge or
  // refresh), once. The merges show in searches after the next Commit.
  // Without background merges it returns at once. InvalidArgument when
  // the index is read-only.
  Status WaitForMerges();

  // Bag-of-words BM25 search, analysed like the documents, then the
  // reranking stages of options.cascade (or the index's default). Errors:
  // InvalidArgument for bad options, a bad cascade spec, or a stage whose
  // model or data is missing (named); a model's failure is returned as is.
  Result<SearchResult> Search(std::string_view query,
                              const SearchOptions& options) const;
  // Stores `spec` as the cascade searches run when they name none ("" to
  // remove it). InvalidArgument for a bad spec.
  Status SetDefaultCascade(std::string_view spec);
  // The stored document with this id (keyword and numeric values and
  // other fields included), or nullopt.
  Result<std::optional<Document>> Get(std::string_view id) const;
  // ParseDocumentJson with this index's keyword and numeric fields.
  Result<Document> ParseDocument(std::string_view json, bool numeric_ids = true) const;
  IndexStats Stats() const;

 private:
  friend struct IndexInternals;
  struct Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  // AddBatch, and with must_exist Update: NotFound unless every id is live.
  Status AddDocuments(std::span<const Document> docs, bool must_exist);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade

#endif  // CASCADE_ENGINE_H_
