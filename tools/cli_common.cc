#include "tools/cli_common.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <simdjson.h>

#include "http/json.h"

namespace cascade::tools {

int ReportError(std::string_view command, const Status& status) {
  std::cerr << "cascade " << command << ": " << status.ToString() << "\n";
  return status.IsInvalidArgument() || status.IsNotFound() ? kExitUsage
                                                           : kExitError;
}

CLI::Option* WithEnv(CLI::Option* option) {
  std::string name = option->get_single_name();
  std::string env = "CASCADE_";
  for (char c : name) {
    env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(
                                       static_cast<unsigned char>(c))));
  }
  return option->envname(env);
}

void AppendJsonString(std::string* out, std::string_view s) {
  http::AppendJsonString(out, s);  // one escaper for the CLI and the API
}

Result<std::vector<Query>> ReadQueries(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open queries file", path);
  std::vector<Query> queries;
  simdjson::dom::parser parser;
  std::string line;
  uint64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    if (line.front() == '{') {
      simdjson::dom::element doc;
      if (auto error = parser.parse(line).get(doc)) {
        return Status::InvalidArgument(where + ": invalid JSON",
                                       simdjson::error_message(error));
      }
      Query q;
      std::string_view v;
      if (!doc["_id"].get(v) || !doc["id"].get(v)) {
        q.id = std::string(v);
      } else {
        int64_t n;
        if (!doc["_id"].get(n) || !doc["id"].get(n)) {
          q.id = std::to_string(n);
        } else {
          return Status::InvalidArgument(where + ": field \"_id\" missing or not a string");
        }
      }
      if (doc["text"].get(v)) {
        return Status::InvalidArgument(where + ": field \"text\" missing or not a string");
      }
      q.text = std::string(v);
      queries.push_back(std::move(q));
    } else {
      const size_t tab = line.find('\t');
      if (tab == std::string::npos || tab == 0) {
        return Status::InvalidArgument(where + ": expected id<TAB>text or a JSON object");
      }
      queries.push_back({line.substr(0, tab), line.substr(tab + 1)});
    }
  }
  if (in.bad()) return Status::IOError("read error", path);
  return queries;
}

double PeakRssMib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is KiB
}

uint64_t DiskUsageBytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

double NowSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void AddSyntaxFlag(CLI::App* cmd, std::string* syntax) {
  WithEnv(cmd->add_option("--syntax", *syntax,
                          "Query syntax: plain (a bag of words; operators are just words) or lucene "
                          "(+must -not AND OR NOT, (groups), word^2, prefix*, title:/text:, *:*)")
              ->check(CLI::IsMember({"plain", "lucene"}))
              ->capture_default_str());
}

void AddAlgorithmFlag(CLI::App* cmd, std::string* algorithm) {
  WithEnv(cmd->add_option("--algorithm", *algorithm,
                          "Top-k algorithm: auto, exhaustive, wand, bmw (block-max WAND) or "
                          "maxscore (block-max MaxScore); same hits, different speed")
              ->check(CLI::IsMember({"auto", "exhaustive", "wand", "bmw", "maxscore"}))
              ->capture_default_str());
}

