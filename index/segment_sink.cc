#include "index/segment_sink.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include "index/store.h"

namespace cascade::index {

namespace fs = std::filesystem;

namespace {

class BatchSink final : public SegmentSink {
 public:
  BatchSink(rocksdb::DB* db, size_t reserve_bytes) : db_(db), batch_(reserve_bytes) {}

  Status Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
             std::string_view value) override {
    return FromRocks(batch_.Put(cf, Slice(key), Slice(value)), "add to write batch");
  }
  Status Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key) override {
    return FromRocks(batch_.Delete(cf, Slice(key)), "add to write batch");
  }
  Status Commit() override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &batch_), "write segment");
  }

 private:
  static rocksdb::Slice Slice(std::string_view s) { return {s.data(), s.size()}; }

  rocksdb::DB* db_;
  rocksdb::WriteBatch batch_;
};

class IngestSink final : public SegmentSink {
 public:
  IngestSink(rocksdb::DB* db, const IngestSinkOptions& options) : db_(db), dir_(options.dir) {
    for (rocksdb::ColumnFamilyHandle* cf : options.cfs) {
      File& f = files_.emplace_back();
      f.cf = cf;
      f.sorted = std::find(options.sorted.begin(), options.sorted.end(), cf) !=
                 options.sorted.end();
      f.path = (fs::path(dir_) / (std::to_string(cf->GetID()) + ".sst")).string();
    }
  }

  ~IngestSink() override {
    // Files of a sink that never committed (an error on the way).
    for (File& f : files_) {
      f.writer.reset();
      std::error_code ec;
      fs::remove(f.path, ec);
    }
  }

  Status Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
             std::string_view value) override {
    File* f = Find(cf);
    if (f == nullptr) return Status::Internal("ingest sink has no column family", cf->GetName());
    if (!f->sorted) {
      f->held.push_back({std::string(key), std::string(value), false});
      return Status::OK();
    }
    if (f->count > 0 && !(std::string_view(f->last_key) < key)) {
      return Status::Internal("keys out of order for column family", cf->GetName());
    }
    CASCADE_RETURN_IF_ERROR(Open(*f));
    f->last_key.assign(key);
    ++f->count;
    return FromRocks(f->writer->Put(Slice(key), Slice(value)), "write " + f->path);
  }

  Status Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key) override {
    File* f = Find(cf);
    if (f == nullptr || f->sorted) {
      return Status::Internal("ingest sink cannot delete in column family", cf->GetName());
    }
    f->held.push_back({std::string(key), std::string(), true});
    return Status::OK();
  }

  Status Commit() override {
    std::vector<rocksdb::IngestExternalFileArg> args;
    for (File& f : files_) {
      if (!f.sorted && !f.held.empty()) {
        // The last record of a key wins, as in a batch.
        std::stable_sort(f.held.begin(), f.held.end(),
                         [](const Held& a, const Held& b) { return a.key < b.key; });
        CASCADE_RETURN_IF_ERROR(Open(f));
        for (size_t i = 0; i < f.held.size(); ++i) {
          const Held& h = f.held[i];
          if (i + 1 < f.held.size() && f.held[i + 1].key == h.key) continue;
          rocksdb::Status s = h.is_delete ? f.writer->Delete(Slice(h.key))
                                          : f.writer->Put(Slice(h.key), Slice(h.value));
          CASCADE_RETURN_IF_ERROR(FromRocks(s, "write " + f.path));
          ++f.count;
        }
        f.held.clear();
      }
      if (f.writer == nullptr) continue;
      // Finish syncs the file.
      CASCADE_RETURN_IF_ERROR(FromRocks(f.writer->Finish(), "finish " + f.path));
      f.writer.reset();
      rocksdb::IngestExternalFileArg arg;
      arg.column_family = f.cf;
      arg.external_files = {f.path};
      arg.options.move_files = true;
      arg.options.snapshot_consistency = true;
      arg.options.allow_global_seqno = true;
      arg.options.allow_blocking_flush = true;
      args.push_back(std::move(arg));
    }
    if (args.empty()) return Status::OK();
    return FromRocks(db_->IngestExternalFiles(args), "ingest segment files");
  }

 private:
  struct Held {
    std::string key, value;
    bool is_delete;
  };
  struct File {
    rocksdb::ColumnFamilyHandle* cf = nullptr;
    bool sorted = false;
    std::string path;
    std::unique_ptr<rocksdb::SstFileWriter> writer;
    std::string last_key;
    uint64_t count = 0;
    std::vector<Held> held;
  };

  static rocksdb::Slice Slice(std::string_view s) { return {s.data(), s.size()}; }

  File* Find(rocksdb::ColumnFamilyHandle* cf) {
    for (File& f : files_) {
      if (f.cf == cf) return &f;
    }
    return nullptr;
  }

  // Opens f's table file with its column family's options (comparator,
  // table format, compression), so the file is what a flush would write.
  Status Open(File& f) {
    if (f.writer != nullptr) return Status::OK();
    rocksdb::ColumnFamilyDescriptor descriptor;
    CASCADE_RETURN_IF_ERROR(
        FromRocks(f.cf->GetDescriptor(&descriptor), "read options of " + f.cf->GetName()));
    const rocksdb::Options options(db_->GetDBOptions(), descriptor.options);
    f.writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(options), options,
                                                        f.cf);
    return FromRocks(f.writer->Open(f.path), "create " + f.path);
  }

  rocksdb::DB* db_;
  std::string dir_;
  std::vector<File> files_;  // fixed at construction: lookups never race
};

}  // namespace

std::unique_ptr<SegmentSink> NewBatchSink(rocksdb::DB* db, size_t reserve_bytes) {
  return std::make_unique<BatchSink>(db, reserve_bytes);
}

Result<std::unique_ptr<SegmentSink>> NewIngestSink(rocksdb::DB* db,
                                                   const IngestSinkOptions& options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return Status::IOError("cannot create " + options.dir, ec.message());
  return std::unique_ptr<SegmentSink>(new IngestSink(db, options));
}

Status ClearIngestDir(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::OK();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    fs::remove_all(entry.path(), ec);
    if (ec) return Status::IOError("cannot remove " + entry.path().string(), ec.message());
  }
  if (ec) return Status::IOError("cannot list " + dir, ec.message());
  return Status::OK();
}

}  // namespace cascade::index
