// `cascade gen-corpus`: determinism, counts, valid JSONL that `cascade index`
// takes, statistics close to the source corpus, query lengths, bad flags.
//
// The small tests imitate a hand-written eight-document corpus; the
// statistics tests imitate ../shared/data/reuters21578 and are skipped when
// it is absent.
#include "tools/gen_corpus.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "tests/tools/cli_harness.h"

namespace cascade::tools {
namespace {

namespace fs = std::filesystem;
using testing_cli::CliTest;
using testing_cli::CommandResult;
using testing_cli::Quote;
using testing_cli::ReadFile;
using testing_cli::WriteFile;

// Eight short documents; what matters is that they hold words.
constexpr char kTinyCorpus[] =
    R"({"_id":"1","title":"Rivers of Europe","text":"The Danube flows through ten countries and the Rhine through six."}
{"_id":"2","title":"Mountains","text":"The Alps and the Pyrenees are mountains of Europe; the Alps are higher."}
{"_id":"3","title":"Rivers of Asia","text":"The Mekong and the Yangtze are long rivers of Asia."}
{"_id":"4","title":"","text":"Rivers flow to the sea, and the sea is salt."}
{"_id":"5","title":"Lakes","text":"Lake Baikal is the deepest lake; Lake Superior is the largest by area."}
{"_id":"6","title":"Deserts of the world","text":"The Sahara and the Gobi are deserts; deserts are dry."}
{"_id":"7","title":"Islands","text":"Greenland is the largest island, and Borneo is the third largest island."}
{"_id":"8","title":"Seas","text":"The Baltic sea and the North sea lie north of Europe."}
)";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The string value of `"key":"..."` in a generated line (no escapes occur).
std::string Field(const std::string& line, const std::string& key) {
  const std::string needle = "\"" + key + "\":\"";
  const size_t at = line.find(needle);
  if (at == std::string::npos) return "<missing>";
  const size_t start = at + needle.size();
  return line.substr(start, line.find('"', start) - start);
}

class GenCorpusTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    tiny_ = Path("tiny.jsonl");
    WriteFile(tiny_, kTinyCorpus);
  }
  CommandResult Gen(const std::string& args) {
    return Cascade("gen-corpus " + args);
  }
  std::string tiny_;
};

std::string Reuters() {
  return testing_cli::kSharedDir + "/data/reuters21578";
}

TEST_F(GenCorpusTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string a = Path("a.jsonl"), b = Path("b.jsonl"),
                    c = Path("c.jsonl"), prefix = Path("p.jsonl");
  const std::string like = " --like " + Quote(tiny_);
  ASSERT_EQ(Gen("--docs 500 --seed 7 --out " + Quote(a) + like).exit_code, 0);
  ASSERT_EQ(Gen("--docs 500 --seed 7 --out " + Quote(b) + like).exit_code, 0);
  ASSERT_EQ(Gen("--docs 500 --seed 8 --out " + Quote(c) + like).exit_code, 0);
  ASSERT_EQ(Gen("--docs 200 --seed 7 --out " + Quote(prefix) + like).exit_code,
            0);
  const std::string bytes = ReadFile(a);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes, ReadFile(b));
  EXPECT_NE(bytes, ReadFile(c));
  // Document i depends on (seed, i) only: 200 documents are a prefix of 500.
  const std::string p = ReadFile(prefix);
  EXPECT_EQ(bytes.substr(0, p.size()), p);
}

