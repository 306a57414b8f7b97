// Tests of text fields (index/field_values.h, "Text fields and contents"):
// several analysed fields per document, each with its own postings,
// lengths and BM25 statistics, summed with per-field weights.
//
// Oracle: random corpora written through the real IndexWriter into RocksDB
// (several segments, deletes, replacements, documents missing a field or
// holding only one), queried in plain syntax and in Lucene syntax (fielded
// and unfielded words, phrases), against a brute-force scorer written here
// from the documents' own analysis, field by field: the weighted sum of
// per-field BM25 with each field's own df, N and average length. Hits,
// their order and their scores must be identical (the oracle sums in the
// plan's order, so bit for bit), before and after a full merge.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "index/document_json.h"
#include "index/field_values.h"
#include "index/index_options.h"
#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/store.h"
#include "query/bm25.h"
#include "query/query_parser.h"
#include "query/searcher.h"

namespace cascade::query {
namespace {

namespace fs = std::filesystem;

// One analysed field of one document version.
struct FieldData {
  std::map<std::string, uint32_t> tf;
  std::vector<std::string> tokens;
  std::vector<uint32_t> positions;
  uint32_t length = 0;
};

struct Version {
  std::string id;
  std::vector<FieldData> fields;  // 0: contents; 1 + f: text field f
  bool live = false;
};

// A field a word is searched in, and its weight.
struct Target {
  size_t field = 0;  // as Version::fields
  double weight = 1;
};

class Oracle {
 public:
  Oracle(const std::vector<Version>& versions, const index::IndexOptions& options,
         bool merged)
      : versions_(versions), options_(options) {
    const size_t nfields = 1 + options.fields.text_fields.size();
    df_.resize(nfields);
    stats_.resize(nfields);
    for (const Version& v : versions_) {
      if (merged && !v.live) continue;  // a merge drops deleted documents from df
      for (size_t f = 0; f < nfields; ++f) {
        for (const auto& [term, tf] : v.fields[f].tf) ++df_[f][term];
        if (v.live && v.fields[f].length > 0) {
          ++stats_[f].docs_with_terms;
          stats_[f].sum_lengths += v.fields[f].length;
        }
      }
    }
    for (size_t f = 0; f < nfields; ++f) {
      scorers_.emplace_back(Bm25Params{options.k1, options.b}, stats_[f], options.length_norm);
    }
  }

  // The default fields of an unfielded word.
  std::vector<Target> Defaults() const {
    const index::FieldSchema& schema = options_.fields;
    std::vector<Target> out;
    if (schema.contents_weight > 0) out.push_back({0, schema.contents_weight});
    for (size_t f = 0; f < schema.text_fields.size(); ++f) {
      if (schema.text_fields[f].weight > 0) out.push_back({1 + f, schema.text_fields[f].weight});
    }
    return out;
  }

  // One analysed term in one field with boost, or nullopt when absent.
  std::optional<float> TermScore(const Version& v, size_t field, const std::string& term,
                                 double boost) const {
    auto it = v.fields[field].tf.find(term);
    if (it == v.fields[field].tf.end()) return std::nullopt;
    const uint64_t df = df_[field].at(term);
    const uint64_t n = std::max(stats_[field].docs_with_terms, df);
    const auto weight = static_cast<float>(boost * static_cast<double>(Bm25Idf(df, n)));
    return Bm25Scorer::Score(weight, it->second,
                             scorers_[field].LengthFactor(v.fields[field].length));
  }

  // A word (analysed term) over `targets` with boost: the expansion's sum,
  // or the one field's score.
  std::optional<float> WordScore(const Version& v, const std::vector<Target>& targets,
                                 const std::string& term, double boost) const {
    if (targets.size() == 1 && targets[0].weight == 1) {
      return TermScore(v, targets[0].field, term, boost);
    }
    std::optional<float> sum;
    for (const Target& t : targets) {
      if (auto s = TermScore(v, t.field, term, boost * t.weight)) sum = sum.value_or(0.0f) + *s;
    }
    return sum;
  }

