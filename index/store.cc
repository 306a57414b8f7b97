#include "index/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <string>
#include <system_error>

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include "index/keys.h"

namespace cascade::index {

namespace fs = std::filesystem;

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(what, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(what, s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument(what, s.ToString());
  if (s.IsNotSupported()) return Status::NotSupported(what, s.ToString());
  return Status::IOError(what, s.ToString());
}

namespace {

rocksdb::CompressionType Pick(rocksdb::CompressionType want) {
  for (auto c : rocksdb::GetSupportedCompressions()) {
    if (c == want) return want;
  }
  for (auto c : rocksdb::GetSupportedCompressions()) {
    if (c == rocksdb::kLZ4Compression || c == rocksdb::kSnappyCompression) {
      return c;
    }
  }
  return rocksdb::kNoCompression;
}

rocksdb::ColumnFamilyOptions CfOptions(std::string_view name,
                                       const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // TILDE weights are read by point lookups of ~1,000 random documents per
  // query: small uncompressed blocks make each lookup one short read.
  t.block_size = name == kCfTilde ? 4 * 1024 : 16 * 1024;
  // Index and filter blocks are read once when a table file opens and held
  // by its reader (checksum verified once). Through the block cache they
  // would be re-read and re-verified on every lookup: with mmap reads
  // (below, allow_mmap_reads) RocksDB never inserts uncompressed blocks into
  // the cache, and a table's whole-file Bloom filter is megabytes at a
  // million documents (measured: 28% of query time went to hashing them).
  // Cost: about 10 bits per key plus one index entry per data block, for
  // every open table file (max_open_files bounds them).
  t.cache_index_and_filter_blocks = false;
  if (name == kCfTilde) {
    // Uncompressed blocks read through mmap are used in place: no copy into
    // the block cache (the page cache holds them).
    t.no_block_cache = true;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  // Postings are bit-packed already; LZ4 is cheap to decode. Stored text
  // compresses well, so it gets ZSTD where this RocksDB has it.
  o.compression = name == kCfTilde ? rocksdb::kNoCompression
                 : Pick(name == kCfDocs ? rocksdb::kZSTD : rocksdb::kLZ4Compression);
  // ZSTD level 1 rather than its default 3: on 16 KiB blocks it compresses
  // 1.2-1.3x faster and about as well (`zstd -bN -B16384` on the corpus
  // files: reuters21578 2.24x against 2.27x, the generated bench corpus
  // 2.18x against 2.15x), and a bulk build spent a fifth of its CPU here.
  if (o.compression == rocksdb::kZSTD) o.compression_opts.level = 1;
  o.write_buffer_size = 64 << 20;
  return o;
}

bool LooksLikeRocksDb(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "CURRENT", ec);
}

bool IsEmptyDir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::directory_iterator(dir, ec) == fs::directory_iterator();
}

// Creates a whole index (every column family and the metadata) at `dir`.
// When `dir` does not exist, the index is built in a staging folder beside
// it and renamed to `dir` once complete: a crash while creating leaves no
// index at `dir` or a whole one, never a database without metadata (which
// Open refuses); a staging folder left by a crash is removed by the next
// create. An existing empty folder (perhaps the working directory) is
// filled in place, as renaming over it would orphan it.
Status CreateIndex(const fs::path& dir, const IndexOptions& create_options) {
  std::error_code ec;
  fs::path target = fs::absolute(dir, ec).lexically_normal();
  if (ec) return Status::IOError("cannot resolve " + dir.string(), ec.message());
  if (!target.has_filename()) target = target.parent_path();  // "idx/", "."
  const fs::path parent = target.parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) return Status::IOError("cannot create folder " + parent.string(), ec.message());
  }
  const bool staged = !fs::exists(target, ec);
  fs::path staging = target;
  if (staged) {
    staging += ".creating";
    fs::remove_all(staging, ec);
  }
  {
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
    db_options.keep_log_file_num = 2;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (std::string_view name : {kCfDefault, kCfSegments, kCfPostings, kCfDocs, kCfIds,
                                  kCfDeletes, kCfTilde, kCfVectors, kCfIvf, kCfPositions,
                                  kCfKeywords, kCfNumerics}) {
      descriptors.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s =
        rocksdb::DB::Open(db_options, staging.string(), descriptors, &handles, &raw);
    if (!s.ok()) return FromRocks(s, "create index in " + staging.string());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteBatch batch;
    batch.Put(std::string(kMetaFormatVersion), std::to_string(kFormatVersion));
    batch.Put(std::string(kMetaOptions), SerializeIndexOptions(create_options));
    batch.Put(std::string(kMetaCreatedBy), "cascade 0.1.0");
    std::string zero;
    PutFixed32(&zero, 0);
    batch.Put(std::string(kMetaNextDocId), zero);
    batch.Put(std::string(kMetaNextSegmentId), zero);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Write(wo, &batch);
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    const rocksdb::Status closed = db->Close();
    if (!s.ok()) return FromRocks(s, "create index " + target.string());
    if (!closed.ok()) return FromRocks(closed, "create index " + target.string());
  }
  if (!staged) return Status::OK();
  fs::rename(staging, target, ec);
  if (ec) return Status::IOError("cannot create index folder " + target.string(), ec.message());
  // The rename itself is durable once the parent folder is synced.
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    const int synced = ::fsync(fd);
    ::close(fd);
    if (synced != 0) return Status::IOError("cannot sync folder", parent.string());
  }
  return Status::OK();
}

}  // namespace