TEST_F(GenCorpusTest, WritesTheRequestedDocumentsAsJsonlThatIndexAccepts) {
  const std::string out = Path("g.jsonl"), queries = Path("q.jsonl");
  const CommandResult r =
      Gen("--docs 1234 --seed 3 --like " + Quote(tiny_) + " --out " +
          Quote(out) + " --queries 20 --queries-out " + Quote(queries));
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> lines = Lines(ReadFile(out));
  ASSERT_EQ(lines.size(), 1234u);
  std::set<std::string> ids;
  for (const std::string& line : lines) {
    ASSERT_EQ(line.front(), '{') << line;
    ASSERT_EQ(line.back(), '}') << line;
    ids.insert(Field(line, "_id"));
    EXPECT_NE(Field(line, "title"), "<missing>") << line;
    EXPECT_NE(Field(line, "text"), "<missing>") << line;
  }
  EXPECT_EQ(ids.size(), 1234u);

  const std::string index = Path("idx");
  const CommandResult indexed =
      Cascade("index --quiet --index " + Quote(index) + " " + Quote(out));
  ASSERT_EQ(indexed.exit_code, 0) << indexed;
  EXPECT_NE(indexed.out.find("indexed 1234 documents"), std::string::npos)
      << indexed;
  EXPECT_NE(indexed.out.find("0 skipped"), std::string::npos) << indexed;
  const CommandResult run = Cascade("run --json --index " + Quote(index) +
                                    " --queries " + Quote(queries));
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_EQ(testing_cli::JsonNumber(run.out, "queries"), 20);
}

TEST_F(GenCorpusTest, GzipOutputHoldsTheSameBytes) {
  const std::string plain = Path("g.jsonl"), gz = Path("g.jsonl.gz");
  const std::string like = " --like " + Quote(tiny_);
  ASSERT_EQ(Gen("--docs 300 --out " + Quote(plain) + like).exit_code, 0);
  ASSERT_EQ(Gen("--docs 300 --out " + Quote(gz) + like).exit_code, 0);
  const CommandResult unzipped = Shell("gzip -dc " + Quote(gz));
  ASSERT_EQ(unzipped.exit_code, 0) << unzipped;
  EXPECT_EQ(unzipped.out, ReadFile(plain));
}

TEST_F(GenCorpusTest, EnvironmentTwinsSetTheFlags) {
  const std::string out = Path("g.jsonl");
  const CommandResult r =
      Shell("CASCADE_DOCS=17 CASCADE_LIKE=" + Quote(tiny_) +
            " CASCADE_OUT=" + Quote(out) + " " +
            Quote(testing_cli::kBinaryDir + "/cascade") + " gen-corpus");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Lines(ReadFile(out)).size(), 17u);
}

TEST_F(GenCorpusTest, BadFlagsAreRejectedWithClearErrors) {
  const std::string out = Path("g.jsonl");
  const std::string missing = Path("no-such-corpus.jsonl");
  CommandResult r = Gen("--docs 10 --like " + Quote(missing) + " --out " +
                        Quote(out));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find(missing), std::string::npos) << r;

  r = Gen("--docs 0 --like " + Quote(tiny_) + " --out " + Quote(out));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("--docs"), std::string::npos) << r;

  r = Gen("--docs 10 --like " + Quote(tiny_));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("--out"), std::string::npos) << r;

  r = Gen("--docs 10 --out " + Quote(out));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("--like"), std::string::npos) << r;

  r = Gen("--docs ten --like " + Quote(tiny_) + " --out " + Quote(out));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("--docs"), std::string::npos) << r;

  const std::string empty = Path("empty.jsonl");
  WriteFile(empty, "{\"_id\":\"1\",\"title\":\"...\",\"text\":\"!!\"}\n");
  r = Gen("--docs 10 --like " + Quote(empty) + " --out " + Quote(out));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("no words"), std::string::npos) << r;

  const std::string unwritable = Path("no-such-dir/g.jsonl");
  r = Gen("--docs 10 --like " + Quote(tiny_) + " --out " + Quote(unwritable));
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find(unwritable), std::string::npos) << r;
}

// Word counts, lengths and distinct words per document of a JSONL corpus.
struct Stats {
  uint64_t docs = 0, words = 0, distinct_in_docs = 0;
  std::unordered_map<std::string, uint64_t> counts;
  std::vector<std::string> Top(size_t n) const {
    std::vector<std::pair<uint64_t, std::string>> v;
    for (const auto& [w, c] : counts) v.emplace_back(c, w);
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    std::vector<std::string> top;
    for (size_t i = 0; i < n && i < v.size(); ++i) top.push_back(v[i].second);
    return top;
  }
};

