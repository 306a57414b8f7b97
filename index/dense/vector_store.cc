#include "index/dense/vector_store.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include <rocksdb/write_batch.h>

#include "index/keys.h"

namespace cascade::dense {

using index::Cf;
using index::FromRocks;

Result<size_t> FindVectorField(const index::Store& store, std::string_view name) {
  const auto& fields = store.options().vector_fields;
  std::string names;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return i;
    names += (names.empty() ? "" : ", ") + fields[i].name;
  }
  return Status::NotFound("no vector field \"" + std::string(name) + "\" in the index (" +
                          (names.empty() ? std::string("it has none") : "it has " + names) +
                          ")");
}

namespace {

struct LiveVectors {
  std::vector<uint32_t> docs;  // ascending
  std::vector<float> data;
};

Status ReadVectors(const index::Store& store, const index::IndexReader& reader,
                   const rocksdb::ReadOptions& ro, size_t ordinal, LiveVectors* out) {
  const VectorField& field = store.options().vector_fields[ordinal];
  rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::kVectors);
  if (cf == nullptr) return Status::OK();  // read-only index from before vectors
  const std::string prefix(1, static_cast<char>(ordinal));
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, cf));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 5) return Status::Corruption("bad vector key");
    const uint32_t doc = index::DecodeFixed32BE(it->key().data() + 1);
    if (doc >= reader.doc_id_limit() || reader.IsDeleted(doc)) continue;
    out->docs.push_back(doc);
    out->data.resize(out->data.size() + field.dim);
    CASCADE_RETURN_IF_ERROR(DecodeVector(field, it->value().ToStringView(),
                                         out->data.data() + out->data.size() - field.dim));
  }
  return FromRocks(it->status(), "read vectors of " + field.name);
}

Result<std::vector<float>> ReadCentroids(const index::Store& store,
                                         const rocksdb::ReadOptions& ro,
                                         const VectorField& field) {
  std::string value;
  rocksdb::Status s = store.db()->Get(
      ro, std::string(index::kMetaIvfCentroidsPrefix) + field.name, &value);
  if (s.IsNotFound()) return std::vector<float>();
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read IVF centroids of " + field.name));
  return DecodeCentroids(field, value);
}

}  // namespace

Result<std::unique_ptr<VectorIndex>> LoadVectorIndex(const index::Store& store,
                                                     const index::IndexReader& reader,
                                                     std::string_view name,
                                                     unsigned threads) {
  CASCADE_ASSIGN_OR_RETURN(size_t ordinal, FindVectorField(store, name));
  const VectorField& field = store.options().vector_fields[ordinal];
  // One snapshot for vectors, centroids and lists: a training in between
  // cannot mix two generations of lists.
  const rocksdb::Snapshot* snapshot = store.db()->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{store.db(), snapshot};
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  LiveVectors live;
  CASCADE_RETURN_IF_ERROR(ReadVectors(store, reader, ro, ordinal, &live));
  CASCADE_ASSIGN_OR_RETURN(std::vector<float> centroids, ReadCentroids(store, ro, field));
  if (centroids.empty()) {
    return VectorIndex::Build(field, std::move(live.docs), std::move(live.data));
  }
  const size_t nlist = centroids.size() / field.dim;
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> lists(live.docs.size(), kNone);
  const std::string prefix(1, static_cast<char>(ordinal));
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(ro, store.cf(Cf::kIvf)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 9) return Status::Corruption("bad IVF key");
    const uint32_t list = index::DecodeFixed32BE(it->key().data() + 1);
    const uint32_t doc = index::DecodeFixed32BE(it->key().data() + 5);
    if (list >= nlist) return Status::Corruption("IVF list id out of range");
    auto found = std::lower_bound(live.docs.begin(), live.docs.end(), doc);
    if (found == live.docs.end() || *found != doc) continue;  // deleted
    lists[found - live.docs.begin()] = list;
  }
  CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "read IVF lists of " + field.name));
  // Every live vector has a list entry (written with it, or by training);
  // should one lack it, it goes to its nearest list here.
  std::vector<float> unit(field.dim);
  for (size_t r = 0; r < lists.size(); ++r) {
    if (lists[r] != kNone) continue;
    std::copy_n(live.data.data() + r * field.dim, field.dim, unit.data());
    if (field.metric == Metric::kCosine) Normalize(unit.data(), field.dim);
    AssignNearest(unit.data(), 1, centroids.data(), nlist, field.dim, field.metric, 1, &lists[r]);
  }
  return VectorIndex::Build(field, std::move(live.docs), std::move(live.data),
                            std::move(centroids), lists, threads);
}

