#include "query/lucene_search.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "index/field_values.h"
#include "index/keys.h"
#include "index/positions_codec.h"
#include "index/posting_codec.h"
#include "query/daat.h"
#include "query/phrase_match.h"

namespace cascade::query {

namespace {

// A text field a leaf searches: -1 for contents, else the ordinal of a
// text field of the index; and the weight it carries.
struct TextTarget {
  int field = -1;
  double weight = 1;
};

// The text fields a term, phrase or prefix leaf on `name` searches: for no
// name, the default fields (contents and every text field, less those of
// weight 0; just contents, weight 1, without text fields); a declared text
// field; contents, for "contents" and for title and text when they are
// not declared text fields (aliases of contents). Empty: not a text field.
std::vector<TextTarget> TextTargets(const index::FieldSchema& schema, std::string_view name) {
  std::vector<TextTarget> out;
  if (name.empty()) {
    if (schema.text_fields.empty()) return {TextTarget{}};
    if (schema.contents_weight > 0) out.push_back({-1, schema.contents_weight});
    for (size_t f = 0; f < schema.text_fields.size(); ++f) {
      if (schema.text_fields[f].weight > 0) {
        out.push_back({static_cast<int>(f), schema.text_fields[f].weight});
      }
    }
    return out;
  }
  if (const int f = schema.TextOrdinal(name); f >= 0) return {TextTarget{f, 1}};
  if (name == "contents" || name == "title" || name == "text") return {TextTarget{}};
  return out;
}

std::string At(const QueryNode& node) {
  return " at column " + std::to_string(node.column);
}

// The fields a query may name, for messages.
std::string FieldList(const index::FieldSchema& schema) {
  std::string out = schema.text_fields.empty()
                        ? "the text field contents (title and text are aliases of it)"
                        : "the text field contents";
  std::vector<std::string> text_names;
  for (const index::TextField& field : schema.text_fields) text_names.push_back(field.name);
  const auto list = [&](const std::vector<std::string>& names, const char* kind) {
    if (names.empty()) return;
    out += std::string(", ") + kind + (names.size() > 1 ? " fields " : " field ");
    for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  };
  list(text_names, "text");
  if (text_names.empty()) {
    // aliases said above
  } else if (schema.TextOrdinal("title") < 0 && schema.TextOrdinal("text") < 0) {
    out += " (title and text are aliases of contents)";
  } else if (schema.TextOrdinal("title") < 0 || schema.TextOrdinal("text") < 0) {
    out += schema.TextOrdinal("title") < 0 ? " (title is an alias of contents)"
                                           : " (text is an alias of contents)";
  }
  list(schema.keyword_fields, "keyword");
  list(schema.numeric_fields, "numeric");
  return out;
}

// A term's or phrase's text as a number: all of it a finite decimal
// ("5", "-2.5", "1e3"; not " 5", "0x10" or "inf"), as range bounds are read.
std::optional<double> ReadNumber(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string::npos) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// What this index cannot run, found before any work: the first offending
// leaf in query order.
Status Validate(const QueryNode& node, bool positions, const index::FieldSchema& schema) {
  if (node.kind == QueryKind::kBoolean) {
    for (const QueryClause& clause : node.clauses) {
      CASCADE_RETURN_IF_ERROR(Validate(*clause.query, positions, schema));
    }
    return Status::OK();
  }
  if (node.kind == QueryKind::kMatchAll) return Status::OK();
  const std::string field = "field \"" + node.field + "\"" + At(node);
  if (schema.KeywordOrdinal(node.field) >= 0) {
    if (node.kind == QueryKind::kRange) {
      return Status::InvalidArgument(
          "range query on keyword " + field +
          ": ranges run on numeric fields only (a keyword field matches exact values)");
    }
    return Status::OK();  // a term or phrase: one exact value; a prefix
  }
  if (schema.NumericOrdinal(node.field) >= 0) {
    switch (node.kind) {
      case QueryKind::kRange:
        for (const RangeBound* bound : {&node.lower, &node.upper}) {
          if (!bound->open && !bound->number) {
            return Status::InvalidArgument("range on numeric " + field + ": bound \"" +
                                           bound->text + "\" is not a number");
          }
        }
        return Status::OK();
      case QueryKind::kTerm:
      case QueryKind::kPhrase:
        if (!ReadNumber(node.text)) {
          return Status::InvalidArgument("numeric " + field + ": \"" + node.text +
                                         "\" is not a number");
        }
        return Status::OK();
      default:
        return Status::InvalidArgument("prefix query on numeric " + field +
                                       ": use a range (" + node.field + ":[a TO b])");
    }
  }
  if (TextTargets(schema, node.field).empty()) {
    return Status::InvalidArgument("unknown " + field + ": this index has " +
                                   FieldList(schema));
  }
  switch (node.kind) {
    case QueryKind::kPhrase:
      if (!positions) {
        return Status::NotSupported(
            "phrase query \"" + node.text + "\"" + At(node) +
            ": this index was built without positions (re-index it with "
            "positions, the default, to run phrase queries)");
      }
      return Status::OK();
    case QueryKind::kRange:
      return Status::InvalidArgument(
          "range query on text " +
          (node.field.empty() ? std::string("field contents") + At(node) : field) +
          ": ranges run on numeric fields" +
          (schema.numeric_fields.empty() ? std::string(", and this index has none")
                                         : " (this index has " + FieldList(schema) + ")"));
    default:
      return Status::OK();
  }
}

struct PlanClause;

// The query after analysis: what each segment evaluates.
struct Plan {
  enum class Kind { kTerm, kPrefix, kAll, kBoolean, kPhrase, kKeyword, kRange };
  Kind kind = Kind::kBoolean;
  double boost = 1.0;  // leaves: the product of the boosts on their path
  uint32_t id = 0;     // kTerm: index into the term table; kPrefix: prefixes;
                       // kKeyword: keyword leaves; kRange: ranges
  std::vector<PlanClause> clauses;  // kBoolean, in query order
  // kBoolean: the one leaf of an unfielded query expanded over the default
  // text fields (one clause per field); two equal expansions in one
  // Boolean are one clause, as equal terms are (AddClause).
  bool expansion = false;
  // kPhrase: term ids and their offsets in the phrase (analyzer positions,
  // the first at 0), and the slop.
  std::vector<uint32_t> phrase_terms, phrase_offsets;
  uint32_t slop = 0;
};

struct PlanClause {
  Occur occur = Occur::kShould;
  Plan plan;
};

// Adds a clause to a Boolean plan. A term already there with the same
// occur (SHOULD or MUST) takes this one's boost instead, at the first one's
// place, as Lucene's BooleanQuery.rewrite deduplicates clauses: "a b a" is
// "a^2 b", which is exactly the plain path's query weight 2.
// Whether two plans are the same query but for their boosts.
bool SameShape(const Plan& a, const Plan& b) {
  if (a.kind != b.kind || a.id != b.id || a.slop != b.slop || a.expansion != b.expansion ||
      a.phrase_terms != b.phrase_terms || a.phrase_offsets != b.phrase_offsets ||
      a.clauses.size() != b.clauses.size()) {
    return false;
  }
  for (size_t i = 0; i < a.clauses.size(); ++i) {
    if (a.clauses[i].occur != b.clauses[i].occur ||
        !SameShape(a.clauses[i].plan, b.clauses[i].plan)) {
      return false;
    }
  }
  return true;
}

// Adds b's leaf boosts to a's (SameShape plans): the query "a a" on
// several fields weighs each field's a twice, as Lucene's rewrite does.
void AddBoosts(Plan* a, const Plan& b) {
  a->boost += b.boost;
  for (size_t i = 0; i < a->clauses.size(); ++i) AddBoosts(&a->clauses[i].plan, b.clauses[i].plan);
}

void AddClause(Plan* boolean, Occur occur, Plan child) {
  const bool mergeable = child.kind == Plan::Kind::kTerm || child.expansion;
  if (mergeable && occur != Occur::kMustNot) {
    for (PlanClause& c : boolean->clauses) {
      if (c.occur == occur && SameShape(c.plan, child)) {
        AddBoosts(&c.plan, child);
        return;
      }
    }
  }
  boolean->clauses.push_back(PlanClause{occur, std::move(child)});
}

// One matching document of a segment: local id and score so far.
struct Match {
  uint32_t doc = 0;
  float score = 0;
};
using Matches = std::vector<Match>;

// Constant-score matches (prefix, keyword and range clauses) of `docs`,
// sorted local ids of `seg`; Corruption naming `what` when one lies
// beyond the segment.
Result<Matches> ConstantScore(const std::vector<uint32_t>& docs,
                              const index::SegmentInfo& seg, double boost,
                              const char* what) {
  if (!docs.empty() && docs.back() >= seg.count) {
    return Status::Corruption(std::string(what) + " beyond segment end in segment",
                              std::to_string(seg.id));
  }
  const auto score = static_cast<float>(boost);
  Matches out(docs.size());
  for (size_t i = 0; i < docs.size(); ++i) out[i] = {docs[i], score};
  return out;
}

class Executor {
 public:
  Executor(const index::IndexReader& reader, index::Analyzer* analyzer,
           index::Analyzer* normalizer, const Bm25Params& bm25)
      : reader_(reader), analyzer_(analyzer), normalizer_(normalizer) {
    const index::LengthNorm norm = reader.options().length_norm;
    scorers_.emplace_back(bm25, reader.stats(), norm);
    for (const index::FieldStats& field : reader.stats().text_fields) {
      scorers_.emplace_back(bm25, field, norm);
    }
  }

