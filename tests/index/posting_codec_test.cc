// Tests for index/posting_codec.h: the bit-packing primitives at every width,
// EncodePostings -> DecodePostings round trips (block edges, huge gaps and
// frequencies, dense runs), the exact byte layout the header documents, and
// that every kind of damaged input comes back as Corruption, never a crash.
#include "index/posting_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"
#include "index/keys.h"

namespace cascade::index {
namespace {

struct Postings {
  std::vector<uint32_t> docs;
  std::vector<uint32_t> tfs;
};

std::string Encode(const Postings& p) {
  std::string out;
  EncodePostings(p.docs, p.tfs, &out);
  return out;
}

// Decodes and expects OK and equality with `p`.
void ExpectRoundTrip(const Postings& p) {
  const std::string bytes = Encode(p);
  // Start from junk so that "replacing their contents" is checked too.
  std::vector<uint32_t> docs = {7, 7, 7};
  std::vector<uint32_t> tfs = {9};
  Status s = DecodePostings(bytes, &docs, &tfs);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(docs, p.docs);
  EXPECT_EQ(tfs, p.tfs);

  Result<PostingHeader> h = DecodePostingHeader(bytes);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  uint64_t total = 0;
  for (uint32_t tf : p.tfs) total += tf;
  EXPECT_EQ(h->doc_freq, p.docs.size());
  EXPECT_EQ(h->total_term_freq, total);
  EXPECT_EQ(h->block_count, (p.docs.size() + kBlockSize - 1) / kBlockSize);
}

// The skip table as the header comment lays it out: (last doc, block bytes)
// per block; *rest is left at the first block.
std::vector<std::pair<uint32_t, uint32_t>> ReadSkips(std::string_view bytes,
                                                     std::string_view* rest) {
  uint32_t doc_freq = 0, block_count = 0, frontier = 0, skip_bytes = 0, v = 0;
  uint64_t total = 0;
  EXPECT_TRUE(GetVarint32(&bytes, &doc_freq));
  EXPECT_TRUE(GetVarint64(&bytes, &total));
  EXPECT_TRUE(GetVarint32(&bytes, &block_count));
  EXPECT_TRUE(GetVarint32(&bytes, &frontier));
  for (uint32_t i = 0; i < 2 * frontier; ++i) EXPECT_TRUE(GetVarint32(&bytes, &v));
  EXPECT_TRUE(GetVarint32(&bytes, &skip_bytes));
  const size_t before = bytes.size();
  std::vector<std::pair<uint32_t, uint32_t>> skips(block_count);
  for (auto& [last, size] : skips) {
    EXPECT_TRUE(GetVarint32(&bytes, &last));
    EXPECT_TRUE(GetVarint32(&bytes, &size));
    EXPECT_TRUE(GetVarint32(&bytes, &v));  // max tf
    EXPECT_TRUE(GetVarint32(&bytes, &v));  // min length
  }
  EXPECT_EQ(before - bytes.size(), skip_bytes);
  *rest = bytes;
  return skips;
}

// A single-block encoding built by hand from raw gaps and (tf - 1) values,
// so that tests can write what EncodePostings never would.
std::string HandBlock(const std::vector<uint32_t>& gaps,
                      const std::vector<uint32_t>& tf_minus_one,
                      uint64_t total, uint32_t last_doc) {
  std::string block;
  uint32_t w = BitWidth(gaps);
  block.push_back(static_cast<char>(w));
  PackBits(gaps, w, &block);
  w = BitWidth(tf_minus_one);
  block.push_back(static_cast<char>(w));
  PackBits(tf_minus_one, w, &block);
  const uint32_t max_tf =
      *std::max_element(tf_minus_one.begin(), tf_minus_one.end()) + 1;
  std::string out;
  PutVarint32(&out, static_cast<uint32_t>(gaps.size()));
  PutVarint64(&out, total);
  PutVarint32(&out, 1);
  PutVarint32(&out, 1);  // frontier: (max tf, max tf)
  PutVarint32(&out, max_tf);
  PutVarint32(&out, max_tf);
  std::string skip;
  PutVarint32(&skip, last_doc);
  PutVarint32(&skip, static_cast<uint32_t>(block.size()));
  PutVarint32(&skip, max_tf);
  PutVarint32(&skip, max_tf);
  PutVarint32(&out, static_cast<uint32_t>(skip.size()));
  out.append(skip);
  out.append(block);
  return out;
}

// Random postings: n docs with gaps in [0, max_gap], tfs in [1, max_tf].
Postings RandomPostings(std::mt19937_64& rng, uint32_t n, uint32_t max_gap,
                        uint32_t max_tf) {
  Postings p;
  int64_t prev = -1;
  std::uniform_int_distribution<uint32_t> gap(0, max_gap);
  std::uniform_int_distribution<uint32_t> tf(1, max_tf);
  for (uint32_t i = 0; i < n; ++i) {
    prev = prev + 1 + gap(rng);
    p.docs.push_back(static_cast<uint32_t>(prev));
    p.tfs.push_back(tf(rng));
  }
  return p;
}

// ---------------------------------------------------------------- BitWidth

TEST(BitWidthTest, IsTheWidthOfTheLargestValue) {
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{}), 0u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{0, 0, 0}), 0u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{1}), 1u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{0, 2, 1}), 2u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{255}), 8u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{3, 256}), 9u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{0x80000000u}), 32u);
  EXPECT_EQ(BitWidth(std::vector<uint32_t>{UINT32_MAX}), 32u);
}

