// CorpusReader: turns the inputs of `cascade index --index DIR INPUT...` into
// a stream of Documents.
//
// An input is JSONL on stdin ("-"), a JSONL file (.jsonl, .json, .jsonl.gz,
// .json.gz), a BEIR folder (one that holds corpus.jsonl or corpus.jsonl.gz), a
// folder of text files, or a single text file. The reader owns the policy for
// bad input: a bad record (malformed JSON, a missing id, a field of the wrong
// type, an empty or oversized document, invalid UTF-8) is recorded as a
// CorpusProblem and skipped, so one bad line never stops an indexing run; only
// I/O failures (an unreadable file, a corrupt gzip stream) end it. Duplicate
// ids are not the reader's concern: the index writer replaces the earlier
// document.
//
// Thread-safety: a CorpusReader is not safe for concurrent use; use one reader
// per thread. Distinct readers share nothing.
#ifndef CASCADE_INDEX_CORPUS_READER_H_
#define CASCADE_INDEX_CORPUS_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cascade/status.h"
#include "index/document.h"
#include "index/field_values.h"

namespace cascade::index {

struct CorpusOptions {
  // A JSON line (or a text file) larger than this many bytes is skipped with a
  // CorpusProblem. It bounds the memory a single record can take: an oversized
  // line is discarded as it streams past, never held whole. Must be > 0.
  size_t max_document_bytes = 1 << 20;

  // At most this many problems are kept in problems(); later ones are only
  // counted in skipped(), so a corpus that is entirely bad cannot exhaust
  // memory. 0 keeps none.
  size_t max_problems_kept = 1000;

  // The index's keyword and numeric fields, read from JSON records' top
  // level (document_json.h); a value of the wrong type makes the record a
  // problem naming the field. Text files carry none.
  FieldSchema fields;
};

// One good document and where it came from, for messages
// ("corpus.jsonl.gz:17").
struct CorpusRecord {
  Document doc;
  // The file's path as given (joined with the folder's for folder inputs),
  // or "<stdin>".
  std::string source;
  uint64_t line = 0;  // 1-based JSONL line; 0 for a whole text file
  // 0-based position among all records of the inputs, in input order,
  // counting the bad records skipped before it: every non-blank JSONL line
  // and every text file read (binaries skipped silently while walking a
  // folder are not records). Side files aligned with a corpus row by row
  // (`cascade index --vectors`) use it.
  uint64_t ordinal = 0;
};

// A skipped bad record. `message` names the field or the rule that failed,
// e.g. `field "text": expected a string, got number`.
struct CorpusProblem {
  std::string source;
  uint64_t line = 0;  // 0 when the problem concerns a whole file
  std::string message;

  // "source:line: message", or "source: message" when line is 0.
  std::string ToString() const;
};

class CorpusReader {
 public:
  // Resolves every input up front, so that a missing path fails before any
  // indexing starts. Each input is one of:
  //  - "-": JSONL on stdin (at most once);
  //  - a .jsonl / .json / .jsonl.gz / .json.gz file: one JSON object per line,
  //    {"_id" or "id": string or number, "title": string, "text": string};
  //    other top-level fields go to Document::extra (document_json.h), a
  //    null title or text counts as absent;
  //  - a BEIR folder, one that holds corpus.jsonl or corpus.jsonl.gz (the
  //    former wins when both exist); only that file is read;
  //  - any other folder: every regular text file under it, recursively, in
  //    sorted path order, becomes one document (id = path relative to the
  //    folder with '/' separators, title = file name, text = contents).
  //    Entries whose name starts with '.' and folders named build* are
  //    skipped; files that are not valid UTF-8 or hold a NUL byte (binaries)
  //    are skipped silently and counted in skipped_binary_files();
  //  - any other regular file (.txt, .md, .cc ...): one document the same
  //    way, its id and title being its file name. A binary named explicitly is
  //    a problem, not a silent skip, since the user asked for it by name;
  //  - a pipe or other non-regular file (e.g. `<(zcat corpus.jsonl.gz)`):
  //    read as JSONL, like stdin.
  // Errors: NotFound naming the path when an input does not exist;
  // InvalidArgument naming the path for a folder with nothing indexable, for
  // "-" given twice, or for an empty input list; InvalidArgument naming the
  // option for bad options; IOError when a folder cannot be listed.
  static Result<std::unique_ptr<CorpusReader>> Open(
      const std::vector<std::string>& inputs, const CorpusOptions& options);

  ~CorpusReader();
  CorpusReader(const CorpusReader&) = delete;
  CorpusReader& operator=(const CorpusReader&) = delete;

  // Fills `record` with the next good document and returns true, or returns
  // false once all inputs are consumed. Bad records are appended to
  // problems() and skipped. Reusing one `record` across calls reuses its
  // string capacity. Returns an error Status only for I/O failures: IOError
  // for an unreadable file, Corruption for a corrupt or truncated gzip stream.
  // After an error the reader is finished and returns that error again.
  Result<bool> Next(CorpusRecord* record);

  // The first CorpusOptions::max_problems_kept bad records, in input order.
  const std::vector<CorpusProblem>& problems() const;
  // Bad records skipped so far (all of them, kept in problems() or not).
  uint64_t skipped() const;
  // Binary files skipped silently while walking folders of text files.
  uint64_t skipped_binary_files() const;
  // Records seen so far, good and bad (CorpusRecord::ordinal counts them).
  uint64_t records() const;

  // Progress for a progress line: input bytes consumed so far and the total
  // input size. For .gz inputs both count compressed bytes. bytes_total() is
  // 0 when unknown (stdin or a pipe among the inputs).
  uint64_t bytes_done() const;
  uint64_t bytes_total() const;

 private:
  struct Impl;  // keeps simdjson and zlib out of this header
  explicit CorpusReader(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_CORPUS_READER_H_
