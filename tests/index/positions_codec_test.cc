// EncodePositions / PositionsReader round trips on random lists spanning
// several blocks, forward skips, and refusals of bad input.
#include "index/positions_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "index/posting_codec.h"

namespace cascade::index {
namespace {

struct List {
  std::vector<uint32_t> tfs;
  std::vector<std::vector<uint32_t>> positions;  // per posting
  std::vector<uint32_t> flat;
};

List RandomList(size_t postings, uint32_t seed) {
  std::mt19937 rng(seed);
  List list;
  for (size_t i = 0; i < postings; ++i) {
    const uint32_t tf = 1 + rng() % (i % 7 == 0 ? 40 : 3);
    std::vector<uint32_t> p;
    uint32_t at = rng() % 1000;
    for (uint32_t j = 0; j < tf; ++j) {
      p.push_back(at);
      at += 1 + rng() % (j % 5 == 0 ? 100000 : 4);
    }
    list.tfs.push_back(tf);
    list.flat.insert(list.flat.end(), p.begin(), p.end());
    list.positions.push_back(std::move(p));
  }
  return list;
}

TEST(PositionsCodecTest, RoundTripsEveryPosting) {
  for (size_t n : {size_t{1}, size_t{127}, size_t{128}, size_t{129}, size_t{1000}}) {
    const List list = RandomList(n, static_cast<uint32_t>(n));
    std::string data;
    EncodePositions(list.tfs, list.flat, &data);
    PositionsReader reader;
    ASSERT_TRUE(reader.Reset(data, list.tfs).ok());
    std::vector<uint32_t> got;
    for (uint32_t i = 0; i < n; ++i) {
      ASSERT_TRUE(reader.Read(i, &got).ok()) << i;
      EXPECT_EQ(got, list.positions[i]) << "posting " << i << " of " << n;
    }
  }
}

TEST(PositionsCodecTest, SkipsForwardWithinAndAcrossBlocks) {
  const List list = RandomList(3 * kBlockSize + 17, 9);
  std::string data;
  EncodePositions(list.tfs, list.flat, &data);
  PositionsReader reader;
  ASSERT_TRUE(reader.Reset(data, list.tfs).ok());
  std::vector<uint32_t> got;
  for (uint32_t i : {3u, 4u, 100u, 128u, 300u, 301u, 400u}) {
    ASSERT_TRUE(reader.Read(i, &got).ok()) << i;
    EXPECT_EQ(got, list.positions[i]) << "posting " << i;
  }
  EXPECT_TRUE(reader.Read(5, &got).IsInvalidArgument()) << "backwards";
  EXPECT_TRUE(reader.Read(100000, &got).IsInvalidArgument()) << "past the end";
}

TEST(PositionsCodecTest, RefusesDataThatDisagreesWithThePostings) {
  const List list = RandomList(300, 4);
  std::string data;
  EncodePositions(list.tfs, list.flat, &data);
  PositionsReader reader;
  // Block count for another posting count.
  std::vector<uint32_t> fewer(list.tfs.begin(), list.tfs.begin() + 100);
  EXPECT_TRUE(reader.Reset(data, fewer).IsCorruption());
  // Truncated value.
  EXPECT_TRUE(reader.Reset(std::string_view(data).substr(0, data.size() - 1),
                           list.tfs)
                  .IsCorruption());
  // Larger tfs than encoded: the last block runs out.
  std::vector<uint32_t> more = list.tfs;
  more.back() += 5;
  ASSERT_TRUE(reader.Reset(data, more).ok());
  std::vector<uint32_t> got;
  EXPECT_TRUE(reader.Read(static_cast<uint32_t>(more.size() - 1), &got).IsCorruption());
}

}  // namespace
}  // namespace cascade::index
