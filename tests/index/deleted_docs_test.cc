// IndexReader's deleted documents (a CRoaring bitmap of global doc ids plus
// a count per segment), on a real RocksDB in a fresh folder under
// testing::TempDir(). The fixture: four segments of ten documents, ids 0-39
// (segment s holds s*10 .. s*10+9), every document one distinct word plus
// "common", except ids 7 and 30, which hold only stop words (no indexed
// term). Deleted: 0 and 9 (first and last of segment 0), 10 (first of
// segment 1), 25 (inside segment 2), 30 and 39 (first and last of segment
// 3); segment 1 keeps nine live documents, and no segment is left without
// deletes except after merges.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "cascade/status.h"
#include "index/document.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/keys.h"
#include "index/segment_merger.h"
#include "index/store.h"

namespace cascade::index {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kSegments = 4;
constexpr uint32_t kPerSegment = 10;
const std::set<uint32_t> kDeleted = {0, 9, 10, 25, 30, 39};

class DeletedDocsTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("deleted_docs_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    StoreOptions options;
    options.create_if_missing = true;
    auto store = Store::Open((root_ / "index").string(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto writer = IndexWriter::Open(store_, WriterOptions());
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
  }
  void TearDown() override {
    writer_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static std::string Id(uint32_t i) { return "d" + std::to_string(i); }
  static void ExpectOk(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }

  // Segments of kPerSegment documents from global doc id `first` on;
  // global doc id i is document Id(i).
  void AddSegments(uint32_t segments, uint32_t first = 0) {
    for (uint32_t i = first; i < first + segments * kPerSegment; ++i) {
      Document doc;
      doc.id = Id(i);
      doc.text = (i == 7 || i == 30) ? "the of and" : "common word" + std::to_string(i);
      ExpectOk(writer_->Add(doc));
      if (i % kPerSegment == kPerSegment - 1) ExpectOk(writer_->Flush());
    }
    ExpectOk(writer_->Commit());
  }
  void Delete(const std::set<uint32_t>& docs) {
    for (uint32_t d : docs) ExpectOk(writer_->Delete(Id(d)));
    ExpectOk(writer_->Commit());
  }
  std::unique_ptr<IndexReader> OpenReader() {
    auto reader = IndexReader::Open(store_);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    return reader.ok() ? std::move(*reader) : nullptr;
  }
  // Keys in the "deletes" column family now.
  size_t DeleteKeys() {
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(rocksdb::ReadOptions(), store_->cf(Cf::kDeletes)));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    EXPECT_TRUE(it->status().ok());
    return n;
  }

  // Checks every way the reader reports deletes against `expected` (global
  // ids), and that the statistics count exactly the other documents.
  static void ExpectDeleted(const IndexReader& reader, const std::set<uint32_t>& expected) {
    EXPECT_EQ(reader.deleted().cardinality(), expected.size());
    std::vector<uint32_t> walked;
    reader.ForEachDeleted(0, reader.doc_id_limit(), [&](uint32_t d) { walked.push_back(d); });
    EXPECT_EQ(walked, std::vector<uint32_t>(expected.begin(), expected.end()));
    uint64_t live = 0, deleted = 0, with_terms = 0, sum = 0;
    for (const SegmentInfo& seg : reader.segments()) {
      uint32_t in_segment = 0;
      std::vector<uint32_t> locals;
      reader.ForEachDeleted(seg, [&](uint32_t local) { locals.push_back(local); });
      std::vector<uint32_t> want;
      for (uint32_t i = 0; i < seg.count; ++i) {
        const uint32_t doc = seg.base + i;
        const bool is = expected.count(doc) > 0;
        EXPECT_EQ(reader.IsDeleted(doc), is) << doc;
        EXPECT_EQ(reader.IsDeleted(seg, i), is) << doc;
        if (is) {
          ++in_segment;
          want.push_back(i);
          continue;
        }
        ++live;
        if (seg.lengths[i] > 0) ++with_terms;
        sum += seg.lengths[i];
      }
      deleted += in_segment;
      EXPECT_EQ(seg.deleted, in_segment) << "segment " << seg.id;
      EXPECT_EQ(locals, want) << "segment " << seg.id;
    }
    EXPECT_FALSE(reader.IsDeleted(reader.doc_id_limit()));
    EXPECT_FALSE(reader.IsDeleted(UINT32_MAX));
    EXPECT_EQ(reader.stats().live_docs, live);
    EXPECT_EQ(reader.stats().deleted_docs, deleted);
    EXPECT_EQ(reader.stats().docs_with_terms, with_terms);
    EXPECT_EQ(reader.stats().sum_lengths, sum);
  }

  fs::path root_;
  std::shared_ptr<Store> store_;
  std::unique_ptr<IndexWriter> writer_;
};

TEST_F(DeletedDocsTest, ReaderWithoutDeletes) {
  AddSegments(kSegments);
  std::unique_ptr<IndexReader> reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->deleted().isEmpty());
  ExpectDeleted(*reader, {});
  EXPECT_EQ(reader->stats().live_docs, kSegments * kPerSegment);
  EXPECT_EQ(reader->stats().docs_with_terms, kSegments * kPerSegment - 2);  // 7 and 30
  EXPECT_EQ(reader->stats().sum_lengths, 2u * (kSegments * kPerSegment - 2));
  for (const SegmentInfo& seg : reader->segments()) {
    EXPECT_EQ(seg.deleted, 0u);
    reader->ForEachDeleted(seg, [](uint32_t local) { ADD_FAILURE() << local; });
  }
}

TEST_F(DeletedDocsTest, DeletesAcrossSegmentsAndAtTheirBoundaries) {
  AddSegments(kSegments);
  Delete(kDeleted);
  std::unique_ptr<IndexReader> reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->segments().size(), kSegments);
  EXPECT_EQ(reader->doc_id_limit(), kSegments * kPerSegment);
  ExpectDeleted(*reader, kDeleted);
  // Segment 0: 0 and 9; segment 1: 10; segment 2: 25; segment 3: 30 and 39.
  std::vector<uint32_t> per_segment;
  for (const SegmentInfo& seg : reader->segments()) per_segment.push_back(seg.deleted);
  EXPECT_EQ(per_segment, (std::vector<uint32_t>{2, 1, 1, 2}));
  // 7 is live without terms; 30 is deleted without terms.
  EXPECT_EQ(reader->stats().live_docs, 34u);
  EXPECT_EQ(reader->stats().docs_with_terms, 33u);
  EXPECT_EQ(reader->stats().sum_lengths, 66u);
  // A sub-range walk stops at its end and starts at its beginning.
  std::vector<uint32_t> walked;
  reader->ForEachDeleted(9, 30, [&](uint32_t d) { walked.push_back(d); });
  EXPECT_EQ(walked, (std::vector<uint32_t>{9, 10, 25}));
  walked.clear();
  reader->ForEachDeleted(26, 26, [&](uint32_t d) { walked.push_back(d); });
  EXPECT_TRUE(walked.empty());
  // A reader opened earlier keeps its (empty) view; a later delete is seen
  // by a new reader only.
  ExpectOk(writer_->Delete(Id(11)));
  ExpectOk(writer_->Commit());
  std::set<uint32_t> more = kDeleted;
  more.insert(11);
  ExpectDeleted(*reader, kDeleted);
  std::unique_ptr<IndexReader> later = OpenReader();
  ASSERT_NE(later, nullptr);
  ExpectDeleted(*later, more);
}