// ---------------------------------------------------------------- PackBits

// Values are packed from the least significant bit up: {1, 2, 3} at width 2
// is 01 | 10 << 2 | 11 << 4 = 0b00111001.
TEST(PackBitsTest, PacksFromTheLeastSignificantBitUp) {
  std::string out = "prefix";
  PackBits(std::vector<uint32_t>{1, 2, 3}, 2, &out);
  ASSERT_EQ(out.size(), 7u);  // appends, keeps what was there
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(static_cast<unsigned char>(out[6]), 0x39);

  // Width 12, {0xabc, 0x123}: bytes bc, 3a (low nibble of 0x123 = 3 above
  // 0xa), 12.
  out.clear();
  PackBits(std::vector<uint32_t>{0xabc, 0x123}, 12, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0xbc);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x3a);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 0x12);
}

TEST(PackBitsTest, RoundTripsEveryWidthAndOddCounts) {
  std::mt19937_64 rng(20240601);
  for (uint32_t width = 0; width <= 32; ++width) {
    const uint64_t limit = width == 32 ? uint64_t{UINT32_MAX} : (uint64_t{1} << width) - 1;
    std::uniform_int_distribution<uint64_t> value(0, limit);
    for (uint32_t n : {0u, 1u, 3u, 7u, 9u, 31u, 127u, 128u, 129u, 1001u}) {
      SCOPED_TRACE("width " + std::to_string(width) + " n " + std::to_string(n));
      std::vector<uint32_t> values(n);
      for (uint32_t& v : values) v = static_cast<uint32_t>(value(rng));
      // The extremes of the width must survive too.
      if (n >= 2) {
        values[0] = static_cast<uint32_t>(limit);
        values[n - 1] = static_cast<uint32_t>(limit);
      }
      std::string packed;
      PackBits(values, width, &packed);
      ASSERT_EQ(packed.size(), (uint64_t{n} * width + 7) / 8);
      // Unpack from an exact-size buffer: no reading past ceil(n * w / 8).
      std::vector<unsigned char> in(packed.begin(), packed.end());
      std::vector<uint32_t> out(n + 1, 0xdeadbeef);
      UnpackBits(in.data(), n, width, out.data());
      EXPECT_EQ(std::vector<uint32_t>(out.begin(), out.begin() + n), values);
      EXPECT_EQ(out[n], 0xdeadbeef) << "wrote past n values";
    }
  }
}

