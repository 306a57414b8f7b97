#include "index/segment_merger.h"

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/write_batch.h>

#include "index/field_values.h"
#include "index/keys.h"
#include "index/positions_codec.h"
#include "index/posting_codec.h"

namespace cascade::index {

namespace {

constexpr uint32_t kDropped = UINT32_MAX;

// Old doc id -> new doc id over the merged range [lo, hi); kDropped for
// deleted documents and for ids in gaps between the segments.
struct Remap {
  uint32_t lo = 0;
  uint32_t hi = 0;
  uint32_t first_change = 0;  // the first doc whose id changes; hi if none
  std::vector<uint32_t> to;
  uint32_t operator()(uint32_t doc) const { return to[doc - lo]; }
};

// Rewrites the records of `cf` keyed by prefix + fixed32-BE doc id with the
// doc in [remap.lo, remap.hi): moved ones to their new key, dropped ones
// removed. Keys are visited in increasing doc order and a document only
// moves down, so a Put never lands on a key a later Delete of this pass
// removes. on_move(new_doc, value) sees each moved record.
template <typename OnMove>
Status Relocate(rocksdb::DB* db, const rocksdb::ReadOptions& ro, rocksdb::ColumnFamilyHandle* cf,
                const std::string& prefix, const Remap& remap, rocksdb::WriteBatch* batch,
                OnMove on_move) {
  if (remap.first_change == remap.hi) return Status::OK();
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  std::string key = prefix;
  PutFixed32BE(&key, remap.first_change);
  for (it->Seek(key); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (!k.starts_with(prefix)) break;
    if (k.size() != prefix.size() + 4) return Status::Corruption("bad doc-keyed record key");
    const uint32_t doc = DecodeFixed32BE(k.data() + prefix.size());
    if (doc >= remap.hi) break;
    const uint32_t to = remap(doc);
    if (to == doc) continue;
    CASCADE_RETURN_IF_ERROR(FromRocks(batch->Delete(cf, k), "merge: batch"));
    if (to == kDropped) continue;
    key.assign(prefix);
    PutFixed32BE(&key, to);
    CASCADE_RETURN_IF_ERROR(FromRocks(batch->Put(cf, key, it->value()), "merge: batch"));
    CASCADE_RETURN_IF_ERROR(
        on_move(doc, to, std::string_view(it->value().data(), it->value().size())));
  }
  return FromRocks(it->status(), "merge: scan records");
}

// Rewrites one vector field's IVF entries (field byte, fixed32-BE list,
// fixed32-BE doc) whose doc is in the merged range. Within a list docs come
// in increasing order, so the reasoning of Relocate holds per list.
Status RelocateIvf(rocksdb::DB* db, const rocksdb::ReadOptions& ro, rocksdb::ColumnFamilyHandle* cf,
                   uint8_t field, const Remap& remap, rocksdb::WriteBatch* batch) {
  if (remap.first_change == remap.hi) return Status::OK();
  const std::string prefix(1, static_cast<char>(field));
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  std::string key;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (!k.starts_with(prefix)) break;
    if (k.size() != 9) return Status::Corruption("bad IVF key");
    const uint32_t doc = DecodeFixed32BE(k.data() + 5);
    if (doc < remap.first_change || doc >= remap.hi) continue;
    const uint32_t to = remap(doc);
    if (to == doc) continue;
    CASCADE_RETURN_IF_ERROR(FromRocks(batch->Delete(cf, k), "merge: batch"));
    if (to == kDropped) continue;
    key.assign(k.data(), 5);
    PutFixed32BE(&key, to);
    CASCADE_RETURN_IF_ERROR(FromRocks(batch->Put(cf, key, rocksdb::Slice()), "merge: batch"));
  }
  return FromRocks(it->status(), "merge: scan IVF lists");
}

// One merged segment's postings, read term by term in key order, and its
// positions (same keys) alongside.
struct PostingSource {
  const SegmentInfo* seg = nullptr;
  std::string prefix;  // SegmentKey(seg->id)
  std::unique_ptr<rocksdb::Iterator> it;
  std::unique_ptr<rocksdb::Iterator> positions;  // null without positions
  bool Valid() const { return it->Valid() && it->key().starts_with(prefix); }
  std::string_view term() const {
    return std::string_view(it->key().data() + 4, it->key().size() - 4);
  }
  // The positions record of the current term, if there is one: moves the
  // positions iterator up to the postings key.
  bool SeekPositions() {
    if (!positions) return false;
    const rocksdb::Slice key = it->key();
    while (positions->Valid() && positions->key().compare(key) < 0) positions->Next();
    return positions->Valid() && positions->key() == key;
  }
};

// Keyword postings: each segment's "keywords" range (keys after the
// segment id: field ordinal + value) merged in key order; a key present in
// several segments gets their remapped doc lists concatenated (segments are
// visited in doc order, so the list stays sorted). Every old key is
// deleted before the merged one is put (S1's key may be the same).
Status MergeKeywords(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                     rocksdb::ColumnFamilyHandle* cf,
                     const std::vector<const SegmentInfo*>& segs, const Remap& remap,
                     uint32_t target, rocksdb::WriteBatch* batch) {
  struct Source {
    const SegmentInfo* seg;
    std::string prefix;
    std::unique_ptr<rocksdb::Iterator> it;
    bool Valid() const { return it->Valid() && it->key().starts_with(prefix); }
    std::string_view suffix() const {
      return std::string_view(it->key().data() + 4, it->key().size() - 4);
    }
  };
  std::vector<Source> sources;
  for (const SegmentInfo* seg : segs) {
    Source src{seg, SegmentKey(seg->id), std::unique_ptr<rocksdb::Iterator>(db->NewIterator(ro, cf))};
    src.it->Seek(src.prefix);
    sources.push_back(std::move(src));
  }
  std::string suffix, key, value;
  std::vector<uint32_t> docs, seg_docs;
  while (true) {
    bool any = false;
    for (const Source& src : sources) {
      if (!src.Valid()) continue;
      if (!any || src.suffix() < suffix) suffix.assign(src.suffix());
      any = true;
    }
    if (!any) break;
    docs.clear();
    for (Source& src : sources) {
      if (!src.Valid() || src.suffix() != suffix) continue;
      const rocksdb::Slice v = src.it->value();
      CASCADE_RETURN_IF_ERROR(DecodeDocList(std::string_view(v.data(), v.size()), &seg_docs));
      for (uint32_t local : seg_docs) {
        if (local >= src.seg->count) {
          return Status::Corruption("keyword posting beyond segment end in segment",
                                    std::to_string(src.seg->id));
        }
        const uint32_t to = remap(src.seg->base + local);
        if (to != kDropped) docs.push_back(to - remap.lo);
      }
      CASCADE_RETURN_IF_ERROR(FromRocks(batch->Delete(cf, src.it->key()), "merge: batch"));
      src.it->Next();
    }
    if (docs.empty()) continue;  // the value only occurred in deleted documents
    key = SegmentKey(target);
    key.append(suffix);
    value.clear();
    EncodeDocList(docs, &value);
    CASCADE_RETURN_IF_ERROR(FromRocks(batch->Put(cf, key, value), "merge: batch"));
  }
  for (const Source& src : sources) {
    CASCADE_RETURN_IF_ERROR(FromRocks(src.it->status(), "merge: scan keywords"));
  }
  return Status::OK();
}

// Numeric entries: every key of the merged segments is deleted, then the
// live documents' entries are put again under the target segment with
// their new local ids (all deletes first, so no put is undone).
Status MergeNumerics(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                     rocksdb::ColumnFamilyHandle* cf,
                     const std::vector<const SegmentInfo*>& segs, const Remap& remap,
                     uint32_t target, rocksdb::WriteBatch* batch) {
  std::vector<std::string> puts;
  for (const SegmentInfo* seg : segs) {
    const std::string prefix = SegmentKey(seg->id);
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const rocksdb::Slice k = it->key();
      if (k.size() != kNumericKeyBytes) return Status::Corruption("bad numerics key");
      const uint32_t local = DecodeFixed32BE(k.data() + 13);
      if (local >= seg->count) {
        return Status::Corruption("numeric entry beyond segment end in segment",
                                  std::to_string(seg->id));
      }
      CASCADE_RETURN_IF_ERROR(FromRocks(batch->Delete(cf, k), "merge: batch"));
      const uint32_t to = remap(seg->base + local);
      if (to == kDropped) continue;
      std::string key = SegmentKey(target);
      key.append(k.data() + 4, 9);  // field ordinal + sortable value
      PutFixed32BE(&key, to - remap.lo);
      puts.push_back(std::move(key));
    }
    CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "merge: scan numerics"));
  }
  for (const std::string& key : puts) {
    CASCADE_RETURN_IF_ERROR(FromRocks(batch->Put(cf, key, rocksdb::Slice()), "merge: batch"));
  }
  return Status::OK();
}

}  // namespace