  // The plan of `node` under ancestors whose boosts multiply to `boost`;
  // nullopt when analysis leaves nothing (the clause is dropped).
  Result<std::optional<Plan>> Build(const QueryNode& node, double boost,
                                    bool prohibited);
  // The plan of analysed words (term, count) over the default text fields:
  // a SHOULD Boolean of one leaf per word, boosted by its count.
  Plan BuildWords(std::span<const std::pair<std::string, uint32_t>> words);
  // Reads every term's postings in every segment and computes the idfs.
  Status LoadTerms();
  // The matches of `plan` in segment `s`, in doc order.
  Result<Matches> Eval(const Plan& plan, size_t s);

  size_t term_count() const { return terms_.size(); }
  // After LoadTerms: term `id`'s postings key, field (-1: contents), idf,
  // and its pinned postings in segment `s` (nullptr where it is absent).
  const std::string& term(uint32_t id) const { return terms_[id]; }
  int term_field(uint32_t id) const { return term_fields_[id]; }
  float idf(uint32_t id) const { return idf_[id]; }
  const rocksdb::PinnableSlice* postings(uint32_t id, size_t s) const {
    const size_t slot = id * reader_.segments().size() + s;
    return present_[slot] ? postings_[slot].get() : nullptr;
  }
  // The scorer of `field` (-1: contents).
  const Bm25Scorer& scorer(int field) const { return scorers_[1 + field]; }
  std::vector<std::pair<std::string, uint32_t>> TakeQueryTerms() {
    return std::move(query_terms_);
  }

