#include "tools/gen_corpus.h"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "index/analyzer.h"
#include "index/corpus_reader.h"

namespace cascade::tools {

namespace {

// --- Random numbers: splitmix64 and distributions written out here, so that
// the bytes do not depend on the standard library.

inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // A stream of its own for every (seed, stream, index).
  Rng(uint64_t seed, uint64_t stream, uint64_t index)
      : state_(Mix64(Mix64(seed ^ Mix64(stream)) + index)) {}
  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }
  // Uniform in [0, 1), 53 bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n), n > 0 (multiply-shift; the bias is below 2^-40 for
  // the n used here).
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

constexpr uint64_t kDocStream = 0x646f6373;     // "docs"
constexpr uint64_t kQueryStream = 0x71756572;   // "quer"
constexpr uint64_t kCalibrateStream = 0x63616c;  // "cal"

// Walker/Vose alias table: O(1) draws from a discrete distribution.
class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights) {
    const size_t n = weights.size();
    prob_.assign(n, 0);
    alias_.assign(n, 0);
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / sum;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] = (scaled[l] + scaled[s]) - 1.0;
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) prob_[i] = 1.0;
    for (uint32_t i : small) prob_[i] = 1.0;  // rounding leftovers
  }
  size_t size() const { return prob_.size(); }
  uint32_t Draw(Rng& rng) const {
    const uint32_t i = static_cast<uint32_t>(rng.Below(prob_.size()));
    return rng.Uniform() < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

// Calls on_word(lowercased word) for each ASCII letter/digit run of `text`.
template <typename F>
void ForEachWord(std::string_view text, std::string* buffer, F&& on_word) {
  buffer->clear();
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9')) {
      buffer->push_back(c);
    } else if (u >= 'A' && u <= 'Z') {
      buffer->push_back(static_cast<char>(u - 'A' + 'a'));
    } else if (!buffer->empty()) {
      on_word(std::string_view(*buffer));
      buffer->clear();
    }
  }
  if (!buffer->empty()) {
    on_word(std::string_view(*buffer));
    buffer->clear();
  }
}

// Pseudo-words: consonant-vowel syllables spelling a number in base 80.
constexpr std::string_view kConsonants = "bdfghjklmnprstvz";
constexpr std::string_view kVowels = "aeiou";
constexpr uint64_t kSyllables = 16 * 5;

