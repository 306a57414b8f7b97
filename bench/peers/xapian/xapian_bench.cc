// Xapian 1.4 peer of `cascade index` and `cascade run`, for bench/compare.sh.
//
//   xapian_bench index CORPUS INDEX_DIR
//   xapian_bench search INDEX_DIR QUERIES K
//
// CORPUS is a JSONL file (.jsonl or .jsonl.gz) or a BEIR folder of
// {"_id" or "id", "title", "text"}; QUERIES a queries.jsonl of {"_id","text"}.
//
// Analysis, as close to Cascade's (Anserini's) as Xapian allows: Xapian's
// TermGenerator word splitting (Unicode word characters, lowercased; not
// UAX#29), Lucene's 33 English stop words dropped entirely (STOP_ALL), the
// original Porter stemmer ("porter", Snowball's rendering of it; Lucene's
// differs on a few rules), only stemmed terms indexed (STEM_ALL), no
// positions (index_text_without_positions), as Cascade indexes none. One
// document per record, text = title + " " + text; the document data holds
// id, title and text (Cascade stores title and text too).
//
// Scoring: BM25Weight(k1 = 0.9, k2 = 0, k3 = 1, b = 0.4, min_normlen = 0).
// k2 = 0 drops Xapian's extra length term, which Lucene lacks; k3 = 1 weighs
// a query word once however often it repeats (Lucene counts repeats; the
// generated queries have none); min_normlen = 0 leaves short documents'
// lengths unclamped, as Lucene does (Xapian's default is 0.5). Xapian's idf is
// log((N - n + 0.5) / (n + 0.5)) where Lucene's is log(1 + (N - n + 0.5) /
// (n + 0.5)), so scores differ slightly; rankings nearly agree. Xapian's
// matcher prunes OR queries with per-term weight bounds.
//
// Xapian has a single writer: indexing runs on one thread. The database is
// committed every XAPIAN_FLUSH_THRESHOLD documents (Xapian's default 10,000,
// an environment variable); the time includes reading the corpus and the
// final commit. Search runs on one thread: a warm-up pass over all queries,
// then a timed pass; each query's time includes analysing it and reading the
// id (document data) of every hit (rank_* figures: the same without that
// read). Prints one JSON object per phase.
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <simdjson.h>
#include <xapian.h>

namespace {

namespace fs = std::filesystem;

constexpr const char* kStopWords[] = {
    "a",    "an",   "and",  "are",  "as",    "at",   "be",    "but", "by",
    "for",  "if",   "in",   "into", "is",    "it",   "no",    "not", "of",
    "on",   "or",   "such", "that", "the",   "their", "then", "there",
    "these", "they", "this", "to",  "was",   "will", "with"};

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double PeakRssMib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double SizeMib(const std::string& path) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total / 1048576.0;
}

// Reads lines from a plain or gzipped file (zlib reads both).
class LineReader {
 public:
  explicit LineReader(std::string path) {
    if (fs::is_directory(path)) {
      path = fs::exists(path + "/corpus.jsonl") ? path + "/corpus.jsonl"
                                                : path + "/corpus.jsonl.gz";
    }
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      std::fprintf(stderr, "cannot open %s\n", path.c_str());
      std::exit(1);
    }
    gzbuffer(file_, 1 << 20);
  }
  ~LineReader() { gzclose(file_); }
  bool Next(std::string* line) {
    line->clear();
    char buf[1 << 16];
    while (gzgets(file_, buf, sizeof buf) != nullptr) {
      line->append(buf);
      if (!line->empty() && line->back() == '\n') {
        line->pop_back();
        return true;
      }
    }
    return !line->empty();
  }

 private:
  gzFile file_;
};

struct Analysis {
  Xapian::SimpleStopper stopper;
  Xapian::TermGenerator generator;
  Analysis() {
    for (const char* w : kStopWords) stopper.add(w);
    generator.set_stemmer(Xapian::Stem("porter"));
    generator.set_stemming_strategy(Xapian::TermGenerator::STEM_ALL);
    generator.set_stopper(&stopper);
    generator.set_stopper_strategy(Xapian::TermGenerator::STOP_ALL);
  }
};

std::string_view Field(simdjson::dom::element doc, const char* key) {
  std::string_view v;
  if (doc[key].get(v)) return {};
  return v;
}