 private:
  // The id of `term` in text field `field` (-1: contents).
  uint32_t TermId(int field, const std::string& term);
  // Adds tokens_ to query_terms_ (the positive words rerankers read).
  void CountQueryTerms();
  // The plan of a term, phrase or prefix leaf over `targets` (its fields),
  // its text analysed into tokens_ (and token_positions_ for a phrase;
  // prefix_tokens for a prefix): one field's leaf, or an expansion.
  Plan TextLeaf(const QueryNode& node, const std::vector<TextTarget>& targets, double boost);
  Plan FieldLeaf(const QueryNode& node, int field, double boost);
  // BM25 length factor of local doc `local` of `seg` in `field`.
  float LengthFactor(int field, const index::SegmentInfo& seg, uint32_t local) const {
    return field < 0 ? scorers_[0].LengthFactor(seg, local)
                     : scorers_[1 + field].LengthFactor(seg.text_fields[field], local);
  }
  Result<Matches> EvalTerm(const Plan& plan, size_t s);
  Result<Matches> EvalPrefix(const Plan& plan, size_t s);
  Result<Matches> EvalBoolean(const Plan& plan, size_t s);
  Result<Matches> EvalPhrase(const Plan& plan, size_t s);
  Result<Matches> EvalKeyword(const Plan& plan, size_t s);
  Result<Matches> EvalRange(const Plan& plan, size_t s);

  // A keyword leaf: an exact value, or a prefix of values.
  struct KeywordLeaf {
    uint8_t field = 0;
    std::string value;
    bool prefix = false;
    const QueryNode* node = nullptr;
    std::set<std::string> expanded;  // prefix: values seen so far
  };
  // A numeric range (a numeric term is [v TO v]).
  struct RangeLeaf {
    uint8_t field = 0;
    std::optional<double> lower, upper;  // nullopt: open
    bool lower_inclusive = true, upper_inclusive = true;
  };

