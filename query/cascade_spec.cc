#include "query/cascade_spec.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace cascade::query {

std::string_view StageName(StageKind kind) {
  switch (kind) {
    case StageKind::kBm25: return "bm25";
    case StageKind::kTilde: return "tilde";
    case StageKind::kCrossEncoder: return "ce";
  }
  return "?";
}

namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Bad(size_t index, std::string_view stage, const std::string& what) {
  return Status::InvalidArgument("cascade stage " + std::to_string(index + 1) +
                                 " (\"" + std::string(stage) + "\"): " + what);
}

}  // namespace

Result<std::vector<StageSpec>> ParseCascadeSpec(std::string_view spec) {
  spec = Trim(spec);
  if (spec.empty()) {
    return Status::InvalidArgument("empty cascade spec (expected e.g. bm25:1000,ce:50)");
  }
  std::vector<StageSpec> stages;
  const std::vector<std::string_view> parts = Split(spec, ',');
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string_view text = Trim(parts[i]);
    if (text.empty()) return Bad(i, text, "empty stage");
    const std::vector<std::string_view> fields = Split(text, ':');
    if (fields.size() < 2 || fields.size() > 3) {
      return Bad(i, text, "expected stage:depth or stage:depth:budget_ms");
    }
    StageSpec stage;
    const std::string_view name = Trim(fields[0]);
    if (name == "bm25") {
      stage.kind = StageKind::kBm25;
    } else if (name == "tilde") {
      stage.kind = StageKind::kTilde;
    } else if (name == "ce") {
      stage.kind = StageKind::kCrossEncoder;
    } else {
      return Bad(i, text, "unknown stage \"" + std::string(name) +
                              "\" (known: bm25, tilde, ce)");
    }
    const std::string_view depth = Trim(fields[1]);
    auto [end, ec] = std::from_chars(depth.data(), depth.data() + depth.size(), stage.depth);
    if (ec != std::errc() || end != depth.data() + depth.size() || stage.depth < 1 ||
        stage.depth > kMaxStageDepth) {
      return Bad(i, text, "depth must be an integer from 1 to " +
                              std::to_string(kMaxStageDepth));
    }
    if (fields.size() == 3) {
      const std::string budget(Trim(fields[2]));
      char* stop = nullptr;
      const double ms = std::strtod(budget.c_str(), &stop);
      if (budget.empty() || stop != budget.c_str() + budget.size() || !std::isfinite(ms) ||
          ms <= 0) {
        return Bad(i, text, "budget must be a positive number of milliseconds");
      }
      stage.budget_ms = ms;
    }
    const bool retriever = stage.kind == StageKind::kBm25;
    if (i == 0 && !retriever) {
      return Bad(i, text, "the first stage must retrieve (bm25), not rerank");
    }
    if (i > 0 && retriever) {
      return Bad(i, text, "only the first stage may retrieve");
    }
    if (i > 0 && stage.depth > stages.back().depth) {
      return Bad(i, text, "depth " + std::to_string(stage.depth) +
                              " is larger than the previous stage's " +
                              std::to_string(stages.back().depth));
    }
    stages.push_back(stage);
  }
  return stages;
}

std::string FormatCascadeSpec(const std::vector<StageSpec>& stages) {
  std::string out;
  for (const StageSpec& stage : stages) {
    if (!out.empty()) out.push_back(',');
    out.append(StageName(stage.kind));
    out.push_back(':');
    out.append(std::to_string(stage.depth));
    if (stage.budget_ms) {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), *stage.budget_ms);  // shortest
      out.push_back(':');
      out.append(buf, r.ptr);
    }
  }
  return out;
}

}  // namespace cascade::query