void AppendPseudoWord(uint64_t k, std::string* out) {
  k += kSyllables * kSyllables;  // at least three syllables
  char digits[16];
  int n = 0;
  while (k > 0) {
    digits[n++] = static_cast<char>(k % kSyllables);
    k /= kSyllables;
  }
  while (n > 0) {
    const int d = digits[--n];
    out->push_back(kConsonants[d / 5]);
    out->push_back(kVowels[d % 5]);
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

void SplitWords(std::string_view text, std::vector<std::string>* words) {
  std::string buffer;
  ForEachWord(text, &buffer,
              [words](std::string_view w) { words->emplace_back(w); });
}

struct CorpusModel::Impl {
  CorpusModelInfo info;
  // Observed words by rank (rank r is words[r - 1]).
  std::string arena;
  std::vector<uint32_t> offsets;  // size V + 1
  uint64_t vocabulary = 0;        // V
  // Head: ranks 1..head drawn by alias table.
  AliasTable head;
  // Tail: continuous power law x^-s on [tail_lo, tail_hi], rounded to ranks.
  double s = 1.2;
  double tail_lo_pow = 0, tail_hi_pow = 0;  // x^(1-s) at both ends
  double p_tail = 0;
  double copy = 0;
  std::vector<std::pair<uint32_t, uint32_t>> lengths;  // (title, text) words
  std::vector<uint8_t> query_lengths;
  AliasTable query_words;
  std::vector<uint32_t> query_ranks;  // rank of each query_words entry

  // What the tail is calibrated from.
  std::vector<double> head_weights;  // observed counts of ranks 1..head
  double head_total = 1, head_mass = 0, p_boundary = 0;

  // Tail mass (unnormalised) of exponent s: integral of
  // p_boundary (x / head)^-s over [head + 0.5, kMaxRank + 0.5].
  double TailMass(double exponent) const {
    const double h = static_cast<double>(head_weights.size());
    const double lo = h + 0.5, hi = static_cast<double>(kMaxRank) + 0.5;
    const double a = p_boundary * std::pow(h, exponent);
    return a * (std::pow(lo, 1 - exponent) - std::pow(hi, 1 - exponent)) /
           (exponent - 1);
  }

  // Expected distinct words among `draws` fresh draws of the model with
  // tail exponent s: sum over ranks of 1 - exp(-draws p(r)), the tail's
  // part integrated numerically on a log scale.
  double ExpectedVocabulary(double exponent, double draws) const {
    const double z = head_mass + TailMass(exponent);
    double v = 0;
    for (double c : head_weights) {
      v += 1 - std::exp(-draws * c / head_total / z);
    }
    const double h = static_cast<double>(head_weights.size());
    const double a = p_boundary * std::pow(h, exponent) / z;
    const double u0 = std::log(h + 0.5);
    const double u1 = std::log(static_cast<double>(kMaxRank) + 0.5);
    constexpr int kSteps = 2000;  // even, for Simpson's rule
    const double du = (u1 - u0) / kSteps;
    double sum = 0;
    for (int i = 0; i <= kSteps; ++i) {
      const double u = u0 + i * du;
      const double f =
          -std::expm1(-draws * a * std::exp(-exponent * u)) * std::exp(u);
      sum += f * (i == 0 || i == kSteps ? 1 : (i % 2 == 1 ? 4 : 2));
    }
    return v + sum * du / 3;
  }

  // The exponent in [1.05, 3] whose expected vocabulary after `draws` fresh
  // draws is `vocabulary` (bisection; the vocabulary falls as s grows).
  double CalibrateTail(double draws, double vocabulary) const {
    double lo = 1.05, hi = 3.0;
    if (ExpectedVocabulary(lo, draws) <= vocabulary) return lo;
    if (ExpectedVocabulary(hi, draws) >= vocabulary) return hi;
    for (int i = 0; i < 40; ++i) {
      const double mid = (lo + hi) / 2;
      (ExpectedVocabulary(mid, draws) > vocabulary ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
  }

  void SetTail(double exponent) {
    const double h = static_cast<double>(head_weights.size());
    s = exponent;
    tail_lo_pow = std::pow(h + 0.5, 1.0 - s);
    tail_hi_pow = std::pow(static_cast<double>(kMaxRank) + 0.5, 1.0 - s);
    const double tail = TailMass(s);
    p_tail = tail / (head_mass + tail);
  }

  uint64_t DrawFresh(Rng& rng) const {
    if (head.size() == 0 || rng.Uniform() < p_tail) {
      const double u = rng.Uniform();
      const double x =
          std::pow(tail_lo_pow - u * (tail_lo_pow - tail_hi_pow), 1.0 / (1.0 - s));
      const uint64_t r = static_cast<uint64_t>(std::llround(x));
      return std::clamp<uint64_t>(r, head.size() + 1, kMaxRank);
    }
    return uint64_t{head.Draw(rng)} + 1;
  }

  // Ranks of a document of `n` words into *ranks.
  void DrawDocument(Rng& rng, size_t n, double copy_probability,
                    std::vector<uint64_t>* ranks) const {
    ranks->resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (i > 0 && rng.Uniform() < copy_probability) {
        (*ranks)[i] = (*ranks)[rng.Below(i)];
      } else {
        (*ranks)[i] = DrawFresh(rng);
      }
    }
  }

  void AppendWord(uint64_t rank, std::string* out) const {
    if (rank <= vocabulary) {
      out->append(arena, offsets[rank - 1], offsets[rank] - offsets[rank - 1]);
    } else {
      AppendPseudoWord(rank - vocabulary - 1, out);
    }
  }

  // Sum of distinct words / sum of words over `docs` simulated documents.
  double SimulatedDistinctRatio(double copy_probability, size_t docs) const {
    Rng rng(0, kCalibrateStream, 0);
    std::vector<uint64_t> ranks;
    uint64_t words = 0, distinct = 0;
    for (size_t d = 0; d < docs; ++d) {
      const auto& [t, x] = lengths[rng.Below(lengths.size())];
      DrawDocument(rng, size_t{t} + x, copy_probability, &ranks);
      words += ranks.size();
      std::sort(ranks.begin(), ranks.end());
      distinct += std::unique(ranks.begin(), ranks.end()) - ranks.begin();
    }
    return words == 0 ? 1.0 : static_cast<double>(distinct) / words;
  }
};

CorpusModel::CorpusModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CorpusModel::~CorpusModel() = default;

const CorpusModelInfo& CorpusModel::info() const { return impl_->info; }

Result<std::unique_ptr<CorpusModel>> CorpusModel::Learn(
    const std::vector<std::string>& like) {
  if (like.empty()) {
    return Status::InvalidArgument("no source corpus: give at least one --like");
  }
  auto impl = std::make_unique<Impl>();
  CorpusModelInfo& info = impl->info;

  std::unordered_map<std::string, uint32_t> ids;
  std::vector<std::string> words;
  std::vector<uint64_t> counts, title_counts;
  std::vector<uint32_t> title_lengths;  // titles of 2..6 words
  std::vector<uint8_t> real_query_lengths;
  uint64_t distinct_sum = 0;
  std::string buffer;
  std::vector<uint32_t> doc_words;
  auto id_of = [&](std::string_view w) {
    auto [it, inserted] =
        ids.try_emplace(std::string(w), static_cast<uint32_t>(words.size()));
    if (inserted) {
      words.emplace_back(w);
      counts.push_back(0);
      title_counts.push_back(0);
    }
    return it->second;
  };

  for (const std::string& path : like) {
    auto reader = index::CorpusReader::Open({path}, index::CorpusOptions{});
    if (!reader.ok()) return reader.status();
    index::CorpusRecord record;
    while (true) {
      auto more = (*reader)->Next(&record);
      if (!more.ok()) return more.status();
      if (!*more) break;
      doc_words.clear();
      uint32_t title_n = 0, text_n = 0;
      ForEachWord(record.doc.title, &buffer, [&](std::string_view w) {
        const uint32_t id = id_of(w);
        ++counts[id];
        ++title_counts[id];
        doc_words.push_back(id);
        ++title_n;
      });
      ForEachWord(record.doc.text, &buffer, [&](std::string_view w) {
        const uint32_t id = id_of(w);
        ++counts[id];
        doc_words.push_back(id);
        ++text_n;
      });
      if (title_n + text_n == 0) continue;
      impl->lengths.emplace_back(title_n, text_n);
      if (title_n >= kMinQueryWords && title_n <= kMaxQueryWords) {
        title_lengths.push_back(title_n);
      }
      info.source_words += title_n + text_n;
      std::sort(doc_words.begin(), doc_words.end());
      distinct_sum +=
          std::unique(doc_words.begin(), doc_words.end()) - doc_words.begin();
    }
    // Real queries beside a BEIR corpus give the query lengths.
    const std::filesystem::path queries =
        std::filesystem::path(path) / "queries.jsonl";
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec) &&
        std::filesystem::is_regular_file(queries, ec)) {
      auto qreader =
          index::CorpusReader::Open({queries.string()}, index::CorpusOptions{});
      if (!qreader.ok()) return qreader.status();
      while (true) {
        auto more = (*qreader)->Next(&record);
        if (!more.ok()) return more.status();
        if (!*more) break;
        size_t n = 0;
        ForEachWord(record.doc.title + " " + record.doc.text, &buffer,
                    [&](std::string_view) { ++n; });
        if (n >= kMinQueryWords && n <= kMaxQueryWords) {
          real_query_lengths.push_back(static_cast<uint8_t>(n));
        }
      }
    }
  }
  if (info.source_words == 0) {
    std::string names;
    for (const std::string& p : like) names += (names.empty() ? "" : ", ") + p;
    return Status::InvalidArgument("the --like corpora hold no words", names);
  }
  info.source_docs = impl->lengths.size();
  info.source_vocabulary = words.size();
  info.mean_doc_words =
      static_cast<double>(info.source_words) / info.source_docs;
  info.source_distinct_ratio =
      static_cast<double>(distinct_sum) / info.source_words;

  // Ranks: count descending, then the word, so the order is portable.
  std::vector<uint32_t> order(words.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return counts[a] != counts[b] ? counts[a] > counts[b] : words[a] < words[b];
  });
  const uint64_t v = words.size();
  impl->vocabulary = v;
  impl->offsets.reserve(v + 1);
  impl->offsets.push_back(0);
  std::vector<uint64_t> ranked_counts(v);
  for (uint64_t r = 0; r < v; ++r) {
    impl->arena += words[order[r]];
    impl->offsets.push_back(static_cast<uint32_t>(impl->arena.size()));
    ranked_counts[r] = counts[order[r]];
  }

  // Head: the ranks seen at least kHeadMinCount times.
  uint64_t head = 0;
  while (head < v && ranked_counts[head] >= kHeadMinCount) ++head;
  if (head == 0) head = v;  // a tiny corpus: every word is head
  const double total = static_cast<double>(info.source_words);
  std::vector<double> head_weights(ranked_counts.begin(),
                                   ranked_counts.begin() + head);
  double head_mass = 0;
  for (double c : head_weights) head_mass += c / total;
  impl->head = AliasTable(head_weights);
  info.head_ranks = head;

  // Tail level: a line through log count / log rank of the mid tail
  // (log-spaced ranks of [head / 100, head]).
  const uint64_t lo = std::max<uint64_t>(1, head / 100);
  std::vector<uint64_t> fit_ranks;
  for (int i = 0; i <= 40; ++i) {
    const double x = std::exp(std::log(static_cast<double>(lo)) +
                              (std::log(static_cast<double>(head)) -
                               std::log(static_cast<double>(lo))) *
                                  i / 40.0);
    const uint64_t r = std::clamp<uint64_t>(std::llround(x), lo, head);
    if (fit_ranks.empty() || fit_ranks.back() != r) fit_ranks.push_back(r);
  }
  double s = 1.2;  // slope when too few points to fit (tiny corpora)
  if (fit_ranks.size() >= 3) {
    double mx = 0, my = 0;
    for (uint64_t r : fit_ranks) {
      mx += std::log(static_cast<double>(r));
      my += std::log(static_cast<double>(ranked_counts[r - 1]));
    }
    mx /= fit_ranks.size();
    my /= fit_ranks.size();
    double sxy = 0, sxx = 0;
    for (uint64_t r : fit_ranks) {
      const double dx = std::log(static_cast<double>(r)) - mx;
      sxy += dx * (std::log(static_cast<double>(ranked_counts[r - 1])) - my);
      sxx += dx * dx;
    }
    if (sxx > 0) s = -sxy / sxx;
  }
  // The fitted line's probability at the head boundary anchors the tail:
  // p(r) = p_b (r / head)^-s. The slope of the observed mid tail is too
  // shallow for the far tail (word frequencies steepen beyond it), so s is
  // instead chosen so that the model, sampled as often as the source holds
  // fresh words, has the source's vocabulary (Heaps' law at the source size).
  double log_c = 0;
  for (uint64_t r : fit_ranks) {
    log_c += std::log(static_cast<double>(ranked_counts[r - 1])) +
             s * std::log(static_cast<double>(r));
  }
  log_c /= std::max<size_t>(1, fit_ranks.size());
  const double p_boundary =
      std::exp(log_c - s * std::log(static_cast<double>(head))) / total;
  impl->head_mass = head_mass;
  impl->head_weights = std::move(head_weights);
  impl->head_total = total;
  impl->p_boundary = p_boundary;
  impl->SetTail(impl->CalibrateTail(total, static_cast<double>(v)));
  // Burstiness: the copy probability that gives the source's distinct ratio.
  const size_t sim_docs = std::min<size_t>(2000, impl->lengths.size() * 4);
  double q_lo = 0, q_hi = 0.95;
  if (impl->SimulatedDistinctRatio(0, sim_docs) <= info.source_distinct_ratio) {
    q_hi = 0;
  } else {
    for (int i = 0; i < 14; ++i) {
      const double mid = (q_lo + q_hi) / 2;
      if (impl->SimulatedDistinctRatio(mid, sim_docs) >
          info.source_distinct_ratio) {
        q_lo = mid;
      } else {
        q_hi = mid;
      }
    }
  }
  impl->copy = (q_lo + q_hi) / 2;
  info.copy_probability = impl->copy;
  // Copies add no new words: calibrate the tail again on the fresh draws.
  impl->SetTail(
      impl->CalibrateTail(total * (1.0 - impl->copy), static_cast<double>(v)));
  info.zipf_exponent = impl->s;
  info.tail_probability = impl->p_tail;

  // Queries: lengths from real queries, else from titles of 2..6 words.
  if (!real_query_lengths.empty()) {
    impl->query_lengths = real_query_lengths;
    info.query_length_source = real_query_lengths.size();
  } else {
    for (uint32_t n : title_lengths) {
      impl->query_lengths.push_back(static_cast<uint8_t>(n));
    }
  }
  if (impl->query_lengths.empty()) {
    for (size_t n = kMinQueryWords; n <= kMaxQueryWords; ++n) {
      impl->query_lengths.push_back(static_cast<uint8_t>(n));
    }
  }
  uint64_t title_total = 0;
  for (uint64_t c : title_counts) title_total += c;
  std::unordered_set<std::string_view> stop(index::EnglishStopWords().begin(),
                                            index::EnglishStopWords().end());
  std::vector<double> query_weights;
  for (uint64_t r = 0; r < v; ++r) {
    const uint32_t w = order[r];
    const uint64_t weight = title_total > 0 ? title_counts[w] : counts[w];
    if (weight == 0 || stop.count(words[w]) > 0) continue;
    query_weights.push_back(static_cast<double>(weight));
    impl->query_ranks.push_back(static_cast<uint32_t>(r + 1));
  }
  if (!query_weights.empty()) impl->query_words = AliasTable(query_weights);

  return std::unique_ptr<CorpusModel>(new CorpusModel(std::move(impl)));
}

