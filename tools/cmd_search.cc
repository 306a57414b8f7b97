// `cascade search`: one query against an index, results on stdout.
#include <charconv>
#include <cstdio>
#include <iostream>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/dense_flags.h"

namespace cascade::tools {

namespace {

struct SearchFlags {
  std::string index;
  std::vector<std::string> query;
  size_t k = 10;
  size_t offset = 0;
  std::optional<double> k1, b;
  std::string algorithm = "auto";
  std::string syntax = "plain";
  bool json = false;
  bool text = false;
  bool explain = false;
  size_t snippet = 0;
  RerankFlags rerank;
  DenseFlags dense;
};

// "bm25 #3 12.1, tilde #1 4.2, ce -" for a hit's explain line.
std::string ExplainText(const Hit& hit) {
  std::string out;
  char buf[96];
  for (const StageScore& s : hit.explain) {
    if (!out.empty()) out += ", ";
    if (s.scored) {
      std::snprintf(buf, sizeof(buf), "%s #%zu %.4f", s.stage.c_str(), s.rank, s.score);
    } else {
      std::snprintf(buf, sizeof(buf), "%s -", s.stage.c_str());
    }
    out += buf;
  }
  return out;
}

// A number as the shortest text that reads back the same (1987, 2.5).
std::string NumberText(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

// "tags: red, dark red  year: 1987  author: "Ann"  meta: {"a":[1,2]}" for a
// hit's fields line: keyword and numeric values, then the other fields'
// JSON as indexed.
std::string FieldsText(const Hit& hit) {
  std::string out;
  for (const auto& [field, values] : hit.keywords) {
    out += (out.empty() ? "" : "  ") + field + ":";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : " ") + values[i];
  }
  for (const auto& [field, values] : hit.numbers) {
    out += (out.empty() ? "" : "  ") + field + ":";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : " ") + NumberText(values[i]);
  }
  for (const auto& [field, value] : hit.texts) {
    out += (out.empty() ? "" : "  ") + field + ": " + value;
  }
  for (const auto& [field, value] : hit.extra) {
    out += (out.empty() ? "" : "  ") + field + ": " + value;
  }
  return out;
}

bool HasFields(const Hit& hit) {
  return !hit.keywords.empty() || !hit.numbers.empty() || !hit.texts.empty() ||
         !hit.extra.empty();
}

// ,"fields":{"tags":["red"],"year":[1987],"author":"Ann"}: keyword and
// numeric values as arrays, other fields as the document gave them.
void AppendFieldsJson(const Hit& hit, std::string* out) {
  *out += ",\"fields\":{";
  bool first = true;
  for (const auto& [field, values] : hit.keywords) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, field);
    *out += ":[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out->push_back(',');
      AppendJsonString(out, values[i]);
    }
    out->push_back(']');
  }
  for (const auto& [field, values] : hit.numbers) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, field);
    *out += ":[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) out->push_back(',');
      *out += NumberText(values[i]);
    }
    out->push_back(']');
  }
  for (const auto& [field, value] : hit.texts) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, field);
    out->push_back(':');
    AppendJsonString(out, value);
  }
  for (const auto& [field, value] : hit.extra) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, field);
    out->push_back(':');
    *out += value;  // JSON validated when the document was added
  }
  out->push_back('}');
}

void AppendExplainJson(const Hit& hit, std::string* out) {
  *out += ",\"explain\":[";
  char buf[96];
  for (size_t i = 0; i < hit.explain.size(); ++i) {
    const StageScore& s = hit.explain[i];
    if (i) out->push_back(',');
    *out += "{\"stage\":";
    AppendJsonString(out, s.stage);
    if (s.scored) {
      std::snprintf(buf, sizeof(buf), ",\"rank\":%zu,\"score\":%.6f}", s.rank, s.score);
      *out += buf;
    } else {
      *out += ",\"rank\":null,\"score\":null}";
    }
  }
  out->push_back(']');
}

void AppendStagesJson(const SearchResult& result, std::string* out) {
  *out += ",\"cascade\":";
  AppendJsonString(out, result.cascade);
  *out += ",\"stages\":[";
  char buf[256];
  for (size_t i = 0; i < result.stages.size(); ++i) {
    const StageInfo& s = result.stages[i];
    if (i) out->push_back(',');
    *out += "{\"stage\":";
    AppendJsonString(out, s.stage);
    std::snprintf(buf, sizeof(buf),
                  ",\"depth\":%zu,\"candidates\":%zu,\"scored\":%zu,"
                  "\"sequences\":%zu,\"took_ms\":%.3f,\"budget_exhausted\":%s",
                  s.depth, s.candidates, s.scored, s.sequences, s.took_ms,
                  s.budget_exhausted ? "true" : "false");
    *out += buf;
    if (s.budget_ms) {
      std::snprintf(buf, sizeof(buf), ",\"budget_ms\":%.3f", *s.budget_ms);
      *out += buf;
    }
    out->push_back('}');
  }
  out->push_back(']');
}

