// Tests of query/lucene_search.h: Lucene-syntax queries run by the searcher.
//
// Oracle: random corpora written through the real IndexWriter into RocksDB
// (several segments, deletes, replacements, stop words, empty documents),
// and random parsed queries (terms, +/-, AND/OR/NOT, nested groups, boosts,
// field aliases, prefixes, *:*, multi-token terms, stop words, unknown
// words; and on an index with keyword and numeric fields, exact values,
// value prefixes and ranges of every bracket kind as filters) scored by a
// brute-force scorer written here from the documents' own analysis and
// values: document at a time, straight from the semantics in
// lucene_search.h. The filter corpus is checked again after a full merge,
// and after deletes and replacements on the merged index. Hits, their order and their scores must be identical
// (the oracle sums in the same order, so bit for bit), and total_hits too.
//
// Hand-written: an eight-document corpus where each query's answer is
// written next to it, and the documented errors.
#include "query/lucene_search.h"
#include "query/phrase_match.h"
#include "tests/query/phrase_oracle.h"

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
#include <vector>

#include "index/index_reader.h"
#include "index/index_writer.h"
#include "index/store.h"
#include "query/query_parser.h"
#include "query/searcher.h"

namespace cascade::query {
namespace {

namespace fs = std::filesystem;

// One step of building a corpus.
struct Op {
  enum class Kind { kAdd, kDelete, kFlush };
  Kind kind = Kind::kAdd;
  index::Document doc;  // kAdd: the document; kDelete: doc.id
};

// The index as the oracle sees it: every version ever added (deleted ones
// too: their postings still count in df), analysed here.
struct Version {
  std::string id;
  std::map<std::string, uint32_t> tf;
  // Each term's positions: the title's, then the text's after them (as the
  // writer numbers them).
  std::map<std::string, std::vector<uint32_t>> positions;
  uint32_t length = 0;
  bool live = false;
  // Keyword and numeric values by field name.
  std::map<std::string, std::vector<std::string>> keywords;
  std::map<std::string, std::vector<double>> numbers;
  bool gap = false;  // an id no segment holds (freed by a merge)
};

class Oracle {
 public:
  // `versions` in internal doc id order.
  Oracle(std::vector<Version> versions, const index::IndexOptions& options)
      : versions_(std::move(versions)), options_(options) {
    analyzer_ = std::move(*index::Analyzer::Create(options.analyzer));
    normalizer_ = std::move(
        *index::Analyzer::Create(LuceneNormalizerOptions(options.analyzer)));
    for (const Version& v : versions_) {
      for (const auto& [term, tf] : v.tf) ++df_[term];
      if (v.live && v.length > 0) {
        ++stats_.docs_with_terms;
        stats_.sum_lengths += v.length;
      }
    }
  }

  const index::CollectionStats& stats() const { return stats_; }

  // Every live match, best first, ties by doc id.
  std::vector<ScoredDoc> Search(const QueryNode& query,
                                const Bm25Params& bm25) {
    scorer_.emplace(bm25, stats_, options_.length_norm);
    tokens_.clear();  // keyed by node address: this tree's only
    std::vector<ScoredDoc> hits;
    for (uint32_t doc = 0; doc < versions_.size(); ++doc) {
      if (!versions_[doc].live) continue;
      const std::optional<Scored> s = Eval(query, 1.0, versions_[doc]);
      if (s && s->match) hits.push_back({doc, s->score});
    }
    std::sort(hits.begin(), hits.end(),
              [](const ScoredDoc& a, const ScoredDoc& b) {
                if (a.score != b.score) return a.score > b.score;
                return a.doc < b.doc;
              });
    return hits;
  }

 private:
  struct Scored {
    bool match = false;
    float score = 0;
  };

  const std::vector<std::string>& Tokens(const QueryNode& node,
                                         index::Analyzer& a) {
    auto [it, added] = tokens_.try_emplace(&node);
    if (added) a.Analyze(node.text, &it->second);
    return it->second;
  }

  float TermScore(const std::string& term, double boost, const Version& v) {
    const uint64_t df = df_[term];
    const uint64_t n = std::max(stats_.docs_with_terms, df);
    const auto weight =
        static_cast<float>(boost * static_cast<double>(Bm25Idf(df, n)));
    return Bm25Scorer::Score(weight, v.tf.at(term),
                             scorer_->LengthFactor(v.length));
  }

  bool IsTextLeaf(const QueryNode& node) const {
    return options_.fields.KeywordOrdinal(node.field) < 0 &&
           options_.fields.NumericOrdinal(node.field) < 0;
  }

  // A keyword or numeric leaf: matches score the boost.
  Scored EvalField(const QueryNode& node, double boost, const Version& v) {
    bool match = false;
    if (options_.fields.KeywordOrdinal(node.field) >= 0) {
      auto it = v.keywords.find(node.field);
      if (it != v.keywords.end()) {
        for (const std::string& value : it->second) {
          match |= node.kind == QueryKind::kPrefix ? value.starts_with(node.text)
                                                   : value == node.text;
        }
      }
    } else {
      auto it = v.numbers.find(node.field);
      if (it != v.numbers.end()) {
        for (double x : it->second) {
          if (node.kind == QueryKind::kRange) {
            const bool above = node.lower.open || x > *node.lower.number ||
                               (node.lower.inclusive && x == *node.lower.number);
            const bool below = node.upper.open || x < *node.upper.number ||
                               (node.upper.inclusive && x == *node.upper.number);
            match |= above && below;
          } else {
            match |= x == std::stod(node.text);
          }
        }
      }
    }
    return Scored{match, match ? static_cast<float>(boost) : 0.0f};
  }