void AddRerankFlags(CLI::App* cmd, RerankFlags* flags) {
  WithEnv(cmd->add_option("--rerank", flags->rerank,
                          "Cascade of stages, e.g. bm25:1000,tilde:200,ce:50 "
                          "(stage:depth[:budget_ms]); default: the index's, else BM25"));
  WithEnv(cmd->add_option("--model", flags->model,
                          "Cross-encoder model folder for the ce stage"));
  WithEnv(cmd->add_option("--device", flags->device,
                          "Where --model (and --embedding-model) run: cpu, cuda, auto")
              ->capture_default_str());
  WithEnv(cmd->add_option("--model-threads", flags->model_threads,
                          "CPU threads for --model and --embedding-model (0 = all cores)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--tilde-alpha", flags->tilde_alpha,
                          "tilde stage score: alpha * TILDE + (1 - alpha) * previous")
              ->check(CLI::Range(0.0, 1.0))
              ->capture_default_str());
  WithEnv(cmd->add_option("--long-passages", flags->long_passages,
                          "ce stage, passages over the model's length: truncate or chunk")
              ->check(CLI::IsMember({"truncate", "chunk"}))
              ->capture_default_str());
  WithEnv(cmd->add_option("--chunk-overlap", flags->chunk_overlap,
                          "Tokens shared by consecutive chunks")
              ->capture_default_str());
  WithEnv(cmd->add_option("--block-cache-mb", flags->block_cache_mb,
                          "RocksDB block cache (MiB); size it to the index's hot data "
                          "(postings, TILDE weights)")
              ->check(CLI::Range(size_t{1}, size_t{1} << 20))
              ->capture_default_str());
  WithEnv(cmd->add_flag("--tilde-in-memory", flags->tilde_in_memory,
                        "Read the index's TILDE weights into memory at open "
                        "(no storage lookups in the tilde stage)"));
}

void ApplyRerankFlags(const RerankFlags& flags, OpenOptions* open,
                      SearchOptions* search) {
  open->cross_encoder_model = flags.model;
  open->device = flags.device;
  open->model_threads = flags.model_threads;
  open->block_cache_mb = flags.block_cache_mb;
  open->tilde_in_memory = flags.tilde_in_memory;
  search->cascade = flags.rerank;
  search->tilde_alpha = flags.tilde_alpha;
  search->long_passages = flags.long_passages;
  search->chunk_overlap = flags.chunk_overlap;
}

void StageTimings::Add(const SearchResult& result) {
  for (size_t i = 0; i < result.stages.size(); ++i) {
    const StageInfo& info = result.stages[i];
    if (i >= stages_.size()) stages_.push_back({info.stage, {}, 0, 0, 0});
    Stage& stage = stages_[i];
    if (stage.name != info.stage) continue;  // a different cascade: not mixed
    stage.ms.push_back(info.took_ms);
    stage.scored += info.scored;
    stage.sequences += info.sequences;
    stage.budget_exhausted += info.budget_exhausted;
  }
}

std::string StageTimings::Json() const {
  std::string out = "{";
  char buf[256];
  for (size_t i = 0; i < stages_.size(); ++i) {
    const Stage& stage = stages_[i];
    std::vector<double> sorted = stage.ms;
    std::sort(sorted.begin(), sorted.end());
    double mean = 0;
    for (double v : sorted) mean += v;
    mean = sorted.empty() ? 0 : mean / sorted.size();
    if (i) out.push_back(',');
    AppendJsonString(&out, stage.name);
    std::snprintf(buf, sizeof(buf),
                  ":{\"mean_ms\":%.4f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
                  "\"scored\":%llu,\"sequences\":%llu,\"budget_exhausted\":%llu}",
                  mean, Percentile(sorted, 50), Percentile(sorted, 99),
                  static_cast<unsigned long long>(stage.scored),
                  static_cast<unsigned long long>(stage.sequences),
                  static_cast<unsigned long long>(stage.budget_exhausted));
    out += buf;
  }
  out.push_back('}');
  return out;
}

void StageTimings::Print(FILE* out) const {
  for (const Stage& stage : stages_) {
    std::vector<double> sorted = stage.ms;
    std::sort(sorted.begin(), sorted.end());
    double mean = 0;
    for (double v : sorted) mean += v;
    mean = sorted.empty() ? 0 : mean / sorted.size();
    std::fprintf(out,
                 "stage %-6s mean_ms %.4f  p50_ms %.4f  p99_ms %.4f  scored %llu  "
                 "budget_exhausted %llu\n",
                 stage.name.c_str(), mean, Percentile(sorted, 50),
                 Percentile(sorted, 99), static_cast<unsigned long long>(stage.scored),
                 static_cast<unsigned long long>(stage.budget_exhausted));
  }
}

}  // namespace cascade::tools