  // Clauses of (targets, term, boost), SHOULD, summed in order: the hits,
  // best first, ties by version order. Returns external ids and scores.
  struct Clause {
    std::vector<Target> targets;
    std::string term;
    double boost = 1;
  };
  std::vector<std::pair<std::string, float>> Search(const std::vector<Clause>& clauses) const {
    std::vector<std::pair<size_t, float>> hits;
    for (size_t d = 0; d < versions_.size(); ++d) {
      const Version& v = versions_[d];
      if (!v.live) continue;
      std::optional<float> score;
      for (const Clause& c : clauses) {
        if (auto s = WordScore(v, c.targets, c.term, c.boost)) score = score.value_or(0.0f) + *s;
      }
      if (score) hits.emplace_back(d, *score);
    }
    std::stable_sort(hits.begin(), hits.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::vector<std::pair<std::string, float>> out;
    for (const auto& [d, s] : hits) out.emplace_back(versions_[d].id, s);
    return out;
  }

 private:
  const std::vector<Version>& versions_;
  const index::IndexOptions& options_;
  std::vector<std::map<std::string, uint64_t>> df_;
  std::vector<index::FieldStats> stats_;
  std::vector<Bm25Scorer> scorers_;
};

class TextFieldsTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("text_fields_test_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override {
    searcher_.reset();
    reader_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  Status OpenStore(const index::IndexOptions& create) {
    searcher_.reset();
    reader_.reset();
    store_.reset();
    index::StoreOptions options;
    options.create_if_missing = true;
    options.create_options = create;
    options.block_cache_mb = 8;
    CASCADE_ASSIGN_OR_RETURN(store_, index::Store::Open((root_ / "idx").string(), options));
    return Status::OK();
  }

  void Reopen() {
    searcher_.reset();
    reader_.reset();
    Result<std::unique_ptr<index::IndexReader>> reader = index::IndexReader::Open(store_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(*reader);
    Result<std::unique_ptr<Searcher>> searcher = Searcher::Create(reader_);
    ASSERT_TRUE(searcher.ok());
    searcher_ = std::move(*searcher);
  }

  // Analyses `doc` field by field as the writer does.
  Version Analyse(const index::Document& doc, index::Analyzer& analyzer) {
    const auto& text_fields = store_->options().fields.text_fields;
    Version v;
    v.id = doc.id;
    v.live = true;
    v.fields.resize(1 + text_fields.size());
    const auto add = [&](FieldData& field, std::string_view text) {
      std::vector<std::string> tokens;
      std::vector<uint32_t> positions;
      analyzer.Analyze(text, &tokens, &positions);
      const uint32_t base = field.positions.empty() ? 0 : field.positions.back() + 1;
      for (size_t i = 0; i < tokens.size(); ++i) {
        ++field.tf[tokens[i]];
        field.tokens.push_back(tokens[i]);
        field.positions.push_back(base + positions[i]);
      }
      field.length += static_cast<uint32_t>(tokens.size());
    };
    add(v.fields[0], doc.title);
    add(v.fields[0], doc.text);
    for (size_t f = 0; f < text_fields.size(); ++f) {
      add(v.fields[1 + f], index::TextFieldValue(doc, text_fields[f].name));
    }
    return v;
  }

  // A random corpus of `docs` documents with title, text and an
  // "abstract", in `segments` flushes, with deletes and replacements.
  void BuildRandom(uint32_t seed, uint32_t docs, uint32_t segments) {
    std::mt19937 rng(seed);
    vocabulary_.clear();
    for (int i = 0; i < 30; ++i) {
      std::string w;
      for (int j = 0; j < 4 + i % 3; ++j) w.push_back(static_cast<char>('a' + (rng() % 26)));
      vocabulary_.push_back(w);
    }
    auto words = [&](size_t max) {
      std::string out;
      const size_t n = rng() % (max + 1);
      for (size_t i = 0; i < n; ++i) {
        // Skewed: low words are common.
        const size_t w = std::min<size_t>(rng() % vocabulary_.size(), rng() % vocabulary_.size());
        out += (out.empty() ? "" : " ") + vocabulary_[w];
      }
      return out;
    };
    Result<std::unique_ptr<index::Analyzer>> analyzer =
        index::Analyzer::Create(store_->options().analyzer);
    ASSERT_TRUE(analyzer.ok());
    Result<std::unique_ptr<index::IndexWriter>> writer =
        index::IndexWriter::Open(store_, index::WriterOptions());
    ASSERT_TRUE(writer.ok());
    std::map<std::string, size_t> latest;  // id -> version
    for (uint32_t i = 0; i < docs; ++i) {
      index::Document doc;
      // Every fifth document replaces an earlier id.
      doc.id = (i % 5 == 4 && i > 10) ? "d" + std::to_string(rng() % i) : "d" + std::to_string(i);
      doc.title = words(4);
      doc.text = words(20);
      const std::string abstract = words(8);
      if (!abstract.empty()) doc.texts.emplace_back("abstract", abstract);
      if (doc.title.empty() && doc.text.empty() && doc.texts.empty()) doc.text = vocabulary_[0];
      ASSERT_TRUE((*writer)->Add(doc).ok()) << doc.id;
      if (auto it = latest.find(doc.id); it != latest.end()) versions_[it->second].live = false;
      latest[doc.id] = versions_.size();
      versions_.push_back(Analyse(doc, **analyzer));
      if (i % 13 == 12) {  // a delete by id
        const std::string victim = "d" + std::to_string(rng() % i);
        if (auto it = latest.find(victim); it != latest.end()) {
          ASSERT_TRUE((*writer)->Delete(victim).ok());
          versions_[it->second].live = false;
          latest.erase(it);
        }
      }
      if ((i + 1) % (docs / segments) == 0) {
        ASSERT_TRUE((*writer)->Flush().ok());
      }
    }
    ASSERT_TRUE((*writer)->Commit().ok());
  }

  void ForceMerge() {
    searcher_.reset();
    reader_.reset();
    Result<std::unique_ptr<index::IndexWriter>> writer =
        index::IndexWriter::Open(store_, index::WriterOptions());
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->ForceMerge(1).ok());
  }

  std::vector<std::pair<std::string, float>> Hits(const TopDocs& top) {
    std::vector<std::pair<std::string, float>> out;
    for (const ScoredDoc& hit : top.hits) {
      Result<index::Document> doc = reader_->ReadDocument(hit.doc);
      EXPECT_TRUE(doc.ok());
      out.emplace_back(doc.ok() ? doc->id : "?", hit.score);
    }
    return out;
  }

  // Random plain and Lucene queries against the oracle.
  void CheckQueries(uint32_t seed, bool merged) {
    const index::IndexOptions& options = store_->options();
    Oracle oracle(versions_, options, merged);
    Result<std::unique_ptr<index::Analyzer>> analyzer =
        index::Analyzer::Create(options.analyzer);
    ASSERT_TRUE(analyzer.ok());
    std::mt19937 rng(seed);
    SearchParams params;
    params.k = 1000;
    // Field names a clause may take, and where each searches.
    std::vector<std::pair<std::string, size_t>> named = {{"contents", 0}};
    for (size_t f = 0; f < options.fields.text_fields.size(); ++f) {
      named.emplace_back(options.fields.text_fields[f].name, 1 + f);
    }
    if (options.fields.TextOrdinal("text") < 0) named.emplace_back("text", 0);  // an alias
    for (int q = 0; q < 60; ++q) {
      // Distinct words.
      std::vector<std::string> words;
      const size_t n = 1 + rng() % 4;
      while (words.size() < n) {
        const std::string& w = vocabulary_[rng() % vocabulary_.size()];
        if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
      }
      std::vector<Oracle::Clause> plain, lucene;
      std::string plain_text, lucene_text;
      // A clause of a term already there adds its boost (stemming may
      // fold two words into one term), as the searcher's planner does.
      const auto add = [](std::vector<Oracle::Clause>* clauses, Oracle::Clause c) {
        for (Oracle::Clause& old : *clauses) {
          if (old.term == c.term && old.targets.size() == c.targets.size() &&
              std::equal(old.targets.begin(), old.targets.end(), c.targets.begin(),
                         [](const Target& x, const Target& y) {
                           return x.field == y.field && x.weight == y.weight;
                         })) {
            old.boost += c.boost;
            return;
          }
        }
        clauses->push_back(std::move(c));
      };
      for (const std::string& w : words) {
        std::vector<std::string> tokens;
        (*analyzer)->Analyze(w, &tokens);
        ASSERT_EQ(tokens.size(), 1u) << w;
        add(&plain, {oracle.Defaults(), tokens[0], 1});
        plain_text += (plain_text.empty() ? "" : " ") + w;
        lucene_text += lucene_text.empty() ? "" : " ";
        if (rng() % 2 == 0) {
          add(&lucene, {oracle.Defaults(), tokens[0], 1});
          lucene_text += w;
        } else {
          const auto& [name, field] = named[rng() % named.size()];
          add(&lucene, {{Target{field, 1}}, tokens[0], 1});
          lucene_text += name + ":" + w;
        }
      }
      Result<TopDocs> got = searcher_->Search(plain_text, params);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      const auto want = oracle.Search(plain);
      EXPECT_EQ(Hits(*got), want) << "plain: " << plain_text;
      EXPECT_EQ(got->total_hits, want.size());
      // Match (deletes by query) takes the same documents.
      Result<std::vector<uint32_t>> matched = searcher_->Match(plain_text, QuerySyntax::kPlain);
      ASSERT_TRUE(matched.ok());
      EXPECT_EQ(matched->size(), want.size()) << plain_text;

      params.syntax = QuerySyntax::kLucene;
      got = searcher_->Search(lucene_text, params);
      params.syntax = QuerySyntax::kPlain;
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(Hits(*got), oracle.Search(lucene)) << "lucene: " << lucene_text;
    }
  }

  // Plain queries (1-6 words, repeats allowed) searched with each pruning
  // algorithm give the exhaustive top k, the same documents with the same
  // score bits; total hits are exact unless the search says they are not.
  void CheckPruned(uint32_t seed, int queries) {
    std::mt19937 rng(seed);
    int pruned = 0;  // searches whose total is a lower bound: something was skipped
    for (int q = 0; q < queries; ++q) {
      std::string text;
      const size_t n = 1 + rng() % 6;
      for (size_t i = 0; i < n; ++i) {
        // Skewed as the corpus is: common words make long lists.
        const size_t w = std::min<size_t>(rng() % vocabulary_.size(), rng() % vocabulary_.size());
        if (!text.empty()) text.push_back(' ');
        text.append(vocabulary_[w]);
      }
      SearchParams exhaustive;
      exhaustive.k = std::vector<size_t>{1, 10, 100}[q % 3];
      exhaustive.algorithm = Algorithm::kExhaustive;
      Result<TopDocs> want = searcher_->Search(text, exhaustive);
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      ASSERT_TRUE(want->total_hits_exact);
      for (Algorithm a :
           {Algorithm::kWand, Algorithm::kBmw, Algorithm::kMaxScore, Algorithm::kAuto}) {
        for (uint64_t threshold : {uint64_t{0}, uint64_t{1000}}) {
          SearchParams p = exhaustive;
          p.algorithm = a;
          p.total_hits_threshold = threshold;
          Result<TopDocs> got = searcher_->Search(text, p);
          ASSERT_TRUE(got.ok()) << got.status().ToString();
          const std::string what = "\"" + text + "\" " + std::string(AlgorithmName(a)) +
                                   " k " + std::to_string(p.k) + " threshold " +
                                   std::to_string(threshold);
          ASSERT_EQ(got->hits.size(), want->hits.size()) << what;
          for (size_t i = 0; i < want->hits.size(); ++i) {
            EXPECT_EQ(got->hits[i].doc, want->hits[i].doc) << what << " rank " << i;
            uint32_t x, y;  // bit-identical, not merely close
            std::memcpy(&x, &got->hits[i].score, 4);
            std::memcpy(&y, &want->hits[i].score, 4);
            EXPECT_EQ(x, y) << what << " rank " << i;
          }
          EXPECT_EQ(got->terms, want->terms) << what;
          if (got->total_hits_exact) {
            EXPECT_EQ(got->total_hits, want->total_hits) << what;
          } else {
            EXPECT_LE(got->total_hits, want->total_hits) << what;
            EXPECT_GE(got->total_hits, std::min<uint64_t>(threshold, want->total_hits)) << what;
            ++pruned;
          }
        }
      }
    }
    // The corpus is large enough for the algorithms to skip documents.
    EXPECT_GT(pruned, 0);
  }

  fs::path root_;
  std::shared_ptr<index::Store> store_;
  std::shared_ptr<index::IndexReader> reader_;
  std::unique_ptr<Searcher> searcher_;
  std::vector<Version> versions_;
  std::vector<std::string> vocabulary_;
};

index::IndexOptions WeightedOptions() {
  index::IndexOptions options;
  options.fields.text_fields = {{"title", 2}, {"abstract", 0.5}};
  return options;
}

// Exact norms, no contents field: text, title^3 and abstract^abstract_weight.
index::IndexOptions FieldsOnlyExactOptions(double abstract_weight) {
  index::IndexOptions options;
  options.length_norm = index::LengthNorm::kExact;
  options.fields.contents_weight = 0;
  options.fields.text_fields = {{"text", 1}, {"title", 3}, {"abstract", abstract_weight}};
  return options;
}

TEST_F(TextFieldsTest, RandomQueriesMatchTheOracle) {
  ASSERT_TRUE(OpenStore(WeightedOptions()).ok());
  BuildRandom(/*seed=*/11, /*docs=*/400, /*segments=*/4);
  Reopen();
  ASSERT_EQ(reader_->segments().size(), 4u);
  CheckQueries(/*seed=*/5, /*merged=*/false);
  ForceMerge();
  Reopen();
  ASSERT_EQ(reader_->segments().size(), 1u);
  CheckQueries(/*seed=*/6, /*merged=*/true);
}

TEST_F(TextFieldsTest, RandomQueriesWithoutContentsExactNorms) {
  ASSERT_TRUE(OpenStore(FieldsOnlyExactOptions(/*abstract_weight=*/1)).ok());
  BuildRandom(/*seed=*/12, /*docs=*/300, /*segments=*/3);
  Reopen();
  CheckQueries(/*seed=*/7, /*merged=*/false);
  ForceMerge();
  Reopen();
  CheckQueries(/*seed=*/8, /*merged=*/true);
}

// Plain queries on an index with text fields prune as contents-only ones
// do (WAND, block-max WAND, MaxScore: searcher.h), to the same hits and
// score bits as the exhaustive evaluation the oracle tests check.
TEST_F(TextFieldsTest, PrunedPlainSearchesEqualExhaustive) {
  ASSERT_TRUE(OpenStore(WeightedOptions()).ok());
  BuildRandom(/*seed=*/21, /*docs=*/4000, /*segments=*/3);
  Reopen();
  CheckPruned(/*seed=*/31, /*queries=*/90);
  ForceMerge();
  Reopen();
  CheckPruned(/*seed=*/32, /*queries=*/90);
}

TEST_F(TextFieldsTest, PrunedPlainSearchesWithoutContentsExactNorms) {
  ASSERT_TRUE(OpenStore(FieldsOnlyExactOptions(/*abstract_weight=*/0.25)).ok());
  BuildRandom(/*seed=*/22, /*docs=*/3000, /*segments=*/2);
  Reopen();
  CheckPruned(/*seed=*/33, /*queries=*/90);
}

TEST_F(TextFieldsTest, PhrasesOnAFieldMatchItsText) {
  ASSERT_TRUE(OpenStore(WeightedOptions()).ok());
  BuildRandom(/*seed=*/13, /*docs=*/300, /*segments=*/3);
  Reopen();
  Result<std::unique_ptr<index::Analyzer>> analyzer =
      index::Analyzer::Create(store_->options().analyzer);
  ASSERT_TRUE(analyzer.ok());
  SearchParams params;
  params.k = 1000;
  params.syntax = QuerySyntax::kLucene;
  size_t nonempty = 0;
  // Adjacent pairs of each field's tokens: those of a document's first
  // text field hit.
  for (size_t f : {0u, 1u, 2u}) {
    for (int q = 0; q < 20; ++q) {
      const std::string a = vocabulary_[q % 8], b = vocabulary_[(q * 7 + 1) % 8];
      std::vector<std::string> ta, tb;
      (*analyzer)->Analyze(a, &ta);
      (*analyzer)->Analyze(b, &tb);
      std::set<std::string> want;
      for (const Version& v : versions_) {
        if (!v.live) continue;
        const FieldData& field = v.fields[f];
        for (size_t i = 0; i + 1 < field.tokens.size(); ++i) {
          if (field.tokens[i] == ta[0] && field.tokens[i + 1] == tb[0] &&
              field.positions[i + 1] == field.positions[i] + 1) {
            want.insert(v.id);
          }
        }
      }
      const std::string name = f == 0 ? "contents" : f == 1 ? "title" : "abstract";
      const std::string query = name + ":\"" + a + " " + b + "\"";
      Result<TopDocs> got = searcher_->Search(query, params);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      std::set<std::string> ids;
      for (const auto& [id, score] : Hits(*got)) ids.insert(id);
      EXPECT_EQ(ids, want) << query;
      nonempty += !want.empty();
    }
  }
  EXPECT_GT(nonempty, 5u);  // the check saw phrases
}

TEST_F(TextFieldsTest, StoredAndReturnedAcrossReopen) {
  ASSERT_TRUE(OpenStore(WeightedOptions()).ok());
  {
    Result<std::unique_ptr<index::IndexWriter>> writer =
        index::IndexWriter::Open(store_, index::WriterOptions());
    ASSERT_TRUE(writer.ok());
    index::Document only_abstract{.id = "a", .title = "", .text = ""};
    only_abstract.texts = {{"abstract", "Rockets to the moon"}};
    ASSERT_TRUE((*writer)->Add(only_abstract).ok());
    index::Document both{.id = "b", .title = "Moon", .text = "Craters"};
    ASSERT_TRUE((*writer)->Add(both).ok());
    ASSERT_TRUE((*writer)->Commit().ok());
  }
  store_.reset();
  ASSERT_TRUE(OpenStore({}).ok());  // existing index: its own schema
  ASSERT_EQ(store_->options().fields, WeightedOptions().fields);
  Reopen();
  Result<TopDocs> got = searcher_->Search("moon", SearchParams());
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->hits.size(), 2u);
  Result<index::Document> a = reader_->ReadDocument(*reader_->Lookup("a").value());
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->texts.size(), 1u);
  EXPECT_EQ(a->texts[0].first, "abstract");
  EXPECT_EQ(a->texts[0].second, "Rockets to the moon");
  Result<index::Document> b = reader_->ReadDocument(*reader_->Lookup("b").value());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->texts.empty());
  EXPECT_EQ(b->title, "Moon");
  // Per-field statistics: the abstract is in one live document.
  ASSERT_EQ(reader_->stats().text_fields.size(), 2u);
  EXPECT_EQ(reader_->stats().text_fields[0].docs_with_terms, 1u);  // title
  EXPECT_EQ(reader_->stats().text_fields[1].docs_with_terms, 1u);  // abstract
  EXPECT_EQ(reader_->stats().text_fields[1].sum_lengths, 2u);      // rocket moon
  EXPECT_EQ(reader_->stats().docs_with_terms, 1u);                 // contents: b
}