  // nullopt: the clause is dropped (nothing left after analysis).
  std::optional<Scored> Eval(const QueryNode& node, double boost,
                             const Version& v) {
    boost *= node.boost;
    if (node.kind != QueryKind::kBoolean && node.kind != QueryKind::kMatchAll &&
        !IsTextLeaf(node)) {
      return EvalField(node, boost, v);
    }
    switch (node.kind) {
      case QueryKind::kMatchAll:
        return Scored{true, static_cast<float>(boost)};
      case QueryKind::kTerm: {
        const std::vector<std::string>& tokens = Tokens(node, *analyzer_);
        if (tokens.empty()) return std::nullopt;
        if (tokens.size() == 1) {
          if (!v.tf.count(tokens[0])) return Scored{};
          return Scored{true, TermScore(tokens[0], boost, v)};
        }
        // SHOULD over the distinct tokens, in order; a repeated token adds
        // its boost to the first one's.
        std::vector<std::pair<std::string, double>> merged;
        for (const std::string& t : tokens) {
          auto it = std::find_if(merged.begin(), merged.end(),
                                 [&](const auto& m) { return m.first == t; });
          if (it == merged.end()) {
            merged.emplace_back(t, boost);
          } else {
            it->second += boost;
          }
        }
        Scored group;
        for (const auto& [t, b] : merged) {
          if (!v.tf.count(t)) continue;
          group.match = true;
          group.score += TermScore(t, b, v);
        }
        return group;
      }
      case QueryKind::kPrefix: {
        const std::vector<std::string>& tokens = Tokens(node, *normalizer_);
        if (tokens.empty()) return std::nullopt;
        EXPECT_EQ(tokens.size(), 1u) << node.text;
        for (const auto& [term, tf] : v.tf) {
          if (term.starts_with(tokens[0]))
            return Scored{true, static_cast<float>(boost)};
        }
        return Scored{};
      }
      case QueryKind::kBoolean: {
        bool positive = false, must = false, must_ok = true, should_ok = false,
             excluded = false;
        float score = 0.0f;
        // Single-token terms repeated with the same occur (not MUST_NOT)
        // are one clause with the summed boost, at the first one's place.
        struct Clause {
          Occur occur;
          const QueryNode* node;  // null: a merged term
          std::string token;
          double boost = 0;
        };
        std::vector<Clause> clauses;
        for (const QueryClause& c : node.clauses) {
          const QueryNode& q = *c.query;
          if (q.kind == QueryKind::kTerm && c.occur != Occur::kMustNot &&
              IsTextLeaf(q)) {
            const std::vector<std::string>& tokens = Tokens(q, *analyzer_);
            if (tokens.size() == 1) {
              auto it = std::find_if(
                  clauses.begin(), clauses.end(), [&](const Clause& m) {
                    return m.node == nullptr && m.occur == c.occur &&
                           m.token == tokens[0];
                  });
              if (it == clauses.end()) {
                clauses.push_back(
                    {c.occur, nullptr, tokens[0], boost * q.boost});
              } else {
                it->boost += boost * q.boost;
              }
              continue;
            }
          }
          clauses.push_back({c.occur, &q, {}, 0});
        }
        for (const Clause& c : clauses) {
          std::optional<Scored> s;
          if (c.node != nullptr) {
            s = Eval(*c.node, boost, v);
          } else if (v.tf.count(c.token)) {
            s = Scored{true, TermScore(c.token, c.boost, v)};
          } else {
            s = Scored{};
          }
          if (!s) continue;
          if (c.occur == Occur::kMustNot) {
            excluded |= s->match;
            continue;
          }
          positive = true;
          if (c.occur == Occur::kMust) {
            must = true;
            must_ok &= s->match;
          } else {
            should_ok |= s->match;
          }
          if (s->match) score += s->score;
        }
        const bool match =
            positive && !excluded && must_ok && (must || should_ok);
        return Scored{match, match ? score : 0.0f};
      }
      case QueryKind::kPhrase:
        return EvalPhrase(node, boost, v);
      case QueryKind::kRange:
        ADD_FAILURE() << "unsupported node reached the oracle";
        return std::nullopt;
    }
    return std::nullopt;
  }

  // A phrase by brute force: does some choice of one occurrence per word
  // (distinct occurrences for a repeated word) span at most `slop` phrase
  // positions; exact phrases are counted start by start. The sloppy
  // frequency (the score's tf) is phrase_match's, tested on its own.
  std::optional<Scored> EvalPhrase(const QueryNode& node, double boost,
                                   const Version& v) {
    std::vector<std::string> tokens;
    std::vector<uint32_t> at;
    analyzer_->Analyze(node.text, &tokens, &at);
    if (tokens.empty()) return std::nullopt;
    if (tokens.size() == 1) {
      if (!v.tf.count(tokens[0])) return Scored{};
      return Scored{true, TermScore(tokens[0], boost, v)};
    }
    double idf_sum = 0;
    for (const std::string& t : tokens) {
      const uint64_t df = df_[t];
      idf_sum += Bm25Idf(df, std::max(stats_.docs_with_terms, df));
    }
    for (const std::string& t : tokens) {
      if (!v.tf.count(t)) return Scored{};
    }
    std::vector<const std::vector<uint32_t>*> lists;
    for (const std::string& t : tokens) lists.push_back(&v.positions.at(t));
    float freq = 0;
    if (node.slop == 0) {
      for (uint32_t p0 : *lists[0]) {
        bool all = true;
        for (size_t i = 1; i < tokens.size() && all; ++i) {
          const uint32_t want = p0 + (at[i] - at[0]);
          all = std::binary_search(lists[i]->begin(), lists[i]->end(), want);
        }
        freq += all ? 1.0f : 0.0f;
      }
    } else {
      std::vector<uint32_t> ids, offsets;
      for (size_t i = 0; i < tokens.size(); ++i) {
        ids.push_back(static_cast<uint32_t>(
            std::find(tokens.begin(), tokens.end(), tokens[i]) - tokens.begin()));
        offsets.push_back(at[i] - at[0]);
      }
      const bool found = PhraseWithinSlop(lists, offsets, ids, node.slop);
      if (found) {
        std::vector<PhraseTerm> terms;
        for (size_t i = 0; i < tokens.size(); ++i) {
          terms.push_back({*lists[i], offsets[i], ids[i]});
        }
        freq = PhraseFrequency(terms, node.slop);
        EXPECT_GT(freq, 0.0f) << "phrase_match missed a match of " << node.text;
      }
    }
    if (freq <= 0) return Scored{};
    const auto weight = static_cast<float>(boost * idf_sum);
    return Scored{true,
                  weight * (freq / (freq + scorer_->LengthFactor(v.length)))};
  }

