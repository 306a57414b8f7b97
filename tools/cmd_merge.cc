// `cascade merge`: merges an index's segments, by the tiered policy or
// down to a number of segments (README "Merging and durability").
#include <cinttypes>
#include <cstdio>

#include "cascade/engine.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

namespace cascade::tools {

namespace {

struct MergeFlags {
  std::string index;
  size_t max_segments = 0;  // 0: the tiered policy
  size_t segments_per_tier = 10;
  size_t max_merge_at_once = 10;
  bool json = false;
};

int RunMerge(const MergeFlags& flags) {
  OpenOptions options;
  options.block_cache_mb = 64;
  options.merge.segments_per_tier = flags.segments_per_tier;
  options.merge.max_merge_at_once = flags.max_merge_at_once;
  auto index = Index::Open(flags.index, options);
  if (!index.ok()) return ReportError("merge", index.status());
  const IndexStats before = (*index)->Stats();
  const double start = NowSeconds();
  Status s = flags.max_segments > 0 ? (*index)->ForceMerge(flags.max_segments)
                                    : (*index)->MaybeMerge();
  if (!s.ok()) return ReportError("merge", s);
  const double seconds = NowSeconds() - start;
  const IndexStats after = (*index)->Stats();
  const uint64_t reclaimed = before.deleted_documents - after.deleted_documents;
  if (flags.json) {
    std::printf("{\"segments_before\":%" PRIu32 ",\"segments_after\":%" PRIu32
                ",\"documents\":%" PRIu64 ",\"deleted_before\":%" PRIu64
                ",\"deleted_after\":%" PRIu64 ",\"seconds\":%.3f}\n",
                before.segments, after.segments, after.documents, before.deleted_documents,
                after.deleted_documents, seconds);
  } else {
    std::printf("segments %" PRIu32 " -> %" PRIu32 ", %" PRIu64 " documents, %" PRIu64
                " deleted documents reclaimed (%" PRIu64 " left), %.2f s\n",
                before.segments, after.segments, after.documents, reclaimed,
                after.deleted_documents, seconds);
  }
  return kExitOk;
}

}  // namespace

void RegisterMergeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<MergeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "merge", "Merge an index's segments and drop deleted documents, by the tiered "
               "policy or down to --max-segments");
  WithEnv(cmd->add_option("--index", flags->index, "Index folder")->required());
  WithEnv(cmd->add_option("--max-segments", flags->max_segments,
                          "Merge down to at most N segments, with no deleted documents "
                          "left (0: run the tiered policy instead)")
              ->capture_default_str());
  WithEnv(cmd->add_option("--segments-per-tier", flags->segments_per_tier,
                          "Tiered policy: segments allowed per size tier")
              ->capture_default_str()->check(CLI::Range(2, 1 << 20)));
  WithEnv(cmd->add_option("--max-merge-at-once", flags->max_merge_at_once,
                          "Tiered policy: most segments one merge takes")
              ->capture_default_str()->check(CLI::Range(2, 1 << 20)));
  WithEnv(cmd->add_flag("--json", flags->json, "Print one JSON object"));
  cmd->callback([flags, exit_code] { *exit_code = RunMerge(*flags); });
}

}  // namespace cascade::tools