TEST_F(TextFieldsTest, BadDocumentsAreRefusedAndNothingIsIndexed) {
  ASSERT_TRUE(OpenStore(WeightedOptions()).ok());
  Result<std::unique_ptr<index::IndexWriter>> writer =
      index::IndexWriter::Open(store_, index::WriterOptions());
  ASSERT_TRUE(writer.ok());
  index::Document doc{.id = "x", .title = "t", .text = ""};
  doc.texts = {{"title", "again"}};
  Status s = (*writer)->Add(doc);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("field \"title\""), std::string::npos) << s.message();
  doc.texts = {{"summary", "x"}};
  s = (*writer)->Add(doc);
  EXPECT_NE(s.message().find("no text field of that name"), std::string::npos) << s.message();
  doc.texts = {{"abstract", "x"}, {"abstract", "y"}};
  s = (*writer)->Add(doc);
  EXPECT_NE(s.message().find("given twice"), std::string::npos) << s.message();
  index::Document empty{.id = "y", .title = "", .text = ""};
  s = (*writer)->Add(empty);
  EXPECT_NE(s.message().find("no title, text or text field"), std::string::npos)
      << s.message();
  EXPECT_EQ((*writer)->buffered_documents(), 0u);

  // JSON records: the field must be a string; null or absent is none.
  index::DocumentJsonParser parser;
  parser.SetFields(store_->options().fields);
  index::Document parsed;
  std::string problem;
  EXPECT_FALSE(parser.Parse(R"({"id":"1","title":"a","abstract":5})", &parsed, &problem));
  EXPECT_EQ(problem, "field \"abstract\": expected a string, got number");
  ASSERT_TRUE(parser.Parse(R"({"id":"1","abstract":"only this","other":1})", &parsed,
                           &problem))
      << problem;
  ASSERT_EQ(parsed.texts.size(), 1u);
  EXPECT_EQ(parsed.texts[0].second, "only this");
  EXPECT_EQ(parsed.extra, R"({"other":1})");
  EXPECT_FALSE(parser.Parse(R"({"id":"1","abstract":null})", &parsed, &problem));
  EXPECT_EQ(problem, "empty document: no title, text or text field");
}