  const index::IndexReader& reader_;
  index::Analyzer* analyzer_;
  index::Analyzer* normalizer_;
  // contents' scorer, then each text field's (their own N and avgdl).
  std::vector<Bm25Scorer> scorers_;
  // The term table: postings keys (contents terms, or FieldTerm(f, term))
  // and each one's field (-1: contents).
  std::vector<std::string> terms_;
  std::vector<int> term_fields_;
  std::unordered_map<std::string, uint32_t> term_ids_;
  std::vector<float> idf_;  // per term
  // Per (term, segment): term * segments + s. present_ says whether the
  // term occurs there; postings_ holds its pinned list.
  std::vector<uint8_t> present_;
  std::vector<std::unique_ptr<rocksdb::PinnableSlice>> postings_;
  std::vector<std::string> prefixes_;  // as postings keys spell them
  std::vector<std::set<std::string>> prefix_terms_;  // expanded so far
  std::vector<const QueryNode*> prefix_nodes_;       // for error messages
  std::vector<KeywordLeaf> keywords_;
  std::vector<RangeLeaf> ranges_;
  std::vector<std::pair<std::string, uint32_t>> query_terms_;
  std::vector<std::string> tokens_;
  std::vector<uint32_t> token_positions_;
  std::vector<uint32_t> docs_, tfs_;
};

uint32_t Executor::TermId(int field, const std::string& term) {
  std::string key = field < 0 ? term : index::FieldTerm(static_cast<uint8_t>(field), term);
  auto [it, added] = term_ids_.emplace(std::move(key), static_cast<uint32_t>(terms_.size()));
  if (added) {
    terms_.push_back(it->first);
    term_fields_.push_back(field);
  }
  return it->second;
}

Plan Executor::FieldLeaf(const QueryNode& node, int field, double boost) {
  Plan plan;
  plan.boost = boost;
  if (node.kind == QueryKind::kPrefix) {
    plan.kind = Plan::Kind::kPrefix;
    plan.id = static_cast<uint32_t>(prefixes_.size());
    prefixes_.push_back(field < 0 ? tokens_[0]
                                  : index::FieldTerm(static_cast<uint8_t>(field), tokens_[0]));
    prefix_terms_.emplace_back();
    prefix_nodes_.push_back(&node);
    return plan;
  }
  if (tokens_.size() == 1) {  // a word, or a one-word phrase
    plan.kind = Plan::Kind::kTerm;
    plan.id = TermId(field, tokens_[0]);
    return plan;
  }
  if (node.kind == QueryKind::kPhrase) {
    plan.kind = Plan::Kind::kPhrase;
    plan.slop = node.slop;
    for (size_t i = 0; i < tokens_.size(); ++i) {
      plan.phrase_terms.push_back(TermId(field, tokens_[i]));
      plan.phrase_offsets.push_back(token_positions_[i] - token_positions_[0]);
    }
    return plan;
  }
  // Several tokens of one term: a SHOULD group, one term per token.
  plan.kind = Plan::Kind::kBoolean;
  for (const std::string& token : tokens_) {
    Plan term;
    term.kind = Plan::Kind::kTerm;
    term.boost = boost;
    term.id = TermId(field, token);
    AddClause(&plan, Occur::kShould, std::move(term));
  }
  return plan;
}

Plan Executor::TextLeaf(const QueryNode& node, const std::vector<TextTarget>& targets,
                        double boost) {
  if (targets.size() == 1 && targets[0].weight == 1) {
    return FieldLeaf(node, targets[0].field, boost);
  }
  Plan plan;
  plan.kind = Plan::Kind::kBoolean;
  plan.boost = boost;
  plan.expansion = true;
  for (const TextTarget& target : targets) {
    plan.clauses.push_back(
        PlanClause{Occur::kShould, FieldLeaf(node, target.field, boost * target.weight)});
  }
  return plan;
}

void Executor::CountQueryTerms() {
  for (const std::string& token : tokens_) {
    auto it = std::find_if(query_terms_.begin(), query_terms_.end(),
                           [&](const auto& t) { return t.first == token; });
    if (it == query_terms_.end()) {
      query_terms_.emplace_back(token, 1);
    } else {
      ++it->second;
    }
  }
}

Plan Executor::BuildWords(std::span<const std::pair<std::string, uint32_t>> words) {
  Plan plan;
  plan.kind = Plan::Kind::kBoolean;
  QueryNode node;  // a word of the default fields
  const std::vector<TextTarget> targets = TextTargets(reader_.options().fields, "");
  for (const auto& [word, count] : words) {
    tokens_.assign(1, word);
    query_terms_.emplace_back(word, count);
    AddClause(&plan, Occur::kShould, TextLeaf(node, targets, count));
  }
  return plan;
}

Result<std::optional<Plan>> Executor::Build(const QueryNode& node, double boost,
                                            bool prohibited) {
  boost *= node.boost;
  Plan plan;
  plan.boost = boost;
  // Keyword and numeric fields: constant-score filters (lucene_search.h).
  const index::FieldSchema& schema = reader_.options().fields;
  if (node.kind != QueryKind::kBoolean && node.kind != QueryKind::kMatchAll) {
    if (const int ordinal = schema.KeywordOrdinal(node.field); ordinal >= 0) {
      plan.kind = Plan::Kind::kKeyword;
      plan.id = static_cast<uint32_t>(keywords_.size());
      KeywordLeaf leaf;
      leaf.field = static_cast<uint8_t>(ordinal);
      leaf.value = node.text;
      leaf.prefix = node.kind == QueryKind::kPrefix;
      leaf.node = &node;
      keywords_.push_back(std::move(leaf));
      return std::optional<Plan>(std::move(plan));
    }
    if (const int ordinal = schema.NumericOrdinal(node.field); ordinal >= 0) {
      plan.kind = Plan::Kind::kRange;
      plan.id = static_cast<uint32_t>(ranges_.size());
      RangeLeaf leaf;
      leaf.field = static_cast<uint8_t>(ordinal);
      if (node.kind == QueryKind::kRange) {
        if (!node.lower.open) leaf.lower = node.lower.number;
        if (!node.upper.open) leaf.upper = node.upper.number;
        leaf.lower_inclusive = node.lower.inclusive;
        leaf.upper_inclusive = node.upper.inclusive;
      } else {
        leaf.lower = leaf.upper = ReadNumber(node.text);  // checked by Validate
      }
      ranges_.push_back(leaf);
      return std::optional<Plan>(std::move(plan));
    }
  }
  switch (node.kind) {
    case QueryKind::kMatchAll:
      plan.kind = Plan::Kind::kAll;
      return std::optional<Plan>(std::move(plan));
    case QueryKind::kTerm: {
      tokens_.clear();
      analyzer_->Analyze(node.text, &tokens_);
      if (tokens_.empty()) return std::optional<Plan>();
      if (!prohibited) CountQueryTerms();
      return std::optional<Plan>(TextLeaf(node, TextTargets(schema, node.field), boost));
    }
    case QueryKind::kPrefix: {
      tokens_.clear();
      normalizer_->Analyze(node.text, &tokens_);
      if (tokens_.empty()) return std::optional<Plan>();
      if (tokens_.size() > 1) {
        std::string words;
        for (const std::string& t : tokens_)
          words += (words.empty() ? "" : ", ") + t;
        return Status::InvalidArgument("prefix \"" + node.text + "*\"" +
                                       At(node) +
                                       " is several words after analysis (" +
                                       words + "); a prefix must be one word");
      }
      return std::optional<Plan>(TextLeaf(node, TextTargets(schema, node.field), boost));
    }
    case QueryKind::kBoolean:
      plan.kind = Plan::Kind::kBoolean;
      for (const QueryClause& clause : node.clauses) {
        CASCADE_ASSIGN_OR_RETURN(
            std::optional<Plan> child,
            Build(*clause.query, boost,
                  prohibited || clause.occur == Occur::kMustNot));
        if (!child) continue;
        AddClause(&plan, clause.occur, std::move(*child));
      }
      return std::optional<Plan>(std::move(plan));
    case QueryKind::kPhrase: {
      tokens_.clear();
      token_positions_.clear();
      analyzer_->Analyze(node.text, &tokens_, &token_positions_);
      if (tokens_.empty()) return std::optional<Plan>();
      if (!prohibited) CountQueryTerms();
      return std::optional<Plan>(TextLeaf(node, TextTargets(schema, node.field), boost));
    }
    case QueryKind::kRange:
      break;  // on a numeric field above; elsewhere refused by Validate
  }
  return Status::Internal("unvalidated query node" + At(node));
}

Status Executor::LoadTerms() {
  const auto& segments = reader_.segments();
  const size_t nseg = segments.size();
  present_.assign(terms_.size() * nseg, 0);
  postings_.clear();
  idf_.assign(terms_.size(), 0.0f);
  for (size_t t = 0; t < terms_.size(); ++t) {
    uint64_t doc_freq = 0;
    for (size_t s = 0; s < nseg; ++s) {
      postings_.push_back(std::make_unique<rocksdb::PinnableSlice>());
      rocksdb::PinnableSlice& bytes = *postings_.back();
      CASCADE_ASSIGN_OR_RETURN(
          bool found, reader_.ReadPostings(segments[s].id, terms_[t], &bytes));
      if (!found) continue;
      present_[t * nseg + s] = 1;
      CASCADE_ASSIGN_OR_RETURN(index::PostingHeader h,
                               index::DecodePostingHeader(std::string_view(
                                   bytes.data(), bytes.size())));
      doc_freq += h.doc_freq;
    }
    // As the plain path: deleted documents stay in df until a merge; keep
    // idf defined when df exceeds the live count.
    const index::CollectionStats& stats = reader_.stats();
    const int field = term_fields_[t];
    const uint64_t n = std::max(
        field < 0 ? stats.docs_with_terms : stats.text_fields[field].docs_with_terms, doc_freq);
    idf_[t] = Bm25Idf(doc_freq, n);
  }
  return Status::OK();
}

Result<Matches> Executor::Eval(const Plan& plan, size_t s) {
  switch (plan.kind) {
    case Plan::Kind::kTerm:
      return EvalTerm(plan, s);
    case Plan::Kind::kPrefix:
      return EvalPrefix(plan, s);
    case Plan::Kind::kBoolean:
      return EvalBoolean(plan, s);
    case Plan::Kind::kPhrase:
      return EvalPhrase(plan, s);
    case Plan::Kind::kKeyword:
      return EvalKeyword(plan, s);
    case Plan::Kind::kRange:
      return EvalRange(plan, s);
    case Plan::Kind::kAll: {
      const uint32_t count = reader_.segments()[s].count;
      const auto score = static_cast<float>(plan.boost);
      Matches out(count);
      for (uint32_t local = 0; local < count; ++local)
        out[local] = {local, score};
      return out;
    }
  }
  return Matches();
}

Result<Matches> Executor::EvalTerm(const Plan& plan, size_t s) {
  const index::SegmentInfo& seg = reader_.segments()[s];
  const size_t slot = plan.id * reader_.segments().size() + s;
  Matches out;
  if (!present_[slot]) return out;
  const rocksdb::PinnableSlice& bytes = *postings_[slot];
  CASCADE_RETURN_IF_ERROR(index::DecodePostings(
      std::string_view(bytes.data(), bytes.size()), &docs_, &tfs_));
  const auto weight =
      static_cast<float>(plan.boost * static_cast<double>(idf_[plan.id]));
  const int field = term_fields_[plan.id];
  out.resize(docs_.size());
  for (size_t i = 0; i < docs_.size(); ++i) {
    const uint32_t local = docs_[i];
    if (local >= seg.count) {
      return Status::Corruption("posting beyond segment end in segment",
                                std::to_string(seg.id));
    }
    out[i] = {local, Bm25Scorer::Score(weight, tfs_[i], LengthFactor(field, seg, local))};
  }
  return out;
}

// Documents holding every term of the phrase, then the phrase frequency
// from their positions (phrase_match.h). Scored as Lucene scores a phrase:
// BM25 with the phrase frequency as tf and the sum of the terms' idfs as
// the weight.
Result<Matches> Executor::EvalPhrase(const Plan& plan, size_t s) {
  const index::SegmentInfo& seg = reader_.segments()[s];
  const size_t nseg = reader_.segments().size();
  const size_t n = plan.phrase_terms.size();
  Matches out;
  // Distinct terms of the phrase, each decoded once.
  std::vector<uint32_t> distinct = plan.phrase_terms;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  struct TermData {
    std::vector<uint32_t> docs, tfs;
    rocksdb::PinnableSlice positions;
    index::PositionsReader reader;
    size_t at = 0;  // cursor into docs
  };
  std::vector<TermData> data(distinct.size());
  double idf_sum = 0;
  for (size_t i = 0; i < distinct.size(); ++i) {
    const size_t slot = distinct[i] * nseg + s;
    if (!present_[slot]) return out;  // a missing term: no match here
    const rocksdb::PinnableSlice& bytes = *postings_[slot];
    CASCADE_RETURN_IF_ERROR(index::DecodePostings(
        std::string_view(bytes.data(), bytes.size()), &data[i].docs,
        &data[i].tfs));
    CASCADE_ASSIGN_OR_RETURN(
        bool found, reader_.ReadPositions(seg.id, terms_[distinct[i]],
                                          &data[i].positions));
    if (!found) {
      return Status::Corruption("no positions for term \"" + terms_[distinct[i]] +
                                "\" in segment", std::to_string(seg.id));
    }
    CASCADE_RETURN_IF_ERROR(data[i].reader.Reset(
        std::string_view(data[i].positions.data(), data[i].positions.size()),
        data[i].tfs));
  }
  for (uint32_t t : plan.phrase_terms) idf_sum += idf_[t];
  std::vector<size_t> which(n);  // phrase term -> distinct index
  for (size_t i = 0; i < n; ++i) {
    which[i] = std::lower_bound(distinct.begin(), distinct.end(),
                                plan.phrase_terms[i]) - distinct.begin();
  }
  const auto weight = static_cast<float>(plan.boost * idf_sum);
  std::vector<std::vector<uint32_t>> positions(distinct.size());
  std::vector<PhraseTerm> phrase(n);
  // Leapfrog intersection over the distinct terms' doc lists.
  TermData& lead = data[0];
  for (; lead.at < lead.docs.size(); ++lead.at) {
    const uint32_t doc = lead.docs[lead.at];
    bool all = true;
    for (size_t i = 1; i < data.size() && all; ++i) {
      TermData& d = data[i];
      d.at = std::lower_bound(d.docs.begin() + d.at, d.docs.end(), doc) -
             d.docs.begin();
      if (d.at == d.docs.size()) return out;
      all = d.docs[d.at] == doc;
    }
    if (!all) continue;
    if (doc >= seg.count) {
      return Status::Corruption("posting beyond segment end in segment",
                                std::to_string(seg.id));
    }
    for (size_t i = 0; i < data.size(); ++i) {
      CASCADE_RETURN_IF_ERROR(data[i].reader.Read(
          static_cast<uint32_t>(data[i].at), &positions[i]));
    }
    for (size_t i = 0; i < n; ++i) {
      phrase[i] = {positions[which[i]], plan.phrase_offsets[i],
                   plan.phrase_terms[i]};
    }
    const float freq = PhraseFrequency(phrase, plan.slop);
    if (freq <= 0) continue;
    const float length_factor = LengthFactor(term_fields_[plan.phrase_terms[0]], seg, doc);
    out.push_back({doc, weight * (freq / (freq + length_factor))});
  }
  return out;
}

Result<Matches> Executor::EvalPrefix(const Plan& plan, size_t s) {
  const index::SegmentInfo& seg = reader_.segments()[s];
  std::set<std::string>& seen = prefix_terms_[plan.id];
  std::vector<uint32_t> all;
  Status problem;
  CASCADE_RETURN_IF_ERROR(reader_.ForEachTermWithPrefix(
      seg.id, prefixes_[plan.id],
      [&](std::string_view term, std::string_view postings) {
        seen.emplace(term);
        if (seen.size() > kMaxPrefixTerms) {
          const QueryNode& node = *prefix_nodes_[plan.id];
          problem = Status::InvalidArgument("prefix \"" + node.text + "*\"" +
                                            At(node) + " matches more than " +
                                            std::to_string(kMaxPrefixTerms) +
                                            " terms; use a longer prefix");
          return false;
        }
        problem = index::DecodePostings(postings, &docs_, &tfs_);
        if (!problem.ok()) return false;
        all.insert(all.end(), docs_.begin(), docs_.end());
        return true;
      }));
  CASCADE_RETURN_IF_ERROR(problem);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return ConstantScore(all, seg, plan.boost, "posting");
}

Result<Matches> Executor::EvalKeyword(const Plan& plan, size_t s) {
  const index::SegmentInfo& seg = reader_.segments()[s];
  KeywordLeaf& leaf = keywords_[plan.id];
  if (!leaf.prefix) {
    CASCADE_RETURN_IF_ERROR(reader_.ReadKeywordDocs(seg.id, leaf.field, leaf.value, &docs_));
  } else {
    docs_.clear();
    std::vector<uint32_t> one;
    Status problem;
    CASCADE_RETURN_IF_ERROR(reader_.ForEachKeywordWithPrefix(
        seg.id, leaf.field, leaf.value, [&](std::string_view value, std::string_view docs) {
          leaf.expanded.emplace(value);
          if (leaf.expanded.size() > kMaxPrefixTerms) {
            const QueryNode& node = *leaf.node;
            problem = Status::InvalidArgument(
                "prefix \"" + node.text + "*\" on field \"" + node.field + "\"" + At(node) +
                " matches more than " + std::to_string(kMaxPrefixTerms) +
                " values; use a longer prefix");
            return false;
          }
          problem = index::DecodeDocList(docs, &one);
          if (!problem.ok()) return false;
          docs_.insert(docs_.end(), one.begin(), one.end());
          return true;
        }));
    CASCADE_RETURN_IF_ERROR(problem);
    std::sort(docs_.begin(), docs_.end());
    docs_.erase(std::unique(docs_.begin(), docs_.end()), docs_.end());
  }
  return ConstantScore(docs_, seg, plan.boost, "keyword posting");
}

Result<Matches> Executor::EvalRange(const Plan& plan, size_t s) {
  const index::SegmentInfo& seg = reader_.segments()[s];
  const RangeLeaf& leaf = ranges_[plan.id];
  CASCADE_RETURN_IF_ERROR(reader_.ReadNumericRange(seg.id, leaf.field, leaf.lower,
                                                   leaf.lower_inclusive, leaf.upper,
                                                   leaf.upper_inclusive, &docs_));
  return ConstantScore(docs_, seg, plan.boost, "numeric entry");
}

Result<Matches> Executor::EvalBoolean(const Plan& plan, size_t s) {
  const size_t n = plan.clauses.size();
  std::vector<Matches> lists(n);
  std::vector<uint32_t> excluded;
  bool any_positive = false, any_must = false;
  // Every clause is evaluated (no short cut), so that errors do not depend
  // on which lists are empty.
  for (size_t i = 0; i < n; ++i) {
    CASCADE_ASSIGN_OR_RETURN(lists[i], Eval(plan.clauses[i].plan, s));
    switch (plan.clauses[i].occur) {
      case Occur::kMustNot:
        for (const Match& m : lists[i]) excluded.push_back(m.doc);
        break;
      case Occur::kMust:
        any_must = any_positive = true;
        break;
      case Occur::kShould:
        any_positive = true;
        break;
    }
  }
  Matches out;
  if (!any_positive) return out;
  std::sort(excluded.begin(), excluded.end());
  excluded.erase(std::unique(excluded.begin(), excluded.end()), excluded.end());
  std::vector<size_t> pos(n, 0);
  size_t next_excluded = 0;
  constexpr uint32_t kNone = UINT32_MAX;
  while (true) {
    uint32_t doc = kNone;
    for (size_t i = 0; i < n; ++i) {
      if (plan.clauses[i].occur == Occur::kMustNot || pos[i] >= lists[i].size())
        continue;
      doc = std::min(doc, lists[i][pos[i]].doc);
    }
    if (doc == kNone) break;
    // Without MUST clauses, the SHOULD clause that gave `doc` matches.
    bool match = true;
    if (any_must) {
      for (size_t i = 0; i < n && match; ++i) {
        if (plan.clauses[i].occur != Occur::kMust) continue;
        match = pos[i] < lists[i].size() && lists[i][pos[i]].doc == doc;
      }
    }
    while (next_excluded < excluded.size() && excluded[next_excluded] < doc) {
      ++next_excluded;
    }
    if (next_excluded < excluded.size() && excluded[next_excluded] == doc)
      match = false;
    float score = 0.0f;
    for (size_t i = 0; i < n; ++i) {
      if (plan.clauses[i].occur == Occur::kMustNot ||
          pos[i] >= lists[i].size() || lists[i][pos[i]].doc != doc) {
        continue;
      }
      score += lists[i][pos[i]].score;  // in clause order
      ++pos[i];
    }
    if (match) out.push_back({doc, score});
  }
  return out;
}

}  // namespace

index::AnalyzerOptions LuceneNormalizerOptions(
    const index::AnalyzerOptions& index_options) {
  index::AnalyzerOptions options = index_options;
  options.stopwords = false;
  options.stemmer = "none";
  return options;
}

namespace {

// Checks `query` against the index and plans it in `executor`; nullopt
// when analysis leaves nothing to match.
Result<std::optional<Plan>> Prepare(const QueryNode& query,
                                    const index::IndexReader& reader,
                                    Executor& executor) {
  CASCADE_RETURN_IF_ERROR(Validate(query, reader.has_positions(), reader.options().fields));
  CASCADE_ASSIGN_OR_RETURN(std::optional<Plan> plan,
                           executor.Build(query, 1.0, /*prohibited=*/false));
  // The parser caps the leaves; a leaf may analyse to several terms.
  if (executor.term_count() > kMaxQueryTerms) {
    return Status::InvalidArgument(
        "query has " + std::to_string(executor.term_count()) +
        " distinct terms, over the limit of " + std::to_string(kMaxQueryTerms));
  }
  return plan;
}

}  // namespace

namespace {

// Every live document `plan` matches, ascending.
Result<std::vector<uint32_t>> MatchPlan(Executor& executor, const Plan& plan,
                                        const index::IndexReader& reader) {
  std::vector<uint32_t> docs;
  CASCADE_RETURN_IF_ERROR(executor.LoadTerms());
  const auto& segments = reader.segments();
  for (size_t s = 0; s < segments.size(); ++s) {
    CASCADE_ASSIGN_OR_RETURN(Matches matches, executor.Eval(plan, s));
    for (const Match& m : matches) {
      if (!reader.IsDeleted(segments[s], m.doc)) docs.push_back(segments[s].base + m.doc);
    }
  }
  std::sort(docs.begin(), docs.end());
  return docs;
}

// The k best live documents `plan` matches into result->hits, counting
// them all.
Status TopPlan(Executor& executor, const Plan& plan, const index::IndexReader& reader,
               size_t k, TopDocs* result) {
  CASCADE_RETURN_IF_ERROR(executor.LoadTerms());
  daat::TopK top(k);
  const auto& segments = reader.segments();
  for (size_t s = 0; s < segments.size(); ++s) {
    CASCADE_ASSIGN_OR_RETURN(Matches matches, executor.Eval(plan, s));
    const uint32_t base = segments[s].base;
    for (const Match& m : matches) {
      if (reader.IsDeleted(segments[s], m.doc)) continue;
      ++result->total_hits;
      top.Push({base + m.doc, m.score});
    }
  }
  result->hits = top.Take();
  return Status::OK();
}

// The lists of a BuildWords plan, word by word and, within a word, field
// by field (the plan's clause order): each list's term id and boost, and
// the end of each word's run of lists.
struct WordLists {
  std::vector<std::pair<uint32_t, double>> lists;
  std::vector<uint32_t> group_ends;
};

WordLists ListsOfWords(const Plan& plan) {
  WordLists out;
  for (const PlanClause& word : plan.clauses) {
    if (word.plan.kind == Plan::Kind::kTerm) {
      out.lists.emplace_back(word.plan.id, word.plan.boost);
    } else {  // an expansion: one term per field (BuildWords's words are single tokens)
      for (const PlanClause& field : word.plan.clauses) {
        out.lists.emplace_back(field.plan.id, field.plan.boost);
      }
    }
    out.group_ends.push_back(static_cast<uint32_t>(out.lists.size()));
  }
  return out;
}

// TopPlan for a BuildWords plan with dynamic pruning (daat.h): per segment,
// in doc id order, as SearchParams::algorithm says (kAuto: ChooseAlgorithm
// over the segment's lists); an exhaustive segment evaluates the plan. The
// lists' scores are grouped by word, as the plan's Booleans add them, so
// every algorithm gives TopPlan's hits and scores to the bit.
Status TopWords(Executor& executor, const Plan& plan, const index::IndexReader& reader,
                const SearchParams& params, TopDocs* result) {
  CASCADE_RETURN_IF_ERROR(executor.LoadTerms());
  const WordLists words = ListsOfWords(plan);
  const size_t nlists = words.lists.size();
  const auto& segments = reader.segments();
  std::vector<size_t> order(segments.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return segments[a].base < segments[b].base; });
  daat::TopK top(params.k);
  bool skipped = false;
  std::vector<std::unique_ptr<index::PostingCursor>> owned;
  std::vector<daat::TermCursor> cursors;
  const size_t tables = 1 + reader.stats().text_fields.size();
  for (size_t s : order) {
    const index::SegmentInfo& seg = segments[s];
    uint64_t postings = 0, longest = 0;
    size_t present = 0;
    for (const auto& [id, boost] : words.lists) {
      const rocksdb::PinnableSlice* bytes = executor.postings(id, s);
      if (bytes == nullptr) continue;
      CASCADE_ASSIGN_OR_RETURN(index::PostingHeader h,
                               index::DecodePostingHeader(
                                   std::string_view(bytes->data(), bytes->size())));
      ++present;
      postings += h.doc_freq;
      longest = std::max<uint64_t>(longest, h.doc_freq);
    }
    if (present == 0) continue;
    Algorithm algorithm = params.algorithm;
    if (algorithm == Algorithm::kAuto) {
      algorithm = ChooseAlgorithm(params.k, present, postings, longest);
    }
    if (algorithm == Algorithm::kExhaustive) {
      CASCADE_ASSIGN_OR_RETURN(Matches matches, executor.Eval(plan, s));
      for (const Match& m : matches) {
        if (reader.IsDeleted(seg, m.doc)) continue;
        ++result->total_hits;
        top.Push({seg.base + m.doc, m.score});
      }
      continue;
    }
    cursors.clear();
    for (size_t i = 0; i < nlists; ++i) {
      const auto [id, boost] = words.lists[i];
      const rocksdb::PinnableSlice* bytes = executor.postings(id, s);
      const auto weight = static_cast<float>(boost * static_cast<double>(executor.idf(id)));
      if (bytes == nullptr || !(weight > 0.0f)) continue;
      if (owned.size() <= cursors.size()) {
        owned.push_back(std::make_unique<index::PostingCursor>());
      }
      index::PostingCursor* cur = owned[cursors.size()].get();
      CASCADE_RETURN_IF_ERROR(
          cur->Reset(std::string_view(bytes->data(), bytes->size()), seg.count));
      const int field = executor.term_field(id);
      daat::TermCursor tc;
      tc.cur = cur;
      tc.slot = static_cast<uint32_t>(i);
      tc.weight = weight;
      tc.scorer = &executor.scorer(field);
      tc.lengths = field < 0 ? nullptr : &seg.text_fields[static_cast<size_t>(field)];
      tc.table = static_cast<uint32_t>(field + 1);
      tc.InitBound();
      cursors.push_back(tc);
    }
    if (cursors.empty()) continue;
    daat::Segment segment(seg, reader, nlists, words.group_ends, tables,
                          params.total_hits_threshold, &top, &result->total_hits, &skipped);
    segment.Run(cursors, algorithm);
    for (const daat::TermCursor& tc : cursors) {
      if (!tc.cur->status().ok()) {
        const uint32_t id = words.lists[tc.slot].first;
        const int field = executor.term_field(id);
        const std::string name =
            field < 0 ? executor.term(id)
                      : reader.options().fields.text_fields[static_cast<size_t>(field)].name +
                            ":" + executor.term(id).substr(2);
        return Status::Corruption(
            "posting list of \"" + name + "\" in segment " + std::to_string(seg.id),
            tc.cur->status().ToString());
      }
    }
  }
  result->hits = top.Take();
  result->total_hits_exact = !skipped;
  return Status::OK();
}

}  // namespace