int RunSearch(const SearchFlags& flags) {
  OpenOptions options;
  options.read_only = true;
  SearchOptions search;
  ApplyRerankFlags(flags.rerank, &options, &search);
  ApplyDenseOpenOptions(flags.dense, &options);
  auto index = Index::Open(flags.index, options);
  if (!index.ok()) return ReportError("search", index.status());
  std::string query;
  for (const auto& word : flags.query) {
    if (!query.empty()) query.push_back(' ');
    query += word;
  }
  search.explain = flags.explain;
  search.k = flags.k;
  search.offset = flags.offset;
  search.k1 = flags.k1;
  search.b = flags.b;
  search.algorithm = flags.algorithm;
  search.syntax = flags.syntax;
  search.load_text = flags.text;
  search.snippet_words = flags.snippet;
  if (Status s = ApplyDenseFlags(flags.dense, &search); !s.ok()) {
    return ReportError("search", s);
  }
  auto result = (*index)->Search(query, search);
  if (!result.ok()) return ReportError("search", result.status());
  if (flags.json) {
    std::string out = "{\"query\":";
    AppendJsonString(&out, query);
    out += ",\"total_hits\":" + std::to_string(result->total_hits);
    out += result->total_hits_exact ? ",\"total_hits_exact\":true"
                                    : ",\"total_hits_exact\":false";
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
      if (flags.snippet > 0) {
        out += ",\"snippet\":";
        AppendJsonString(&out, hit.snippet);
      }
      if (HasFields(hit)) AppendFieldsJson(hit, &out);
      if (flags.explain) AppendExplainJson(hit, &out);
      out.push_back('}');
    }
    out += "]";
    AppendStagesJson(*result, &out);
    out += "}";
    std::cout << out << "\n";
    return kExitOk;
  }
  std::printf("%s%llu hits for \"%s\" (%.2f ms)\n",
              result->total_hits_exact ? "" : "at least ",
              static_cast<unsigned long long>(result->total_hits), query.c_str(),
              result->took_ms);
  for (size_t i = 0; i < result->hits.size(); ++i) {
    const Hit& hit = result->hits[i];
    std::string title = hit.title.substr(0, 100);
    std::printf("%4zu  %9.4f  %-24s %s\n", flags.offset + i + 1, hit.score,
                hit.id.c_str(), title.c_str());
    if (flags.snippet > 0) std::printf("      %s\n", hit.snippet.c_str());
    if (HasFields(hit)) {
      std::printf("      %s\n", FieldsText(hit).c_str());
    }
    if (flags.explain) std::printf("      %s\n", ExplainText(hit).c_str());
    if (flags.text) std::printf("      %s\n", hit.text.substr(0, 300).c_str());
  }
  if (result->stages.size() > 1) {
    std::printf("cascade %s:", result->cascade.c_str());
    for (const StageInfo& s : result->stages) {
      std::printf(" %s %.2f ms (%zu scored%s)", s.stage.c_str(), s.took_ms, s.scored,
                  s.budget_exhausted ? ", budget exhausted" : "");
    }
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace

void RegisterSearchCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SearchFlags>();
  CLI::App* cmd = app.add_subcommand("search", "Search an index (BM25, bag of words or --syntax lucene, then any --rerank stages)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_option("--k", flags->k, "Hits to show (1..100000)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--offset", flags->offset, "Hits to skip first")
              ->capture_default_str());
  WithEnv(cmd->add_option("--k1", flags->k1, "BM25 k1 (default: the index's, 0.9)"));
  WithEnv(cmd->add_option("--b", flags->b, "BM25 b (default: the index's, 0.4)"));
  AddSyntaxFlag(cmd, &flags->syntax);
  AddAlgorithmFlag(cmd, &flags->algorithm);
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  WithEnv(cmd->add_flag("--text", flags->text, "Show each hit's text"));
  WithEnv(cmd->add_option("--snippet", flags->snippet,
                          "Show each hit's best window of this many words of its text, "
                          "query terms in <b>...</b> (0: none)")
              ->capture_default_str()
              ->check(CLI::Range(0, 1000)));
  WithEnv(cmd->add_flag("--explain", flags->explain,
                        "Show each hit's rank and score at every stage"));
  AddRerankFlags(cmd, &flags->rerank);
  AddDenseFlags(cmd, &flags->dense);
  // Optional only for --mode dense (kNN without a lexical filter).
  cmd->add_option("query", flags->query, "Query words (a Lucene query with --syntax lucene)");
  cmd->callback([flags, exit_code] { *exit_code = RunSearch(*flags); });
}

}  // namespace cascade::tools