Stats Measure(const std::string& jsonl) {
  Stats stats;
  std::vector<std::string> words;
  for (const std::string& line : Lines(jsonl)) {
    words.clear();
    SplitWords(Field(line, "title"), &words);
    SplitWords(Field(line, "text"), &words);
    ++stats.docs;
    stats.words += words.size();
    for (const std::string& w : words) ++stats.counts[w];
    std::sort(words.begin(), words.end());
    stats.distinct_in_docs +=
        std::unique(words.begin(), words.end()) - words.begin();
  }
  return stats;
}

TEST_F(GenCorpusTest, StatisticsFollowTheSourceCorpus) {
  if (!fs::exists(Reuters())) GTEST_SKIP() << "no " << Reuters();
  auto model = CorpusModel::Learn({Reuters()});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const CorpusModelInfo& info = (*model)->info();
  EXPECT_EQ(info.source_docs, 21577u);  // one record has neither field
  EXPECT_GT(info.zipf_exponent, 1.0);

  const std::string small = Path("small.jsonl"), large = Path("large.jsonl");
  ASSERT_EQ(Gen("--docs 2000 --like " + Quote(Reuters()) + " --out " +
                Quote(small)).exit_code, 0);
  const CommandResult r = Gen("--docs 20000 --like " + Quote(Reuters()) +
                              " --out " + Quote(large));
  ASSERT_EQ(r.exit_code, 0) << r;
  const Stats s = Measure(ReadFile(small));
  const Stats g = Measure(ReadFile(large));
  ASSERT_EQ(g.docs, 20000u);

  // Mean length within 10% of the source's.
  const double mean = static_cast<double>(g.words) / g.docs;
  EXPECT_NEAR(mean, info.mean_doc_words, 0.1 * info.mean_doc_words);
  // Burstiness: distinct words per word within 10% of the source's.
  const double distinct = static_cast<double>(g.distinct_in_docs) / g.words;
  EXPECT_NEAR(distinct, info.source_distinct_ratio,
              0.1 * info.source_distinct_ratio);
  // The 50 commonest words are mostly the source's 50 commonest.
  std::set<std::string> source_top;
  for (uint64_t rank = 1; rank <= 50; ++rank) {
    source_top.insert((*model)->Word(rank));
  }
  size_t overlap = 0;
  for (const std::string& w : g.Top(50)) overlap += source_top.count(w);
  EXPECT_GE(overlap, 45u);
  // Vocabulary keeps growing with the corpus (Heaps' law, beta 0.4..0.8):
  // ten times the documents give 2.5 to 6.3 times the words.
  const double growth =
      static_cast<double>(g.counts.size()) / s.counts.size();
  EXPECT_GT(growth, 2.5);
  EXPECT_LT(growth, 6.3);
}

TEST_F(GenCorpusTest, QueriesHoldTwoToSixWordsOfTheCorpus) {
  if (!fs::exists(Reuters())) GTEST_SKIP() << "no " << Reuters();
  const std::string out = Path("g.jsonl"), queries = Path("q.jsonl");
  const CommandResult r =
      Gen("--docs 5000 --like " + Quote(Reuters()) + " --out " + Quote(out) +
          " --queries 300 --queries-out " + Quote(queries));
  ASSERT_EQ(r.exit_code, 0) << r;
  const Stats corpus = Measure(ReadFile(out));
  const std::vector<std::string> lines = Lines(ReadFile(queries));
  ASSERT_EQ(lines.size(), 300u);
  std::map<size_t, size_t> by_length;
  std::set<std::string> ids;
  size_t words = 0, found = 0;
  for (const std::string& line : lines) {
    ids.insert(Field(line, "_id"));
    std::vector<std::string> q;
    SplitWords(Field(line, "text"), &q);
    EXPECT_GE(q.size(), 2u) << line;
    EXPECT_LE(q.size(), 6u) << line;
    ++by_length[q.size()];
    for (const std::string& w : q) {
      ++words;
      found += corpus.counts.count(w);
    }
  }
  EXPECT_EQ(ids.size(), 300u);
  EXPECT_GE(by_length.size(), 3u);  // lengths vary, as titles do
  // Query words are title words of the source: nearly all occur in a
  // corpus of 5,000 generated documents.
  EXPECT_GT(static_cast<double>(found) / words, 0.9);
}

}  // namespace
}  // namespace cascade::tools