TEST(TextFieldSchemaTest, OptionsRoundTrip) {
  index::IndexOptions options = WeightedOptions();
  options.fields.contents_weight = 0.25;
  const std::string text = index::SerializeIndexOptions(options);
  EXPECT_NE(text.find("text_field=title^2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("text_field=abstract^0.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("contents_weight=0.25\n"), std::string::npos) << text;
  Result<index::IndexOptions> parsed = index::ParseIndexOptions(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->fields, options.fields);
  // An index without text fields keeps its exact options text.
  EXPECT_EQ(index::SerializeIndexOptions(index::IndexOptions()).find("text_field"),
            std::string::npos);
  EXPECT_EQ(index::SerializeIndexOptions(index::IndexOptions()).find("contents_weight"),
            std::string::npos);
}

TEST(TextFieldSchemaTest, SpecsAndValidation) {
  Result<index::TextField> f = index::ParseTextField("title^2.5");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->name, "title");
  EXPECT_EQ(f->weight, 2.5);
  EXPECT_EQ(index::FormatTextField(*f), "title^2.5");
  EXPECT_EQ(index::FormatTextField({"abstract", 1}), "abstract");
  EXPECT_EQ(index::FormatTextField({"a", 0.1}), "a^0.1");
  EXPECT_TRUE(index::ParseTextField("title^x").status().IsInvalidArgument());
  EXPECT_TRUE(index::ParseTextField("title^").status().IsInvalidArgument());
  EXPECT_TRUE(index::ParseTextField("title^inf").status().IsInvalidArgument());

  const auto bad = [](index::FieldSchema schema, const std::string& expect) {
    Status s = index::ValidateFieldSchema(schema);
    EXPECT_TRUE(s.IsInvalidArgument()) << expect;
    EXPECT_NE(s.message().find(expect), std::string::npos) << s.message();
  };
  // A schema of these text fields (and keyword fields, contents' weight).
  const auto texts = [](std::vector<index::TextField> fields, double contents_weight = 1,
                        std::vector<std::string> keywords = {}) {
    index::FieldSchema schema;
    schema.text_fields = std::move(fields);
    schema.contents_weight = contents_weight;
    schema.keyword_fields = std::move(keywords);
    return schema;
  };
  bad(texts({{"contents", 1}}), "reserved");
  bad(texts({{"id", 1}}), "reserved");
  bad(texts({{"x y", 1}}), "a name is letters");
  bad(texts({{"a", 1}, {"a", 2}}), "declared twice");
  bad(texts({{"tags", 1}}, 1, {"tags"}), "declared twice");
  bad(texts({{"a", -1}}), "weight must be in");
  bad(texts({{"a", 1e9}}), "weight must be in");
  bad(texts({{"a", 0}}, 0), "would search nothing");
  index::FieldSchema many;
  for (size_t i = 0; i <= index::kMaxTextFields; ++i) {
    many.text_fields.push_back({"f" + std::to_string(i), 1});
  }
  bad(many, "text fields");
  EXPECT_TRUE(index::ValidateFieldSchema(texts({{"title", 2}, {"text", 1}})).ok());
  // A keyword field may not be called title (text fields may).
  bad(texts({}, 1, {"title"}), "reserved");
}

}  // namespace
}  // namespace cascade::query
