// `cascade gen-corpus`: writes a synthetic corpus (and queries) whose
// statistics follow real corpora. The model is described in
// tools/gen_corpus.h.
#include <cstdio>

#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/gen_corpus.h"

namespace cascade::tools {

namespace {

int RunGenCorpus(const GenCorpusOptions& options) {
  auto summary = GenerateCorpus(options);
  if (!summary.ok()) return ReportError("gen-corpus", summary.status());
  const CorpusModelInfo& m = summary->model;
  std::printf(
      "model    %llu source docs, %llu words, %.1f words/doc, vocabulary "
      "%llu; head ranks %llu, zipf tail s=%.3f (p=%.4f), copy p=%.3f, "
      "query lengths from %s (%.1fs)\n",
      static_cast<unsigned long long>(m.source_docs),
      static_cast<unsigned long long>(m.source_words), m.mean_doc_words,
      static_cast<unsigned long long>(m.source_vocabulary),
      static_cast<unsigned long long>(m.head_ranks), m.zipf_exponent,
      m.tail_probability, m.copy_probability,
      m.query_length_source > 0 ? "real queries" : "titles",
      summary->learn_seconds);
  std::printf(
      "wrote    %llu docs, %llu words, %.1f words/doc, vocabulary %llu, "
      "%llu queries (%.1fs)\n",
      static_cast<unsigned long long>(summary->docs),
      static_cast<unsigned long long>(summary->words),
      summary->docs ? static_cast<double>(summary->words) / summary->docs : 0.0,
      static_cast<unsigned long long>(summary->vocabulary),
      static_cast<unsigned long long>(summary->queries),
      summary->write_seconds);
  return kExitOk;
}

}  // namespace

void RegisterGenCorpusCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<GenCorpusOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gen-corpus",
      "Write a synthetic JSONL corpus (and queries) with the word frequencies "
      "and document lengths of real corpora");
  WithEnv(cmd->add_option("--docs", options->docs, "Documents to write")
              ->required());
  WithEnv(cmd->add_option("--seed", options->seed,
                          "Random seed; the same flags give the same bytes")
              ->capture_default_str());
  WithEnv(cmd->add_option("--like", options->like,
                          "Source corpus to imitate (BEIR folder or JSONL "
                          "file); repeat to pool several")
              ->required());
  WithEnv(cmd->add_option("--out", options->out,
                          "Output JSONL file ({\"_id\",\"title\",\"text\"}); "
                          "a name ending in .gz is gzipped")
              ->required());
  WithEnv(cmd->add_option("--queries", options->queries,
                          "Queries to write with --queries-out")
              ->capture_default_str());
  WithEnv(cmd->add_option("--queries-out", options->queries_out,
                          "Output queries.jsonl ({\"_id\",\"text\"}, 2 to 6 "
                          "words each)"));
  cmd->callback([options, exit_code] { *exit_code = RunGenCorpus(*options); });
}

}  // namespace cascade::tools