TEST(PackBitsTest, WidthZeroWritesNothingAndUnpacksZeros) {
  std::string packed;
  PackBits(std::vector<uint32_t>(100, 0), 0, &packed);
  EXPECT_TRUE(packed.empty());
  std::vector<uint32_t> out(5, 42);
  UnpackBits(nullptr, 5, 0, out.data());
  EXPECT_EQ(out, std::vector<uint32_t>(5, 0));
}

// ------------------------------------------------------- round trips

TEST(PostingCodecTest, EmptyListRoundTrips) {
  ExpectRoundTrip(Postings{});
  // Header only: doc_freq 0, total 0, block_count 0, no frontier, an empty
  // skip table.
  EXPECT_EQ(Encode(Postings{}), std::string("\0\0\0\0\0", 5));
}

TEST(PostingCodecTest, OnePostingRoundTrips) {
  ExpectRoundTrip({{0}, {1}});
  ExpectRoundTrip({{5}, {3}});
  ExpectRoundTrip({{UINT32_MAX}, {UINT32_MAX}});
}

TEST(PostingCodecTest, OnePostingHasTheDocumentedBytes) {
  // doc 5, tf 3, no lengths given (so length = tf = 3): doc_freq 1,
  // total 3, 1 block; frontier of 1 point (3, 3); 4 bytes of skip table:
  // (last 5, 4 bytes, max tf 3, min length 3); block: gap 5 at width 3 ->
  // 0x05, tf - 1 = 2 at width 2 -> 0x02.
  const std::string want(
      "\x01\x03\x01\x01\x03\x03\x04\x05\x04\x03\x03\x03\x05\x02\x02", 15);
  EXPECT_EQ(Encode({{5}, {3}}), want);
  // With lengths, the length of doc 5 is the one stored.
  std::vector<uint32_t> lengths(6, 1);
  lengths[5] = 200;
  std::string with;
  EncodePostings(std::vector<uint32_t>{5}, std::vector<uint32_t>{3}, lengths, &with);
  EXPECT_EQ(with, std::string("\x01\x03\x01\x01\x03\xc8\x01\x05\x05\x04\x03"
                              "\xc8\x01\x03\x05\x02\x02",
                              17));
}

TEST(PostingCodecTest, BlockBoundariesRoundTrip) {
  std::mt19937_64 rng(7);
  for (uint32_t n : {127u, 128u, 129u, 255u, 256u, 257u, 1000u}) {
    SCOPED_TRACE("n " + std::to_string(n));
    ExpectRoundTrip(RandomPostings(rng, n, 1000, 50));
  }
}

TEST(PostingCodecTest, SkipTableNamesEachBlocksLastDocAndSize) {
  std::mt19937_64 rng(11);
  const Postings p = RandomPostings(rng, 300, 100000, 1000);
  const std::string bytes = Encode(p);
  std::string_view blocks;
  const auto skips = ReadSkips(bytes, &blocks);
  ASSERT_EQ(skips.size(), 3u);  // 128 + 128 + 44
  EXPECT_EQ(skips[0].first, p.docs[127]);
  EXPECT_EQ(skips[1].first, p.docs[255]);
  EXPECT_EQ(skips[2].first, p.docs[299]);
  uint64_t sum = 0;
  for (const auto& s : skips) sum += s.second;
  EXPECT_EQ(sum, blocks.size());
}

TEST(PostingCodecTest, RandomListsWithHugeGapsAndFrequenciesRoundTrip) {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<uint32_t> length(1, 700);
  std::uniform_int_distribution<int> scale(0, 31);
  for (int list = 0; list < 1000; ++list) {
    const uint32_t n = length(rng);
    // Gaps up to 2^scale, at most 2^31, and no more than keeps the last doc
    // below 2^32. tfs up to 2^scale.
    const auto max_gap = static_cast<uint32_t>(
        std::min({uint64_t{1} << 31, uint64_t{1} << scale(rng),
                  (uint64_t{UINT32_MAX} - n) / n}));
    const uint32_t max_tf = static_cast<uint32_t>((uint64_t{1} << scale(rng)));
    SCOPED_TRACE("list " + std::to_string(list));
    ExpectRoundTrip(RandomPostings(rng, n, max_gap, max_tf));
    if (HasFatalFailure()) return;
  }
}

