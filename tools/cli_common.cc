#include "tools/cli_common.h"

#include <sys/resource.h>

#include <chrono>
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

}  // namespace cascade::tools