Result<std::vector<uint32_t>> MatchLucene(const QueryNode& query,
                                          const index::IndexReader& reader,
                                          index::Analyzer* analyzer,
                                          index::Analyzer* normalizer) {
  // Scores are computed on the way and ignored: the index's own BM25
  // parameters are always valid.
  CASCADE_ASSIGN_OR_RETURN(const Bm25Params bm25,
                           CheckSearchParams(SearchParams(), reader.options()));
  Executor executor(reader, analyzer, normalizer, bm25);
  CASCADE_ASSIGN_OR_RETURN(std::optional<Plan> plan,
                           Prepare(query, reader, executor));
  if (!plan) return std::vector<uint32_t>();
  return MatchPlan(executor, *plan, reader);
}

Result<TopDocs> SearchLucene(const QueryNode& query,
                             const index::IndexReader& reader,
                             index::Analyzer* analyzer,
                             index::Analyzer* normalizer,
                             const SearchParams& params) {
  CASCADE_ASSIGN_OR_RETURN(const Bm25Params bm25,
                           CheckSearchParams(params, reader.options()));
  Executor executor(reader, analyzer, normalizer, bm25);
  CASCADE_ASSIGN_OR_RETURN(std::optional<Plan> plan,
                           Prepare(query, reader, executor));
  TopDocs result;
  result.terms = executor.TakeQueryTerms();
  result.total_hits_exact = true;
  if (!plan) return result;
  CASCADE_RETURN_IF_ERROR(TopPlan(executor, *plan, reader, params.k, &result));
  return result;
}