TEST(PostingCodecTest, ExtremeValuesRoundTrip) {
  // A 2^31 gap, a doc at UINT32_MAX, tfs at UINT32_MAX (total over 2^32).
  ExpectRoundTrip({{0, 0x80000000u, 0x80000001u, UINT32_MAX},
                   {UINT32_MAX, 1, UINT32_MAX, 2}});
  // The 129th posting starts a block whose first gap is huge.
  Postings p;
  for (uint32_t i = 0; i < 128; ++i) {
    p.docs.push_back(i);
    p.tfs.push_back(1);
  }
  p.docs.push_back(UINT32_MAX);
  p.tfs.push_back(UINT32_MAX);
  ExpectRoundTrip(p);
}

TEST(PostingCodecTest, DenseRunsPackAtWidthZero) {
  Postings p;
  for (uint32_t i = 0; i < 1000; ++i) {
    p.docs.push_back(i);
    p.tfs.push_back(1);
  }
  ExpectRoundTrip(p);
  // Header: varint 1000 (2 bytes), varint64 1000 (2), varint 8 (1) = 5.
  // Frontier: count 1, point (1, 1) = 3. skip_bytes: 1.
  // Skips: last docs 127 (1 byte), 255..999 (2 bytes each, 7 of them) = 15,
  // plus 8 one-byte sizes, max tfs and min lengths = 24. Blocks: each is
  // just two width bytes (0, 0) = 16. Total 64 bytes for 1000 postings.
  const std::string bytes = Encode(p);
  EXPECT_EQ(bytes.size(), 64u);
  std::string_view blocks;
  const auto skips = ReadSkips(bytes, &blocks);
  for (const auto& s : skips) EXPECT_EQ(s.second, 2u);
  EXPECT_EQ(blocks, std::string_view(std::string(16, '\0')));

  // A dense run that starts late still has zero gaps after the first.
  Postings late;
  for (uint32_t i = 0; i < 128; ++i) {
    late.docs.push_back(1000000 + i);
    late.tfs.push_back(1);
  }
  ExpectRoundTrip(late);
  // The block's gaps are {1000000, 0, ...}: one width for the block, taken
  // from the largest gap, 20 bits, so 1 + 320 bytes, plus the tf width byte.
  // Header 2 + 2 + 1; frontier 3; skip_bytes 1; skip entry: varint 1000127
  // (3 bytes), varint 322 (2), max tf 1 (1), min length 1 (1).
  EXPECT_EQ(Encode(late).size(), 5u + 3u + 1u + 3u + 2u + 1u + 1u + 1u + 320u + 1u);
}

TEST(PostingCodecTest, DecodePostingHeaderValues) {
  std::mt19937_64 rng(3);
  Postings p = RandomPostings(rng, 257, 10, 5);
  uint64_t total = 0;
  for (uint32_t tf : p.tfs) total += tf;
  Result<PostingHeader> h = DecodePostingHeader(Encode(p));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->doc_freq, 257u);
  EXPECT_EQ(h->total_term_freq, total);
  EXPECT_EQ(h->block_count, 3u);
  // Header only needs the header: blocks may be missing.
  std::string header;
  PutVarint32(&header, 257);
  PutVarint64(&header, total);
  PutVarint32(&header, 3);
  h = DecodePostingHeader(header);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->doc_freq, 257u);
}

// ------------------------------------------------------------ corruption