Store::~Store() {
  if (db_) {
    for (auto* h : handles_) {
      if (h) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    for (auto* h : extra_handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
}

Result<std::shared_ptr<Store>> Store::Open(const std::string& path,
                                           const StoreOptions& options) {
  const fs::path dir(path);
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  bool created = false;
  if (exists && !fs::is_directory(dir, ec)) {
    return Status::InvalidArgument("not a Cascade index (a file, not a folder)", path);
  }
  if (!exists || IsEmptyDir(dir)) {
    if (!options.create_if_missing || options.read_only) {
      return Status::NotFound("no index at", path);
    }
    CASCADE_RETURN_IF_ERROR(ValidateIndexOptions(options.create_options));
    CASCADE_RETURN_IF_ERROR(CreateIndex(dir, options.create_options));
    created = true;
  } else if (!LooksLikeRocksDb(dir)) {
    return Status::InvalidArgument(
        "not a Cascade index (the folder is not empty and holds no index)", path);
  }

  auto cache = rocksdb::NewLRUCache(options.block_cache_mb << 20);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = false;
  db_options.create_missing_column_families = false;
  db_options.max_background_jobs = 2;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;
  db_options.max_open_files = 512;
  // Reads of blocks not in the block cache come straight from the page
  // cache through mmap, without a read syscall each: the TILDE stage looks
  // up ~1,000 random documents per query.
  db_options.allow_mmap_reads = true;
  // A new index's metadata stays in the log and memtable, as if written by
  // this open: flushing it here would write table files that background
  // work soon replaces, under read-only openers reading the file list.
  db_options.avoid_flush_during_recovery = created;

  std::vector<std::string> existing;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, path, &existing);
  if (!listed.ok()) return FromRocks(listed, "not a Cascade index: cannot read " + path);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (std::string_view name : {kCfDefault, kCfSegments, kCfPostings, kCfDocs, kCfIds, kCfDeletes}) {
    descriptors.emplace_back(std::string(name), CfOptions(name, cache));
  }
  // "tilde", "vectors" and "ivf" (version 2) are created when missing so
  // that a version 1 index reaches the version check below and gets its
  // clear message; read-only opens do without them.
  constexpr size_t kRequiredCfs = 6;
  constexpr std::string_view kOptionalCfs[] = {kCfTilde, kCfVectors,  kCfIvf,
                                               kCfPositions, kCfKeywords, kCfNumerics};
  std::vector<int> optional_at;  // descriptor index of each optional CF, or -1
  for (std::string_view name : kOptionalCfs) {
    const bool has = std::find(existing.begin(), existing.end(), name) != existing.end();
    if (has || !options.read_only) {
      optional_at.push_back(static_cast<int>(descriptors.size()));
      descriptors.emplace_back(std::string(name), CfOptions(name, cache));
      db_options.create_missing_column_families = true;
    } else {
      optional_at.push_back(-1);
    }
  }
  const size_t known_cfs = descriptors.size();
  for (size_t i = 0; i < kRequiredCfs; ++i) {
    const auto& name = descriptors[i];
    if (std::find(existing.begin(), existing.end(), name.name) == existing.end()) {
      return Status::InvalidArgument(
          "not a Cascade index (column family '" + name.name + "' is missing)", path);
    }
  }
  for (const auto& name : existing) {
    bool known = false;
    for (const auto& d : descriptors) known |= (d.name == name);
    if (!known) descriptors.emplace_back(name, CfOptions(name, cache));
  }

  std::shared_ptr<Store> store(new Store());
  store->path_ = path;
  store->read_only_ = options.read_only;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw)
          : rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::IOError("index is open for writing elsewhere (another process, or another handle in this one)", path);
    }
    return FromRocks(s, "cannot open index " + path);
  }
  store->db_.reset(raw);
  store->handles_.assign(handles.begin(), handles.begin() + kRequiredCfs);
  for (int at : optional_at) store->handles_.push_back(at < 0 ? nullptr : handles[at]);
  store->extra_handles_.assign(handles.begin() + known_cfs, handles.end());

  rocksdb::DB* db = store->db_.get();

  std::string value;
  s = db->Get(rocksdb::ReadOptions(), std::string(kMetaFormatVersion), &value);
  if (s.IsNotFound()) {
    return Status::InvalidArgument(
        "not a Cascade index (a RocksDB database without a format version)", path);
  }
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read format version"));
  uint32_t version = 0;
  try {
    version = static_cast<uint32_t>(std::stoul(value));
  } catch (const std::exception&) {
    return Status::Corruption("index format version is not a number", value);
  }
  if (version > kFormatVersion) {
    return Status::NotSupported(
        "index " + path + " has format version " + std::to_string(version) +
        ", newer than this cascade supports (" + std::to_string(kFormatVersion) +
        "); upgrade cascade");
  }
  if (version < kMinFormatVersion) {
    return Status::NotSupported(
        "index " + path + " has format version " + std::to_string(version) +
        ", written by an older cascade; this one reads versions " +
        std::to_string(kMinFormatVersion) + " to " + std::to_string(kFormatVersion) +
        ": re-index the corpus");
  }
  s = db->Get(rocksdb::ReadOptions(), std::string(kMetaOptions), &value);
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read index options"));
  CASCADE_ASSIGN_OR_RETURN(store->options_, ParseIndexOptions(value));
  return store;
}

