// `cascade stats`: what an index holds and the storage each part takes.
//
// The index is opened read-only, so this runs beside a process that writes
// it (`cascade serve`, `cascade index`) and shows the index as committed
// when it opened.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace cascade::tools {

namespace {

struct StatsFlags {
  std::string index;
  bool json = false;
};

// Bytes of RocksDB's write-ahead log files (NNNNNN.log) in the folder.
uint64_t WalBytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = fs::directory_iterator(path, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().extension() == ".log" && it->is_regular_file(ec)) {
      total += it->file_size(ec);
    }
  }
  return total;
}

int RunStats(const StatsFlags& flags) {
  OpenOptions options;
  options.read_only = true;
  options.block_cache_mb = 8;
  auto index = Index::Open(flags.index, options);
  if (!index.ok()) return ReportError("stats", index.status());
  const IndexStats stats = (*index)->Stats();
  const uint64_t disk_bytes = DiskUsageBytes(flags.index);
  const uint64_t wal_bytes = WalBytes(flags.index);
  if (flags.json) {
    std::string out = "{\"documents\":" + std::to_string(stats.documents) +
                      ",\"deleted_documents\":" + std::to_string(stats.deleted_documents) +
                      ",\"segments\":" + std::to_string(stats.segments);
    char number[64];
    std::snprintf(number, sizeof number, ",\"average_length\":%.4f", stats.average_length);
    out += number;
    out += ",\"format_version\":" + std::to_string(stats.format_version);
    out += ",\"positions\":" + std::string(stats.positions ? "true" : "false");
    out += ",\"tilde\":" + std::string(stats.tilde ? "true" : "false");
    out += ",\"default_cascade\":";
    AppendJsonString(&out, stats.default_cascade);
    out += ",\"vector_fields\":[";
    for (size_t i = 0; i < stats.vector_fields.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(&out, stats.vector_fields[i]);
    }
    for (const auto& [key, names] : {std::pair{"keyword_fields", &stats.keyword_fields},
                                     std::pair{"numeric_fields", &stats.numeric_fields},
                                     std::pair{"text_fields", &stats.text_fields}}) {
      out += std::string("],\"") + key + "\":[";
      for (size_t i = 0; i < names->size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendJsonString(&out, (*names)[i]);
      }
    }
    char weight[32];
    std::snprintf(weight, sizeof(weight), "%.17g", stats.contents_weight);
    out += std::string("],\"contents_weight\":") + weight + ",\"text_field_average_lengths\":[";
    for (size_t f = 0; f < stats.text_field_average_lengths.size(); ++f) {
      std::snprintf(weight, sizeof(weight), "%s%.4f", f ? "," : "",
                    stats.text_field_average_lengths[f]);
      out += weight;
    }
    out += "],\"column_families\":{";
    for (size_t i = 0; i < stats.column_families.size(); ++i) {
      const ColumnFamilyStats& cf = stats.column_families[i];
      if (i > 0) out.push_back(',');
      AppendJsonString(&out, cf.name);
      out += ":{\"table_bytes\":" + std::to_string(cf.table_bytes) +
             ",\"memtable_bytes\":" + std::to_string(cf.memtable_bytes) + "}";
    }
    out += "},\"disk_bytes\":" + std::to_string(disk_bytes) +
           ",\"wal_bytes\":" + std::to_string(wal_bytes) + "}";
    std::printf("%s\n", out.c_str());
    return kExitOk;
  }
  std::printf("index              %s\n", flags.index.c_str());
  std::printf("documents          %" PRIu64 "\n", stats.documents);
  std::printf("deleted documents  %" PRIu64 " (reclaimed by `cascade merge`)\n",
              stats.deleted_documents);
  std::printf("segments           %" PRIu32 "\n", stats.segments);
  std::printf("average length     %.2f terms\n", stats.average_length);
  std::printf("format version     %" PRIu32 "\n", stats.format_version);
  std::printf("positions          %s\n", stats.positions ? "yes" : "no");
  std::printf("TILDE weights      %s\n", stats.tilde ? "yes" : "no");
  std::string fields;
  for (const std::string& field : stats.vector_fields) {
    fields += (fields.empty() ? "" : ", ") + field;
  }
  std::printf("vector fields      %s\n", fields.empty() ? "none" : fields.c_str());
  for (const auto& [label, names] : {std::pair{"keyword fields ", &stats.keyword_fields},
                                     std::pair{"numeric fields ", &stats.numeric_fields},
                                     std::pair{"text fields    ", &stats.text_fields}}) {
    fields.clear();
    for (const std::string& field : *names) fields += (fields.empty() ? "" : ", ") + field;
    std::printf("%s    %s\n", label, fields.empty() ? "none" : fields.c_str());
  }
  if (!stats.text_fields.empty()) {
    std::printf("contents weight    %g\n", stats.contents_weight);
    for (size_t f = 0; f < stats.text_fields.size(); ++f) {
      std::printf("  %-16s %.2f terms on average\n", stats.text_fields[f].c_str(),
                  stats.text_field_average_lengths[f]);
    }
  }
  std::printf("default cascade    %s\n",
              stats.default_cascade.empty() ? "none" : stats.default_cascade.c_str());
  std::printf("column family      table bytes   memtable bytes\n");
  for (const ColumnFamilyStats& cf : stats.column_families) {
    std::printf("  %-12s %14" PRIu64 " %16" PRIu64 "\n", cf.name.c_str(), cf.table_bytes,
                cf.memtable_bytes);
  }
  std::printf("on disk            %" PRIu64 " bytes (%.1f MiB), of which write-ahead log %" PRIu64
              " bytes\n",
              disk_bytes, disk_bytes / 1048576.0, wal_bytes);
  return kExitOk;
}

}  // namespace

void RegisterStatsCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<StatsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "stats",
      "Documents, deleted documents, segments, options and the size of each column "
      "family of an index (opened read-only: safe beside a writer)");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  cmd->callback([flags, exit_code] { *exit_code = RunStats(*flags); });
}

}  // namespace cascade::tools
