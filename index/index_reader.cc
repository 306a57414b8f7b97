#include "index/index_reader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "index/field_values.h"
#include "index/keys.h"
#include "index/length_norm.h"

namespace cascade::index {

IndexReader::IndexReader(std::shared_ptr<Store> store)
    : store_(std::move(store)) {}

IndexReader::~IndexReader() {
  if (snapshot_) store_->db()->ReleaseSnapshot(snapshot_);
}

Result<std::unique_ptr<IndexReader>> IndexReader::Open(
    std::shared_ptr<Store> store, bool tilde_in_memory) {
  std::unique_ptr<IndexReader> reader(new IndexReader(std::move(store)));
  reader->snapshot_ = reader->store_->db()->GetSnapshot();
  reader->read_options_.snapshot = reader->snapshot_;
  reader->query_read_options_ = reader->read_options_;
  reader->query_read_options_.verify_checksums = false;
  CASCADE_RETURN_IF_ERROR(reader->Load());
  if (tilde_in_memory) CASCADE_RETURN_IF_ERROR(reader->LoadTermWeights());
  return reader;
}

Status IndexReader::LoadTermWeights() {
  tilde_in_memory_ = true;
  tilde_offsets_.assign(size_t{doc_id_limit_} + 1, 0);
  tilde_data_.clear();
  rocksdb::ColumnFamilyHandle* cf = store_->cf(Cf::kTilde);
  if (cf == nullptr) return Status::OK();
  // Records come in doc id order (big-endian keys); docs without one get an
  // empty range.
  uint32_t next = 0;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(read_options_, cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 4) return Status::Corruption("bad TILDE key");
    const uint32_t doc = DecodeFixed32BE(it->key().data());
    if (doc >= doc_id_limit_) break;
    for (; next <= doc; ++next) tilde_offsets_[next] = tilde_data_.size();
    tilde_data_.append(it->value().data(), it->value().size());
  }
  CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "read TILDE weights"));
  for (; next <= doc_id_limit_; ++next) tilde_offsets_[next] = tilde_data_.size();
  return Status::OK();
}

Status IndexReader::Load() {
  rocksdb::DB* db = store_->db();
  {
    std::string scale;
    rocksdb::Status s = db->Get(read_options_, std::string(kMetaTildeScale), &scale);
    if (s.ok()) {
      char* end = nullptr;
      const float v = std::strtof(scale.c_str(), &end);
      if (end == scale.c_str() || !(v > 0) || !std::isfinite(v)) {
        return Status::Corruption("bad TILDE scale", scale);
      }
      tilde_scale_ = v;
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "read TILDE scale");
    }
  }
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(read_options_, store_->cf(Cf::kSegments)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rocksdb::Slice key = it->key();
      rocksdb::Slice value = it->value();
      if (key.size() != 4 || value.size() < 8) {
        return Status::Corruption("bad segment record");
      }
      SegmentInfo seg;
      seg.id = DecodeFixed32BE(key.data());
      seg.base = DecodeFixed32(value.data());
      seg.count = DecodeFixed32(value.data() + 4);
      const size_t nfields = options().fields.text_fields.size();
      if (value.size() != 8 + size_t{4} * seg.count * (1 + nfields)) {
        return Status::Corruption("segment " + std::to_string(seg.id) +
                                  " has a bad length table");
      }
      const bool norms = options().length_norm == LengthNorm::kLucene;
      const auto read_lengths = [&](size_t table, std::vector<uint32_t>* lengths,
                                    std::vector<uint8_t>* norm_bytes) {
        const char* p = value.data() + 8 + size_t{4} * seg.count * table;
        lengths->resize(seg.count);
        for (uint32_t i = 0; i < seg.count; ++i) (*lengths)[i] = DecodeFixed32(p + 4 * size_t{i});
        if (!norms) return;
        norm_bytes->resize(seg.count);
        for (uint32_t i = 0; i < seg.count; ++i) (*norm_bytes)[i] = LengthToNormByte((*lengths)[i]);
      };
      read_lengths(0, &seg.lengths, &seg.norms);
      seg.text_fields.resize(nfields);
      for (size_t f = 0; f < nfields; ++f) {
        read_lengths(1 + f, &seg.text_fields[f].lengths, &seg.text_fields[f].norms);
      }
      doc_id_limit_ = std::max(doc_id_limit_, seg.base + seg.count);
      segments_.push_back(std::move(seg));
    }
    CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "read segments"));
  }
  {
    // Keys come in doc id order (big-endian): the ids are collected sorted
    // and added in one call, then the bitmap is compacted (runs where whole
    // ranges are deleted, no spare capacity).
    std::vector<uint32_t> docs;
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(read_options_, store_->cf(Cf::kDeletes)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().size() != 4) return Status::Corruption("bad delete record");
      const uint32_t doc = DecodeFixed32BE(it->key().data());
      if (doc < doc_id_limit_) docs.push_back(doc);
    }
    CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "read deletes"));
    deleted_.addMany(docs.size(), docs.data());
    deleted_.runOptimize();
    deleted_.shrinkToFit();
    has_deletes_ = !deleted_.isEmpty();
  }
  stats_ = CollectionStats();
  stats_.segments = static_cast<uint32_t>(segments_.size());
  stats_.text_fields.resize(options().fields.text_fields.size());
  // Live documents with terms in `lengths` and their summed lengths.
  const auto add_field = [&](const SegmentInfo& seg, const std::vector<uint32_t>& lengths,
                             FieldStats* out) {
    uint64_t with_terms = 0;
    uint64_t sum = 0;
    for (uint32_t length : lengths) {
      with_terms += length > 0;
      sum += length;
    }
    ForEachDeleted(seg.base, seg.base + seg.count, [&](uint32_t doc) {
      const uint32_t length = lengths[doc - seg.base];
      with_terms -= length > 0;
      sum -= length;
    });
    out->docs_with_terms += with_terms;
    out->sum_lengths += sum;
  };
  for (SegmentInfo& seg : segments_) {
    seg.deleted = 0;
    ForEachDeleted(seg.base, seg.base + seg.count, [&](uint32_t) { ++seg.deleted; });
    stats_.deleted_docs += seg.deleted;
    stats_.live_docs += seg.count - seg.deleted;
    FieldStats contents;
    add_field(seg, seg.lengths, &contents);
    stats_.docs_with_terms += contents.docs_with_terms;
    stats_.sum_lengths += contents.sum_lengths;
    for (size_t f = 0; f < seg.text_fields.size(); ++f) {
      add_field(seg, seg.text_fields[f].lengths, &stats_.text_fields[f]);
    }
  }
  return Status::OK();
}

