// SegmentSink: where IndexWriter::Flush writes a segment's records.
//
// Two ways in, both all-or-nothing:
//   - a WriteBatch (NewBatchSink): through the write-ahead log and the
//     memtables, as every other write. Right for small flushes: the HTTP
//     server's refresh every second, a library's few documents.
//   - SST files ingested in one step (NewIngestSink): each column family's
//     records go into one sorted table file in a staging folder, and
//     DB::IngestExternalFiles adds all of them atomically (one sequence
//     number; a crash before it leaves the index as it was, and the staged
//     files are removed by the next writer). The records skip the log, the
//     memtable and its later flush to disk, which is most of the cost of a
//     bulk build's flush; a segment's postings and documents fall in key
//     ranges no other file holds, so they land in the bottom level and are
//     never rewritten by compaction.
//
// Thread-safety: a batch sink is used from one thread. An ingest sink may
// take Put calls for different column families from different threads (as
// long as each column family is fed by one thread); Commit from one.
#ifndef CASCADE_INDEX_SEGMENT_SINK_H_
#define CASCADE_INDEX_SEGMENT_SINK_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>

#include "cascade/status.h"

namespace cascade::index {

class SegmentSink {
 public:
  virtual ~SegmentSink() = default;
  virtual Status Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                     std::string_view value) = 0;
  virtual Status Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key) = 0;
  // Writes every record at once, durably (the batch with a synced WAL
  // write; ingested files are synced, then recorded in the synced
  // MANIFEST). Call once.
  virtual Status Commit() = 0;
};

// `reserve_bytes`: the batch's initial capacity (its growth by doubling
// copies it; untouched pages cost nothing).
std::unique_ptr<SegmentSink> NewBatchSink(rocksdb::DB* db, size_t reserve_bytes);

// Stages files in `dir` (created if missing; must be on the index's file
// system, as ingestion moves them). Column families in `sorted` must
// receive strictly increasing keys (Put returns Internal otherwise) and are
// streamed to disk as they come; the others are held in memory and sorted
// at Commit, the last record of a key winning (as in a batch). A record of
// a column family not in `cfs` is an Internal error.
struct IngestSinkOptions {
  std::string dir;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // every column family it may take
  std::vector<rocksdb::ColumnFamilyHandle*> sorted;
};
Result<std::unique_ptr<SegmentSink>> NewIngestSink(rocksdb::DB* db,
                                                   const IngestSinkOptions& options);

// Removes files an interrupted ingest left in `dir`.
Status ClearIngestDir(const std::string& dir);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_SEGMENT_SINK_H_