std::string CorpusModel::Word(uint64_t rank) const {
  std::string w;
  impl_->AppendWord(rank, &w);
  return w;
}

void CorpusModel::AppendDocument(
    uint64_t seed, uint64_t index, std::string* out,
    const std::function<void(uint64_t)>& on_rank) const {
  Rng rng(seed, kDocStream, index);
  const auto& [title_n, text_n] =
      impl_->lengths[rng.Below(impl_->lengths.size())];
  thread_local std::vector<uint64_t> ranks;
  impl_->DrawDocument(rng, size_t{title_n} + text_n, impl_->copy, &ranks);
  out->append("{\"_id\":\"");
  out->append(std::to_string(index));
  out->append("\",\"title\":\"");
  for (size_t i = 0; i < ranks.size(); ++i) {
    if (i == title_n) out->append("\",\"text\":\"");
    else if (i > 0) out->push_back(' ');
    impl_->AppendWord(ranks[i], out);
    if (on_rank) on_rank(ranks[i]);
  }
  if (text_n == 0) out->append("\",\"text\":\"");
  out->append("\"}\n");
}

void CorpusModel::AppendQuery(uint64_t seed, uint64_t index,
                              std::string* out) const {
  Rng rng(seed, kQueryStream, index);
  const size_t want =
      impl_->query_lengths[rng.Below(impl_->query_lengths.size())];
  std::vector<uint32_t> picked;
  const size_t candidates = impl_->query_ranks.size();
  for (int tries = 0; picked.size() < std::min(want, candidates) &&
                      tries < 50 * static_cast<int>(want);
       ++tries) {
    const uint32_t rank = impl_->query_ranks[impl_->query_words.Draw(rng)];
    if (std::find(picked.begin(), picked.end(), rank) == picked.end()) {
      picked.push_back(rank);
    }
  }
  out->append("{\"_id\":\"q");
  out->append(std::to_string(index + 1));
  out->append("\",\"text\":\"");
  for (size_t i = 0; i < picked.size(); ++i) {
    if (i > 0) out->push_back(' ');
    impl_->AppendWord(picked[i], out);
  }
  out->append("\"}\n");
}

