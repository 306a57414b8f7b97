#include "tools/eval_metrics.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace cascade::tools {
namespace {

// trec_eval's measures are fixed at these depths by the command line we
// reproduce (-m ndcg_cut.10 -m recall.100,1000 -m P.10).
constexpr size_t kTopDepth = 10;
constexpr size_t kRecallShallow = 100;
constexpr size_t kRecallDeep = 1000;

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

std::string ErrnoText() { return std::strerror(errno); }

// "<path>:<line>" so that an editor can jump to the bad line.
std::string Where(const std::string& path, size_t line_no) {
  return path + ":" + std::to_string(line_no);
}

Status LineError(const std::string& path, size_t line_no,
                 std::string_view detail) {
  return Status::InvalidArgument(Where(path, line_no), detail);
}

// Calls `on_line(line_no, line)` for every line of a plain or gzipped file
// (gzopen reads both), numbering from 1 and without the line terminator
// ("\n" or "\r\n"). Stops at the first non-OK Status and returns it.
Status ForEachLine(
    const std::string& path, std::string_view what,
    const std::function<Status(size_t, std::string_view)>& on_line) {
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return Status::IOError("open " + std::string(what) + " " + path,
                           ErrnoText());
  }
  gzbuffer(file.get(), 1 << 17);
  std::string line;
  char chunk[1 << 14];
  size_t line_no = 0;
  bool more = true;
  while (more) {
    line.clear();
    // A line longer than `chunk` arrives in pieces; join them before use.
    for (;;) {
      if (gzgets(file.get(), chunk, sizeof(chunk)) == nullptr) {
        more = false;
        break;
      }
      line.append(chunk);
      if (!line.empty() && line.back() == '\n') break;
    }
    if (!more) {
      int err = Z_OK;
      const char* msg = gzerror(file.get(), &err);
      if (err != Z_OK && err != Z_STREAM_END) {
        return Status::IOError("read " + std::string(what) + " " + path, msg);
      }
      if (line.empty()) break;  // clean end of file
    }
    ++line_no;
    std::string_view view(line);
    while (!view.empty() && (view.back() == '\n' || view.back() == '\r')) {
      view.remove_suffix(1);
    }
    CASCADE_RETURN_IF_ERROR(on_line(line_no, view));
  }
  return Status::OK();
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

void SplitWhitespace(std::string_view line, std::vector<std::string_view>* out) {
  out->clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    if (i > start) out->push_back(line.substr(start, i - start));
  }
}

// Tab-separated fields, each trimmed: BEIR ids may not hold tabs but the
// files are hand-edited often enough to carry stray spaces.
void SplitTabs(std::string_view line, std::vector<std::string_view>* out) {
  out->clear();
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      out->push_back(Trim(line.substr(start)));
      return;
    }
    out->push_back(Trim(line.substr(start, tab - start)));
    start = tab + 1;
  }
}

bool ParseGrade(std::string_view field, int* grade) {
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, *grade);
  return ec == std::errc() && ptr == end;
}

bool IsBeirHeader(const std::vector<std::string_view>& fields) {
  return fields.size() == 3 && fields[0] == "query-id" &&
         fields[1] == "corpus-id" && fields[2] == "score";
}

bool HasWhitespace(std::string_view s) {
  return std::any_of(s.begin(), s.end(), IsSpace);
}

// trec_eval's comp_sim_docno, made total: NaN, which compares false with
// everything and would break std::sort's strict weak ordering, goes last.
bool RanksBefore(const RunEntry& a, const RunEntry& b) {
  const bool a_nan = std::isnan(a.score);
  const bool b_nan = std::isnan(b.score);
  if (a_nan != b_nan) return b_nan;
  if (!a_nan && a.score != b.score) return a.score > b.score;
  return std::strcmp(a.doc.c_str(), b.doc.c_str()) > 0;
}

