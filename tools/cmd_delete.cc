// `cascade delete`: deletes documents of an index by id and/or by query,
// and commits.
//
// The query runs first, so that a bad query (exit code 2) leaves the index
// untouched. Ids the index does not hold are named on stderr; the other
// deletes are still committed, and the exit code is then kExitNotFound.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <string>
#include <unordered_set>
#include <vector>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace cascade::tools {

namespace {

struct DeleteFlags {
  std::string index;
  std::string query;  // empty: no delete by query
  std::string syntax = "plain";
  std::vector<std::string> ids;
  bool json = false;
};

int RunDelete(const DeleteFlags& flags) {
  if (flags.query.empty() && flags.ids.empty()) {
    return ReportError("delete", Status::InvalidArgument(
                                     "nothing to delete: give ids and/or --query"));
  }
  const double start = NowSeconds();
  OpenOptions options;
  options.block_cache_mb = 64;
  auto index = Index::Open(flags.index, options);
  if (!index.ok()) return ReportError("delete", index.status());

  uint64_t by_query = 0;
  // Ids deleted by this run: one the query took, or one given twice, is
  // deleted, not unknown.
  std::unordered_set<std::string> deleted;
  if (!flags.query.empty()) {
    DeleteByQueryOptions query_options;
    query_options.syntax = flags.syntax;
    std::vector<std::string> ids;
    auto matched = (*index)->DeleteByQuery(flags.query, query_options,
                                           flags.ids.empty() ? nullptr : &ids);
    if (!matched.ok()) return ReportError("delete", matched.status());
    by_query = *matched;
    deleted.insert(ids.begin(), ids.end());
  }
  uint64_t by_id = 0;
  std::vector<std::string> not_found;
  for (const std::string& id : flags.ids) {
    if (deleted.contains(id)) continue;
    Status s = (*index)->Delete(id);
    if (s.IsNotFound()) {
      std::string quoted;
      AppendJsonString(&quoted, id);
      std::cerr << "cascade delete: no document with id " << quoted << "\n";
      not_found.push_back(id);
      continue;
    }
    if (!s.ok()) return ReportError("delete", s);
    deleted.insert(id);
    ++by_id;
  }
  Status committed = (*index)->Commit();
  if (!committed.ok()) return ReportError("delete", committed);
  const IndexStats stats = (*index)->Stats();
  const double seconds = NowSeconds() - start;
  if (flags.json) {
    std::string out = "{\"deleted\":" + std::to_string(by_query + by_id) +
                      ",\"by_query\":" + std::to_string(by_query) +
                      ",\"by_id\":" + std::to_string(by_id) + ",\"not_found\":[";
    for (size_t i = 0; i < not_found.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(&out, not_found[i]);
    }
    out += "],\"documents\":" + std::to_string(stats.documents) +
           ",\"deleted_documents\":" + std::to_string(stats.deleted_documents);
    char tail[48];
    std::snprintf(tail, sizeof tail, ",\"seconds\":%.3f}", seconds);
    out += tail;
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("deleted %" PRIu64 " documents (%" PRIu64 " by query, %" PRIu64
                " by id, %zu ids not found); %" PRIu64 " documents left, %.2f s\n",
                by_query + by_id, by_query, by_id, not_found.size(), stats.documents,
                seconds);
  }
  return not_found.empty() ? kExitOk : kExitNotFound;
}

}  // namespace

void RegisterDeleteCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<DeleteFlags>();
  CLI::App* cmd = app.add_subcommand(
      "delete",
      "Delete documents by id and/or every document matching --query, then commit; "
      "an unknown id is reported and the exit code is 3");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_option("--query", flags->query,
                          "Delete every document this query matches (all of them, "
                          "not a top k)"));
  AddSyntaxFlag(cmd, &flags->syntax);
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  cmd->add_option("ids", flags->ids, "Ids of the documents to delete");
  cmd->callback([flags, exit_code] { *exit_code = RunDelete(*flags); });
}

}  // namespace cascade::tools