namespace {

// Plain or gzip output, written in large blocks.
class Output {
 public:
  ~Output() { Close().IgnoreError(); }
  Status Open(const std::string& path) {
    path_ = path;
    if (EndsWith(path, ".gz")) {
      gz_ = gzopen(path.c_str(), "wb1");
      if (gz_ == nullptr) return Status::IOError("cannot write", path);
    } else {
      file_ = std::fopen(path.c_str(), "wb");
      if (file_ == nullptr) return Status::IOError("cannot write", path);
    }
    return Status::OK();
  }
  Status Write(const std::string& bytes) {
    if (bytes.empty()) return Status::OK();
    bool ok;
    if (gz_ != nullptr) {
      ok = gzwrite(gz_, bytes.data(), static_cast<unsigned>(bytes.size())) ==
           static_cast<int>(bytes.size());
    } else {
      ok = std::fwrite(bytes.data(), 1, bytes.size(), file_) == bytes.size();
    }
    return ok ? Status::OK() : Status::IOError("write failed", path_);
  }
  Status Close() {
    bool ok = true;
    if (gz_ != nullptr) ok = gzclose(gz_) == Z_OK;
    if (file_ != nullptr) ok = std::fclose(file_) == 0;
    gz_ = nullptr;
    file_ = nullptr;
    return ok ? Status::OK() : Status::IOError("write failed", path_);
  }

