// Ranking-quality evaluation that agrees with trec_eval, for `cascade eval`
// and `cascade run`.
//
// Reads judgments (BEIR TSV or TREC qrels) and TREC run files, writes TREC run
// files, and computes nDCG@10, MRR@10, recall@100/1000, MAP and P@10 exactly as
// `trec_eval -c -m ndcg_cut.10 -m recip_rank -m recall.100,1000 -m map -m P.10`
// does, so our numbers can be set beside Anserini's and BEIR's without a
// conversion step. The conventions that must hold to agree (each is checked
// against trec_eval's own output in tests/tools/eval_metrics_test.cc):
//  - a query's documents are ranked by score descending, ties broken by doc id
//    in descending strcmp order; the rank column of a run file is ignored;
//  - a judgment grade >= 1 is relevant; 0 and negative grades are not;
//  - nDCG uses the grade as gain, log2(rank + 1) discounts, and an ideal
//    ranking built from every judged document of the query;
//  - averages run over every query of the qrels (`-c`): a judged query absent
//    from the run, or with no relevant judgment, scores 0 on every measure;
//  - run queries without judgments are left out of every average and counted.
//
// Everything here is a plain function over values: no shared state, so
// distinct calls may run on distinct threads.
#ifndef CASCADE_TOOLS_EVAL_METRICS_H_
#define CASCADE_TOOLS_EVAL_METRICS_H_

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::tools {

// query id -> (doc id -> relevance grade). Grades may be 0 (judged
// non-relevant) or negative (also non-relevant: grades <= 0 never count).
struct Qrels {
  std::map<std::string, std::map<std::string, int>> judgments;
};

// Reads judgments in either of two layouts, told apart by the first non-blank
// line:
//  - BEIR TSV: an optional header "query-id\tcorpus-id\tscore", then lines of
//    exactly 3 tab-separated fields;
//  - TREC qrels: lines of exactly 4 whitespace-separated fields
//    "qid iter docid rel" (iter is ignored).
// Grades must be integers. Blank lines are skipped. The file may be gzipped.
// Errors: IOError when the file cannot be read; InvalidArgument, its message
// starting "<path>:<line>:", for a malformed line, a non-integer grade or a
// (query, doc) pair judged twice (trec_eval refuses those too).
Result<Qrels> ReadQrels(const std::string& path);

struct RunEntry {
  std::string doc;
  double score = 0;
};

// query id -> retrieved docs, in the order of the file (not yet re-ranked).
struct Run {
  std::map<std::string, std::vector<RunEntry>> ranked;
};

// Reads a TREC run ("qid Q0 docid rank score tag"; fields after the tag are
// ignored, as are blank lines and lines starting with '#'), plain or gzipped
// (zlib reads either). Scores are parsed with strtod, as trec_eval's atof
// does, so ties are exactly the ties trec_eval sees. The rank column is not
// checked.
// Errors: IOError when the file cannot be read; InvalidArgument, its message
// starting "<path>:<line>:", for fewer than 6 fields, a score that is not a
// number or is NaN (NaN has no place in a ranking), or a doc listed twice for
// one query (trec_eval refuses such runs; the message names both lines).
Result<Run> ReadRun(const std::string& path);

// Writes `run` as a TREC run file: queries in id order, each query's entries
// in the order given (the caller ranks them), rank = position 1..n, scores
// printed "%.6f" as Anserini does. A path ending ".gz" is gzip-compressed.
// Rounding to 6 decimals may create ties; readers break them by doc id, as
// trec_eval does, so rank the entries with that in mind if it matters.
// Errors: InvalidArgument when the tag, a query id or a doc id is empty or
// holds whitespace, or a score is NaN (the file would not read back);
// IOError when the file cannot be written.
Status WriteRun(const std::string& path, const Run& run, std::string_view tag);

// Sorts `entries` into trec_eval's evaluation order: score descending, ties
// by doc id descending (strcmp). NaN scores, which ReadRun refuses but an
// in-memory Run may hold, go last so that the order stays well defined.
void SortLikeTrecEval(std::vector<RunEntry>* entries);

// Per-query values, or means of them. Names follow trec_eval's measures:
// ndcg_10 = ndcg_cut_10, mrr_10 = recip_rank over the top 10 only (0 when the
// first relevant doc ranks below 10), recall_N = recall_N, map = map,
// p_10 = P_10 (always divided by 10), recip_rank = recip_rank uncut.
struct Metrics {
  double ndcg_10 = 0, mrr_10 = 0, recall_100 = 0, recall_1000 = 0, map = 0,
         p_10 = 0;
  double recip_rank = 0;
};

struct EvalReport {
  // Every query of the qrels; with -c, those missing from the run score 0.
  std::map<std::string, Metrics> per_query;
  // Mean over per_query (all zero when the qrels are empty).
  Metrics all;
  // per_query.size().
  size_t queries = 0;
  // Queries of the run that the qrels do not judge; left out of every average.
  size_t run_queries_without_judgments = 0;
};

// Evaluates `run` against `qrels` like `trec_eval -c`: each query's docs are
// re-sorted with SortLikeTrecEval before measuring. A doc listed twice for one
// query (ReadRun refuses this, an in-memory Run may not) counts once, at its
// better rank.
EvalReport Evaluate(const Qrels& qrels, const Run& run);

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_EVAL_METRICS_H_
