// `cascade eval`: runs the judged queries of a BEIR split (or reads an
// existing run) and prints trec_eval-compatible effectiveness figures.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/dense_flags.h"
#include "tools/eval_metrics.h"

namespace cascade::tools {

namespace {

struct EvalFlags {
  std::string index;
  std::string dataset;
  std::string split = "test";
  std::string qrels;
  std::string queries;
  size_t k = 1000;
  std::string run_out;
  std::string run_in;
  std::optional<double> k1, b;
  std::string syntax = "plain";
  bool json = false;
  RerankFlags rerank;
  DenseFlags dense;
  std::string query_vectors;
};

// Scores as they appear in a run file, so that figures computed here equal
// trec_eval's on the written file (ties included).
double RoundLikeRunFile(float score) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6f", score);
  return std::strtod(buf, nullptr);
}

int RunEval(const EvalFlags& flags) {
  namespace fs = std::filesystem;
  std::string qrels_path = flags.qrels;
  if (qrels_path.empty()) {
    if (flags.dataset.empty()) {
      return ReportError("eval", Status::InvalidArgument("give --dataset or --qrels"));
    }
    qrels_path = (fs::path(flags.dataset) / "qrels" / (flags.split + ".tsv")).string();
  }
  auto qrels = ReadQrels(qrels_path);
  if (!qrels.ok()) return ReportError("eval", qrels.status());

  Run run;
  StageTimings stages;
  if (!flags.run_in.empty()) {
    auto read = ReadRun(flags.run_in);
    if (!read.ok()) return ReportError("eval", read.status());
    run = std::move(*read);
  } else {
    if (flags.index.empty()) {
      return ReportError("eval", Status::InvalidArgument("give --index (or --run-in)"));
    }
    std::string queries_path = flags.queries;
    if (queries_path.empty()) {
      if (flags.dataset.empty()) {
        return ReportError("eval", Status::InvalidArgument("give --dataset or --queries"));
      }
      queries_path = (fs::path(flags.dataset) / "queries.jsonl").string();
    }
    auto queries = ReadQueries(queries_path);
    if (!queries.ok()) return ReportError("eval", queries.status());
    auto vectors = ReadQueryVectors(flags.query_vectors, flags.dense.mode, *queries,
                                    !flags.dense.embedding_model.empty());
    if (!vectors.ok()) return ReportError("eval", vectors.status());
    OpenOptions options;
    options.read_only = true;
    SearchOptions search;
    ApplyRerankFlags(flags.rerank, &options, &search);
    ApplyDenseOpenOptions(flags.dense, &options);
    auto index = Index::Open(flags.index, options);
    if (!index.ok()) return ReportError("eval", index.status());
    search.k = flags.k;
    search.k1 = flags.k1;
    search.b = flags.b;
    search.syntax = flags.syntax;
    ApplyDenseOptions(flags.dense, &search);
    std::set<std::string> seen;
    for (size_t i = 0; i < queries->size(); ++i) {
      const Query& q = (*queries)[i];
      // Only judged queries are run, as Anserini's regressions do.
      if (!qrels->judgments.count(q.id) || !seen.insert(q.id).second) continue;
      search.vector = (*vectors)[i];
      // Dense mode is plain kNN here: query words would filter the hits
      // (without a vector they are embedded instead, and filter nothing).
      auto result = (*index)->Search(
          search.mode == "dense" && !search.vector.empty() ? std::string() : q.text, search);
      if (!result.ok()) {
        return ReportError("eval", Status::InvalidArgument(
                                       "query " + q.id + ": " + result.status().ToString()));
      }
      stages.Add(*result);
      auto& ranked = run.ranked[q.id];
      // Run files need scores that decrease with rank; after reranking,
      // hits below a stage's depth keep an earlier stage's (other-scale)
      // score, so a reranked run gets rank-derived scores.
      const bool reranked = result->stages.size() > 1;
      for (size_t i = 0; i < result->hits.size(); ++i) {
        const Hit& hit = result->hits[i];
        ranked.push_back({hit.id, reranked ? static_cast<double>(result->hits.size() - i)
                                           : RoundLikeRunFile(hit.score)});
      }
    }
    size_t missing = 0;
    for (const auto& [qid, judged] : qrels->judgments) missing += !seen.count(qid);
    if (missing > 0) {
      std::fprintf(stderr,
                   "cascade eval: %zu judged queries are not in %s; they score 0\n",
                   missing, queries_path.c_str());
    }
    if (!flags.run_out.empty()) {
      Status s = WriteRun(flags.run_out, run, "cascade");
      if (!s.ok()) return ReportError("eval", s);
    }
  }

  const EvalReport report = Evaluate(*qrels, run);
  if (report.run_queries_without_judgments > 0) {
    std::fprintf(stderr,
                 "cascade eval: %zu run queries have no judgments and are left out\n",
                 report.run_queries_without_judgments);
  }
  const Metrics& m = report.all;
  if (flags.json) {
    std::printf(
        "{\"ndcg@10\":%.4f,\"mrr@10\":%.4f,\"recall@100\":%.4f,"
        "\"recall@1000\":%.4f,\"map\":%.4f,\"queries\":%zu,\"stages\":%s}\n",
        m.ndcg_10, m.mrr_10, m.recall_100, m.recall_1000, m.map, report.queries,
        stages.Json().c_str());
  } else {
    std::printf("queries      %zu\n", report.queries);
    std::printf("nDCG@10      %.4f\n", m.ndcg_10);
    std::printf("MRR@10       %.4f\n", m.mrr_10);
    std::printf("Recall@100   %.4f\n", m.recall_100);
    std::printf("Recall@1000  %.4f\n", m.recall_1000);
    std::printf("MAP          %.4f\n", m.map);
    std::printf("P@10         %.4f\n", m.p_10);
    stages.Print(stdout);
  }
  return kExitOk;
}

}  // namespace

void RegisterEvalCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand(
      "eval", "Evaluate a search (BM25 and any --rerank stages) on a BEIR dataset: nDCG@10, MRR@10, Recall@100/1000, MAP "
              "(as trec_eval -c)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder"));
  WithEnv(cmd->add_option("--dataset", flags->dataset,
                          "BEIR folder (queries.jsonl, qrels/SPLIT.tsv)"));
  WithEnv(cmd->add_option("--split", flags->split, "Qrels split")->capture_default_str());
  WithEnv(cmd->add_option("--qrels", flags->qrels,
                          "Qrels file (BEIR TSV or TREC); default DATASET/qrels/SPLIT.tsv"));
  WithEnv(cmd->add_option("--queries", flags->queries,
                          "Queries (jsonl or TSV); default DATASET/queries.jsonl"));
  WithEnv(cmd->add_option("--k", flags->k, "Hits per query")->capture_default_str());
  WithEnv(cmd->add_option("--run", flags->run_out, "Write the TREC run file here"));
  WithEnv(cmd->add_option("--run-in", flags->run_in,
                          "Evaluate this existing TREC run instead of searching"));
  WithEnv(cmd->add_option("--k1", flags->k1, "BM25 k1 (default: the index's)"));
  WithEnv(cmd->add_option("--b", flags->b, "BM25 b (default: the index's)"));
  WithEnv(cmd->add_option("--syntax", flags->syntax,
                          "Query syntax: plain (a bag of words, as BEIR topics are run) or "
                          "lucene (+must -not AND OR NOT, (groups), word^2, prefix*, "
                          "title:/text:, *:*)")
              ->check(CLI::IsMember({"plain", "lucene"}))
              ->capture_default_str());
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  AddRerankFlags(cmd, &flags->rerank);
  AddDenseFlags(cmd, &flags->dense, /*with_vector=*/false);
  AddQueryVectorsFlag(cmd, &flags->query_vectors);
  cmd->callback([flags, exit_code] { *exit_code = RunEval(*flags); });
}

}  // namespace cascade::tools
