// `cascade search`: one query against an index, results on stdout.
#include <cstdio>
#include <iostream>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace cascade::tools {

namespace {

struct SearchFlags {
  std::string index;
  std::vector<std::string> query;
  size_t k = 10;
  size_t offset = 0;
  std::optional<double> k1, b;
  bool json = false;
  bool text = false;
};

int RunSearch(const SearchFlags& flags) {
  OpenOptions options;
  options.read_only = true;
  auto index = Index::Open(flags.index, options);
  if (!index.ok()) return ReportError("search", index.status());
  std::string query;
  for (const auto& word : flags.query) {
    if (!query.empty()) query.push_back(' ');
    query += word;
  }
  SearchOptions search;
  search.k = flags.k;
  search.offset = flags.offset;
  search.k1 = flags.k1;
  search.b = flags.b;
  search.load_text = flags.text;
  auto result = (*index)->Search(query, search);
  if (!result.ok()) return ReportError("search", result.status());
  if (flags.json) {
    std::string out = "{\"query\":";
    AppendJsonString(&out, query);
    out += ",\"total_hits\":" + std::to_string(result->total_hits);
    char buf[64];
    std::snprintf(buf, sizeof(buf), ",\"took_ms\":%.3f", result->took_ms);
    out += buf;
    out += ",\"hits\":[";
    for (size_t i = 0; i < result->hits.size(); ++i) {
      const Hit& hit = result->hits[i];
      if (i) out.push_back(',');
      out += "{\"rank\":" + std::to_string(flags.offset + i + 1) + ",\"id\":";
      AppendJsonString(&out, hit.id);
      std::snprintf(buf, sizeof(buf), ",\"score\":%.6f", hit.score);
      out += buf;
      out += ",\"title\":";
      AppendJsonString(&out, hit.title);
      if (flags.text) {
        out += ",\"text\":";
        AppendJsonString(&out, hit.text);
      }
      out.push_back('}');
    }
    out += "]}";
    std::cout << out << "\n";
    return kExitOk;
  }
  std::printf("%llu hits for \"%s\" (%.2f ms)\n",
              static_cast<unsigned long long>(result->total_hits), query.c_str(),
              result->took_ms);
  for (size_t i = 0; i < result->hits.size(); ++i) {
    const Hit& hit = result->hits[i];
    std::string title = hit.title.substr(0, 100);
    std::printf("%4zu  %9.4f  %-24s %s\n", flags.offset + i + 1, hit.score,
                hit.id.c_str(), title.c_str());
    if (flags.text) std::printf("      %s\n", hit.text.substr(0, 300).c_str());
  }
  return kExitOk;
}

}  // namespace

void RegisterSearchCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SearchFlags>();
  CLI::App* cmd = app.add_subcommand("search", "Search an index (BM25, bag of words)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_option("--k", flags->k, "Hits to show (1..100000)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--offset", flags->offset, "Hits to skip first")
              ->capture_default_str());
  WithEnv(cmd->add_option("--k1", flags->k1, "BM25 k1 (default: the index's, 0.9)"));
  WithEnv(cmd->add_option("--b", flags->b, "BM25 b (default: the index's, 0.4)"));
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  WithEnv(cmd->add_flag("--text", flags->text, "Show each hit's text"));
  cmd->add_option("query", flags->query, "Query words")->required();
  cmd->callback([flags, exit_code] { *exit_code = RunSearch(*flags); });
}

}  // namespace cascade::tools