Result<IvfTrainReport> TrainIvf(const std::shared_ptr<index::Store>& store,
                                std::string_view name, const IvfTrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (store->read_only()) return Status::InvalidArgument("index is open read-only");
  CASCADE_ASSIGN_OR_RETURN(size_t ordinal, FindVectorField(*store, name));
  const VectorField& field = store->options().vector_fields[ordinal];
  CASCADE_ASSIGN_OR_RETURN(auto reader, index::IndexReader::Open(store));
  LiveVectors live;
  CASCADE_RETURN_IF_ERROR(ReadVectors(*store, *reader, rocksdb::ReadOptions(), ordinal, &live));
  const size_t n = live.docs.size();
  if (field.metric == Metric::kCosine) {
    for (size_t i = 0; i < n; ++i) Normalize(live.data.data() + i * field.dim, field.dim);
  }
  size_t lists = options.lists;
  if (lists == 0) {
    // Faiss's rule of thumb, with at least 39 vectors per list (below that
    // Faiss warns that centroids are poorly trained).
    lists = std::clamp<size_t>(std::lround(4 * std::sqrt(double(n))), 1,
                               std::max<size_t>(1, n / 39));
  }
  if (n < lists) {
    return Status::InvalidArgument("field " + field.name + " has " + std::to_string(n) +
                                   " live vectors, fewer than the " + std::to_string(lists) +
                                   " IVF lists asked for");
  }
  KMeansOptions kmeans = options.kmeans;
  kmeans.k = lists;
  // The lists are the k-means' own last assignment (kmeans.h).
  std::vector<uint32_t> assign;
  CASCADE_ASSIGN_OR_RETURN(std::vector<float> centroids,
                           TrainKMeans(live.data, field.dim, field.metric, kmeans, &assign));

  rocksdb::WriteBatch batch;
  const std::string begin(1, static_cast<char>(ordinal));
  const std::string end(1, static_cast<char>(ordinal + 1));
  // ordinal + 1 <= 255: at most kMaxVectorFields (255) fields, ordinals < 255.
  CASCADE_RETURN_IF_ERROR(FromRocks(batch.DeleteRange(store->cf(Cf::kIvf), begin, end),
                                    "clear IVF lists"));
  for (size_t r = 0; r < n; ++r) {
    std::string key = index::IvfListPrefix(static_cast<uint8_t>(ordinal), assign[r]);
    index::PutFixed32BE(&key, live.docs[r]);
    CASCADE_RETURN_IF_ERROR(FromRocks(batch.Put(store->cf(Cf::kIvf), key, ""), "IVF list"));
  }
  std::string value;
  EncodeCentroids(centroids, field.dim, static_cast<uint32_t>(kmeans.seed), &value);
  CASCADE_RETURN_IF_ERROR(FromRocks(
      batch.Put(std::string(index::kMetaIvfCentroidsPrefix) + field.name, value), "centroids"));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  CASCADE_RETURN_IF_ERROR(FromRocks(store->db()->Write(wo, &batch), "write IVF lists"));
  IvfTrainReport report;
  report.vectors = n;
  report.lists = lists;
  report.sample = kmeans.max_points_per_centroid > 0
                      ? std::min(n, lists * kmeans.max_points_per_centroid)
                      : n;
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

Result<std::vector<std::string>> MaybeAutoTrainIvf(const std::shared_ptr<index::Store>& store,
                                                   unsigned threads) {
  std::vector<std::string> trained;
  std::shared_ptr<index::IndexReader> reader;
  for (const VectorField& field : store->options().vector_fields) {
    if (field.ivf_auto_threshold == 0) continue;
    CASCADE_ASSIGN_OR_RETURN(std::optional<std::string> centroids,
                             store->GetMeta(std::string(index::kMetaIvfCentroidsPrefix) +
                                            field.name));
    if (centroids) continue;
    if (!reader) {
      CASCADE_ASSIGN_OR_RETURN(reader, index::IndexReader::Open(store));
    }
    // Live documents all carry every field's vector.
    if (reader->stats().live_docs < field.ivf_auto_threshold) continue;
    IvfTrainOptions options;
    options.kmeans.threads = threads;
    CASCADE_RETURN_IF_ERROR(TrainIvf(store, field.name, options).status());
    trained.push_back(field.name);
  }
  return trained;
}

}  // namespace cascade::dense