// Measures one judged query. `entries` may be null (query absent from the
// run), which -c scores as an empty ranking.
Metrics MeasureQuery(const std::map<std::string, int>& judged,
                     const std::vector<RunEntry>* entries) {
  Metrics m;
  std::vector<int> relevant_grades;
  for (const auto& [doc, grade] : judged) {
    if (grade > 0) relevant_grades.push_back(grade);
  }
  const size_t num_rel = relevant_grades.size();
  if (num_rel == 0 || entries == nullptr) return m;

  // Ideal DCG@10: the best grades first, over all judged docs of the query.
  std::sort(relevant_grades.begin(), relevant_grades.end(),
            std::greater<int>());
  double ideal_dcg = 0;
  for (size_t i = 0; i < relevant_grades.size() && i < kTopDepth; ++i) {
    ideal_dcg += relevant_grades[i] / std::log2(static_cast<double>(i + 2));
  }

  std::vector<RunEntry> ranking = *entries;
  SortLikeTrecEval(&ranking);

  std::unordered_set<std::string_view> seen;
  seen.reserve(ranking.size());
  size_t rank = 0;  // 1-based once incremented; duplicates take no rank
  size_t rel_ret = 0, rel_at_10 = 0, rel_at_100 = 0, rel_at_1000 = 0;
  size_t first_rel_rank = 0;
  double precision_sum = 0, dcg = 0;
  for (const RunEntry& entry : ranking) {
    if (!seen.insert(entry.doc).second) continue;
    ++rank;
    auto it = judged.find(entry.doc);
    const int grade = it == judged.end() ? 0 : it->second;
    if (grade <= 0) continue;
    ++rel_ret;
    if (first_rel_rank == 0) first_rel_rank = rank;
    precision_sum += static_cast<double>(rel_ret) / static_cast<double>(rank);
    if (rank <= kTopDepth) {
      ++rel_at_10;
      dcg += grade / std::log2(static_cast<double>(rank + 1));
    }
    if (rank <= kRecallShallow) ++rel_at_100;
    if (rank <= kRecallDeep) ++rel_at_1000;
  }

  const double n = static_cast<double>(num_rel);
  m.ndcg_10 = ideal_dcg > 0 ? dcg / ideal_dcg : 0;
  if (first_rel_rank > 0) {
    m.recip_rank = 1.0 / static_cast<double>(first_rel_rank);
    if (first_rel_rank <= kTopDepth) m.mrr_10 = m.recip_rank;
  }
  m.recall_100 = static_cast<double>(rel_at_100) / n;
  m.recall_1000 = static_cast<double>(rel_at_1000) / n;
  m.map = precision_sum / n;
  m.p_10 = static_cast<double>(rel_at_10) / static_cast<double>(kTopDepth);
  return m;
}

// Writes to a plain FILE* or, for ".gz" paths, a gzFile; one of the two is
// open. Errors are sticky and reported by Close().
class RunWriter {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    const bool gz =
        path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
    if (gz) {
      gz_ = gzopen(path.c_str(), "wb");
      if (gz_ == nullptr) return Status::IOError("open run " + path, ErrnoText());
    } else {
      file_ = std::fopen(path.c_str(), "w");
      if (file_ == nullptr) {
        return Status::IOError("open run " + path, ErrnoText());
      }
    }
    return Status::OK();
  }

  void Write(std::string_view bytes) {
    if (failed_ || bytes.empty()) return;
    if (gz_ != nullptr) {
      failed_ = gzwrite(gz_, bytes.data(), static_cast<unsigned>(bytes.size())) !=
                static_cast<int>(bytes.size());
    } else {
      failed_ = std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size();
    }
    if (failed_) error_ = ErrnoText();
  }

  Status Close() {
    bool close_failed = false;
    if (gz_ != nullptr) {
      close_failed = gzclose(gz_) != Z_OK;
      gz_ = nullptr;
    }
    if (file_ != nullptr) {
      close_failed = std::fclose(file_) != 0;
      file_ = nullptr;
    }
    if (close_failed && !failed_) {
      failed_ = true;
      error_ = ErrnoText();
    }
    if (failed_) return Status::IOError("write run " + path_, error_);
    return Status::OK();
  }

  // A writer left open by an early return still releases its file; the
  // error, if any, was already returned by then.
  ~RunWriter() { Close().IgnoreError(); }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