TEST_F(DeletedDocsTest, CursorAnswersInOrderAndBackwards) {
  AddSegments(kSegments);
  Delete(kDeleted);
  std::unique_ptr<IndexReader> reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  for (const SegmentInfo& seg : reader->segments()) {
    // Every local id in order, every other one, and backwards.
    DeletedCursor all(*reader, seg);
    for (uint32_t i = 0; i < seg.count; ++i) {
      EXPECT_EQ(all.IsDeleted(i), kDeleted.count(seg.base + i) > 0) << seg.base + i;
    }
    DeletedCursor odd(*reader, seg);
    for (uint32_t i = 1; i < seg.count; i += 2) {
      EXPECT_EQ(odd.IsDeleted(i), kDeleted.count(seg.base + i) > 0) << seg.base + i;
    }
    for (uint32_t i = seg.count; i-- > 0;) {
      EXPECT_EQ(odd.IsDeleted(i), kDeleted.count(seg.base + i) > 0) << seg.base + i;
    }
    // The same id twice, and past the segment's end (not its neighbour's).
    DeletedCursor twice(*reader, seg);
    EXPECT_EQ(twice.IsDeleted(0), kDeleted.count(seg.base) > 0);
    EXPECT_EQ(twice.IsDeleted(0), kDeleted.count(seg.base) > 0);
    EXPECT_FALSE(twice.IsDeleted(seg.count));
  }
  // A segment without deletes beside ones with them.
  AddSegments(1, 40);
  reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  const SegmentInfo& fresh = reader->segments().back();
  ASSERT_EQ(fresh.base, 40u);
  DeletedCursor none(*reader, fresh);
  for (uint32_t i = 0; i < fresh.count; ++i) EXPECT_FALSE(none.IsDeleted(i));
}

TEST_F(DeletedDocsTest, ReopenAfterMergesReclaimThem) {
  AddSegments(kSegments);
  Delete(kDeleted);
  EXPECT_EQ(DeleteKeys(), kDeleted.size());
  {
    // Merge segments 0 and 1 (ids 0-19, deletes 0, 9, 10): their 17 live
    // documents become ids 0-16, ids 17-19 are a gap, segments 2 and 3
    // keep their ids and deletes.
    std::unique_ptr<IndexReader> reader = OpenReader();
    ASSERT_NE(reader, nullptr);
    const std::vector<uint32_t> ids = {reader->segments()[0].id, reader->segments()[1].id};
    auto merged = MergeSegments(*store_, *reader, ids);
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    EXPECT_EQ(merged->reclaimed, 3u);
    EXPECT_EQ(merged->documents, 17u);
  }
  EXPECT_EQ(DeleteKeys(), 3u);  // exactly the merged range's keys went
  std::unique_ptr<IndexReader> reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->segments().size(), 3u);
  EXPECT_EQ(reader->segments()[0].count, 17u);
  EXPECT_EQ(reader->segments()[0].deleted, 0u);
  ExpectDeleted(*reader, {25, 30, 39});
  for (uint32_t gap = 17; gap < 20; ++gap) EXPECT_FALSE(reader->IsDeleted(gap));
  // Document 11 moved down to id 8 (past deleted 0, 9 and 10): still live.
  auto doc = reader->Lookup(Id(11));
  ASSERT_TRUE(doc.ok() && doc->has_value());
  EXPECT_EQ(**doc, 8u);
  EXPECT_FALSE(reader->IsDeleted(**doc));
  reader.reset();

  // A forced merge reclaims the rest: no deletes left, on disk or in a
  // reader.
  ExpectOk(writer_->ForceMerge(1));
  EXPECT_EQ(DeleteKeys(), 0u);
  reader = OpenReader();
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(reader->segments().size(), 1u);
  EXPECT_TRUE(reader->deleted().isEmpty());
  ExpectDeleted(*reader, {});
  EXPECT_EQ(reader->stats().live_docs, 34u);
  EXPECT_EQ(reader->stats().docs_with_terms, 33u);
}

}  // namespace
}  // namespace cascade::index