uint32_t PreparedMerge::NewId(uint32_t doc) const {
  static_assert(kGone == kDropped);
  return doc < lo_ || doc >= hi_ ? doc : to_[doc - lo_];
}

Result<MergeResult> MergeSegments(Store& store, const IndexReader& reader,
                                  std::span<const uint32_t> segment_ids) {
  CASCADE_ASSIGN_OR_RETURN(PreparedMerge merge, PrepareMerge(store, reader, segment_ids));
  return CommitMerge(store, merge);
}

Result<PreparedMerge> PrepareMerge(Store& store, const IndexReader& reader,
                                   std::span<const uint32_t> segment_ids) {
  if (store.read_only()) return Status::InvalidArgument("index is open read-only", store.path());
  if (segment_ids.empty()) return Status::InvalidArgument("merge: no segments");
  // The reader's segments in doc id order; the merged ones must be a run.
  std::vector<const SegmentInfo*> ordered;
  for (const SegmentInfo& seg : reader.segments()) ordered.push_back(&seg);
  std::sort(ordered.begin(), ordered.end(),
            [](const SegmentInfo* a, const SegmentInfo* b) { return a->base < b->base; });
  std::vector<size_t> at;
  for (uint32_t id : segment_ids) {
    auto found = std::find_if(ordered.begin(), ordered.end(),
                              [&](const SegmentInfo* s) { return s->id == id; });
    if (found == ordered.end()) {
      return Status::InvalidArgument("merge: no segment", std::to_string(id));
    }
    at.push_back(static_cast<size_t>(found - ordered.begin()));
  }
  std::sort(at.begin(), at.end());
  for (size_t i = 1; i < at.size(); ++i) {
    if (at[i] != at[i - 1] + 1) {
      return Status::InvalidArgument(
          "merge: segments must be distinct and adjacent in doc id order");
    }
  }
  std::vector<const SegmentInfo*> segs;
  for (size_t i : at) segs.push_back(ordered[i]);

  Remap remap;
  remap.lo = segs.front()->base;
  remap.hi = segs.back()->base + segs.back()->count;
  remap.to.assign(remap.hi - remap.lo, kDropped);
  MergeResult result;
  result.segments = static_cast<uint32_t>(segs.size());
  std::vector<uint32_t> lengths;  // by new local doc id
  // The same for each text field.
  const size_t nfields = reader.options().fields.text_fields.size();
  std::vector<std::vector<uint32_t>> field_lengths(nfields);
  for (const SegmentInfo* seg : segs) {
    result.reclaimed += seg->deleted;
    DeletedCursor deleted(reader, *seg);
    for (uint32_t i = 0; i < seg->count; ++i) {
      if (deleted.IsDeleted(i)) continue;
      remap.to[seg->base + i - remap.lo] = remap.lo + static_cast<uint32_t>(lengths.size());
      lengths.push_back(seg->lengths[i]);
      for (size_t f = 0; f < nfields; ++f) {
        field_lengths[f].push_back(seg->text_fields[f].lengths[i]);
      }
    }
  }
  result.documents = lengths.size();
  remap.first_change = remap.hi;
  for (uint32_t doc = remap.lo; doc < remap.hi; ++doc) {
    if (remap(doc) != doc) {
      remap.first_change = doc;
      break;
    }
  }
  PreparedMerge prepared;
  prepared.result_ = result;
  if (segs.size() == 1 && result.reclaimed == 0) return prepared;  // nothing to do
  prepared.empty_ = false;
  prepared.lo_ = remap.lo;
  prepared.hi_ = remap.hi;
  for (const SegmentInfo* seg : segs) prepared.segments_.emplace_back(seg->id, seg->base);
  prepared.batch_ = std::make_unique<rocksdb::WriteBatch>();

  rocksdb::DB* db = store.db();
  const rocksdb::ReadOptions& ro = reader.read_options();
  const uint32_t target = segs.front()->id;
  rocksdb::WriteBatch& batch = *prepared.batch_;

  // Postings: a k-way merge of the segments' term ranges.
  rocksdb::ColumnFamilyHandle* postings_cf = store.cf(Cf::kPostings);
  rocksdb::ColumnFamilyHandle* positions_cf = store.cf(Cf::kPositions);
  std::vector<PostingSource> sources(segs.size());
  for (size_t s = 0; s < segs.size(); ++s) {
    sources[s].seg = segs[s];
    sources[s].prefix = SegmentKey(segs[s]->id);
    sources[s].it.reset(db->NewIterator(ro, postings_cf));
    sources[s].it->Seek(sources[s].prefix);
    if (positions_cf != nullptr) {
      sources[s].positions.reset(db->NewIterator(ro, positions_cf));
      sources[s].positions->Seek(sources[s].prefix);
    }
  }
  std::string term, value;
  std::vector<uint32_t> docs, tfs, seg_docs, seg_tfs, positions, one;
  PositionsReader positions_reader;
  while (true) {
    bool any = false;
    for (const PostingSource& src : sources) {
      if (!src.Valid()) continue;
      if (!any || src.term() < term) term.assign(src.term());
      any = true;
    }
    if (!any) break;
    docs.clear();
    tfs.clear();
    positions.clear();
    size_t lists = 0, with_positions = 0;
    for (PostingSource& src : sources) {
      if (!src.Valid() || src.term() != term) continue;
      const rocksdb::Slice v = src.it->value();
      CASCADE_RETURN_IF_ERROR(DecodePostings(std::string_view(v.data(), v.size()), &seg_docs,
                                             &seg_tfs));
      const bool has_positions = src.SeekPositions();
      ++lists;
      if (has_positions) {
        ++with_positions;
        const rocksdb::Slice p = src.positions->value();
        CASCADE_RETURN_IF_ERROR(
            positions_reader.Reset(std::string_view(p.data(), p.size()), seg_tfs));
      }
      for (size_t i = 0; i < seg_docs.size(); ++i) {
        if (seg_docs[i] >= src.seg->count) {
          return Status::Corruption("posting beyond segment end in segment",
                                    std::to_string(src.seg->id));
        }
        const uint32_t to = remap(src.seg->base + seg_docs[i]);
        if (to == kDropped) continue;
        docs.push_back(to - remap.lo);
        tfs.push_back(seg_tfs[i]);
        if (has_positions) {
          CASCADE_RETURN_IF_ERROR(positions_reader.Read(static_cast<uint32_t>(i), &one));
          positions.insert(positions.end(), one.begin(), one.end());
        }
      }
      // Removed before the merged list is put: a Put later in the batch
      // wins over a Delete of the same key (S1's own key).
      CASCADE_RETURN_IF_ERROR(FromRocks(batch.Delete(postings_cf, src.it->key()), "merge: batch"));
      if (has_positions) {
        CASCADE_RETURN_IF_ERROR(
            FromRocks(batch.Delete(positions_cf, src.it->key()), "merge: batch"));
      }
      src.it->Next();
    }
    // A term's list has positions in every segment or in none (the index
    // options decide for all segments).
    if (with_positions != 0 && with_positions != lists) {
      return Status::Corruption("merge: term has positions in only some segments", term);
    }
    if (docs.empty()) continue;  // the term only occurred in deleted documents
    value.clear();
    const int field = FieldOfTerm(term);
    if (field >= static_cast<int>(nfields)) {
      return Status::Corruption("merge: postings of an unknown text field", term);
    }
    EncodePostings(docs, tfs, field < 0 ? lengths : field_lengths[field], &value);
    CASCADE_RETURN_IF_ERROR(
        FromRocks(batch.Put(postings_cf, PostingKey(target, term), value), "merge: batch"));
    if (with_positions != 0) {
      value.clear();
      EncodePositions(tfs, positions, &value);
      CASCADE_RETURN_IF_ERROR(
          FromRocks(batch.Put(positions_cf, PostingKey(target, term), value), "merge: batch"));
    }
    ++result.terms;
  }
  for (const PostingSource& src : sources) {
    CASCADE_RETURN_IF_ERROR(FromRocks(src.it->status(), "merge: scan postings"));
    if (src.positions) {
      CASCADE_RETURN_IF_ERROR(FromRocks(src.positions->status(), "merge: scan positions"));
    }
  }

  // Keyword and numeric fields, when the index has them.
  if (rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::kKeywords)) {
    CASCADE_RETURN_IF_ERROR(MergeKeywords(db, ro, cf, segs, remap, target, &batch));
  }
  if (rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::kNumerics)) {
    CASCADE_RETURN_IF_ERROR(MergeNumerics(db, ro, cf, segs, remap, target, &batch));
  }

  // Segment records.
  rocksdb::ColumnFamilyHandle* segments_cf = store.cf(Cf::kSegments);
  for (size_t s = 1; s < segs.size(); ++s) {
    CASCADE_RETURN_IF_ERROR(
        FromRocks(batch.Delete(segments_cf, SegmentKey(segs[s]->id)), "merge: batch"));
  }
  if (lengths.empty()) {
    CASCADE_RETURN_IF_ERROR(
        FromRocks(batch.Delete(segments_cf, SegmentKey(target)), "merge: batch"));
  } else {
    value.clear();
    PutFixed32(&value, remap.lo);
    PutFixed32(&value, static_cast<uint32_t>(lengths.size()));
    for (uint32_t length : lengths) PutFixed32(&value, length);
    for (const std::vector<uint32_t>& f : field_lengths) {
      for (uint32_t length : f) PutFixed32(&value, length);
    }
    CASCADE_RETURN_IF_ERROR(
        FromRocks(batch.Put(segments_cf, SegmentKey(target), value), "merge: batch"));
  }

  // Stored documents, and the external ids of moved ones (put by
  // CommitMerge, which knows which of them are still live).
  const auto no_op = [](uint32_t, uint32_t, std::string_view) { return Status::OK(); };
  CASCADE_RETURN_IF_ERROR(Relocate(
      db, ro, store.cf(Cf::kDocs), "", remap, &batch,
      [&](uint32_t from, uint32_t to, std::string_view record) {
        std::string_view in = record, id;
        if (!GetLengthPrefixed(&in, &id)) {
          return Status::Corruption("stored document is truncated", std::to_string(to));
        }
        prepared.moved_ids_.emplace_back(std::string(id), from);
        return Status::OK();
      }));
  if (rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::kTilde)) {
    CASCADE_RETURN_IF_ERROR(Relocate(db, ro, cf, "", remap, &batch, no_op));
  }
  const size_t fields = store.options().vector_fields.size();
  if (fields > 0 && store.cf(Cf::kVectors) != nullptr) {
    for (size_t f = 0; f < fields; ++f) {
      const std::string prefix(1, static_cast<char>(f));
      CASCADE_RETURN_IF_ERROR(
          Relocate(db, ro, store.cf(Cf::kVectors), prefix, remap, &batch, no_op));
      if (store.cf(Cf::kIvf) != nullptr) {
        CASCADE_RETURN_IF_ERROR(
            RelocateIvf(db, ro, store.cf(Cf::kIvf), static_cast<uint8_t>(f), remap, &batch));
      }
    }
  }
  // No document of the merged segment was deleted in the snapshot. The
  // reader's bitmap holds every delete key of its snapshot (ro) below its
  // doc id limit, and the merged range lies below it.
  {
    rocksdb::ColumnFamilyHandle* cf = store.cf(Cf::kDeletes);
    Status status;
    reader.ForEachDeleted(remap.lo, remap.hi, [&](uint32_t doc) {
      if (status.ok()) status = FromRocks(batch.Delete(cf, DocKey(doc)), "merge: batch");
      prepared.snapshot_deleted_.push_back(doc);
    });
    CASCADE_RETURN_IF_ERROR(status);
    std::sort(prepared.snapshot_deleted_.begin(), prepared.snapshot_deleted_.end());
  }
  prepared.to_ = std::move(remap.to);
  prepared.result_ = result;
  return prepared;
}