Result<Qrels> ReadQrels(const std::string& path) {
  enum class Layout { kUnknown, kBeir, kTrec };
  Layout layout = Layout::kUnknown;
  Qrels qrels;
  std::vector<std::string_view> fields;
  Status s = ForEachLine(path, "qrels", [&](size_t line_no,
                                            std::string_view line) -> Status {
    if (Trim(line).empty()) return Status::OK();
    if (layout == Layout::kUnknown) {
      SplitTabs(line, &fields);
      if (IsBeirHeader(fields)) {
        layout = Layout::kBeir;
        return Status::OK();
      }
      if (fields.size() == 3) {
        layout = Layout::kBeir;
      } else {
        SplitWhitespace(line, &fields);
        if (fields.size() != 4) {
          return LineError(path, line_no,
                           "expected BEIR \"query-id<TAB>corpus-id<TAB>score\""
                           " or TREC \"qid iter docid rel\", got " +
                               std::to_string(fields.size()) + " fields");
        }
        layout = Layout::kTrec;
      }
    }
    std::string_view qid, doc, grade_text;
    if (layout == Layout::kBeir) {
      SplitTabs(line, &fields);
      if (fields.size() != 3) {
        return LineError(path, line_no,
                         "expected 3 tab-separated fields (BEIR qrels), got " +
                             std::to_string(fields.size()));
      }
      qid = fields[0];
      doc = fields[1];
      grade_text = fields[2];
    } else {
      SplitWhitespace(line, &fields);
      if (fields.size() != 4) {
        return LineError(path, line_no,
                         "expected 4 fields \"qid iter docid rel\" (TREC "
                         "qrels), got " +
                             std::to_string(fields.size()));
      }
      qid = fields[0];
      doc = fields[2];
      grade_text = fields[3];
    }
    if (qid.empty() || doc.empty()) {
      return LineError(path, line_no, "empty query id or doc id");
    }
    int grade = 0;
    if (!ParseGrade(grade_text, &grade)) {
      return LineError(path, line_no,
                       "relevance \"" + std::string(grade_text) +
                           "\" is not an integer");
    }
    auto& judged = qrels.judgments[std::string(qid)];
    if (!judged.emplace(std::string(doc), grade).second) {
      return LineError(path, line_no,
                       "doc " + std::string(doc) + " judged twice for query " +
                           std::string(qid));
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  return qrels;
}

Result<Run> ReadRun(const std::string& path) {
  Run run;
  // query -> doc -> line, only to name the earlier line of a duplicate.
  std::unordered_map<std::string, std::unordered_map<std::string, size_t>>
      seen;
  std::vector<std::string_view> fields;
  std::string score_text;
  Status s = ForEachLine(path, "run", [&](size_t line_no,
                                          std::string_view line) -> Status {
    std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') return Status::OK();
    SplitWhitespace(line, &fields);
    if (fields.size() < 6) {
      return LineError(path, line_no,
                       "expected \"qid Q0 docid rank score tag\", got " +
                           std::to_string(fields.size()) + " fields");
    }
    // strtod needs a terminated string; a token is short, so copy it.
    score_text.assign(fields[4]);
    errno = 0;
    char* end = nullptr;
    const double score = std::strtod(score_text.c_str(), &end);
    if (end != score_text.c_str() + score_text.size() || std::isnan(score)) {
      return LineError(path, line_no,
                       "score \"" + score_text + "\" is not a number");
    }
    std::string qid(fields[0]);
    std::string doc(fields[2]);
    auto [it, inserted] = seen[qid].emplace(doc, line_no);
    if (!inserted) {
      return LineError(path, line_no,
                       "doc " + doc + " listed twice for query " + qid +
                           " (first on line " + std::to_string(it->second) +
                           ")");
    }
    run.ranked[qid].push_back(RunEntry{std::move(doc), score});
    return Status::OK();
  });
  if (!s.ok()) return s;
  return run;
}

Status WriteRun(const std::string& path, const Run& run, std::string_view tag) {
  if (tag.empty() || HasWhitespace(tag)) {
    return Status::InvalidArgument("run tag must be one non-empty token",
                                   std::string(tag));
  }
  for (const auto& [qid, entries] : run.ranked) {
    if (qid.empty() || HasWhitespace(qid)) {
      return Status::InvalidArgument("query id must be one non-empty token",
                                     qid);
    }
    for (const RunEntry& entry : entries) {
      if (entry.doc.empty() || HasWhitespace(entry.doc)) {
        return Status::InvalidArgument("doc id must be one non-empty token",
                                       "query " + qid + " doc '" + entry.doc +
                                           "'");
      }
      if (std::isnan(entry.score)) {
        return Status::InvalidArgument("NaN score",
                                       "query " + qid + " doc " + entry.doc);
      }
    }
  }

  RunWriter writer;
  CASCADE_RETURN_IF_ERROR(writer.Open(path));
  std::string out;
  char number[64];
  for (const auto& [qid, entries] : run.ranked) {
    size_t rank = 0;
    for (const RunEntry& entry : entries) {
      out.append(qid).append(" Q0 ").append(entry.doc);
      std::snprintf(number, sizeof(number), " %zu %.6f ", ++rank, entry.score);
      out.append(number).append(tag).push_back('\n');
      if (out.size() >= (1 << 16)) {
        writer.Write(out);
        out.clear();
      }
    }
  }
  writer.Write(out);
  return writer.Close();
}

void SortLikeTrecEval(std::vector<RunEntry>* entries) {
  std::sort(entries->begin(), entries->end(), RanksBefore);
}

EvalReport Evaluate(const Qrels& qrels, const Run& run) {
  EvalReport report;
  for (const auto& [qid, judged] : qrels.judgments) {
    auto it = run.ranked.find(qid);
    report.per_query[qid] =
        MeasureQuery(judged, it == run.ranked.end() ? nullptr : &it->second);
  }
  for (const auto& [qid, entries] : run.ranked) {
    if (qrels.judgments.count(qid) == 0) ++report.run_queries_without_judgments;
  }
  report.queries = report.per_query.size();
  if (report.queries == 0) return report;

  Metrics& all = report.all;
  for (const auto& [qid, m] : report.per_query) {
    all.ndcg_10 += m.ndcg_10;
    all.mrr_10 += m.mrr_10;
    all.recall_100 += m.recall_100;
    all.recall_1000 += m.recall_1000;
    all.map += m.map;
    all.p_10 += m.p_10;
    all.recip_rank += m.recip_rank;
  }
  const double n = static_cast<double>(report.queries);
  all.ndcg_10 /= n;
  all.mrr_10 /= n;
  all.recall_100 /= n;
  all.recall_1000 /= n;
  all.map /= n;
  all.p_10 /= n;
  all.recip_rank /= n;
  return report;
}

}  // namespace cascade::tools