  std::vector<Version> versions_;
  index::IndexOptions options_;
  std::map<std::string, uint64_t> df_;
  index::CollectionStats stats_;
  std::optional<Bm25Scorer> scorer_;
  std::unique_ptr<index::Analyzer> analyzer_, normalizer_;
  std::map<const QueryNode*, std::vector<std::string>> tokens_;
};

// ---------------------------------------------------------------------------
// Random corpora and queries against the oracle.

// Pseudo-words from syllables, so that prefixes are shared.
std::vector<std::string> Vocabulary(size_t n, std::mt19937& rng) {
  static const char* kSyllables[] = {"ka", "ko", "ri", "ra", "mu", "te",
                                     "so", "lo", "pi", "na", "ve", "du"};
  std::set<std::string> seen;
  std::vector<std::string> words;
  std::uniform_int_distribution<int> syl(0, 11), len(2, 3);
  while (words.size() < n) {
    std::string w;
    for (int i = len(rng); i > 0; --i) w += kSyllables[syl(rng)];
    if (seen.insert(w).second) words.push_back(w);
  }
  return words;
}

struct RandomCorpus {
  std::vector<std::string> vocab;
  std::vector<Op> ops;
};

// The schema of the filter corpora: tags and cat are keyword fields, year
// and price numeric.
index::IndexOptions FieldOptions() {
  index::IndexOptions options;
  options.fields.keyword_fields = {"tags", "cat"};
  options.fields.numeric_fields = {"year", "price"};
  return options;
}

// Random values for a document of a filter corpus: some fields absent,
// some with several values (repeats included).
void AddRandomFields(index::Document* doc, std::mt19937& rng) {
  const auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  static const char* kTags[] = {"red", "Red", "green", "dark red", "re", "blue", "b-l"};
  std::vector<std::string> tags;
  for (int i = pick(4); i > 0; --i) tags.push_back(kTags[pick(7)]);
  if (!tags.empty()) doc->keywords.emplace_back("tags", std::move(tags));
  if (pick(3) != 0) doc->keywords.push_back({"cat", {"c" + std::to_string(pick(4))}});
  std::vector<double> years;
  for (int i = pick(3); i > 0; --i) {
    years.push_back(pick(10) == 0 ? 1980.5 + pick(20) : 1980 + pick(20));
  }
  if (!years.empty()) doc->numbers.emplace_back("year", std::move(years));
  if (pick(2) == 0) doc->numbers.push_back({"price", {pick(8) == 0 ? -0.0 : pick(200) / 4.0 - 10}});
}

RandomCorpus MakeCorpus(uint32_t seed, uint32_t docs, uint32_t segments,
                        bool fields = false) {
  std::mt19937 rng(seed);
  RandomCorpus c;
  c.vocab = Vocabulary(300, rng);
  std::vector<double> weights;
  for (size_t i = 0; i < c.vocab.size(); ++i) weights.push_back(1.0 / (i + 1));
  std::discrete_distribution<size_t> zipf(weights.begin(), weights.end());
  const auto words = [&](int lo, int hi) {
    std::string t;
    for (int i = std::uniform_int_distribution<int>(lo, hi)(rng); i > 0; --i) {
      const int r = std::uniform_int_distribution<int>(0, 19)(rng);
      t += r == 0 ? "the" : r == 1 ? "And" : c.vocab[zipf(rng)];
      t += r == 2 ? ", " : " ";
    }
    return t;
  };
  const auto doc = [&](uint32_t d) {
    Op op;
    op.doc.id = "d" + std::to_string(d);
    op.doc.title = words(0, 3);
    op.doc.text = words(0, 40);
    if (op.doc.title.empty() && op.doc.text.empty())
      op.doc.text = "the";  // no terms
    if (fields) AddRandomFields(&op.doc, rng);
    return op;
  };
  const uint32_t per_segment = (docs + segments - 1) / segments;
  for (uint32_t d = 0; d < docs; ++d) {
    c.ops.push_back(doc(d));
    if ((d + 1) % per_segment == 0) c.ops.push_back({Op::Kind::kFlush, {}});
  }
  c.ops.push_back({Op::Kind::kFlush, {}});
  std::uniform_int_distribution<uint32_t> any(0, docs - 1);
  for (uint32_t i = 0; i < docs / 8; ++i) {
    Op del{Op::Kind::kDelete, {}};
    del.doc.id = "d" + std::to_string(any(rng));
    c.ops.push_back(del);
  }
  for (uint32_t i = 0; i < docs / 10; ++i) c.ops.push_back(doc(any(rng)));
  return c;
}

class QueryGenerator {
 public:
  // `texts`: document texts to cut phrases from (so that some match).
  QueryGenerator(const std::vector<std::string>& vocab, uint32_t seed,
                 std::vector<std::string> texts = {}, bool fields = false)
      : vocab_(vocab), texts_(std::move(texts)), rng_(seed), fields_(fields) {}

  std::string Query() { return Clauses(0); }

 private:
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  const std::string& Word() {
    // Mostly the frequent words, so that queries match.
    return vocab_[Pick(4) == 0 ? Pick(static_cast<int>(vocab_.size()))
                               : Pick(20)];
  }

  std::string Boost() {
    static const char* kBoosts[] = {"^2", "^0.5", "^3", "^1.5", "^0", "^0.25"};
    return Pick(5) == 0 ? kBoosts[Pick(6)] : "";
  }

  // A phrase: 2 to 4 consecutive words of a document's text (so it often
  // matches), or of frequent words; sometimes with a slop.
  std::string Phrase() {
    std::vector<std::string> words;
    if (!texts_.empty() && Pick(3) != 0) {
      std::string word;
      for (char ch : texts_[Pick(static_cast<int>(texts_.size()))]) {
        if (ch == ' ' || ch == ',') {
          if (!word.empty()) words.push_back(word);
          word.clear();
        } else {
          word += ch;
        }
      }
      if (!word.empty()) words.push_back(word);
    }
    const int n = 2 + Pick(3);
    std::string text;
    if (static_cast<int>(words.size()) >= n) {
      const int start = Pick(static_cast<int>(words.size()) - n + 1);
      for (int i = 0; i < n; ++i) text += (i ? " " : "") + words[start + i];
    } else {
      for (int i = 0; i < n; ++i) text += (i ? " " : "") + Word();
    }
    std::string out = "\"" + text + "\"";
    if (Pick(3) == 0) out += "~" + std::to_string(Pick(4));
    return out;
  }

  // A filter on the FieldOptions() fields.
  std::string FieldLeaf() {
    static const char* kKeyword[] = {"tags:red",  "tags:Red",    "tags:\"dark red\"",
                                     "tags:re",   "tags:re*",    "tags:r*",
                                     "tags:b-l",  "tags:purple", "cat:c1",
                                     "cat:c*",    "cat:\"c2\""};
    if (Pick(2) == 0) return kKeyword[Pick(11)];
    const bool year = Pick(3) != 0;
    const std::string field = year ? "year:" : "price:";
    const auto value = [&] {
      if (Pick(5) == 0) return std::string("*");
      return year ? std::to_string(1980 + Pick(20)) + (Pick(6) == 0 ? ".5" : "")
                  : std::to_string(Pick(60) - 12) + (Pick(3) == 0 ? ".25" : "");
    };
    if (Pick(5) == 0) {  // one value
      std::string v = value();
      return field + (v == "*" ? (year ? "1990" : "-0") : v);
    }
    std::string lo = value(), hi = value();
    if (lo != "*" && hi != "*" && Pick(4) != 0 && std::stod(lo) > std::stod(hi)) {
      std::swap(lo, hi);
    }
    return field + (Pick(2) ? "[" : "{") + lo + " TO " + hi + (Pick(2) ? "]" : "}");
  }

  std::string Leaf() {
    if (fields_ && Pick(3) == 0) return FieldLeaf() + Boost();
    const int r = Pick(100);
    if (r < 5) return "*:*" + Boost();
    if (r < 20 && Pick(2) == 0) return Phrase() + Boost();
    std::string field;
    if (Pick(7) == 0)
      field = std::vector<std::string>{"title:", "text:", "contents:"}[Pick(3)];
    std::string text;
    if (r < 55) {
      text = Word();
    } else if (r < 62) {
      text = "qq" + std::to_string(Pick(5));  // in no document
    } else if (r < 68) {
      text = Pick(2) ? "the" : "and";  // stop words: dropped
    } else if (r < 76) {
      text = Word() + "-" + Word();  // two tokens: a SHOULD group
    } else if (r < 82) {
      text = Word();
      for (char& ch : text) ch = static_cast<char>(std::toupper(ch));
    } else {
      const std::string& w = Word();
      text =
          w.substr(0, 1 + Pick(std::min<int>(4, static_cast<int>(w.size())))) +
          "*";
    }
    return field + text + Boost();
  }

