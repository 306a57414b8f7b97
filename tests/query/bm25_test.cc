// Tests for query/bm25.h: Lucene's one-byte length norm (SmallFloat.intToByte4)
// against values worked out by hand, idf and the per-document scorer against
// the formula, and an end-to-end check that Searcher scores a tiny hand-made
// index exactly as the formula in bm25.h says.
#include "query/bm25.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cascade/status.h"
#include "index/document.h"
#include "index/index_options.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/store.h"
#include "query/searcher.h"

namespace cascade::query {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------ length norms

TEST(NormByteTest, SmallLengthsAreExact) {
  for (uint32_t x = 0; x < 24; ++x) {
    EXPECT_EQ(LengthToNormByte(x), x);
    EXPECT_EQ(NormByteToLength(static_cast<uint8_t>(x)), x);
  }
}

// Worked by hand from the scheme in bm25.h (Lucene's SmallFloat.intToByte4):
// lengths below 24 are their own byte; otherwise byte = 24 + int4(x - 24),
// where int4(v) for v < 8 is v itself ("subnormal"), and for v >= 8 keeps
// the 4 most significant bits of v: shift = bit_width(v) - 4, mantissa =
// (v >> shift) & 7 (the leading 1 is implicit), int4 = mantissa | (shift +
// 1) << 3. Decoding gives 24 + ((mantissa | 8) << shift).
//   x = 24:   v = 0, subnormal                   -> byte 24, back 24
//   x = 31:   v = 7, subnormal                   -> byte 31, back 31
//   x = 32:   v = 8 = 0b1000, shift 0, m 0       -> int4 8,  byte 32, back 32
//   x = 39:   v = 15 = 0b1111, shift 0, m 7      -> int4 15, byte 39, back 39
//   x = 40:   v = 16 = 0b10000, shift 1, m 0     -> int4 16, byte 40, back 40
//   x = 41:   v = 17, shift 1, 17 >> 1 = 8, m 0  -> byte 40, back 40 (lossy)
//   x = 42:   v = 18, shift 1, 18 >> 1 = 9, m 1  -> int4 17, byte 41, back 42
//   x = 100:  v = 76 = 0b1001100, shift 3, 76 >> 3 = 9, m 1
//             -> int4 1 | 4 << 3 = 33, byte 57, back 24 + (9 << 3) = 96
//   x = 1000: v = 976 = 0b1111010000, shift 6, 976 >> 6 = 15, m 7
//             -> int4 7 | 7 << 3 = 63, byte 87, back 24 + (15 << 6) = 984
//   x = 2^31 - 1: v = 2147483623, 31 bits, shift 27, v >> 27 = 15, m 7
//             -> int4 7 | 28 << 3 = 231, byte 255 (Lucene's largest),
//                back 24 + (15 << 27) = 2013265944
TEST(NormByteTest, KnownValuesOfIntToByte4) {
  struct Case {
    uint32_t length;
    uint8_t byte;
    uint32_t decoded;
  };
  const Case cases[] = {
      {24, 24, 24},       {31, 31, 31},     {32, 32, 32},
      {39, 39, 39},       {40, 40, 40},     {41, 40, 40},
      {42, 41, 42},       {100, 57, 96},    {1000, 87, 984},
      {2147483647u, 255, 2013265944u},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(LengthToNormByte(c.length), c.byte) << c.length;
    EXPECT_EQ(NormByteToLength(c.byte), c.decoded) << c.length;
  }
  // Past Lucene's int range the byte saturates at 255.
  EXPECT_EQ(LengthToNormByte(UINT32_MAX), 255);
  EXPECT_EQ(LengthToNormByte(2013265944u), 255);
  EXPECT_EQ(LengthToNormByte(2013265943u), 254);
}

TEST(NormByteTest, MonotonicAndDecodesToTheSmallestLengthOfItsByte) {
  uint8_t previous = 0;
  for (uint32_t x = 0; x <= (uint32_t{1} << 20); ++x) {
    const uint8_t byte = LengthToNormByte(x);
    ASSERT_GE(byte, previous) << "not monotonic at " << x;
    previous = byte;
    const uint32_t back = NormByteToLength(byte);
    ASSERT_LE(back, x) << x;
    ASSERT_EQ(LengthToNormByte(back), byte) << x;
    if (back > 0) {
      ASSERT_LT(LengthToNormByte(back - 1), byte) << x;
    }
  }
}

TEST(NormByteTest, EveryByteDecodesToAStrictlyLargerLength) {
  for (int b = 0; b < 256; ++b) {
    const uint32_t length = NormByteToLength(static_cast<uint8_t>(b));
    EXPECT_EQ(LengthToNormByte(length), b) << b;
    if (b > 0) {
      EXPECT_GT(length, NormByteToLength(static_cast<uint8_t>(b - 1))) << b;
    }
  }
}

// -------------------------------------------------------------------- idf

TEST(Bm25IdfTest, MatchesTheFormula) {
  // ln(1 + (N - df + 0.5) / (df + 0.5)), by hand:
  //   N 10, df 3:     ln(1 + 7.5 / 3.5)      = ln(3.142857...) = 1.1451323
  //   N 1, df 1:      ln(1 + 0.5 / 1.5)      = ln(4/3)         = 0.2876821
  //   N 1000, df 1:   ln(1 + 999.5 / 1.5)    = ln(667.33...)   = 6.5032897
  //   N 1000, df 1000: ln(1 + 0.5 / 1000.5)                    = 0.0004996253
  //   N 5, df 0:      ln(1 + 5.5 / 0.5)      = ln(12)          = 2.4849066
  EXPECT_FLOAT_EQ(Bm25Idf(3, 10), 1.1451323f);
  EXPECT_FLOAT_EQ(Bm25Idf(1, 1), 0.2876821f);
  EXPECT_FLOAT_EQ(Bm25Idf(1, 1000), 6.5032897f);
  EXPECT_FLOAT_EQ(Bm25Idf(1000, 1000), 0.0004996253f);
  EXPECT_FLOAT_EQ(Bm25Idf(0, 5), 2.4849066f);
  // Never negative, unlike classic Robertson idf, and falls as df rises.
  for (uint64_t df = 1; df <= 100; ++df) {
    EXPECT_GT(Bm25Idf(df, 100), 0.0f) << df;
    EXPECT_LT(Bm25Idf(df, 100), Bm25Idf(df - 1, 100)) << df;
  }
}

// ----------------------------------------------------------------- scorer

index::CollectionStats Stats(uint64_t docs_with_terms, uint64_t sum_lengths) {
  index::CollectionStats stats;
  stats.live_docs = docs_with_terms;
  stats.docs_with_terms = docs_with_terms;
  stats.sum_lengths = sum_lengths;
  stats.segments = 1;
  return stats;
}

TEST(Bm25ScorerTest, ExactLengthFactorMatchesTheFormula) {
  // avgdl = 30 / 4 = 7.5; k1 1.2, b 0.75.
  Bm25Scorer scorer({1.2, 0.75}, Stats(4, 30), index::LengthNorm::kExact);
  //   dl 0:  1.2 * 0.25                     = 0.3
  //   dl 5:  1.2 * (0.25 + 0.75 * 5 / 7.5)  = 1.2 * 0.75 = 0.9
  //   dl 10: 1.2 * (0.25 + 0.75 * 10 / 7.5) = 1.2 * 1.25 = 1.5
  //   dl 41: 1.2 * (0.25 + 0.75 * 41 / 7.5) = 1.2 * 4.35 = 5.22
  EXPECT_FLOAT_EQ(scorer.LengthFactor(0), 0.3f);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(5), 0.9f);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(10), 1.5f);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(41), 5.22f);
  // weight * tf / (tf + factor): 2 * 3 / 3.9 and 1.5 * 1 / 2.5.
  EXPECT_FLOAT_EQ(Bm25Scorer::Score(2.0f, 3, scorer.LengthFactor(5)),
                  6.0f / 3.9f);
  EXPECT_FLOAT_EQ(Bm25Scorer::Score(1.5f, 1, scorer.LengthFactor(10)), 0.6f);
}

