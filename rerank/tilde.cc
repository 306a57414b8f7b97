#include "rerank/tilde.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace cascade::rerank {

namespace {

void PutVarint(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint32_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 28 && !in->empty(); shift += 7) {
    const auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      if (result > UINT32_MAX) return false;
      *v = static_cast<uint32_t>(result);
      return true;
    }
  }
  return false;
}

}  // namespace

Result<TildeQuantizer> TildeQuantizer::ForMaxWeight(float max_weight) {
  if (!std::isfinite(max_weight) || max_weight <= 0) {
    return Status::InvalidArgument("TILDE max weight must be a positive number");
  }
  return TildeQuantizer(max_weight / 255.0f);
}

uint8_t TildeQuantizer::Quantize(float weight) const {
  if (!(weight > 0)) return 0;  // NaN and ReLU zeros
  const float code = std::round(weight / scale_);
  return static_cast<uint8_t>(std::clamp(code, 0.0f, 255.0f));
}

TermWeights PoolTokenWeights(std::span<const int32_t> ids,
                             std::span<const float> weights,
                             std::span<const int32_t> skip_ids,
                             const TildeQuantizer& quantizer) {
  std::unordered_map<int32_t, float> best;
  const size_t n = std::min(ids.size(), weights.size());
  for (size_t i = 0; i < n; ++i) {
    if (std::find(skip_ids.begin(), skip_ids.end(), ids[i]) != skip_ids.end()) {
      continue;
    }
    auto [it, inserted] = best.try_emplace(ids[i], weights[i]);
    if (!inserted) it->second = std::max(it->second, weights[i]);
  }
  std::vector<std::pair<int32_t, uint8_t>> pooled;
  pooled.reserve(best.size());
  for (const auto& [id, weight] : best) {
    const uint8_t code = quantizer.Quantize(weight);
    if (code > 0) pooled.emplace_back(id, code);
  }
  std::sort(pooled.begin(), pooled.end());
  TermWeights out;
  for (const auto& [id, code] : pooled) {
    out.ids.push_back(id);
    out.codes.push_back(code);
  }
  return out;
}

void EncodeTermWeights(const TermWeights& weights, std::string* out) {
  PutVarint(out, static_cast<uint32_t>(weights.ids.size()));
  int64_t prev = 0;
  for (size_t i = 0; i < weights.ids.size(); ++i) {
    PutVarint(out, static_cast<uint32_t>(weights.ids[i] - prev));
    out->push_back(static_cast<char>(weights.codes[i]));
    prev = weights.ids[i];
  }
}

Result<TermWeights> DecodeTermWeights(std::string_view bytes) {
  uint32_t count;
  if (!GetVarint(&bytes, &count)) return Status::Corruption("TILDE weights: bad count");
  // Each entry takes at least two bytes: refuse a count the bytes cannot
  // hold before allocating for it.
  if (bytes.size() < size_t{2} * count) {
    return Status::Corruption("TILDE weights: truncated");
  }
  TermWeights out;
  out.ids.reserve(count);
  out.codes.reserve(count);
  int64_t prev = 0;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t gap;
    if (!GetVarint(&bytes, &gap) || bytes.empty()) {
      return Status::Corruption("TILDE weights: truncated");
    }
    const int64_t id = prev + gap;
    if ((i > 0 && gap == 0) || id > INT32_MAX) {
      return Status::Corruption("TILDE weights: ids not increasing");
    }
    const auto code = static_cast<uint8_t>(bytes.front());
    bytes.remove_prefix(1);
    if (code == 0) return Status::Corruption("TILDE weights: zero code stored");
    out.ids.push_back(static_cast<int32_t>(id));
    out.codes.push_back(code);
    prev = id;
  }
  if (!bytes.empty()) return Status::Corruption("TILDE weights: trailing bytes");
  return out;
}

Result<float> TildeScoreEncoded(std::span<const int32_t> sorted_query_ids,
                                std::string_view bytes,
                                const TildeQuantizer& quantizer) {
  uint32_t count;
  if (!GetVarint(&bytes, &count)) return Status::Corruption("TILDE weights: bad count");
  if (bytes.size() < size_t{2} * count) {
    return Status::Corruption("TILDE weights: truncated");
  }
  uint32_t sum = 0;
  size_t q = 0;
  int64_t id = 0;
  for (uint32_t i = 0; i < count && q < sorted_query_ids.size(); ++i) {
    uint32_t gap;
    if (!GetVarint(&bytes, &gap) || bytes.empty()) {
      return Status::Corruption("TILDE weights: truncated");
    }
    if (i > 0 && gap == 0) return Status::Corruption("TILDE weights: ids not increasing");
    id += gap;
    const auto code = static_cast<uint8_t>(bytes.front());
    bytes.remove_prefix(1);
    while (q < sorted_query_ids.size() && sorted_query_ids[q] < id) ++q;
    while (q < sorted_query_ids.size() && sorted_query_ids[q] == id) {
      sum += code;
      ++q;
    }
  }
  return static_cast<float>(sum) * quantizer.scale();
}

float TildeScore(std::span<const int32_t> query_ids, const TermWeights& doc,
                 const TildeQuantizer& quantizer) {
  uint32_t sum = 0;  // in codes: one multiply at the end
  for (int32_t q : query_ids) {
    auto it = std::lower_bound(doc.ids.begin(), doc.ids.end(), q);
    if (it != doc.ids.end() && *it == q) sum += doc.codes[it - doc.ids.begin()];
  }
  return static_cast<float>(sum) * quantizer.scale();
}

}  // namespace cascade::rerank