int Index(const std::string& corpus, const std::string& index_dir) {
  const double start = Now();
  Xapian::WritableDatabase db(index_dir, Xapian::DB_CREATE_OR_OVERWRITE);
  Analysis analysis;
  simdjson::dom::parser parser;
  LineReader reader(corpus);
  std::string line, id, data;
  uint64_t added = 0, skipped = 0;
  while (reader.Next(&line)) {
    if (line.empty()) continue;
    simdjson::dom::element doc;
    if (parser.parse(line).get(doc)) {
      ++skipped;
      continue;
    }
    std::string_view idv = Field(doc, "_id");
    if (idv.empty()) idv = Field(doc, "id");
    id.assign(idv);
    int64_t number;
    if (id.empty() && (!doc["_id"].get(number) || !doc["id"].get(number))) {
      id = std::to_string(number);
    }
    const std::string_view title = Field(doc, "title");
    const std::string_view text = Field(doc, "text");
    if (id.empty() || (title.empty() && text.empty())) {
      ++skipped;
      continue;
    }
    Xapian::Document document;
    analysis.generator.set_document(document);
    analysis.generator.index_text_without_positions(std::string(title));
    analysis.generator.index_text_without_positions(std::string(text));
    data.assign(id).append("\n").append(title).append("\n").append(text);
    document.set_data(data);
    db.add_document(document);
    ++added;
  }
  db.commit();
  db.close();
  const double seconds = Now() - start;
  std::printf(
      "{\"engine\":\"xapian\",\"phase\":\"index\",\"positions\":false,"
      "\"threads\":1,\"docs\":%llu,\"skipped\":%llu,\"seconds\":%.3f,"
      "\"docs_per_s\":%.1f,\"index_mib\":%.2f,\"peak_rss_mib\":%.1f}\n",
      static_cast<unsigned long long>(added),
      static_cast<unsigned long long>(skipped), seconds, added / seconds,
      SizeMib(index_dir), PeakRssMib());
  return 0;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

int Search(const std::string& index_dir, const std::string& queries_path,
           unsigned k) {
  std::vector<std::string> texts;
  {
    simdjson::dom::parser parser;
    LineReader reader(queries_path);
    std::string line;
    while (reader.Next(&line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      simdjson::dom::element doc;
      std::string_view text;
      if (parser.parse(line).get(doc) || doc["text"].get(text)) {
        std::fprintf(stderr, "bad query line: %s\n", line.c_str());
        return 1;
      }
      texts.emplace_back(text);
    }
  }
  Xapian::Database db(index_dir);
  Xapian::Enquire enquire(db);
  enquire.set_weighting_scheme(Xapian::BM25Weight(0.9, 0, 1, 0.4, 0));
  Analysis analysis;
  std::vector<double> latencies(texts.size());
  std::vector<double> ranking(texts.size());  // without reading the hits' ids
  uint64_t hits = 0;
  double total = 0;
  for (int pass = 0; pass < 2; ++pass) {  // pass 0 warms up
    hits = 0;
    const double pass_start = Now();
    for (size_t i = 0; i < texts.size(); ++i) {
      const double t0 = Now();
      // The query is analysed exactly as the documents were.
      Xapian::Document scratch;
      analysis.generator.set_document(scratch);
      analysis.generator.index_text_without_positions(texts[i]);
      std::vector<Xapian::Query> terms;
      for (auto t = scratch.termlist_begin(); t != scratch.termlist_end(); ++t) {
        terms.emplace_back(*t, t.get_wdf());
      }
      enquire.set_query(
          Xapian::Query(Xapian::Query::OP_OR, terms.begin(), terms.end()));
      Xapian::MSet mset = enquire.get_mset(0, k);
      ranking[i] = (Now() - t0) * 1000.0;
      for (auto m = mset.begin(); m != mset.end(); ++m) {
        const std::string data = m.get_document().get_data();
        hits += data.find('\n') != 0;
      }
      latencies[i] = (Now() - t0) * 1000.0;
    }
    total = Now() - pass_start;
  }
  double mean = 0;
  for (double l : latencies) mean += l;
  mean = latencies.empty() ? 0 : mean / latencies.size();
  std::vector<double> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  std::sort(ranking.begin(), ranking.end());
  std::printf(
      "{\"engine\":\"xapian\",\"phase\":\"search\",\"k\":%u,\"queries\":%zu,"
      "\"hits\":%llu,\"qps\":%.1f,\"mean_ms\":%.4f,\"p50_ms\":%.4f,"
      "\"p99_ms\":%.4f,\"rank_p50_ms\":%.4f,\"rank_p99_ms\":%.4f,"
      "\"peak_rss_mib\":%.1f}\n",
      k, texts.size(), static_cast<unsigned long long>(hits),
      total > 0 ? texts.size() / total : 0.0, mean, Percentile(sorted, 50),
      Percentile(sorted, 99), Percentile(ranking, 50), Percentile(ranking, 99),
      PeakRssMib());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::strcmp(argv[1], "index") == 0) {
      return Index(argv[2], argv[3]);
    }
    if (argc == 5 && std::strcmp(argv[1], "search") == 0) {
      return Search(argv[2], argv[3], static_cast<unsigned>(std::atoi(argv[4])));
    }
  } catch (const Xapian::Error& e) {
    std::fprintf(stderr, "xapian: %s\n", e.get_description().c_str());
    return 1;
  }
  std::fprintf(stderr,
               "usage: xapian_bench index CORPUS INDEX_DIR\n"
               "       xapian_bench search INDEX_DIR QUERIES K\n");
  return 2;
}