  std::string Clause(int depth) {
    std::string out;
    const int m = Pick(20);
    if (m < 4)
      out = "+";
    else if (m < 7)
      out = "-";
    else if (m < 8)
      out = "NOT ";
    if (depth < 3 && Pick(4) == 0)
      return out + "(" + Clauses(depth + 1) + ")" + Boost();
    return out + Leaf();
  }

  std::string Clauses(int depth) {
    std::string out = Clause(depth);
    for (int i = Pick(4); i > 0; --i) {
      const int op = Pick(6);
      out += op == 0 ? " AND " : op == 1 ? " OR " : " ";
      out += Clause(depth);
    }
    return out;
  }

  const std::vector<std::string>& vocab_;
  std::vector<std::string> texts_;
  std::mt19937 rng_;
  bool fields_ = false;
};

class LuceneSearchTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("lucene_search_test_" + std::to_string(getpid()) + "_" +
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

  // Writes `ops` into a fresh index (English analysis: stop words, Porter)
  // and records every version for the oracle.
  void Build(const std::vector<Op>& ops, const std::string& name,
             index::LengthNorm norm = index::LengthNorm::kLucene,
             index::IndexOptions create = {}) {
    searcher_.reset();
    reader_.reset();
    index::StoreOptions options;
    options.create_if_missing = true;
    options.create_options = create;
    options.create_options.length_norm = norm;
    options.block_cache_mb = 8;
    store_.reset();
    Result<std::shared_ptr<index::Store>> store =
        index::Store::Open((root_ / name).string(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = *store;
    Result<std::unique_ptr<index::Analyzer>> analyzer =
        index::Analyzer::Create((*store)->options().analyzer);
    ASSERT_TRUE(analyzer.ok());
    versions_.clear();
    std::map<std::string, uint32_t> latest;  // external id -> version
    {
      Result<std::unique_ptr<index::IndexWriter>> writer =
          index::IndexWriter::Open(*store, index::WriterOptions());
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      for (const Op& op : ops) {
        switch (op.kind) {
          case Op::Kind::kFlush:
            ASSERT_TRUE((*writer)->Flush().ok());
            break;
          case Op::Kind::kDelete:
            if ((*writer)->Delete(op.doc.id).ok()) {
              versions_[latest.at(op.doc.id)].live = false;
            }
            break;
          case Op::Kind::kAdd: {
            ASSERT_TRUE((*writer)->Add(op.doc).ok());
            Version v;
            v.id = op.doc.id;
            v.live = true;
            std::vector<std::string> terms;
            std::vector<uint32_t> positions;
            (*analyzer)->Analyze(op.doc.title, &terms, &positions);
            const size_t title_terms = terms.size();
            const uint32_t base = positions.empty() ? 0 : positions.back() + 1;
            (*analyzer)->Analyze(op.doc.text, &terms, &positions);
            for (size_t i = 0; i < terms.size(); ++i) {
              ++v.tf[terms[i]];
              v.positions[terms[i]].push_back(positions[i] +
                                              (i >= title_terms ? base : 0));
            }
            v.length = static_cast<uint32_t>(terms.size());
            for (const auto& [field, values] : op.doc.keywords) v.keywords[field] = values;
            for (const auto& [field, values] : op.doc.numbers) v.numbers[field] = values;
            if (auto it = latest.find(op.doc.id); it != latest.end()) {
              versions_[it->second].live = false;
            }
            latest[op.doc.id] = static_cast<uint32_t>(versions_.size());
            versions_.push_back(std::move(v));
            break;
          }
        }
      }
      ASSERT_TRUE((*writer)->Commit().ok());
    }
    OpenSearcher();
  }

  // A reader and searcher over store_ as it is now, checked against
  // versions_ (doc ids and liveness).
  void OpenSearcher() {
    searcher_.reset();
    reader_.reset();
    Result<std::unique_ptr<index::IndexReader>> reader =
        index::IndexReader::Open(store_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::shared_ptr<const index::IndexReader>(std::move(*reader));
    // The oracle's idea of doc ids and liveness is the index's.
    ASSERT_EQ(reader_->doc_id_limit(), versions_.size());
    for (uint32_t d = 0; d < versions_.size(); ++d) {
      if (versions_[d].gap) continue;
      ASSERT_EQ(reader_->IsDeleted(d), !versions_[d].live) << d;
    }
    Result<std::unique_ptr<Searcher>> searcher = Searcher::Create(reader_);
    ASSERT_TRUE(searcher.ok()) << searcher.status().ToString();
    searcher_ = std::move(*searcher);
  }

  Result<TopDocs> Lucene(const std::string& query, size_t k = 100,
                         SearchParams params = {}) {
    params.k = k;
    params.syntax = QuerySyntax::kLucene;
    return searcher_->Search(query, params);
  }

  // The external ids of a Lucene query's hits, best first.
  std::vector<std::string> Find(const std::string& query, size_t k = 100) {
    Result<TopDocs> top = Lucene(query, k);
    EXPECT_TRUE(top.ok()) << query << ": " << top.status().ToString();
    std::vector<std::string> ids;
    if (!top.ok()) return ids;
    for (const ScoredDoc& hit : top->hits) {
      EXPECT_FALSE(reader_->IsDeleted(hit.doc)) << query;
      ids.push_back(versions_[hit.doc].id);
    }
    return ids;
  }

  static void ExpectSameHits(const std::vector<ScoredDoc>& want,
                             const std::vector<ScoredDoc>& got,
                             const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i].doc, want[i].doc) << what << " rank " << i;
      uint32_t a, b;  // bit-identical, not merely close
      std::memcpy(&a, &got[i].score, 4);
      std::memcpy(&b, &want[i].score, 4);
      ASSERT_EQ(a, b) << what << " rank " << i << ": " << got[i].score << " vs "
                      << want[i].score;
    }
  }

  // Random queries against the last Build(); fatal failures stop it.
  void CheckRandomQueries(const RandomCorpus& corpus, uint32_t seed,
                          int queries, bool fields = false) {
    const index::IndexReader& reader = *reader_;
    Searcher& searcher = *searcher_;
    std::vector<std::string> texts;
    for (const Op& op : corpus.ops) {
      if (op.kind == Op::Kind::kAdd) texts.push_back(op.doc.text);
    }
    QueryGenerator gen(corpus.vocab, seed, std::move(texts), fields);
    std::mt19937 rng(seed + 1);
    int parsed = 0, matched = 0, filtered = 0, filtered_matched = 0;
    Oracle oracle(versions_, reader.options());
    ASSERT_EQ(oracle.stats().docs_with_terms, reader.stats().docs_with_terms);
    ASSERT_EQ(oracle.stats().sum_lengths, reader.stats().sum_lengths);
    for (int q = 0; q < queries; ++q) {
      const std::string text = gen.Query();
      Result<std::unique_ptr<QueryNode>> tree = ParseLuceneQuery(text);
      if (!tree.ok()) continue;  // e.g. a purely negative group
      ++parsed;
      SearchParams params;
      params.syntax = QuerySyntax::kLucene;
      params.k = std::vector<size_t>{1, 10, 100, 5000}[q % 4];
      if (q % 3 == 1) {
        params.k1 = std::uniform_real_distribution<double>(0, 3)(rng);
        params.b = std::uniform_real_distribution<double>(0, 1)(rng);
      }
      const Bm25Params bm25{params.k1.value_or(reader.options().k1),
                            params.b.value_or(reader.options().b)};
      std::vector<ScoredDoc> want = oracle.Search(**tree, bm25);
      const std::string what = "seed " + std::to_string(seed) + " query " +
                               std::to_string(q) + " [" + text +
                               "] parsed as " + DebugString(**tree) + " k " +
                               std::to_string(params.k);
      Result<TopDocs> got = searcher.Search(text, params);
      ASSERT_TRUE(got.ok()) << what << ": " << got.status().ToString();
      EXPECT_TRUE(got->total_hits_exact);
      EXPECT_EQ(got->total_hits, want.size()) << what;
      // Match (deletes by query) returns every one of them, in id order.
      Result<std::vector<uint32_t>> all = searcher.Match(text, QuerySyntax::kLucene);
      ASSERT_TRUE(all.ok()) << what << ": " << all.status().ToString();
      std::vector<uint32_t> want_docs;
      for (const ScoredDoc& hit : want) want_docs.push_back(hit.doc);
      std::sort(want_docs.begin(), want_docs.end());
      EXPECT_EQ(*all, want_docs) << what;
      matched += !want.empty();
      if (fields && (text.find("tags:") != std::string::npos ||
                     text.find("cat:") != std::string::npos ||
                     text.find("year:") != std::string::npos ||
                     text.find("price:") != std::string::npos)) {
        ++filtered;
        filtered_matched += !want.empty();
      }
      if (want.size() > params.k) want.resize(params.k);
      ExpectSameHits(want, got->hits, what);
      if (testing::Test::HasFatalFailure()) return;
    }
    // The generator mostly makes valid, matching queries.
    EXPECT_GT(parsed, queries / 2);
    EXPECT_GT(matched, parsed / 2);
    // With fields, many queries hold a filter and most of those match.
    if (fields) {
      EXPECT_GT(filtered, parsed / 3);
      EXPECT_GT(filtered_matched, filtered / 2);
    }
  }

  fs::path root_;
  std::shared_ptr<index::Store> store_;
  std::vector<Version> versions_;
  std::shared_ptr<const index::IndexReader> reader_;
  std::unique_ptr<Searcher> searcher_;
};

TEST_F(LuceneSearchTest, RandomQueriesMatchTheOracle) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const RandomCorpus corpus = MakeCorpus(seed, 1500, 4);
    Build(corpus.ops, "seed" + std::to_string(seed));
    ASSERT_GE(reader_->segments().size(), 4u);
    ASSERT_GT(reader_->stats().deleted_docs, 0u);
    CheckRandomQueries(corpus, seed * 101, 150);
    if (HasFatalFailure()) return;
  }
}

