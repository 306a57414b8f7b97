// Test helpers shared by the encoder tests: the transformers reference
// outputs in tests/data/hf-bert/<model>/expected.jsonl, and packing
// examples into a PairBatch.
#ifndef CASCADE_TESTS_GPU_HF_FIXTURES_H_
#define CASCADE_TESTS_GPU_HF_FIXTURES_H_

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "gpu/backend.h"

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                 \
  auto CASCADE_STATUS_CONCAT_(result_, __LINE__) = (expr);              \
  ASSERT_TRUE(CASCADE_STATUS_CONCAT_(result_, __LINE__).ok())           \
      << CASCADE_STATUS_CONCAT_(result_, __LINE__).status().ToString(); \
  lhs = std::move(CASCADE_STATUS_CONCAT_(result_, __LINE__)).value()

namespace cascade::gpu::fixtures {

inline const std::string kFixtures = std::string(CASCADE_TEST_DATA_DIR) + "/hf-bert";

// One line of an expected.jsonl: the input and the named float64 outputs.
struct Example {
  std::vector<int32_t> ids, types;
  std::vector<std::vector<double>> outputs;  // in the order asked for
};

inline std::vector<double> Doubles(simdjson::dom::element value) {
  std::vector<double> out;
  if (value.is_double() || value.is_int64()) {
    out.push_back(value.get_double().value());
    return out;
  }
  // A named array: value() of a temporary result is an rvalue reference
  // into that temporary, which a range-for would keep dangling.
  const simdjson::dom::array array = value.get_array().value();
  for (simdjson::dom::element v : array) {
    out.push_back(v.get_double().value());
  }
  return out;
}

inline std::vector<int32_t> Ints(simdjson::dom::element value) {
  std::vector<int32_t> out;
  const simdjson::dom::array array = value.get_array().value();
  for (simdjson::dom::element v : array) {
    out.push_back(static_cast<int32_t>(v.get_int64().value()));
  }
  return out;
}

// Reads `model`/expected.jsonl; `fields` name the outputs to keep. Lines
// without token_type_ids are single segments (all type 0).
inline std::vector<Example> ReadExpected(const std::string& model,
                                  const std::vector<std::string>& fields) {
  std::vector<Example> examples;
  std::ifstream in(kFixtures + "/" + model + "/expected.jsonl");
  EXPECT_TRUE(in.good()) << "missing fixture " << model;
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const simdjson::padded_string json(line);
    simdjson::dom::element doc;
    if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
      ADD_FAILURE() << "bad line in " << model << ": " << line;
      break;
    }
    Example e;
    e.ids = Ints(doc["input_ids"].value());
    simdjson::dom::element types;
    if (doc["token_type_ids"].get(types) == simdjson::SUCCESS) {
      e.types = Ints(types);
    } else {
      e.types.assign(e.ids.size(), 0);
    }
    for (const std::string& field : fields) {
      e.outputs.push_back(Doubles(doc[field].value()));
    }
    examples.push_back(std::move(e));
  }
  return examples;
}

inline void Append(PairBatch& batch, const std::vector<int32_t>& ids,
            const std::vector<int32_t>& types) {
  if (batch.offsets.empty()) batch.offsets.push_back(0);
  batch.token_ids.insert(batch.token_ids.end(), ids.begin(), ids.end());
  batch.segment_ids.insert(batch.segment_ids.end(), types.begin(), types.end());
  batch.offsets.push_back(static_cast<int32_t>(batch.token_ids.size()));
}

inline PairBatch Pack(const std::vector<Example>& examples) {
  PairBatch batch;
  for (const Example& e : examples) Append(batch, e.ids, e.types);
  return batch;
}

}  // namespace cascade::gpu::fixtures

#endif  // CASCADE_TESTS_GPU_HF_FIXTURES_H_