TEST(Bm25ScorerTest, DefaultParamsAreAnserinis) {
  Bm25Params params;
  EXPECT_DOUBLE_EQ(params.k1, 0.9);
  EXPECT_DOUBLE_EQ(params.b, 0.4);
  // avgdl 2; dl 4: 0.9 * (0.6 + 0.4 * 2) = 1.26.
  Bm25Scorer scorer(params, Stats(3, 6), index::LengthNorm::kExact);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(4), 1.26f);
}

TEST(Bm25ScorerTest, LuceneNormUsesTheDecodedLength) {
  // Same numbers as above; 41 encodes to the byte of 40 (see
  // KnownValuesOfIntToByte4), 42 to its own.
  Bm25Scorer scorer({1.2, 0.75}, Stats(4, 30), index::LengthNorm::kLucene);
  const float at40 = 1.2f * (0.25f + 0.75f * 40 / 7.5f);  // 5.1
  EXPECT_FLOAT_EQ(scorer.LengthFactor(40), at40);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(41), at40);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(42), 1.2f * (0.25f + 0.75f * 42 / 7.5f));
  EXPECT_FLOAT_EQ(scorer.LengthFactor(10), 1.5f);  // exact below 24 bytes
}

TEST(Bm25ScorerTest, EmptyCollectionUsesAverageLengthOne) {
  // No documents with terms: avgdl is taken as 1, so k1 1, b 1, dl 2 -> 2.
  Bm25Scorer scorer({1.0, 1.0}, Stats(0, 0), index::LengthNorm::kExact);
  EXPECT_FLOAT_EQ(scorer.LengthFactor(2), 2.0f);
  EXPECT_TRUE(std::isfinite(scorer.LengthFactor(0)));
}

