// Helpers shared by the `cascade` subcommands: exit codes, messages, JSON
// output, query files, resource figures. Only tools/ reads flags and the
// environment; every flag has a CASCADE_* environment twin.
#ifndef CASCADE_TOOLS_CLI_COMMON_H_
#define CASCADE_TOOLS_CLI_COMMON_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cascade/engine.h"
#include "cascade/options.h"
#include "cascade/status.h"

namespace cascade::tools {

// Exit codes of the cascade binary (documented in the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;   // the command failed (message on stderr)
inline constexpr int kExitUsage = 2;   // bad flags or arguments
// delete, update: done, but some ids were not in the index (named on
// stderr; the rest was applied and committed).
inline constexpr int kExitNotFound = 3;

// Prints "cascade <command>: <status>" on stderr and returns kExitUsage for
// InvalidArgument/NotFound of user input, kExitError otherwise.
int ReportError(std::string_view command, const Status& status);

// Sets the CASCADE_<NAME> environment twin of an option (NAME = the long
// flag upper-cased, '-' -> '_') and returns it.
CLI::Option* WithEnv(CLI::Option* option);

// Appends `s` to *out as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view s);

struct Query {
  std::string id;
  std::string text;
};
// Reads queries.jsonl ({"_id" or "id", "text"}) or a TSV (id<TAB>text).
// Errors name file:line.
Result<std::vector<Query>> ReadQueries(const std::string& path);

// Peak resident memory of this process in MiB (from getrusage).
double PeakRssMib();
// Bytes of all files under `path` (0 when missing).
uint64_t DiskUsageBytes(const std::string& path);
// Monotonic seconds.
double NowSeconds();

// Nearest-rank percentile (p in [0, 100]) of ascending values; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);

// --syntax plain|lucene and --algorithm auto|exhaustive|wand|bmw|maxscore,
// shared by search, eval and run.
void AddSyntaxFlag(CLI::App* cmd, std::string* syntax);
void AddAlgorithmFlag(CLI::App* cmd, std::string* algorithm);

// The reranking flags of search, eval and run (README "Reranking cascade").
struct RerankFlags {
  std::string rerank;           // cascade spec; empty: the index's default
  std::string model;            // cross-encoder folder for the ce stage
  std::string device = "auto";
  unsigned model_threads = 0;
  double tilde_alpha = 1.0;
  std::string long_passages = "truncate";
  size_t chunk_overlap = 64;
  size_t block_cache_mb = 256;  // RocksDB block cache of the opened index
  bool tilde_in_memory = false;
};
void AddRerankFlags(CLI::App* cmd, RerankFlags* flags);
void ApplyRerankFlags(const RerankFlags& flags, OpenOptions* open,
                      SearchOptions* search);

// Per-stage latency over many searches, for eval and run reports.
class StageTimings {
 public:
  void Add(const SearchResult& result);
  // {"bm25":{"mean_ms":..,"p50_ms":..,"p99_ms":..,"scored":..,
  //  "budget_exhausted":..},...} in stage order.
  std::string Json() const;
  // One line per stage.
  void Print(FILE* out) const;
  bool empty() const { return stages_.empty(); }

 private:
  struct Stage {
    std::string name;
    std::vector<double> ms;
    uint64_t scored = 0;
    uint64_t sequences = 0;
    uint64_t budget_exhausted = 0;
  };
  std::vector<Stage> stages_;
};

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_CLI_COMMON_H_