Result<TopDocs> SearchWords(std::span<const std::pair<std::string, uint32_t>> words,
                            const index::IndexReader& reader, const SearchParams& params) {
  CASCADE_ASSIGN_OR_RETURN(const Bm25Params bm25,
                           CheckSearchParams(params, reader.options()));
  Executor executor(reader, nullptr, nullptr, bm25);
  const Plan plan = executor.BuildWords(words);
  TopDocs result;
  result.terms = executor.TakeQueryTerms();
  result.total_hits_exact = true;
  if (params.algorithm == Algorithm::kExhaustive) {
    CASCADE_RETURN_IF_ERROR(TopPlan(executor, plan, reader, params.k, &result));
  } else {
    CASCADE_RETURN_IF_ERROR(TopWords(executor, plan, reader, params, &result));
  }
  return result;
}

Result<std::vector<uint32_t>> MatchWords(std::span<const std::string> words,
                                         const index::IndexReader& reader) {
  CASCADE_ASSIGN_OR_RETURN(const Bm25Params bm25,
                           CheckSearchParams(SearchParams(), reader.options()));
  Executor executor(reader, nullptr, nullptr, bm25);
  std::vector<std::pair<std::string, uint32_t>> counted;
  for (const std::string& word : words) counted.emplace_back(word, 1);
  const Plan plan = executor.BuildWords(counted);
  return MatchPlan(executor, plan, reader);
}

}  // namespace cascade::query