// ---------------------------------------------------------- end to end

// The fixture corpus, analysed with stemmer "none" and the English stop
// words (title and text together, as the "contents" field):
//
//   internal  id    terms (title + text)                  dl
//   0         "a1"  apple apple banana                    3
//   1         "b1"  banana cherry                         2
//   2         "c1"  cherry date cherry                    3
//   3         "d1"  apple cherry date elderberry fig grape 6
//   4         "b2"  banana cherry       (same as b1)      2
//   5         "s1"  (only stop words)                     0
//
// N = 5 (s1 has no terms), sum of lengths 16, avgdl = 3.2.
// df: apple 2, banana 3, cherry 4, date 2, elderberry/fig/grape 1.
// Defaults k1 0.9, b 0.4.
const index::Document kCorpus[] = {
    {"a1", "Apple", "banana apple"},
    {"b1", "", "banana cherry"},
    {"c1", "The cherry", "and the date of a cherry"},
    {"d1", "", "apple cherry date elderberry fig grape"},
    {"b2", "", "banana cherry"},
    {"s1", "To be", "or not to be"},
};
constexpr double kN = 5;
constexpr double kAvgdl = 16.0 / 5.0;

double Idf(double df) { return std::log(1 + (kN - df + 0.5) / (df + 0.5)); }

struct TermMatch {
  double qtf, df, tf;
};

// The documented formula, in double, from hand-counted inputs.
double Expected(std::initializer_list<TermMatch> terms, double dl,
                double k1 = 0.9, double b = 0.4) {
  double score = 0;
  for (const TermMatch& t : terms) {
    score += t.qtf * Idf(t.df) * t.tf / (t.tf + k1 * (1 - b + b * dl / kAvgdl));
  }
  return score;
}

struct Hit {
  uint32_t doc;
  double score;
};