// Keyword and numeric filters mixed into random queries, on a corpus with
// deletes and replacements; then after a full merge (ids compacted,
// deleted documents gone from the keyword and numeric indexes); then after
// deletes and replacements (with other values) on the merged index.
TEST_F(LuceneSearchTest, RandomFilterQueriesMatchTheOracle) {
  for (uint32_t seed : {11u, 12u}) {
    const RandomCorpus corpus = MakeCorpus(seed, 1200, 4, /*fields=*/true);
    Build(corpus.ops, "fields" + std::to_string(seed), index::LengthNorm::kLucene,
          FieldOptions());
    ASSERT_GE(reader_->segments().size(), 4u);
    ASSERT_GT(reader_->stats().deleted_docs, 0u);
    CheckRandomQueries(corpus, seed * 31, 200, /*fields=*/true);
    if (HasFatalFailure()) return;

    // Full merge: the oracle keeps only live versions, in order.
    searcher_.reset();
    reader_.reset();
    {
      auto writer = index::IndexWriter::Open(store_, index::WriterOptions());
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      ASSERT_TRUE((*writer)->ForceMerge(1).ok());
    }
    const size_t next_id = versions_.size();  // merges never reuse ids
    std::erase_if(versions_, [](const Version& v) { return !v.live; });
    OpenSearcher();
    if (HasFatalFailure()) return;
    ASSERT_EQ(reader_->segments().size(), 1u);
    ASSERT_EQ(reader_->stats().deleted_docs, 0u);
    CheckRandomQueries(corpus, seed * 37, 200, /*fields=*/true);
    if (HasFatalFailure()) return;

    // Deletes and replacements with new values after the merge. New
    // documents take ids from next_id on: the ids the merge freed are
    // gaps (no segment holds them).
    const size_t merged = versions_.size();
    versions_.resize(next_id);
    for (size_t d = merged; d < next_id; ++d) versions_[d].gap = true;
    std::mt19937 rng(seed);
    {
      auto writer = index::IndexWriter::Open(store_, index::WriterOptions());
      ASSERT_TRUE(writer.ok()) << writer.status().ToString();
      for (int i = 0; i < 150; ++i) {
        const size_t at = std::uniform_int_distribution<size_t>(0, merged - 1)(rng);
        if (!versions_[at].live) continue;
        if (i % 2 == 0) {
          ASSERT_TRUE((*writer)->Delete(versions_[at].id).ok());
          versions_[at].live = false;
          continue;
        }
        index::Document doc;
        doc.id = versions_[at].id;
        doc.text = corpus.vocab[i % 20];
        AddRandomFields(&doc, rng);
        ASSERT_TRUE((*writer)->Add(doc).ok());
        versions_[at].live = false;
        Version v;
        v.id = doc.id;
        v.live = true;
        v.tf[corpus.vocab[i % 20]] = 1;
        v.positions[corpus.vocab[i % 20]] = {0};
        v.length = 1;
        for (const auto& [field, values] : doc.keywords) v.keywords[field] = values;
        for (const auto& [field, values] : doc.numbers) v.numbers[field] = values;
        versions_.push_back(std::move(v));
      }
      ASSERT_TRUE((*writer)->Commit().ok());
    }
    OpenSearcher();
    if (HasFatalFailure()) return;
    CheckRandomQueries(corpus, seed * 41, 200, /*fields=*/true);
    if (HasFatalFailure()) return;
  }
}

TEST_F(LuceneSearchTest, RandomQueriesExactLengthNorm) {
  const RandomCorpus corpus = MakeCorpus(7, 800, 3);
  Build(corpus.ops, "exact", index::LengthNorm::kExact);
  CheckRandomQueries(corpus, 707, 150);
}

