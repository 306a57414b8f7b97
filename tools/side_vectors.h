// Vectors from side files for `cascade index --vectors FIELD=FILE`: a file
// of vectors (tools/vector_input.h: .fvecs, .npy or JSON lines) aligned
// with the corpus row by row, row i holding the vector of the corpus's
// record i (CorpusRecord::ordinal: every non-blank JSONL line, bad ones
// included, so a skipped line skips its row). JSON lines may carry the
// document's id ("_id"/"id"), which must then match.
//
// Nothing checked here reaches the index half done: `cascade index` reads
// the corpus and the side files through once with these checks before it
// adds any document, and stops with the first problem.
#ifndef CASCADE_TOOLS_SIDE_VECTORS_H_
#define CASCADE_TOOLS_SIDE_VECTORS_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"
#include "index/corpus_reader.h"
#include "index/dense/vector_field.h"
#include "tools/vector_input.h"

namespace cascade::tools {

struct SideVectorSpec {
  std::string field;
  std::string path;
};

// "FIELD=FILE". InvalidArgument naming the spec when either part is empty.
Result<SideVectorSpec> ParseSideVectorSpec(std::string_view spec);

// Reads the side files in step with a corpus. Not thread-safe.
class SideVectors {
 public:
  // Opens every file. InvalidArgument when a field is not one of `fields`
  // or is given twice; NotFound for a file that cannot be opened.
  static Result<std::unique_ptr<SideVectors>> Open(std::span<const SideVectorSpec> specs,
                                                   std::span<const dense::VectorField> fields);

  // Reads each file's row for `record` (skipping the rows of bad records
  // before it), checks it and appends it to doc->vectors. InvalidArgument
  // naming the file and row (or line) for: a file with no row left, a bad
  // row (VectorFileReader), a dimension other than the field's or a value
  // the field refuses (dense::CheckVector), an id other than the
  // document's, or a document that also carries the field inline.
  Status Attach(const index::CorpusRecord& record, index::Document* doc);

  // After the corpus's last record: each file must hold exactly `records`
  // rows (InvalidArgument naming the file and both counts).
  Status Finish(uint64_t records);

 private:
  struct Side {
    dense::VectorField field;
    std::unique_ptr<VectorFileReader> reader;
  };
  SideVectors() = default;

  std::vector<Side> sides_;
  VectorRecord row_;
};

// Reads `inputs` and the side files through once, checking every row as
// SideVectors::Attach and ::Finish do, and writes nothing. The first
// problem comes back; OK means indexing will attach a valid vector to
// every good record.
Status CheckSideVectors(const std::vector<std::string>& inputs,
                        const index::CorpusOptions& corpus_options,
                        std::span<const SideVectorSpec> specs,
                        std::span<const dense::VectorField> fields);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_SIDE_VECTORS_H_
