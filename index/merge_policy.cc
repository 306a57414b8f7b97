#include "index/merge_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cascade::index {

Status ValidateTieredMergeOptions(const TieredMergeOptions& options) {
  std::string bad;
  if (options.segments_per_tier < 2) bad += " segments_per_tier (must be >= 2)";
  if (options.max_merge_at_once < 2) bad += " max_merge_at_once (must be >= 2)";
  if (options.max_merged_segment_docs < 1) bad += " max_merged_segment_docs (must be >= 1)";
  if (!(options.deletes_pct_allowed >= 0 && options.deletes_pct_allowed <= 100)) {
    bad += " deletes_pct_allowed (must be in [0, 100])";
  }
  if (!bad.empty()) return Status::InvalidArgument("bad merge options:" + bad);
  return Status::OK();
}

namespace {

// Lucene's allowed segment count: segments_per_tier segments at each tier
// of size floor, floor x f, ... until what is left fits one tier.
size_t AllowedSegments(uint64_t total, uint64_t smallest, const TieredMergeOptions& options) {
  const double merge_factor =
      static_cast<double>(std::min(options.max_merge_at_once, options.segments_per_tier));
  const auto max_size = static_cast<double>(options.max_merged_segment_docs);
  const auto per_tier = static_cast<double>(options.segments_per_tier);
  double level = static_cast<double>(std::max<uint64_t>({smallest, options.floor_segment_docs, 1}));
  double left = static_cast<double>(total);
  double allowed = 0;
  while (true) {
    const double at_level = left / level;
    if (at_level < per_tier || level >= max_size) {
      allowed += std::ceil(at_level);
      break;
    }
    allowed += per_tier;
    left -= per_tier * level;
    level = std::min(max_size, level * merge_factor);
  }
  return static_cast<size_t>(std::max(allowed, per_tier));
}

}  // namespace

std::vector<MergeSpec> FindTieredMerges(std::span<const SegmentSize> segments,
                                        const TieredMergeOptions& options) {
  const size_t n = segments.size();
  std::vector<MergeSpec> merges;
  std::vector<bool> taken(n, false);

  // Segments without a live document go at once, adjacent ones together.
  for (size_t i = 0; i < n;) {
    if (segments[i].live != 0) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < n && segments[end].live == 0) ++end;
    merges.push_back({i, end});
    for (size_t j = i; j < end; ++j) taken[j] = true;
    i = end;
  }

  // Too large to merge with others; rewritten alone when mostly deleted.
  const uint64_t too_large = options.max_merged_segment_docs / 2;
  std::vector<bool> eligible(n, false);
  size_t remaining = 0;
  uint64_t total = 0;
  uint64_t smallest = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < n; ++i) {
    if (taken[i]) continue;
    const SegmentSize& s = segments[i];
    if (s.live > too_large) {
      const double pct = 100.0 * static_cast<double>(s.deleted) /
                         static_cast<double>(s.live + s.deleted);
      if (pct > options.deletes_pct_allowed) {
        merges.push_back({i, i + 1});
        taken[i] = true;
      }
      continue;
    }
    eligible[i] = true;
    ++remaining;
    total += s.live;
    smallest = std::min(smallest, s.live);
  }
  if (remaining == 0) {
    std::sort(merges.begin(), merges.end(),
              [](const MergeSpec& a, const MergeSpec& b) { return a.begin < b.begin; });
    return merges;
  }
  const size_t allowed = AllowedSegments(total, smallest, options);

  const auto floored = [&](size_t i) {
    return static_cast<double>(std::max<uint64_t>(segments[i].live, options.floor_segment_docs));
  };
  while (remaining > allowed) {
    double best_score = std::numeric_limits<double>::infinity();
    MergeSpec best;
    for (size_t begin = 0; begin < n; ++begin) {
      if (!eligible[begin]) continue;
      uint64_t live = 0, deleted = 0;
      double sum_floored = 0, largest = 0;
      for (size_t end = begin + 1; end <= n && end - begin <= options.max_merge_at_once; ++end) {
        const size_t last = end - 1;
        if (!eligible[last]) break;
        live += segments[last].live;
        deleted += segments[last].deleted;
        if (live > options.max_merged_segment_docs) break;
        sum_floored += floored(last);
        largest = std::max(largest, floored(last));
        if (end - begin < 2) continue;
        const double live_fraction =
            static_cast<double>(live) / static_cast<double>(live + deleted);
        const double score = (largest / sum_floored) *
                             std::pow(static_cast<double>(std::max<uint64_t>(live, 1)), 0.05) *
                             live_fraction * live_fraction;
        if (score < best_score) {
          best_score = score;
          best = {begin, end};
        }
      }
    }
    if (best.end == 0) break;  // no run fits: leave them
    merges.push_back(best);
    for (size_t i = best.begin; i < best.end; ++i) eligible[i] = false;
    remaining -= best.end - best.begin;
  }
  std::sort(merges.begin(), merges.end(),
            [](const MergeSpec& a, const MergeSpec& b) { return a.begin < b.begin; });
  return merges;
}

std::vector<MergeSpec> FindForcedMerges(std::span<const SegmentSize> segments,
                                        size_t max_segments) {
  const size_t n = segments.size();
  max_segments = std::max<size_t>(max_segments, 1);
  std::vector<MergeSpec> runs;
  if (n <= max_segments) {
    for (size_t i = 0; i < n; ++i) runs.push_back({i, i + 1});
  } else {
    // The smallest limit on a run's live documents that needs at most
    // max_segments runs (greedy packing from the left is optimal for a
    // given limit), found by bisection.
    const auto pack = [&](uint64_t limit, std::vector<MergeSpec>* out) {
      size_t count = 0;
      uint64_t sum = 0;
      size_t begin = 0;
      for (size_t i = 0; i < n; ++i) {
        if (i > begin && sum + segments[i].live > limit) {
          if (out) out->push_back({begin, i});
          ++count;
          begin = i;
          sum = 0;
        }
        sum += segments[i].live;
      }
      if (out) out->push_back({begin, n});
      return count + 1;
    };
    uint64_t lo = 0, hi = 0;
    for (const SegmentSize& s : segments) {
      lo = std::max(lo, s.live);
      hi += s.live;
    }
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (pack(mid, nullptr) <= max_segments) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    pack(lo, &runs);
  }
  std::vector<MergeSpec> merges;
  for (const MergeSpec& run : runs) {
    if (run.end - run.begin >= 2 || segments[run.begin].deleted > 0) merges.push_back(run);
  }
  return merges;
}

}  // namespace cascade::index