// A few words, no syntax: Lucene mode scores exactly as the plain path.
TEST_F(LuceneSearchTest, BareWordsScoreAsThePlainPath) {
  const RandomCorpus corpus = MakeCorpus(9, 1500, 3);
  Build(corpus.ops, "bare");
  std::mt19937 rng(99);
  for (int q = 0; q < 100; ++q) {
    std::string text;
    for (int i = std::uniform_int_distribution<int>(1, 6)(rng); i > 0; --i) {
      text +=
          corpus.vocab[std::uniform_int_distribution<size_t>(0, 40)(rng)] + " ";
    }
    SearchParams params;
    params.k = 50;
    Result<TopDocs> plain = searcher_->Search(text, params);
    ASSERT_TRUE(plain.ok());
    Result<TopDocs> lucene = Lucene(text, 50);
    ASSERT_TRUE(lucene.ok()) << lucene.status().ToString();
    ExpectSameHits(plain->hits, lucene->hits, text);
    EXPECT_EQ(lucene->total_hits, plain->total_hits) << text;
    // Bare words match the same documents in both syntaxes.
    Result<std::vector<uint32_t>> plain_all = searcher_->Match(text, QuerySyntax::kPlain);
    Result<std::vector<uint32_t>> lucene_all = searcher_->Match(text, QuerySyntax::kLucene);
    ASSERT_TRUE(plain_all.ok() && lucene_all.ok()) << text;
    EXPECT_EQ(*plain_all, *lucene_all) << text;
    EXPECT_EQ(plain_all->size(), lucene->total_hits) << text;
    for (uint32_t doc : *plain_all) EXPECT_FALSE(reader_->IsDeleted(doc)) << text;
    EXPECT_EQ(lucene->terms, plain->terms) << text;
  }
}

// ---------------------------------------------------------------------------
// Hand-written cases. English analysis (stop words, Porter). d8 holds
// rocket, engine and motor but is deleted; d4..d8 are a second segment.
std::vector<Op> Rockets() {
  const std::vector<std::pair<const char*, const char*>> docs = {
      {"Rocket engine", "A liquid rocket engine burns fuel"},         // d1
      {"Solid rocket", "The solid rocket motor is simple"},           // d2
      {"Electric motor", "An electric motor turns a shaft"},          // d3
      {"Steam engine", "The steam engine drove the industrial age"},  // d4
      {"Rocket science", "Orbital mechanics and rocket equations"},   // d5
      {"Bicycle", "Pedals and gears, no engine at all"},              // d6
      {"Model rocket", "A model rocket uses a small solid motor"},    // d7
      {"Rocket engine motor", "deleted before the search"},           // d8
  };
  std::vector<Op> ops;
  for (size_t i = 0; i < docs.size(); ++i) {
    Op op;
    op.doc.id = "d" + std::to_string(i + 1);
    op.doc.title = docs[i].first;
    op.doc.text = docs[i].second;
    ops.push_back(op);
    if (i == 3) ops.push_back({Op::Kind::kFlush, {}});
  }
  ops.push_back({Op::Kind::kFlush, {}});
  Op del{Op::Kind::kDelete, {}};
  del.doc.id = "d8";
  ops.push_back(del);
  return ops;
}

using Ids = std::vector<std::string>;

