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
// run concurrently; Add, AddBatch and Commit are serialised internally.
// Searches see what was committed when the last Commit (or Open) finished.
#ifndef CASCADE_ENGINE_H_
#define CASCADE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/options.h"
#include "cascade/status.h"

namespace cascade {

struct Document {
  std::string id;     // unique; adding an existing id replaces that document
  std::string title;  // UTF-8, may be empty
  std::string text;   // UTF-8, may be empty (not both)
};

struct Hit {
  std::string id;
  float score = 0;
  std::string title;
  std::string text;  // only with SearchOptions::load_text
};

struct SearchResult {
  std::vector<Hit> hits;     // best first; ties by insertion order
  uint64_t total_hits = 0;   // documents matching at least one term
  double took_ms = 0;        // wall time of the search
};

struct IndexStats {
  uint64_t documents = 0;          // live documents
  uint64_t deleted_documents = 0;  // replaced, awaiting merge
  uint32_t segments = 0;
  double average_length = 0;       // indexed terms per document
  uint32_t format_version = 0;
  uint64_t pending_changes = 0;    // adds and deletes awaiting Commit()
};

// Parses one JSON document record, {"_id" or "id", "title", "text"}, by the
// rules `cascade index` applies to corpus lines ("_id" wins over "id"; null
// or absent title/text are empty, but not both; other fields are ignored).
// InvalidArgument whose message names the problem, e.g.
// `field "text": expected a string, got number` or `invalid UTF-8`.
// numeric_ids: accept a number as id (as its shortest decimal text).
// Thread-safe.
Result<Document> ParseDocumentJson(std::string_view json, bool numeric_ids = true);

class Index {
 public:
  // Opens or creates the index in folder `path`. Errors: NotFound (no index
  // and !create_if_missing), InvalidArgument (bad options, or the folder is
  // not a Cascade index), NotSupported (written by a newer Cascade), IOError.
  static Result<std::unique_ptr<Index>> Open(const std::string& path,
                                             const OpenOptions& options);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  // Buffers a document; visible to searches after Commit(). InvalidArgument
  // for an empty id, no title and no text, or over 1 MiB.
  Status Add(const Document& doc);
  // Adds documents in order, analysing on OpenOptions::threads threads.
  Status AddBatch(std::span<const Document> docs);
  // Deletes the live document with this id (committed or added since the
  // last Commit). NotFound when there is none. Searches stop seeing it after
  // the next Commit().
  Status Delete(std::string_view id);
  // Writes buffered documents and deletes durably and makes them
  // searchable.
  Status Commit();

  // Bag-of-words BM25 search, analysed like the documents.
  Result<SearchResult> Search(std::string_view query,
                              const SearchOptions& options) const;
  // The stored document with this id, or nullopt.
  Result<std::optional<Document>> Get(std::string_view id) const;
  IndexStats Stats() const;

 private:
  struct Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade

#endif  // CASCADE_ENGINE_H_