TEST(PostingCodecCorruptionTest, EveryTruncationIsAnError) {
  // Two blocks with mixed widths, so prefixes cut the header, the skip
  // table, both width bytes and the packed bits of each block.
  std::mt19937_64 rng(99);
  const std::string bytes = Encode(RandomPostings(rng, 130, 70000, 300));
  std::vector<uint32_t> docs, tfs;
  for (size_t len = 0; len < bytes.size(); ++len) {
    Status s = DecodePostings(std::string_view(bytes).substr(0, len), &docs, &tfs);
    EXPECT_TRUE(s.IsCorruption()) << "prefix " << len << ": " << s.ToString();
  }
  // Header prefixes alone: varint 130, varint64 total, varint 2.
  std::string_view in = bytes;
  uint32_t u32;
  uint64_t u64;
  ASSERT_TRUE(GetVarint32(&in, &u32) && GetVarint64(&in, &u64) &&
              GetVarint32(&in, &u32));
  const size_t header_bytes = bytes.size() - in.size();
  for (size_t len = 0; len < header_bytes; ++len) {
    Result<PostingHeader> h =
        DecodePostingHeader(std::string_view(bytes).substr(0, len));
    EXPECT_TRUE(h.status().IsCorruption()) << "prefix " << len;
  }
  EXPECT_TRUE(DecodePostingHeader(bytes.substr(0, header_bytes)).ok());
}

TEST(PostingCodecCorruptionTest, TrailingGarbageIsCorruption) {
  std::string bytes = Encode({{1, 2, 3}, {1, 1, 1}});
  bytes.push_back('\0');
  std::vector<uint32_t> docs, tfs;
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  bytes = Encode(Postings{});
  bytes.append("xyz");
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, BadBlockCountIsCorruption) {
  std::vector<uint32_t> docs, tfs;
  for (uint32_t blocks : {0u, 1u, 3u, 100u}) {
    // 200 postings need exactly 2 blocks.
    std::string bytes;
    PutVarint32(&bytes, 200);
    PutVarint64(&bytes, 200);
    PutVarint32(&bytes, blocks);
    EXPECT_TRUE(DecodePostingHeader(bytes).status().IsCorruption()) << blocks;
    EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption()) << blocks;
  }
  // One posting, zero blocks.
  std::string bytes("\x01\x01\x00", 3);
  EXPECT_TRUE(DecodePostingHeader(bytes).status().IsCorruption());
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

// The block count check must not wrap in 32 bits: a header claiming
// 4294967295 postings in 0 blocks would otherwise pass, and a decoder would
// try to allocate 2^32 - 1 entries per output.
TEST(PostingCodecCorruptionTest, HugeDocFreqWithZeroBlocksIsCorruption) {
  for (uint32_t doc_freq : {UINT32_MAX, UINT32_MAX - 126}) {
    std::string bytes;
    PutVarint32(&bytes, doc_freq);
    PutVarint64(&bytes, 0);
    PutVarint32(&bytes, 0);
    Result<PostingHeader> h = DecodePostingHeader(bytes);
    EXPECT_TRUE(h.status().IsCorruption())
        << "doc_freq " << doc_freq << " in 0 blocks was accepted";
  }
}