class Bm25EndToEndTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) /
           ("bm25_test_" + std::to_string(getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);

    index::StoreOptions options;
    options.create_if_missing = true;
    options.create_options.analyzer.stemmer = "none";
    options.create_options.analyzer.stopwords = true;
    options.create_options.length_norm = index::LengthNorm::kExact;
    Result<std::shared_ptr<index::Store>> store =
        index::Store::Open(dir_.string(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    {
      Result<std::unique_ptr<index::IndexWriter>> writer =
          index::IndexWriter::Open(*store, index::WriterOptions());
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      for (const index::Document& doc : kCorpus) {
        Status s = (*writer)->Add(doc);
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
      Status s = (*writer)->Commit();
      ASSERT_TRUE(s.ok()) << s.ToString();
    }
    Result<std::unique_ptr<index::IndexReader>> reader =
        index::IndexReader::Open(*store);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::shared_ptr<const index::IndexReader>(std::move(*reader));
    Result<std::unique_ptr<Searcher>> searcher = Searcher::Create(reader_);
    ASSERT_TRUE(searcher.ok()) << searcher.status().ToString();
    searcher_ = std::move(*searcher);
  }

  void TearDown() override {
    searcher_.reset();
    reader_.reset();  // last owner of the Store: closes RocksDB
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  TopDocs Search(std::string_view query, SearchParams params = {}) {
    Result<TopDocs> top = searcher_->Search(query, params);
    EXPECT_TRUE(top.ok()) << query << ": " << top.status().ToString();
    return top.ok() ? std::move(*top) : TopDocs();
  }

  // Hits in order, scores within 1e-5 relative.
  static void ExpectHits(const TopDocs& top, const std::vector<Hit>& want) {
    ASSERT_EQ(top.hits.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(top.hits[i].doc, want[i].doc) << "rank " << i;
      EXPECT_NEAR(top.hits[i].score, want[i].score, 1e-5 * want[i].score)
          << "rank " << i;
    }
  }

  fs::path dir_;
  std::shared_ptr<const index::IndexReader> reader_;
  std::unique_ptr<Searcher> searcher_;
};

TEST_F(Bm25EndToEndTest, StatsAreTheHandCountedOnes) {
  const index::CollectionStats& stats = reader_->stats();
  EXPECT_EQ(stats.live_docs, 6u);
  EXPECT_EQ(stats.deleted_docs, 0u);
  EXPECT_EQ(stats.docs_with_terms, 5u);  // s1 has no terms
  EXPECT_EQ(stats.sum_lengths, 16u);
  ASSERT_EQ(reader_->segments().size(), 1u);
  EXPECT_EQ(reader_->segments()[0].lengths,
            (std::vector<uint32_t>{3, 2, 3, 6, 2, 0}));
}

// "banana": a1 (tf 1, dl 3), b1 and b2 (tf 1, dl 2). b1 and b2 tie; the
// shorter documents beat a1.
TEST_F(Bm25EndToEndTest, SingleTerm) {
  const TopDocs top = Search("banana");
  EXPECT_EQ(top.total_hits, 3u);
  ExpectHits(top, {{1, Expected({{1, 3, 1}}, 2)},
                   {4, Expected({{1, 3, 1}}, 2)},
                   {0, Expected({{1, 3, 1}}, 3)}});
}

// "apple apple": qtf 2 doubles the weight. a1 (tf 2, dl 3) then d1 (tf 1,
// dl 6).
TEST_F(Bm25EndToEndTest, RepeatedQueryTermCountsTwice) {
  const TopDocs top = Search("apple Apple");
  ASSERT_EQ(top.terms.size(), 1u);
  EXPECT_EQ(top.terms[0], (std::pair<std::string, uint32_t>("apple", 2)));
  EXPECT_EQ(top.total_hits, 2u);
  ExpectHits(top, {{0, Expected({{2, 2, 2}}, 3)}, {3, Expected({{2, 2, 1}}, 6)}});
  const TopDocs once = Search("apple");
  ASSERT_EQ(once.hits.size(), 2u);
  EXPECT_NEAR(top.hits[0].score, 2 * once.hits[0].score, 1e-5 * top.hits[0].score);
}

// "banana cherry": b1 and b2 are identical (tie: b1, added first, ranks
// first); c1 has cherry twice in 3 terms; a1 has banana, d1 cherry.
//   b1, b2: banana(tf 1) + cherry(tf 1), dl 2
//   c1:     cherry tf 2, dl 3
//   a1:     banana tf 1, dl 3
//   d1:     cherry tf 1, dl 6
TEST_F(Bm25EndToEndTest, TwoTermsAndATie) {
  const double both = Expected({{1, 3, 1}, {1, 4, 1}}, 2);
  const double c1 = Expected({{1, 4, 2}}, 3);
  const double a1 = Expected({{1, 3, 1}}, 3);
  const double d1 = Expected({{1, 4, 1}}, 6);
  // The order below relies on these; check the hand computation agrees.
  ASSERT_GT(both, a1);
  ASSERT_GT(a1, c1);
  ASSERT_GT(c1, d1);
  const TopDocs top = Search("banana cherry");
  EXPECT_EQ(top.total_hits, 5u);
  ExpectHits(top, {{1, both}, {4, both}, {0, a1}, {2, c1}, {3, d1}});
  EXPECT_EQ(top.hits[0].score, top.hits[1].score);  // an exact tie
}

TEST_F(Bm25EndToEndTest, AbsentTermAddsNothing) {
  TopDocs top = Search("kiwi");
  EXPECT_TRUE(top.hits.empty());
  EXPECT_EQ(top.total_hits, 0u);
  ASSERT_EQ(top.terms.size(), 1u);  // analysed, just not in the index
  // "kiwi date" scores like "date": c1 (tf 1, dl 3), d1 (tf 1, dl 6).
  top = Search("kiwi date");
  EXPECT_EQ(top.total_hits, 2u);
  ExpectHits(top, {{2, Expected({{1, 2, 1}}, 3)}, {3, Expected({{1, 2, 1}}, 6)}});
}

TEST_F(Bm25EndToEndTest, EmptyAndStopWordOnlyQueriesHaveNoHits) {
  for (std::string_view query : {"", "   ", "the of and", "To be, or not to be?"}) {
    const TopDocs top = Search(query);
    EXPECT_TRUE(top.hits.empty()) << query;
    EXPECT_EQ(top.total_hits, 0u) << query;
    EXPECT_TRUE(top.terms.empty()) << query;
  }
}

// k over the number of matches returns them all; k under it cuts the list
// but total_hits still counts every match.
TEST_F(Bm25EndToEndTest, KLargerAndSmallerThanMatches) {
  SearchParams params;
  params.k = 100;
  TopDocs top = Search("date", params);
  EXPECT_EQ(top.total_hits, 2u);
  EXPECT_EQ(top.hits.size(), 2u);
  params.k = 2;
  top = Search("banana cherry", params);
  EXPECT_EQ(top.total_hits, 5u);
  const double both = Expected({{1, 3, 1}, {1, 4, 1}}, 2);
  ExpectHits(top, {{1, both}, {4, both}});
  params.k = 0;
  EXPECT_TRUE(searcher_->Search("date", params).status().IsInvalidArgument());
  params.k = kMaxK + 1;
  EXPECT_TRUE(searcher_->Search("date", params).status().IsInvalidArgument());
}

// "cherry": b1, b2 (tf 1, dl 2), c1 (tf 2, dl 3), d1 (tf 1, dl 6).
TEST_F(Bm25EndToEndTest, K1AndBOverrides) {
  SearchParams params;
  params.k1 = 1.2;
  params.b = 0.75;
  TopDocs top = Search("cherry", params);
  // k1 1.2, b 0.75: c1 = tf 2 / (2 + 1.2 * (0.25 + 0.75 * 3 / 3.2)) wins over
  // the dl-2 documents' 1 / (1 + 1.2 * (0.25 + 0.75 * 2 / 3.2)).
  ASSERT_GT(Expected({{1, 4, 2}}, 3, 1.2, 0.75), Expected({{1, 4, 1}}, 2, 1.2, 0.75));
  ExpectHits(top, {{2, Expected({{1, 4, 2}}, 3, 1.2, 0.75)},
                   {1, Expected({{1, 4, 1}}, 2, 1.2, 0.75)},
                   {4, Expected({{1, 4, 1}}, 2, 1.2, 0.75)},
                   {3, Expected({{1, 4, 1}}, 6, 1.2, 0.75)}});

  // b = 0: no length normalisation, so the three tf-1 documents tie and
  // come in id order after c1.
  params.k1 = std::nullopt;
  params.b = 0.0;
  top = Search("cherry", params);
  ExpectHits(top, {{2, Expected({{1, 4, 2}}, 3, 0.9, 0.0)},
                   {1, Expected({{1, 4, 1}}, 2, 0.9, 0.0)},
                   {3, Expected({{1, 4, 1}}, 6, 0.9, 0.0)},
                   {4, Expected({{1, 4, 1}}, 2, 0.9, 0.0)}});

  // k1 = 0: tf and length no longer matter; every match scores idf.
  params.k1 = 0.0;
  params.b = std::nullopt;
  top = Search("cherry", params);
  ExpectHits(top, {{1, Idf(4)}, {2, Idf(4)}, {3, Idf(4)}, {4, Idf(4)}});

  // Out of range.
  params.k1 = -1.0;
  EXPECT_TRUE(searcher_->Search("cherry", params).status().IsInvalidArgument());
  params.k1 = std::nullopt;
  params.b = 1.5;
  EXPECT_TRUE(searcher_->Search("cherry", params).status().IsInvalidArgument());
}

TEST_F(Bm25EndToEndTest, HitsNameTheRightStoredDocuments) {
  const TopDocs top = Search("elderberry");
  ASSERT_EQ(top.hits.size(), 1u);
  Result<index::Document> doc = reader_->ReadDocument(top.hits[0].doc);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->id, "d1");
  EXPECT_EQ(doc->text, kCorpus[3].text);
  ExpectHits(top, {{3, Expected({{1, 1, 1}}, 6)}});
}

}  // namespace
}  // namespace cascade::query
