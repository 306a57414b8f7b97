// Store: one open Cascade index, i.e. its RocksDB database and column
// families (keys.h), with the format checks done on open.
//
// A Store is shared (std::shared_ptr) by the one IndexWriter and any number
// of IndexReaders of the same index in a process. RocksDB allows one process
// to open a database for writing; other processes may open it read-only and
// see what was committed when they opened it.
//
// Thread-safety: all methods are safe to call from several threads.
#ifndef CASCADE_INDEX_STORE_H_
#define CASCADE_INDEX_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "cascade/status.h"
#include "index/index_options.h"

namespace cascade::index {

// kTilde, kVectors, kIvf, kPositions, kKeywords and kNumerics may be null
// (cf() returns nullptr) in an index opened read-only that was written
// before the column family existed.
enum class Cf {
  kDefault, kSegments, kPostings, kDocs, kIds, kDeletes, kTilde, kVectors, kIvf, kPositions,
  kKeywords, kNumerics
};

// The storage one column family takes (Store::ColumnFamilySizes).
struct ColumnFamilySize {
  std::string name;             // "postings", "docs", ... (keys.h)
  uint64_t table_bytes = 0;     // its live table (SST) files on disk
  // Its memtables: writes not yet flushed into table files, kept in memory
  // (and, until flushed, in the write-ahead log). RocksDB's estimate of
  // the memory they use, arena blocks included; 0 when they hold nothing.
  uint64_t memtable_bytes = 0;
};

struct StoreOptions {
  // Create the index (and missing parent folders) when `path` does not exist
  // or is an empty folder.
  bool create_if_missing = false;
  // Open without write access (many processes may do so at once).
  bool read_only = false;
  // The options a new index is created with. Ignored when opening an
  // existing index: its own persisted options win.
  IndexOptions create_options;
  // RocksDB block cache for postings and stored documents, in MiB.
  size_t block_cache_mb = 256;
};

class Store {
 public:
  // Opens (or creates) the index at `path`. Errors:
  //  NotFound        no index at `path` and create_if_missing is false;
  //  InvalidArgument `path` holds something that is not a Cascade index,
  //                  or create_options are invalid;
  //  NotSupported    the index has a newer format version than this build;
  //  IOError         RocksDB could not open it (e.g. locked by another
  //                  writer: the message says so).
  static Result<std::shared_ptr<Store>> Open(const std::string& path,
                                             const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) const {
    return handles_[static_cast<size_t>(which)];
  }
  const IndexOptions& options() const { return options_; }
  // A metadata value ("default" column family), nullopt when absent.
  Result<std::optional<std::string>> GetMeta(std::string_view key) const;
  // Writes a metadata value durably (synced).
  Status PutMeta(std::string_view key, std::string_view value);
  // Writes every column family's memtable to table files and waits: after
  // a bulk load the folder then holds the compressed index, and the next
  // open replays no log. Not needed for durability (commits sync the log).
  Status FlushMemtables();
  // The size of each column family this store opened, in Cf order (those
  // an old read-only index lacks are left out). From RocksDB's properties
  // "rocksdb.live-sst-files-size" and "rocksdb.cur-size-all-mem-tables":
  // no I/O, and it works on a read-only open while another process writes
  // (which then shows the files as of this open).
  std::vector<ColumnFamilySize> ColumnFamilySizes() const;
  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }

  // One writer per Store: TryAcquireWriter() returns false while another
  // writer holds it; ReleaseWriter() gives it back.
  bool TryAcquireWriter() { return !writer_held_.exchange(true); }
  void ReleaseWriter() { writer_held_.store(false); }

 private:
  Store() = default;

  std::string path_;
  bool read_only_ = false;
  IndexOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Cf
  std::vector<rocksdb::ColumnFamilyHandle*> extra_handles_;
  std::atomic<bool> writer_held_{false};
};

// Maps a RocksDB status to ours, with `what` saying what was being done.
Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace cascade::index

#endif  // CASCADE_INDEX_STORE_H_
