// Helpers shared by the `cascade` subcommands: exit codes, messages, JSON
// output, query files, resource figures. Only tools/ reads flags and the
// environment; every flag has a CASCADE_* environment twin.
#ifndef CASCADE_TOOLS_CLI_COMMON_H_
#define CASCADE_TOOLS_CLI_COMMON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cascade/status.h"

namespace cascade::tools {

// Exit codes of the cascade binary (documented in the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;   // the command failed (message on stderr)
inline constexpr int kExitUsage = 2;   // bad flags or arguments

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

}  // namespace cascade::tools

#endif  // CASCADE_TOOLS_CLI_COMMON_H_
