// Phrase queries on a real collection (../shared/data/cacm, 3,204 CACM
// abstracts): every hit of a phrase query contains the phrase, and every
// document that contains it is a hit, checked against the stored text
// analysed here (title then text, positions numbered as the writer does).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cascade/engine.h"
#include "index/analyzer.h"
#include "index/corpus_reader.h"
#include "tests/query/phrase_oracle.h"

namespace cascade {
namespace {

namespace fs = std::filesystem;

const std::string kCacm = std::string(CASCADE_SHARED_DIR) + "/data/cacm";

struct Analyzed {
  std::map<std::string, std::vector<uint32_t>> positions;
};

Analyzed Analyze(index::Analyzer& analyzer, const std::string& title,
                 const std::string& text) {
  std::vector<std::string> terms;
  std::vector<uint32_t> at;
  analyzer.Analyze(title, &terms, &at);
  const size_t title_terms = terms.size();
  const uint32_t base = at.empty() ? 0 : at.back() + 1;
  analyzer.Analyze(text, &terms, &at);
  Analyzed a;
  for (size_t i = 0; i < terms.size(); ++i) {
    a.positions[terms[i]].push_back(at[i] + (i >= title_terms ? base : 0));
  }
  return a;
}

// Whether the document holds the phrase within `slop` (brute force).
bool Contains(const Analyzed& doc, const std::vector<std::string>& words,
              const std::vector<uint32_t>& offsets, uint32_t slop) {
  std::vector<const std::vector<uint32_t>*> lists;
  std::vector<uint32_t> ids;
  for (const std::string& w : words) {
    auto it = doc.positions.find(w);
    if (it == doc.positions.end()) return false;
    lists.push_back(&it->second);
    ids.push_back(static_cast<uint32_t>(std::find(words.begin(), words.end(), w) -
                                        words.begin()));
  }
  return query::PhraseWithinSlop(lists, offsets, ids, slop);
}

TEST(PhraseCacmTest, HitsAreExactlyTheDocumentsWithThePhrase) {
  ASSERT_TRUE(fs::is_directory(kCacm)) << "shared data missing: " << kCacm;
  const fs::path dir = fs::path(testing::TempDir()) /
                       ("phrase_cacm_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  OpenOptions open;
  open.create_if_missing = true;
  auto index = Index::Open(dir.string(), open);
  ASSERT_TRUE(index.ok()) << index.status().ToString();

  auto reader = index::CorpusReader::Open({kCacm}, index::CorpusOptions());
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto analyzer = index::Analyzer::Create(index::AnalyzerOptions());
  ASSERT_TRUE(analyzer.ok());
  std::map<std::string, Analyzed> docs;
  index::CorpusRecord record;
  while (true) {
    Result<bool> more = (*reader)->Next(&record);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ASSERT_TRUE((*index)->Add({record.doc.id, record.doc.title, record.doc.text}).ok());
    docs[record.doc.id] = Analyze(**analyzer, record.doc.title, record.doc.text);
  }
  ASSERT_EQ(docs.size(), 3204u);
  ASSERT_TRUE((*index)->Commit().ok());

  struct Case {
    std::string query;
    uint32_t slop;
  };
  const Case cases[] = {
      {"operating system", 0},     {"programming language", 0},
      {"time sharing", 0},         {"information retrieval", 0},
      {"linear equations", 0},     {"solution of the equations", 0},
      {"language programming", 2}, {"system operating", 1},
      {"computer science", 3},     {"data structures", 1},
  };
  size_t total = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query + " ~" + std::to_string(c.slop));
    std::vector<std::string> words;
    std::vector<uint32_t> offsets;
    (*analyzer)->Analyze(c.query, &words, &offsets);
    ASSERT_GE(words.size(), 2u);
    const uint32_t first = offsets[0];
    for (uint32_t& o : offsets) o -= first;
    std::set<std::string> want;
    for (const auto& [id, doc] : docs) {
      if (Contains(doc, words, offsets, c.slop)) want.insert(id);
    }
    SearchOptions options;
    options.syntax = "lucene";
    options.k = 5000;
    std::string query = "\"" + c.query + "\"";
    if (c.slop > 0) query += "~" + std::to_string(c.slop);
    auto result = (*index)->Search(query, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    std::set<std::string> got;
    for (const Hit& hit : result->hits) got.insert(hit.id);
    EXPECT_EQ(got, want);
    EXPECT_EQ(result->total_hits, want.size());
    total += want.size();
  }
  EXPECT_GT(total, 200u);  // the phrases are common in CACM
  index->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cascade
