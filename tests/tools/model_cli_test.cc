// `cascade model info|score|embed|weigh` end to end: the real binary on the
// random-weight checkpoints of tests/data/hf-bert must print what Hugging
// Face transformers computed (expected.jsonl), from text and from
// pre-tokenized input, and refuse bad input with FILE:LINE.
#include <simdjson.h>

#include <cmath>

#include "tests/tools/cli_harness.h"

namespace cascade::tools {
namespace {

using namespace testing_cli;  // NOLINT: the harness is this file's vocabulary

const std::string kModels = kTestData + "/hf-bert/";

std::vector<std::string> NonEmptyLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<double> Doubles(simdjson::dom::element e) {
  std::vector<double> out;
  for (auto v : e.get_array()) out.push_back(v.get_double().value());
  return out;
}

// Writes one JSON object per expected line, keeping only `fields`.
std::string Project(const std::string& expected_path,
                    const std::vector<std::string>& fields) {
  simdjson::dom::parser parser;
  std::string out;
  for (const std::string& line : NonEmptyLines(ReadFile(expected_path))) {
    simdjson::dom::object doc = parser.parse(line).get_object();
    out += "{";
    bool first = true;
    for (const std::string& f : fields) {
      if (!first) out += ",";
      first = false;
      out += "\"" + f + "\":" + simdjson::minify(doc[f]);
    }
    out += "}\n";
  }
  return out;
}

using ModelCliTest = CliTest;

TEST_F(ModelCliTest, InfoDescribesEachKind) {
  for (const auto& [name, kind] : std::vector<std::pair<std::string, std::string>>{
           {"cross-encoder", "cross-encoder"},
           {"bi-encoder", "bi-encoder"},
           {"tildev2", "token-weigher"}}) {
    const CommandResult r = Cascade("model info " + Quote(kModels + name));
    ASSERT_EQ(r.exit_code, 0) << r;
    EXPECT_NE(r.out.find(kind), std::string::npos) << r;
    EXPECT_NE(r.out.find("hidden        32"), std::string::npos) << r;
  }
}

TEST_F(ModelCliTest, ScoreFromTextAndFromIdsMatchesTransformers) {
  const std::string expected = kModels + "cross-encoder/expected.jsonl";
  for (const auto& fields : std::vector<std::vector<std::string>>{
           {"query", "passage"}, {"input_ids", "token_type_ids"}}) {
    WriteFile(Path("in.jsonl"), Project(expected, fields));
    const CommandResult r =
        Cascade("model score --device cpu --max-length 128 --batch 7 --model " +
                Quote(kModels + "cross-encoder") + " --input " + Quote(Path("in.jsonl")));
    ASSERT_EQ(r.exit_code, 0) << r;
    const auto out = NonEmptyLines(r.out);
    const auto want = NonEmptyLines(ReadFile(expected));
    ASSERT_EQ(out.size(), want.size());
    simdjson::dom::parser a, b;
    for (size_t i = 0; i < out.size(); ++i) {
      const double score = a.parse(out[i])["score"].get_double();
      const double logit = b.parse(want[i])["logit"].get_double();
      EXPECT_NEAR(score, logit, 1e-4) << fields[0] << " line " << i + 1;
    }
  }
}

TEST_F(ModelCliTest, EmbedMatchesTransformers) {
  const std::string expected = kModels + "bi-encoder/expected.jsonl";
  WriteFile(Path("in.jsonl"), Project(expected, {"text"}));
  const CommandResult r = Cascade("model embed --device cpu --model " +
                                  Quote(kModels + "bi-encoder") + " --input " +
                                  Quote(Path("in.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto out = NonEmptyLines(r.out);
  const auto want = NonEmptyLines(ReadFile(expected));
  ASSERT_EQ(out.size(), want.size());
  simdjson::dom::parser a, b;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto got = Doubles(a.parse(out[i])["embedding"]);
    const auto ref = Doubles(b.parse(want[i])["normalized_mean"]);
    ASSERT_EQ(got.size(), ref.size());
    for (size_t d = 0; d < got.size(); ++d) EXPECT_NEAR(got[d], ref[d], 1e-4);
  }
}

TEST_F(ModelCliTest, WeighMatchesTransformers) {
  const std::string expected = kModels + "tildev2/expected.jsonl";
  WriteFile(Path("in.jsonl"), Project(expected, {"passage"}));
  const CommandResult r = Cascade("model weigh --device cpu --max-length 192 --model " +
                                  Quote(kModels + "tildev2") + " --input " +
                                  Quote(Path("in.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto out = NonEmptyLines(r.out);
  const auto want = NonEmptyLines(ReadFile(expected));
  ASSERT_EQ(out.size(), want.size());
  simdjson::dom::parser a, b;
  for (size_t i = 0; i < out.size(); ++i) {
    simdjson::dom::element got = a.parse(out[i]);
    simdjson::dom::element ref = b.parse(want[i]);
    EXPECT_EQ(simdjson::minify(got["input_ids"]), simdjson::minify(ref["input_ids"]));
    const auto w = Doubles(got["weights"]);
    const auto e = Doubles(ref["weights"]);
    ASSERT_EQ(w.size(), e.size());
    for (size_t t = 0; t < w.size(); ++t) EXPECT_NEAR(w[t], e[t], 1e-4);
  }
}

TEST_F(ModelCliTest, BadInputNamesFileAndLine) {
  const std::string model = Quote(kModels + "cross-encoder");
  WriteFile(Path("bad.jsonl"), "{\"query\":\"a\",\"passage\":\"b\"}\n{not json\n");
  CommandResult r = Cascade("model score --model " + model + " --input " +
                            Quote(Path("bad.jsonl")));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("bad.jsonl:2: invalid JSON"), std::string::npos) << r;

  WriteFile(Path("missing.jsonl"), "{\"query\":\"a\"}\n");
  r = Cascade("model score --model " + model + " --input " + Quote(Path("missing.jsonl")));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("missing.jsonl:1:"), std::string::npos) << r;
  EXPECT_NE(r.err.find("passage"), std::string::npos) << r;

  WriteFile(Path("ids.jsonl"), "{\"input_ids\":[101,99999999,102]}\n");
  r = Cascade("model score --model " + model + " --input " + Quote(Path("ids.jsonl")));
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("ids.jsonl:1:"), std::string::npos) << r;

  // The verb must fit the model's kind.
  r = Cascade("model embed --model " + model + " --input " + Quote(Path("ids.jsonl")));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("bi-encoder"), std::string::npos) << r;
}

TEST_F(ModelCliTest, PytorchOnlyCheckpointPointsToTheConversion) {
  fs::create_directories(Path("pt"));
  fs::copy_file(kModels + "cross-encoder/config.json", Path("pt/config.json"));
  WriteFile(Path("pt/pytorch_model.bin"), "not really a checkpoint");
  const CommandResult r = Cascade("model info " + Quote(Path("pt")));
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << r;
  EXPECT_NE(r.err.find("save_file"), std::string::npos) << r;
}

}  // namespace
}  // namespace cascade::tools