Ids Sorted(Ids ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_F(LuceneSearchTest, BooleanOperators) {
  Build(Rockets(), "rockets");
  // Both required: the intersection (d8 has both but is deleted).
  EXPECT_EQ(Find("+rocket +engine"), Ids{"d1"});
  EXPECT_EQ(Find("rocket AND engine"), Ids{"d1"});
  EXPECT_EQ(Find("+rocket +engine +motor"), Ids{});
  // Optional: the union, d1 (both words) first.
  const Ids any = Find("rocket engine");
  ASSERT_EQ(any.size(), 6u);
  EXPECT_EQ(any[0], "d1");
  EXPECT_EQ(Sorted(any), (Ids{"d1", "d2", "d4", "d5", "d6", "d7"}));
  // Excluded: rocket documents without "solid".
  EXPECT_EQ(Sorted(Find("rocket -solid")), (Ids{"d1", "d5"}));
  EXPECT_EQ(Sorted(Find("rocket AND NOT solid")), (Ids{"d1", "d5"}));
  // MUST with SHOULD: the SHOULD clause only reorders.
  const Ids must = Find("+motor solid");
  EXPECT_EQ(Sorted(must), (Ids{"d2", "d3", "d7"}));
  EXPECT_EQ(must.back(), "d3");  // the only one without "solid"
  // Nested groups, fields, the CLI example.
  EXPECT_EQ(Find("title:rocket AND (engine OR motor) -solid"), Ids{"d1"});
  EXPECT_EQ(Sorted(Find("(rocket AND solid) OR (steam AND engine)")),
            (Ids{"d2", "d4", "d7"}));
  // Everything but: constant score 1, so doc id order.
  EXPECT_EQ(Find("*:* -rocket"), (Ids{"d3", "d4", "d6"}));
  EXPECT_EQ(Lucene("*:*")->total_hits, 7u);
}

TEST_F(LuceneSearchTest, BoostsReorder) {
  Build(Rockets(), "rockets");
  // engine^3: the engine-only documents come right after d1; rocket^3: the
  // rocket-only ones do.
  const Ids engine = Find("engine^3 rocket");
  ASSERT_EQ(engine.size(), 6u);
  EXPECT_EQ(engine[0], "d1");
  EXPECT_EQ(Sorted(Ids(engine.begin() + 1, engine.begin() + 3)),
            (Ids{"d4", "d6"}));
  const Ids rocket = Find("engine rocket^3");
  ASSERT_EQ(rocket.size(), 6u);
  EXPECT_EQ(rocket[0], "d1");
  EXPECT_EQ(Sorted(Ids(rocket.begin() + 1, rocket.begin() + 4)),
            (Ids{"d2", "d5", "d7"}));
  // A boost scales the score; a group's boost reaches its leaves.
  const TopDocs one = *Lucene("rocket");
  const TopDocs three = *Lucene("rocket^3");
  const TopDocs group = *Lucene("(rocket)^3");
  ASSERT_EQ(one.hits.size(), 4u);
  for (size_t i = 0; i < one.hits.size(); ++i) {
    EXPECT_EQ(three.hits[i].doc, one.hits[i].doc);
    EXPECT_FLOAT_EQ(three.hits[i].score, 3 * one.hits[i].score);
    EXPECT_EQ(group.hits[i].score, three.hits[i].score);
  }
  // Boost 0 still matches, with score 0.
  const TopDocs zero = *Lucene("rocket^0");
  EXPECT_EQ(zero.total_hits, 4u);
  for (const ScoredDoc& hit : zero.hits) EXPECT_EQ(hit.score, 0.0f);
  const TopDocs all = *Lucene("*:*^2");
  EXPECT_EQ(all.hits.size(), 7u);
  for (const ScoredDoc& hit : all.hits) EXPECT_EQ(hit.score, 2.0f);
}

TEST_F(LuceneSearchTest, AnalysisOfTermsAndPrefixes) {
  Build(Rockets(), "rockets");
  const TopDocs rocket = *Lucene("rocket");
  // Case folding, stemming, field aliases: the same term.
  for (const char* q : {"Rocket", "ROCKETS", "title:rocket", "text:rocket",
                        "contents:rocket", "+the +rocket", "the rocket"}) {
    const TopDocs got = *Lucene(q);
    ExpectSameHits(rocket.hits, got.hits, q);
  }
  // A stop word alone, or only beside prohibited clauses, matches nothing.
  EXPECT_EQ(Find("the"), Ids{});
  EXPECT_EQ(Find("(the -rocket)"), Ids{});
  // Several tokens: a SHOULD group of them.
  ExpectSameHits(Lucene("(rocket engine)")->hits, Lucene("rocket-engine")->hits,
                 "rocket-engine");
  // Prefixes: constant score (the boost), so doc id order.
  EXPECT_EQ(Find("roc*"), (Ids{"d1", "d2", "d5", "d7"}));
  EXPECT_EQ(Find("mot*"), (Ids{"d2", "d3", "d7"}));  // never the deleted d8
  const TopDocs prefix = *Lucene("ROC*^2");
  ASSERT_EQ(prefix.hits.size(), 4u);
  for (const ScoredDoc& hit : prefix.hits) EXPECT_EQ(hit.score, 2.0f);
  // Prefixes are not stemmed: "engines" is stored as "engin".
  EXPECT_EQ(Find("engines*"), Ids{});
  EXPECT_EQ(Find("engin*").size(), 3u);
  // The terms of the query, prohibited ones left out.
  EXPECT_EQ(Lucene("rocket engine^2 rocket -solid roc*")->terms,
            (std::vector<std::pair<std::string, uint32_t>>{{"rocket", 2},
                                                           {"engin", 1}}));
}

TEST_F(LuceneSearchTest, Phrases) {
  Build(Rockets(), "rockets");
  // d1 has "rocket engine" in its title and its text; d8 is deleted.
  EXPECT_EQ(Find("\"rocket engine\""), Ids{"d1"});
  EXPECT_EQ(Find("\"engine rocket\""), Ids{});
  EXPECT_EQ(Find("\"solid rocket\""), Ids{"d2"});
  // A stop word keeps its place: "the" stands between steam and engine
  // nowhere, but "drove the industrial" matches d4 whatever the stop word.
  EXPECT_EQ(Find("\"drove a industrial\""), Ids{"d4"});
  EXPECT_EQ(Find("\"drove industrial\""), Ids{});
  // Slop: rocket ... motor four positions apart in d7, adjacent in d2.
  EXPECT_EQ(Find("\"rocket motor\""), Ids{"d2"});
  EXPECT_EQ(Sorted(Find("\"rocket motor\"~4")), (Ids{"d2", "d7"}));
  EXPECT_EQ(Find("\"rocket motor\"~3"), Ids{"d2"});
  // Swapped words need a slop of 2.
  EXPECT_EQ(Find("\"engine rocket\"~2"), Ids{"d1"});
  // Phrases combine with the other clauses; a one-word phrase is a term.
  EXPECT_EQ(Find("+\"rocket engine\" -liquid"), Ids{});
  EXPECT_EQ(Find("\"ROCKETS\""), Find("rocket"));
  // The exact phrase scores above the sloppy one (frequency 1 vs 1/5).
  const TopDocs sloppy = *Lucene("\"rocket motor\"~4");
  ASSERT_EQ(sloppy.hits.size(), 2u);
  EXPECT_EQ(versions_[sloppy.hits[0].doc].id, "d2");
  EXPECT_GT(sloppy.hits[0].score, sloppy.hits[1].score);
  // Rerankers see the phrase's words.
  EXPECT_EQ(Lucene("\"solid rocket\"")->terms,
            (std::vector<std::pair<std::string, uint32_t>>{{"solid", 1},
                                                           {"rocket", 1}}));
}

TEST_F(LuceneSearchTest, PhrasesNeedPositions) {
  index::IndexOptions no_positions;
  no_positions.positions = false;
  Build(Rockets(), "rockets", index::LengthNorm::kLucene, no_positions);
  Result<TopDocs> r = Lucene("rocket \"solid rocket\"");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotSupported()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("without positions"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(Sorted(Find("rocket -solid")), (Ids{"d1", "d5"}));  // the rest runs
}

TEST_F(LuceneSearchTest, Errors) {
  Build(Rockets(), "rockets");
  const auto error = [&](const std::string& query) {
    Result<TopDocs> r = Lucene(query);
    EXPECT_FALSE(r.ok()) << query;
    return r.ok() ? Status::OK() : r.status();
  };
  Status s = error("rocket foo:bar");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("unknown field \"foo\" at column 8"),
            std::string::npos)
      << s.ToString();
  // A field this index lacks, even in a range.
  s = error("year:[1990 TO 2000] rocket");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("unknown field \"year\""), std::string::npos)
      << s.ToString();
  // A range on the text field, even when prohibited.
  s = error("rocket -text:[1 TO 2]");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("ranges run on numeric fields"), std::string::npos)
      << s.ToString();
  s = error("rocket foo:\"a b\"");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = error("rocket AND");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("column"), std::string::npos) << s.ToString();
  s = error("roc-ke*");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("one word"), std::string::npos) << s.ToString();
  EXPECT_TRUE(Lucene("rocket", 0).status().IsInvalidArgument());
  SearchParams params;
  params.b = 2;
  EXPECT_TRUE(Lucene("rocket", 10, params).status().IsInvalidArgument());
  // The plain path reads the same text as words.
  SearchParams plain;
  EXPECT_TRUE(searcher_->Search("rocket foo:bar \"x", plain).ok());
}

// The rockets with values: tags (keyword), year and mass (numeric).
//   d1 tags [liquid, orbital]  year 1957         mass 100
//   d2 tags [solid]            year 1970         mass -2.5
//   d3 tags [Electric]         (no year)         mass 0
//   d4 tags [steam, "old age"] year 1850
//   d5 tags [orbital]          year [1961, 1969]
//   d6 (no tags)               year 1885
//   d7 tags [solid, model]     year 1957.5
//   d8 tags [solid]            year 1957 (deleted)
std::vector<Op> TaggedRockets() {
  std::vector<Op> ops = Rockets();
  const std::vector<std::vector<std::string>> tags = {
      {"liquid", "orbital"}, {"solid"}, {"Electric"}, {"steam", "old age"},
      {"orbital"},           {},        {"solid", "model"}, {"solid"}};
  const std::vector<std::vector<double>> years = {{1957}, {1970},       {},     {1850},
                                                  {1961, 1969}, {1885}, {1957.5}, {1957}};
  const std::vector<std::vector<double>> mass = {{100}, {-2.5}, {0}, {}, {}, {}, {}, {}};
  size_t d = 0;
  for (Op& op : ops) {
    if (op.kind != Op::Kind::kAdd) continue;
    if (!tags[d].empty()) op.doc.keywords.emplace_back("tags", tags[d]);
    if (!years[d].empty()) op.doc.numbers.emplace_back("year", years[d]);
    if (!mass[d].empty()) op.doc.numbers.emplace_back("mass", mass[d]);
    ++d;
  }
  return ops;
}

