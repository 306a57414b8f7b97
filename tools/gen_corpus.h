// Synthetic corpora for benchmarks (`cascade gen-corpus`): a JSONL corpus and
// a query file whose statistics follow real corpora, of any size.
//
// The model, learned from the --like corpora (read with index::CorpusReader):
//
//  - Words are split by SplitWords(): runs of ASCII letters and digits,
//    lowercased; every other byte separates words. Stop words are kept, so
//    the generated text goes through each engine's own analysis (stop words,
//    stemming) the way real text does. The Cascade analyzer is not used
//    because the output must be surface words, not stems.
//  - Lengths: each document copies the (title words, text words) pair of a
//    source document drawn uniformly, so both length distributions and their
//    correlation are the source's. Pairs with neither title nor text are left
//    out.
//  - Word frequencies: the pooled counts of all --like corpora, sorted
//    (count descending, then word). Ranks whose count is at least
//    kHeadMinCount are drawn with their observed probability (alias table).
//    Beyond them a Zipf tail p(r) = p_b (r / head)^-s runs up to rank
//    kMaxRank (a bounded continuous power law, sampled by inverting its
//    CDF). p_b, the level at the head boundary, comes from a least-squares
//    line through log count / log rank of the observed mid tail (ranks
//    head/100 .. head); the exponent s is calibrated (bisection) so that the
//    model, drawn as many times as the source has freshly drawn words, has
//    the source's vocabulary in expectation (the mid tail's own slope, about
//    1.4, is too shallow for the far tail and would invent about three times
//    too many words). A tail rank within the observed vocabulary is that
//    observed word; a rank beyond it is a pseudo-word (consonant-vowel
//    syllables spelling the rank, at least three syllables). So vocabulary
//    keeps growing with the number of documents, as Heaps' law says it does
//    (about V ~ N^(1/s); s is about 2 for reuters21578 + 20newsgroups),
//    instead of stopping at the source's vocabulary.
//  - Burstiness: real documents repeat their words more than independent
//    draws do. After its first word, each word of a document (title then
//    text) is, with probability `copy_probability`, a copy of a uniformly
//    chosen earlier word of the same document, else a fresh draw. Copying
//    keeps every word's expected collection frequency (a Polya urn), and
//    `copy_probability` is calibrated by bisection so that distinct words /
//    words per document matches the source, which makes document
//    frequencies (posting-list lengths) and term frequencies realistic.
//  - Queries: a length of 2 to 6 words drawn from the source's real queries
//    (queries.jsonl beside a BEIR corpus) when any --like has them, else from
//    the source's titles of 2 to 6 words (title queries); words drawn, without
//    repeats, with probability proportional to their frequency in the source
//    titles (or texts, when there are no titles), Lucene's 33 stop words
//    excluded. A title word that is common in titles sits at the rank it has
//    in the corpus model, so the query terms hit posting lists as long, at
//    the generated size, as the real ones would be.
//
// Determinism: the output is a function of the flags (and the --like files)
// alone. Random numbers come from splitmix64, and every distribution is
// implemented here (std:: distributions differ across standard libraries).
// Document i uses its own stream seeded from (seed, i), so a corpus of N
// documents is a prefix of a corpus of M > N documents with the same seed.
// Queries use streams of their own and do not depend on --docs. A .gz output
// is written by zlib (level 1, mtime 0): the same bytes for the same zlib.
//
// Memory is the model (a few MiB per million source words) plus a bitmap of
// kMaxRank bits (16 MiB) for the vocabulary count; documents stream out.
#ifndef CASCADE_TOOLS_GEN_CORPUS_H_
#define CASCADE_TOOLS_GEN_CORPUS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::tools {

// Ranks with at least this many occurrences in the source are drawn with
// their observed probability; rarer ranks follow the fitted Zipf law.
inline constexpr uint64_t kHeadMinCount = 4;
// The Zipf tail stops here (about 134 M distinct words).
inline constexpr uint64_t kMaxRank = uint64_t{1} << 27;
// Query lengths, in words.
inline constexpr size_t kMinQueryWords = 2;
inline constexpr size_t kMaxQueryWords = 6;

// Appends the words of `text` (ASCII letter/digit runs, lowercased) to
// *words.
void SplitWords(std::string_view text, std::vector<std::string>* words);

// What the model learned, for the summary and the tests.
struct CorpusModelInfo {
  uint64_t source_docs = 0;      // documents read (pairs kept)
  uint64_t source_words = 0;     // words in titles and texts
  uint64_t source_vocabulary = 0;
  double mean_doc_words = 0;     // title + text words per source document
  uint64_t head_ranks = 0;       // ranks drawn with observed probability
  double zipf_exponent = 0;      // s of the tail (calibrated)
  double tail_probability = 0;   // chance that a fresh draw is from the tail
  double copy_probability = 0;   // burstiness, see above
  double source_distinct_ratio = 0;  // sum distinct / sum words per doc
  uint64_t query_length_source = 0;  // real queries (0: titles were used)
};

class CorpusModel {
 public:
  // Reads every document of `like` (each a BEIR folder or a JSONL file, as
  // `cascade index` takes them) and learns the model. Errors: NotFound naming
  // a missing path, InvalidArgument when `like` is empty or the corpora hold
  // no words, IOError/Corruption from reading.
  static Result<std::unique_ptr<CorpusModel>> Learn(
      const std::vector<std::string>& like);

  ~CorpusModel();
  CorpusModel(const CorpusModel&) = delete;
  CorpusModel& operator=(const CorpusModel&) = delete;

  const CorpusModelInfo& info() const;

  // Writes document `index` of the corpus of `seed` as one JSON line
  // ({"_id","title","text"} and '\n') appended to *out. The ranks of its
  // words (1-based) are passed to `on_rank` when given. Thread-compatible
  // (const).
  void AppendDocument(uint64_t seed, uint64_t index, std::string* out,
                      const std::function<void(uint64_t)>& on_rank = {}) const;

  // Appends query `index` of `seed` ({"_id","text"} and '\n') to *out.
  void AppendQuery(uint64_t seed, uint64_t index, std::string* out) const;

  // The word of a rank (1-based): an observed word or a pseudo-word.
  std::string Word(uint64_t rank) const;

 private:
  struct Impl;
  explicit CorpusModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct GenCorpusOptions {
  std::vector<std::string> like;  // source corpora; at least one
  uint64_t docs = 0;              // documents to write; > 0
  uint64_t seed = 1;
  std::string out;                // .jsonl, or .jsonl.gz / .gz (gzip)
  uint64_t queries = 1000;        // queries to write when queries_out is set
  std::string queries_out;        // empty: no query file
};

struct GenCorpusSummary {
  CorpusModelInfo model;
  uint64_t docs = 0;
  uint64_t words = 0;
  uint64_t vocabulary = 0;  // distinct words written
  uint64_t queries = 0;
  double learn_seconds = 0;
  double write_seconds = 0;
};

// Learns the model and writes the corpus (and queries). Errors:
// InvalidArgument naming the flag for bad options, the errors of
// CorpusModel::Learn, IOError naming the file that cannot be written.
Result<GenCorpusSummary> GenerateCorpus(const GenCorpusOptions& options);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_GEN_CORPUS_H_