// A header may claim far more postings than the bytes could hold; the
// decoder must say so rather than trust it.
TEST(PostingCodecCorruptionTest, HugeClaimedDocFreqWithShortBytesIsCorruption) {
  std::string bytes;
  PutVarint32(&bytes, uint32_t{1} << 31);
  PutVarint64(&bytes, uint64_t{1} << 31);
  PutVarint32(&bytes, (uint32_t{1} << 31) / kBlockSize);
  Result<PostingHeader> h = DecodePostingHeader(bytes);
  ASSERT_TRUE(h.ok()) << h.status().ToString();  // the header alone is fine
  EXPECT_EQ(h->block_count, uint32_t{1} << 24);
  bytes.append("\x05\x04\x03\x05\x02\x02");  // one block's worth
  std::vector<uint32_t> docs, tfs;
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, BadBitWidthIsCorruption) {
  std::vector<uint32_t> docs, tfs;
  std::string bytes = Encode({{5}, {3}});  // see OnePostingHasTheDocumentedBytes
  ASSERT_EQ(bytes.size(), 15u);
  bytes[11] = 33;  // doc gap width
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  bytes[11] = static_cast<char>(0xff);
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  bytes = Encode({{5}, {3}});
  bytes[13] = 40;  // tf width
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  // A width that claims more packed bytes than the block holds.
  bytes = Encode({{5}, {3}});
  bytes[11] = 32;
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, ZeroSizedOrOversizedBlockIsCorruption) {
  std::vector<uint32_t> docs, tfs;
  std::string bytes = Encode({{5}, {3}});
  bytes[8] = 0;  // block size 0, and its 4 bytes become trailing garbage
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  bytes = Encode({{5}, {3}});
  bytes[8] = 1;  // only the gap width byte: no tf part
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  bytes = Encode({{5}, {3}});
  bytes[8] = 5;  // one byte more than is there
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, SkipTableTruncationIsCorruption) {
  std::vector<uint32_t> docs, tfs;
  // Header says 1 block, then a skip entry whose varint never ends.
  std::string bytes("\x01\x01\x01\xff\xff", 5);
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  // A header varint over 32 bits.
  bytes = std::string("\xff\xff\xff\xff\x7f\x00\x00", 7);
  EXPECT_TRUE(DecodePostingHeader(bytes).status().IsCorruption());
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, DocIdOverflowIsCorruption) {
  std::vector<uint32_t> docs, tfs;
  // First gap UINT32_MAX puts doc 0 at UINT32_MAX: fine.
  std::string ok = HandBlock({UINT32_MAX}, {0}, 1, UINT32_MAX);
  ASSERT_TRUE(DecodePostings(ok, &docs, &tfs).ok());
  EXPECT_EQ(docs, std::vector<uint32_t>{UINT32_MAX});
  // A second doc after it would be 2^32.
  std::string bad = HandBlock({UINT32_MAX, 0}, {0, 0}, 2, UINT32_MAX);
  EXPECT_TRUE(DecodePostings(bad, &docs, &tfs).IsCorruption());
}