Result<bool> IndexReader::ReadPostings(uint32_t segment, std::string_view term,
                                       std::string* bytes) const {
  rocksdb::Status s =
      store_->db()->Get(read_options_, store_->cf(Cf::kPostings),
                        PostingKey(segment, term), bytes);
  if (s.IsNotFound()) return false;
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read postings"));
  return true;
}

Result<bool> IndexReader::ReadPostings(uint32_t segment, std::string_view term,
                                       rocksdb::PinnableSlice* bytes) const {
  bytes->Reset();
  rocksdb::Status s =
      store_->db()->Get(query_read_options_, store_->cf(Cf::kPostings),
                        PostingKey(segment, term), bytes);
  if (s.IsNotFound()) return false;
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read postings"));
  return true;
}

Result<bool> IndexReader::ReadPositions(uint32_t segment, std::string_view term,
                                        rocksdb::PinnableSlice* bytes) const {
  bytes->Reset();
  if (!has_positions()) {
    return Status::NotSupported("this index stores no positions", store_->path());
  }
  rocksdb::Status s =
      store_->db()->Get(query_read_options_, store_->cf(Cf::kPositions),
                        PostingKey(segment, term), bytes);
  if (s.IsNotFound()) return false;
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read positions"));
  return true;
}

Status IndexReader::ForEachTermWithPrefix(
    uint32_t segment, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  const std::string start = PostingKey(segment, prefix);
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(read_options_, store_->cf(Cf::kPostings)));
  for (it->Seek(start); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (!key.starts_with(start)) break;
    const rocksdb::Slice value = it->value();
    if (!fn(std::string_view(key.data() + 4, key.size() - 4),
            std::string_view(value.data(), value.size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan postings");
}

Result<Document> IndexReader::ReadDocument(uint32_t doc) const {
  std::string value;
  rocksdb::Status s = store_->db()->Get(read_options_, store_->cf(Cf::kDocs),
                                        DocKey(doc), &value);
  if (s.IsNotFound()) {
    return Status::NotFound("no document with internal id", std::to_string(doc));
  }
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read document"));
  std::string_view in = value;
  std::string_view id, title, text;
  if (!GetLengthPrefixed(&in, &id) || !GetLengthPrefixed(&in, &title) ||
      !GetLengthPrefixed(&in, &text)) {
    return Status::Corruption("stored document is truncated", std::to_string(doc));
  }
  Document out;
  out.id = std::string(id);
  out.title = std::string(title);
  out.text = std::string(text);
  Status fields = DecodeStoredFields(options().fields, in, &out);
  if (!fields.ok()) return Status::Corruption(fields.message(), std::to_string(doc));
  return out;
}

Status IndexReader::ReadKeywordDocs(uint32_t segment, uint8_t field, std::string_view value,
                                    std::vector<uint32_t>* docs) const {
  docs->clear();
  rocksdb::ColumnFamilyHandle* cf = store_->cf(Cf::kKeywords);
  if (cf == nullptr) return Status::OK();
  std::string key = KeywordPrefix(segment, field);
  key.append(value);
  rocksdb::PinnableSlice bytes;
  rocksdb::Status s = store_->db()->Get(read_options_, cf, key, &bytes);
  if (s.IsNotFound()) return Status::OK();
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "read keyword postings"));
  return DecodeDocList(std::string_view(bytes.data(), bytes.size()), docs);
}

Status IndexReader::ForEachKeywordWithPrefix(
    uint32_t segment, uint8_t field, std::string_view prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ColumnFamilyHandle* cf = store_->cf(Cf::kKeywords);
  if (cf == nullptr) return Status::OK();
  std::string start = KeywordPrefix(segment, field);
  const size_t fixed = start.size();
  start.append(prefix);
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(read_options_, cf));
  for (it->Seek(start); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (!key.starts_with(start)) break;
    const rocksdb::Slice value = it->value();
    if (!fn(std::string_view(key.data() + fixed, key.size() - fixed),
            std::string_view(value.data(), value.size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan keywords");
}

Status IndexReader::ReadNumericRange(uint32_t segment, uint8_t field,
                                     std::optional<double> lower, bool lower_inclusive,
                                     std::optional<double> upper, bool upper_inclusive,
                                     std::vector<uint32_t>* docs) const {
  docs->clear();
  rocksdb::ColumnFamilyHandle* cf = store_->cf(Cf::kNumerics);
  if (cf == nullptr) return Status::OK();
  const std::string prefix = NumericPrefix(segment, field);
  std::string start = prefix;
  if (lower) PutSortableDouble(&start, *lower);
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(read_options_, cf));
  for (it->Seek(start); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (!key.starts_with(prefix)) break;
    if (key.size() != kNumericKeyBytes) return Status::Corruption("bad numerics key");
    const double v = DecodeSortableDouble(key.data() + prefix.size());
    if (lower && (v < *lower || (v == *lower && !lower_inclusive))) continue;
    if (upper && (v > *upper || (v == *upper && !upper_inclusive))) break;
    docs->push_back(DecodeFixed32BE(key.data() + prefix.size() + 8));
  }
  CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "scan numerics"));
  // A document with several values in the range appears once.
  std::sort(docs->begin(), docs->end());
  docs->erase(std::unique(docs->begin(), docs->end()), docs->end());
  return Status::OK();
}

Result<std::optional<uint32_t>> IndexReader::Lookup(std::string_view id) const {
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(read_options_, store_->cf(Cf::kIds), id, &value);
  if (s.IsNotFound()) return std::optional<uint32_t>();
  CASCADE_RETURN_IF_ERROR(FromRocks(s, "look up id"));
  if (value.size() != 4) return Status::Corruption("bad id entry", id);
  return std::optional<uint32_t>(DecodeFixed32(value.data()));
}

Status IndexReader::ReadTermWeights(
    std::span<const uint32_t> docs,
    std::vector<std::optional<std::string>>* out) const {
  out->assign(docs.size(), std::nullopt);
  if (tilde_in_memory_) {
    for (size_t i = 0; i < docs.size(); ++i) {
      if (docs[i] >= doc_id_limit_) continue;
      const uint64_t begin = tilde_offsets_[docs[i]];
      const uint64_t end = tilde_offsets_[docs[i] + 1];
      if (end > begin) (*out)[i].emplace(tilde_data_.data() + begin, end - begin);
    }
    return Status::OK();
  }
  rocksdb::ColumnFamilyHandle* cf = store_->cf(Cf::kTilde);
  if (cf == nullptr || docs.empty()) return Status::OK();
  // Keys in doc id order (big-endian keys sort the same way), so RocksDB's
  // batched MultiGet reads each block once for the keys it holds.
  std::vector<uint32_t> order(docs.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return docs[a] < docs[b]; });
  std::vector<char> keys(docs.size() * 4);
  std::vector<rocksdb::Slice> slices(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    const uint32_t doc = docs[order[i]];
    char* key = keys.data() + 4 * i;
    key[0] = static_cast<char>(doc >> 24);
    key[1] = static_cast<char>(doc >> 16);
    key[2] = static_cast<char>(doc >> 8);
    key[3] = static_cast<char>(doc);
    slices[i] = rocksdb::Slice(key, 4);
  }
  std::vector<rocksdb::PinnableSlice> values(docs.size());
  std::vector<rocksdb::Status> statuses(docs.size());
  // In groups small enough that MultiGet's scratch buffer for the blocks it
  // reads stays on the heap: a larger one is a fresh mmap per call, and
  // every query would pay page faults on it.
  constexpr size_t kGroup = 16;
  for (size_t begin = 0; begin < docs.size(); begin += kGroup) {
    const size_t n = std::min(kGroup, docs.size() - begin);
    store_->db()->MultiGet(read_options_, cf, n, slices.data() + begin,
                           values.data() + begin, statuses.data() + begin,
                           /*sorted_input=*/true);
  }
  for (size_t i = 0; i < docs.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    CASCADE_RETURN_IF_ERROR(FromRocks(statuses[i], "read TILDE weights"));
    (*out)[order[i]].emplace(values[i].data(), values[i].size());
  }
  return Status::OK();
}

}  // namespace cascade::index
