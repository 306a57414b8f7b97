// `cascade run`: the latency harness. Runs every query of a file one after
// another on one thread and reports throughput and latency percentiles.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/dense_flags.h"
#include "tools/eval_metrics.h"

namespace cascade::tools {

namespace {

struct RunFlags {
  std::string index;
  std::string queries;
  size_t k = 10;
  std::string output;
  std::optional<double> k1, b;
  std::string algorithm = "auto";
  std::string syntax = "plain";
  bool json = false;
  size_t warmup = 0;
  RerankFlags rerank;
  DenseFlags dense;
  std::string query_vectors;
};

int RunRun(const RunFlags& flags) {
  auto queries = ReadQueries(flags.queries);
  if (!queries.ok()) return ReportError("run", queries.status());
  auto vectors = ReadQueryVectors(flags.query_vectors, flags.dense.mode, *queries,
                                    !flags.dense.embedding_model.empty());
  if (!vectors.ok()) return ReportError("run", vectors.status());
  OpenOptions options;
  options.read_only = true;
  SearchOptions search;
  ApplyRerankFlags(flags.rerank, &options, &search);
  ApplyDenseOpenOptions(flags.dense, &options);
  auto index = Index::Open(flags.index, options);
  if (!index.ok()) return ReportError("run", index.status());
  search.k = flags.k;
  search.k1 = flags.k1;
  search.b = flags.b;
  search.algorithm = flags.algorithm;
  search.syntax = flags.syntax;
  ApplyDenseOptions(flags.dense, &search);
  StageTimings stages;
  Run run;
  std::vector<double> latencies;
  latencies.reserve(queries->size());
  // Untimed passes first: caches and mapped pages warm, as in a server that
  // has been answering for a while.
  // Dense mode is plain kNN here: query words would filter the hits
  // (without a vector they are embedded instead, and filter nothing).
  auto search_query = [&](size_t i) {
    search.vector = (*vectors)[i];
    const Query& q = (*queries)[i];
    return (*index)->Search(
        search.mode == "dense" && !search.vector.empty() ? std::string() : q.text, search);
  };
  for (size_t pass = 0; pass < flags.warmup; ++pass) {
    for (size_t i = 0; i < queries->size(); ++i) {
      auto result = search_query(i);
      if (!result.ok()) {
        return ReportError("run", Status::InvalidArgument("query " + (*queries)[i].id + ": " +
                                                          result.status().ToString()));
      }
    }
  }
  const double start = NowSeconds();
  for (size_t i = 0; i < queries->size(); ++i) {
    const Query& q = (*queries)[i];
    const double t0 = NowSeconds();
    auto result = search_query(i);
    latencies.push_back((NowSeconds() - t0) * 1000.0);
    if (!result.ok()) {
      return ReportError("run", Status::InvalidArgument(
                                    "query " + q.id + ": " + result.status().ToString()));
    }
    stages.Add(*result);
    if (!flags.output.empty()) {
      auto& ranked = run.ranked[q.id];
      for (const Hit& hit : result->hits) ranked.push_back({hit.id, hit.score});
    }
  }
  const double total = NowSeconds() - start;
  if (!flags.output.empty()) {
    Status s = WriteRun(flags.output, run, "cascade");
    if (!s.ok()) return ReportError("run", s);
  }
  std::vector<double> sorted = latencies;
  std::sort(sorted.begin(), sorted.end());
  double mean = 0;
  for (double l : latencies) mean += l;
  mean = latencies.empty() ? 0 : mean / latencies.size();
  const double qps = total > 0 ? latencies.size() / total : 0;
  if (flags.json) {
    std::printf("{\"queries\":%zu,\"qps\":%.1f,\"mean_ms\":%.4f,\"p50_ms\":%.4f,"
                "\"p99_ms\":%.4f,\"peak_rss_mib\":%.1f,\"stages\":%s}\n",
                latencies.size(), qps, mean, Percentile(sorted, 50),
                Percentile(sorted, 99), PeakRssMib(), stages.Json().c_str());
  } else {
    std::printf("queries  %zu\nqps      %.1f\nmean_ms  %.4f\np50_ms   %.4f\n"
                "p99_ms   %.4f\npeak_rss_mib %.1f\n",
                latencies.size(), qps, mean, Percentile(sorted, 50),
                Percentile(sorted, 99), PeakRssMib());
    stages.Print(stdout);
  }
  return kExitOk;
}

}  // namespace

void RegisterRunCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run every query of a file on one thread; report qps and latency");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_option("--queries", flags->queries,
                          "queries.jsonl ({\"_id\",\"text\"}) or TSV (id<TAB>text)")
              ->required());
  WithEnv(cmd->add_option("--k", flags->k, "Hits per query")->capture_default_str());
  WithEnv(cmd->add_option("--output", flags->output, "Write a TREC run file"));
  WithEnv(cmd->add_option("--k1", flags->k1, "BM25 k1 (default: the index's)"));
  WithEnv(cmd->add_option("--b", flags->b, "BM25 b (default: the index's)"));
  AddSyntaxFlag(cmd, &flags->syntax);
  AddAlgorithmFlag(cmd, &flags->algorithm);
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  WithEnv(cmd->add_option("--warmup", flags->warmup,
                          "Untimed passes over the queries before the timed one")
              ->capture_default_str());
  AddRerankFlags(cmd, &flags->rerank);
  AddDenseFlags(cmd, &flags->dense, /*with_vector=*/false);
  AddQueryVectorsFlag(cmd, &flags->query_vectors);
  cmd->callback([flags, exit_code] { *exit_code = RunRun(*flags); });
}

}  // namespace cascade::tools