 private:
  std::string path_;
  gzFile gz_ = nullptr;
  std::FILE* file_ = nullptr;
};

double Seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kFlushBytes = 1 << 20;

}  // namespace

Result<GenCorpusSummary> GenerateCorpus(const GenCorpusOptions& options) {
  if (options.docs == 0) {
    return Status::InvalidArgument("--docs must be at least 1");
  }
  if (options.out.empty()) return Status::InvalidArgument("--out is required");
  if (!options.queries_out.empty() && options.queries == 0) {
    return Status::InvalidArgument("--queries must be at least 1 with --queries-out");
  }
  if (options.docs > (uint64_t{1} << 32) - 1) {
    return Status::InvalidArgument("--docs must be below 2^32 (an index's limit)");
  }
  GenCorpusSummary summary;
  double t0 = Seconds();
  CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<CorpusModel> model,
                           CorpusModel::Learn(options.like));
  summary.model = model->info();
  summary.learn_seconds = Seconds() - t0;

  t0 = Seconds();
  Output out;
  CASCADE_RETURN_IF_ERROR(out.Open(options.out));
  std::vector<uint64_t> seen(kMaxRank / 64 + 1, 0);
  uint64_t words = 0, vocabulary = 0;
  auto on_rank = [&](uint64_t r) {
    ++words;
    uint64_t& bits = seen[r >> 6];
    const uint64_t bit = uint64_t{1} << (r & 63);
    vocabulary += (bits & bit) == 0;
    bits |= bit;
  };
  std::string buffer;
  buffer.reserve(kFlushBytes + (64 << 10));
  for (uint64_t i = 0; i < options.docs; ++i) {
    model->AppendDocument(options.seed, i, &buffer, on_rank);
    if (buffer.size() >= kFlushBytes) {
      CASCADE_RETURN_IF_ERROR(out.Write(buffer));
      buffer.clear();
    }
  }
  CASCADE_RETURN_IF_ERROR(out.Write(buffer));
  CASCADE_RETURN_IF_ERROR(out.Close());
  summary.docs = options.docs;
  summary.words = words;
  summary.vocabulary = vocabulary;

  if (!options.queries_out.empty()) {
    Output qout;
    CASCADE_RETURN_IF_ERROR(qout.Open(options.queries_out));
    buffer.clear();
    for (uint64_t i = 0; i < options.queries; ++i) {
      model->AppendQuery(options.seed, i, &buffer);
    }
    CASCADE_RETURN_IF_ERROR(qout.Write(buffer));
    CASCADE_RETURN_IF_ERROR(qout.Close());
    summary.queries = options.queries;
  }
  summary.write_seconds = Seconds() - t0;
  return summary;
}

}  // namespace cascade::tools