TEST_F(LuceneSearchTest, KeywordAndNumericFilters) {
  index::IndexOptions options;
  options.fields.keyword_fields = {"tags"};
  options.fields.numeric_fields = {"year", "mass"};
  Build(TaggedRockets(), "tagged", index::LengthNorm::kLucene, options);
  // Exact, case-sensitive, unanalysed values.
  EXPECT_EQ(Sorted(Find("tags:solid")), (Ids{"d2", "d7"}));  // d8 deleted
  EXPECT_EQ(Find("tags:electric"), Ids{});
  EXPECT_EQ(Find("tags:Electric"), Ids{"d3"});
  EXPECT_EQ(Find("tags:\"old age\""), Ids{"d4"});
  EXPECT_EQ(Find("tags:old"), Ids{});
  EXPECT_EQ(Sorted(Find("tags:o*")), (Ids{"d1", "d4", "d5"}));
  // Filters combine with text: a MUST filter keeps the text order.
  EXPECT_EQ(Find("+rocket +tags:solid"), (Ids{"d2", "d7"}));
  EXPECT_EQ(Sorted(Find("rocket -tags:solid")), (Ids{"d1", "d5"}));
  EXPECT_EQ(Sorted(Find("rocket AND NOT tags:solid")), (Ids{"d1", "d5"}));
  EXPECT_EQ(Sorted(Find("tags:solid OR tags:orbital")), (Ids{"d1", "d2", "d5", "d7"}));
  // Constant scores: the boost.
  Result<TopDocs> top = Lucene("tags:orbital^2.5");
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  ASSERT_EQ(top->hits.size(), 2u);
  EXPECT_EQ(top->hits[0].score, 2.5f);
  EXPECT_EQ(top->hits[1].score, 2.5f);
  EXPECT_TRUE(top->terms.empty());  // no text terms for rerankers
  Result<TopDocs> plain = Lucene("+rocket");
  Result<TopDocs> filtered = Lucene("+rocket +tags:solid^0");
  ASSERT_TRUE(plain.ok() && filtered.ok());
  for (const ScoredDoc& hit : filtered->hits) {
    const auto same = std::find_if(plain->hits.begin(), plain->hits.end(),
                                   [&](const ScoredDoc& h) { return h.doc == hit.doc; });
    ASSERT_NE(same, plain->hits.end());
    EXPECT_EQ(same->score, hit.score);  // ^0: a pure filter
  }
  // Ranges: inclusive, exclusive, mixed, open ends; any value of a
  // multi-valued field.
  EXPECT_EQ(Sorted(Find("year:[1957 TO 1961]")), (Ids{"d1", "d5", "d7"}));
  EXPECT_EQ(Sorted(Find("year:{1957 TO 1961]")), (Ids{"d5", "d7"}));
  EXPECT_EQ(Sorted(Find("year:[1957 TO 1961}")), (Ids{"d1", "d7"}));
  EXPECT_EQ(Find("year:{1957 TO 1961}"), Ids{"d7"});
  EXPECT_EQ(Sorted(Find("year:[* TO 1900]")), (Ids{"d4", "d6"}));
  EXPECT_EQ(Sorted(Find("year:{1961 TO *]")), (Ids{"d2", "d5"}));
  EXPECT_EQ(Find("year:[* TO *]").size(), 6u);  // all live with a year
  EXPECT_EQ(Find("year:[1970 TO 1957]"), Ids{});
  EXPECT_EQ(Find("year:1957"), Ids{"d1"});
  EXPECT_EQ(Find("year:\"1957.5\""), Ids{"d7"});
  EXPECT_EQ(Sorted(Find("mass:[-10 TO 0]")), (Ids{"d2", "d3"}));
  EXPECT_EQ(Find("mass:{-2.5 TO -0]"), Ids{"d3"});  // -0 is 0
  EXPECT_EQ(Find("+solid +year:[1950 TO 1960]"), Ids{"d7"});
  // Deletes by query see the filters.
  Result<std::vector<uint32_t>> all = searcher_->Match("tags:solid", QuerySyntax::kLucene);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  // Type mismatches and unknown fields: InvalidArgument naming the field.
  const auto error = [&](const std::string& query, const std::string& want) {
    Result<TopDocs> r = Lucene(query);
    ASSERT_FALSE(r.ok()) << query;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << query << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(want), std::string::npos)
        << query << ": " << r.status().ToString();
  };
  error("tags:[a TO b]", "range query on keyword field \"tags\" at column 1");
  error("rocket year:abc", "numeric field \"year\" at column 8: \"abc\" is not a number");
  error("year:[1 TO x]", "bound \"x\" is not a number");
  error("year:19*", "prefix query on numeric field \"year\"");
  error("color:red", "unknown field \"color\" at column 1: this index has the text field "
                     "contents (title and text are aliases of it), keyword field tags, "
                     "numeric fields year, mass");
  error("rocket:[1 TO 2]", "unknown field \"rocket\"");
  error("text:[1 TO 2]", "range query on text field \"text\"");
}

TEST_F(LuceneSearchTest, PrefixExpansionIsCapped) {
  // 1100 distinct terms zz0000..zz1099, 100 per document.
  std::vector<Op> ops;
  for (int d = 0; d < 11; ++d) {
    Op op;
    op.doc.id = "z" + std::to_string(d);
    for (int i = 0; i < 100; ++i) {
      char word[16];
      std::snprintf(word, sizeof(word), "zz%04d ", d * 100 + i);
      op.doc.text += word;
    }
    ops.push_back(op);
    if (d == 5) ops.push_back({Op::Kind::kFlush, {}});
  }
  Build(ops, "zz");
  const Status s = Lucene("zz*").status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("more than 1024 terms"), std::string::npos)
      << s.ToString();
  const Result<TopDocs> under = Lucene("zz0*");  // 1000 terms
  ASSERT_TRUE(under.ok()) << under.status().ToString();
  EXPECT_EQ(under->total_hits, 10u);
}

TEST(QuerySyntaxTest, Names) {
  EXPECT_EQ(*ParseQuerySyntax("plain"), QuerySyntax::kPlain);
  EXPECT_EQ(*ParseQuerySyntax("lucene"), QuerySyntax::kLucene);
  const Status s = ParseQuerySyntax("sql").status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("plain or lucene"), std::string::npos);
  EXPECT_EQ(SearchParams().syntax, QuerySyntax::kPlain);
}

}  // namespace
}  // namespace cascade::query