Result<std::optional<std::string>> Store::GetMeta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read " + std::string(key)));
  return std::optional<std::string>(std::move(value));
}

Status Store::FlushMemtables() {
  std::vector<rocksdb::ColumnFamilyHandle*> all;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    if (h != nullptr) all.push_back(h);
  }
  for (rocksdb::ColumnFamilyHandle* h : extra_handles_) all.push_back(h);
  rocksdb::FlushOptions options;
  options.wait = true;
  return FromRocks(db_->Flush(options, all), "flush memtables");
}

Status Store::PutMeta(std::string_view key, std::string_view value) {
  if (read_only_) return Status::InvalidArgument("index is open read-only", path_);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, rocksdb::Slice(key.data(), key.size()),
                            rocksdb::Slice(value.data(), value.size())),
                   "write " + std::string(key));
}

std::vector<ColumnFamilySize> Store::ColumnFamilySizes() const {
  // Names in Cf order.
  static constexpr std::string_view kNames[] = {
      kCfDefault, kCfSegments, kCfPostings, kCfDocs, kCfIds,
      kCfDeletes, kCfTilde, kCfVectors, kCfIvf, kCfPositions, kCfKeywords, kCfNumerics};
  static_assert(std::size(kNames) == static_cast<size_t>(Cf::kNumerics) + 1);
  std::vector<ColumnFamilySize> out;
  for (size_t i = 0; i < handles_.size() && i < std::size(kNames); ++i) {
    if (handles_[i] == nullptr) continue;
    ColumnFamilySize size;
    size.name = std::string(kNames[i]);
    uint64_t value = 0;
    if (db_->GetIntProperty(handles_[i], "rocksdb.live-sst-files-size", &value)) {
      size.table_bytes = value;
    }
    // An empty memtable still reports its first arena block: count only
    // memtables that hold entries.
    uint64_t active = 0, immutable = 0;
    db_->GetIntProperty(handles_[i], "rocksdb.num-entries-active-mem-table", &active);
    db_->GetIntProperty(handles_[i], "rocksdb.num-entries-imm-mem-tables", &immutable);
    if (active + immutable > 0 &&
        db_->GetIntProperty(handles_[i], "rocksdb.cur-size-all-mem-tables", &value)) {
      size.memtable_bytes = value;
    }
    out.push_back(std::move(size));
  }
  return out;
}

}  // namespace cascade::index