// The header comment promises Corruption for bytes that are "inconsistent".
// The skip table's last doc of each block, the header's total_term_freq and
// each block's recorded size must agree with what the blocks decode to: a
// cursor that jumps by the skip table must never disagree with
// DecodePostings.
TEST(PostingCodecCorruptionTest, SkipLastDocMustMatchTheBlock) {
  std::vector<uint32_t> docs, tfs;
  // Doc 5 (gap 5), tf 1, but the skip entry says the block ends at doc 6.
  EXPECT_TRUE(DecodePostings(HandBlock({5}, {0}, 1, 5), &docs, &tfs).ok());
  EXPECT_TRUE(DecodePostings(HandBlock({5}, {0}, 1, 6), &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, TotalTermFreqMustMatchTheBlocks) {
  std::vector<uint32_t> docs, tfs;
  // One posting with tf 1, header total 2.
  EXPECT_TRUE(DecodePostings(HandBlock({5}, {0}, 2, 5), &docs, &tfs).IsCorruption());
}

TEST(PostingCodecCorruptionTest, PaddingInsideABlockIsCorruption) {
  std::vector<uint32_t> docs, tfs;
  // {5}/{3} with the block size raised from 4 to 5 and one extra byte: the
  // same thing as trailing garbage, one level down.
  std::string bytes = Encode({{5}, {3}});
  bytes[8] = 5;
  bytes.push_back('\x7f');
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
}

// ------------------------------------------------- block-max metadata

// Brute force: the postings no other posting beats on both tf (>=) and
// length (<=), one per (tf, length), increasing tf.
std::vector<TfLength> BruteFrontier(const Postings& p,
                                    const std::vector<uint32_t>& lengths) {
  std::vector<TfLength> out;
  for (size_t i = 0; i < p.docs.size(); ++i) {
    const TfLength a{p.tfs[i], lengths[p.docs[i]]};
    bool dominated = false;
    for (size_t j = 0; j < p.docs.size() && !dominated; ++j) {
      const TfLength b{p.tfs[j], lengths[p.docs[j]]};
      dominated = b.tf >= a.tf && b.length <= a.length && !(b == a);
    }
    if (!dominated && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  std::sort(out.begin(), out.end(),
            [](const TfLength& x, const TfLength& y) { return x.tf < y.tf; });
  return out;
}

TEST(PostingMetaTest, FrontierAndBlockMaxesMatchBruteForce) {
  std::mt19937_64 rng(77);
  for (int list = 0; list < 200; ++list) {
    SCOPED_TRACE("list " + std::to_string(list));
    const uint32_t n = std::uniform_int_distribution<uint32_t>(1, 600)(rng);
    const uint32_t max_tf = list % 3 == 0 ? 3 : 200;  // few or many distinct tfs
    Postings p = RandomPostings(rng, n, 20, max_tf);
    std::vector<uint32_t> lengths(p.docs.back() + 1);
    for (size_t d = 0; d < lengths.size(); ++d) {
      lengths[d] = std::uniform_int_distribution<uint32_t>(1, list % 2 ? 10 : 100000)(rng);
    }
    for (size_t i = 0; i < n; ++i) {
      lengths[p.docs[i]] = std::max(lengths[p.docs[i]], p.tfs[i]);
    }
    std::string bytes;
    EncodePostings(p.docs, p.tfs, lengths, &bytes);
    Result<PostingMeta> meta = DecodePostingMeta(bytes);
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    EXPECT_EQ(meta->frontier, BruteFrontier(p, lengths));
    ASSERT_EQ(meta->blocks.size(), (n + kBlockSize - 1) / kBlockSize);
    for (size_t b = 0; b < meta->blocks.size(); ++b) {
      uint32_t want_tf = 0, want_len = UINT32_MAX;
      for (size_t i = b * kBlockSize; i < std::min<size_t>(n, (b + 1) * kBlockSize); ++i) {
        want_tf = std::max(want_tf, p.tfs[i]);
        want_len = std::min(want_len, lengths[p.docs[i]]);
      }
      EXPECT_EQ(meta->blocks[b].max_tf, want_tf) << "block " << b;
      EXPECT_EQ(meta->blocks[b].min_length, want_len) << "block " << b;
      EXPECT_EQ(meta->blocks[b].last_doc,
                p.docs[std::min<size_t>(n, (b + 1) * kBlockSize) - 1]);
    }
    std::vector<uint32_t> docs, tfs;
    ASSERT_TRUE(DecodePostings(bytes, &docs, &tfs).ok());
    EXPECT_EQ(docs, p.docs);
    EXPECT_EQ(tfs, p.tfs);
  }
}

TEST(PostingMetaTest, BlockMaxTfMustMatchTheBlock) {
  std::vector<uint32_t> docs, tfs;
  std::string bytes = Encode({{5}, {3}});  // skip entry max tf at byte 9
  ASSERT_EQ(bytes[9], 3);
  bytes[9] = 2;
  EXPECT_TRUE(DecodePostings(bytes, &docs, &tfs).IsCorruption());
  PostingCursor cursor;
  ASSERT_TRUE(cursor.Reset(bytes, 100).ok());
  EXPECT_EQ(cursor.doc(), 5u);
  cursor.tf();  // above the block's max: the cursor ends and says why
  EXPECT_TRUE(cursor.status().IsCorruption());
  EXPECT_EQ(cursor.doc(), PostingCursor::kEnd);
}

// ---------------------------------------------------------------- kernels

TEST(UnpackKernelTest, Avx512AgreesWithScalarAtEveryWidthAndOffset) {
  if (!HaveAvx512Unpack()) GTEST_SKIP() << "no AVX-512 VBMI on this CPU";
  std::mt19937_64 rng(5);
  for (uint32_t width = 0; width <= 32; ++width) {
    const uint64_t limit = width == 32 ? uint64_t{UINT32_MAX} : (uint64_t{1} << width) - 1;
    std::uniform_int_distribution<uint64_t> value(0, limit);
    for (uint32_t n = 0; n <= 130; ++n) {
      std::vector<uint32_t> values(n);
      for (uint32_t& v : values) v = static_cast<uint32_t>(value(rng));
      std::string packed;
      PackBits(values, width, &packed);
      // An exact-size heap buffer: reading past it is caught by ASan.
      std::vector<unsigned char> in(packed.begin(), packed.end());
      std::vector<uint32_t> a(n + 1, 7), b(n + 1, 7);
      UnpackBitsScalar(in.data(), n, width, a.data());
      UnpackBitsAvx512(in.data(), n, width, b.data());
      ASSERT_EQ(a, b) << "width " << width << " n " << n;
      ASSERT_EQ(std::vector<uint32_t>(a.begin(), a.begin() + n), values);
    }
  }
  EXPECT_STREQ(UnpackKernelName(), "avx512");
}

// ------------------------------------------------------------------ cursor

TEST(PostingCursorTest, WalksSkipsAndBoundsLikeTheDecodedList) {
  std::mt19937_64 rng(31);
  for (int list = 0; list < 100; ++list) {
    SCOPED_TRACE("list " + std::to_string(list));
    const uint32_t n = std::uniform_int_distribution<uint32_t>(1, 2000)(rng);
    const Postings p = RandomPostings(rng, n, list % 2 ? 3 : 300, 20);
    std::vector<uint32_t> lengths(p.docs.back() + 1);
    for (uint32_t& l : lengths) l = std::uniform_int_distribution<uint32_t>(20, 500)(rng);
    std::string bytes;
    EncodePostings(p.docs, p.tfs, lengths, &bytes);
    PostingCursor c;
    ASSERT_TRUE(c.Reset(bytes, p.docs.back() + 1).ok());
    EXPECT_EQ(c.doc_freq(), n);
    // Next() visits every posting.
    for (uint32_t i = 0; i < n; ++i) {
      ASSERT_EQ(c.doc(), p.docs[i]);
      ASSERT_EQ(c.tf(), p.tfs[i]);
      c.Next();
    }
    EXPECT_EQ(c.doc(), PostingCursor::kEnd);
    // Random forward NextGeq / ShallowGeq targets.
    ASSERT_TRUE(c.Reset(bytes, p.docs.back() + 1).ok());
    uint32_t target = 0;
    while (true) {
      target += std::uniform_int_distribution<uint32_t>(0, 700)(rng);
      const auto it = std::lower_bound(p.docs.begin(), p.docs.end(), target);
      const bool shallow = c.ShallowGeq(target);
      ASSERT_EQ(shallow, it != p.docs.end());
      if (shallow) {
        // The shallow block holds the first doc >= target and bounds it.
        const size_t i = it - p.docs.begin();
        EXPECT_EQ(c.shallow_index(), i / kBlockSize);
        EXPECT_GE(c.shallow_block().max_tf, p.tfs[i]);
        EXPECT_LE(c.shallow_block().min_length, lengths[p.docs[i]]);
      }
      c.NextGeq(target);
      if (it == p.docs.end()) {
        EXPECT_EQ(c.doc(), PostingCursor::kEnd);
        break;
      }
      ASSERT_EQ(c.doc(), *it);
      ASSERT_EQ(c.tf(), p.tfs[it - p.docs.begin()]);
    }
    EXPECT_TRUE(c.status().ok());
  }
}

TEST(PostingCursorTest, DocsAtOrPastTheSegmentEndAreCorruption) {
  const std::string bytes = Encode({{1, 5, 9}, {1, 1, 1}});
  PostingCursor c;
  ASSERT_TRUE(c.Reset(bytes, 10).ok());
  EXPECT_EQ(c.doc(), 1u);
  EXPECT_FALSE(c.Reset(bytes, 9).ok());
}

TEST(PostingCursorTest, EveryTruncationEndsTheCursorWithCorruption) {
  std::mt19937_64 rng(8);
  const Postings p = RandomPostings(rng, 300, 500, 9);
  const std::string bytes = Encode(p);
  for (size_t len = 0; len < bytes.size(); ++len) {
    const std::string cut = bytes.substr(0, len);  // exact-size copy
    PostingCursor c;
    Status s = c.Reset(cut, UINT32_MAX);
    while (s.ok() && c.doc() != PostingCursor::kEnd) {
      c.tf();
      c.Next();
    }
    if (s.ok()) s = c.status();
    EXPECT_TRUE(s.IsCorruption()) << "prefix " << len << ": " << s.ToString();
  }
}

}  // namespace
}  // namespace cascade::index