Result<MergeResult> CommitMerge(Store& store, PreparedMerge& merge) {
  if (merge.empty_) return merge.result_;
  if (!merge.batch_) return Status::Internal("merge: committed twice");
  rocksdb::DB* db = store.db();
  const rocksdb::ReadOptions now;  // the store as it is: the writer is held still
  std::string value;
  // The merged segments must be as the snapshot saw them.
  for (const auto& [id, base] : merge.segments_) {
    rocksdb::Status s = db->Get(now, store.cf(Cf::kSegments), SegmentKey(id), &value);
    if (!s.ok() || value.size() < 8 || DecodeFixed32(value.data()) != base) {
      return Status::Internal("merge: segment changed since its snapshot", std::to_string(id));
    }
  }
  // Deletes made since the snapshot, in the merged range: each moves with
  // its document (first every old key removed, then the new ones put: a
  // Put later in the batch wins over a Delete of the same key).
  rocksdb::ColumnFamilyHandle* deletes_cf = store.cf(Cf::kDeletes);
  std::vector<uint32_t> carried;
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(now, deletes_cf));
    for (it->Seek(DocKey(merge.lo_)); it->Valid(); it->Next()) {
      if (it->key().size() != 4) return Status::Corruption("bad delete key");
      const uint32_t doc = DecodeFixed32BE(it->key().data());
      if (doc >= merge.hi_) break;
      if (std::binary_search(merge.snapshot_deleted_.begin(), merge.snapshot_deleted_.end(),
                             doc)) {
        continue;
      }
      if (merge.to_[doc - merge.lo_] == kDropped) {
        return Status::Corruption("merge: delete key of a document not in the segments",
                                  std::to_string(doc));
      }
      carried.push_back(doc);
    }
    CASCADE_RETURN_IF_ERROR(FromRocks(it->status(), "merge: scan deletes"));
  }
  rocksdb::WriteBatch& batch = *merge.batch_;
  for (uint32_t doc : carried) {
    CASCADE_RETURN_IF_ERROR(FromRocks(batch.Delete(deletes_cf, DocKey(doc)), "merge: batch"));
  }
  for (uint32_t doc : carried) {
    CASCADE_RETURN_IF_ERROR(
        FromRocks(batch.Put(deletes_cf, DocKey(merge.NewId(doc)), ""), "merge: batch"));
  }
  // External ids of moved documents still live; a deleted or replaced one's
  // id already points where the writer left it.
  rocksdb::ColumnFamilyHandle* ids_cf = store.cf(Cf::kIds);
  for (const auto& [id, from] : merge.moved_ids_) {
    if (std::binary_search(carried.begin(), carried.end(), from)) continue;
    value.clear();
    PutFixed32(&value, merge.NewId(from));
    CASCADE_RETURN_IF_ERROR(FromRocks(batch.Put(ids_cf, id, value), "merge: batch"));
  }

  rocksdb::WriteOptions wo;
  wo.sync = true;
  CASCADE_RETURN_IF_ERROR(FromRocks(db->Write(wo, &batch), "write merged segment"));
  merge.batch_.reset();
  merge.result_.carried_deletes = carried.size();
  return merge.result_;
}

}  // namespace cascade::index
