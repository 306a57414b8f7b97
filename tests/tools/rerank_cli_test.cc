// `cascade index --tilde-model/--tilde-tokenizer/--default-rerank` and
// `cascade search|eval|run --rerank` end to end, with the fixture models of
// tests/data/hf-bert (random weights: effectiveness is not the point; the
// runs must complete and report per-stage timings) and, for eval, the CACM
// collection in ../shared/data.
#include <gtest/gtest.h>

#include <string>

#include "tests/tools/cli_harness.h"

namespace cascade::tools {
namespace {

using namespace testing_cli;  // NOLINT: the harness is this file's vocabulary

const std::string kTilde = kTestData + "/hf-bert/tildev2";
const std::string kCrossEncoder = kTestData + "/hf-bert/cross-encoder";
const std::string kSmallCorpus = kTestData + "/cli/small.jsonl";
const std::string kSmallQueries = kTestData + "/cli/queries.tsv";

using RerankCliTest = CliTest;

TEST_F(RerankCliTest, TildeIndexThenSearchWithEveryStage) {
  const std::string index = Path("idx");
  const CommandResult indexed =
      Cascade("index --quiet --index " + Quote(index) + " --tilde-model " +
              Quote(kTilde) + " --default-rerank bm25:20,tilde:5 " + Quote(kSmallCorpus));
  ASSERT_EQ(indexed.exit_code, 0) << indexed;
  EXPECT_NE(indexed.out.find("TILDE weights stored for"), std::string::npos) << indexed;

  // The stored default runs when no --rerank is given.
  CommandResult r = Cascade("search --json --index " + Quote(index) + " reef");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("\"cascade\":\"bm25:20,tilde:5\""), std::string::npos) << r;
  EXPECT_NE(r.out.find("\"stage\":\"tilde\""), std::string::npos) << r;

  // All three stages, with explain: every hit has one entry per stage.
  r = Cascade("search --json --explain --index " + Quote(index) +
              " --rerank bm25:20,tilde:5,ce:2 --model " + Quote(kCrossEncoder) +
              " --device cpu glacier ice");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("\"cascade\":\"bm25:20,tilde:5,ce:2\""), std::string::npos) << r;
  EXPECT_EQ(HitIds(r.out).size(), 2u) << r;  // glacier ice matches d2 and d8
  EXPECT_EQ(CountLines(r.out, "\"stage\":\"ce\""), 1u);
  size_t explains = 0;
  for (size_t at = r.out.find("\"explain\":["); at != std::string::npos;
       at = r.out.find("\"explain\":[", at + 1)) {
    ++explains;
    const std::string entry = r.out.substr(at, r.out.find(']', at) - at);
    EXPECT_NE(entry.find("\"stage\":\"bm25\""), std::string::npos) << entry;
    EXPECT_NE(entry.find("\"stage\":\"tilde\""), std::string::npos) << entry;
    EXPECT_NE(entry.find("\"stage\":\"ce\""), std::string::npos) << entry;
  }
  EXPECT_EQ(explains, 2u) << r;

  // Text output: the per-hit explain line and the stage summary.
  r = Cascade("search --explain --index " + Quote(index) + " --rerank bm25:5,tilde:2 reef");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("bm25 #"), std::string::npos) << r;
  EXPECT_NE(r.out.find("cascade bm25:5,tilde:2:"), std::string::npos) << r;

  // run: per-stage timings in the JSON.
  r = Cascade("run --json --index " + Quote(index) + " --queries " + Quote(kSmallQueries) +
              " --rerank bm25:10,tilde:3");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.out.find("\"stages\":{\"bm25\":{\"mean_ms\":"), std::string::npos) << r;
  EXPECT_NE(r.out.find("\"tilde\":{\"mean_ms\":"), std::string::npos) << r;
}

TEST_F(RerankCliTest, BadSpecsAndMissingModelsExitTwoNamingTheProblem) {
  const std::string index = Path("idx");
  IndexCorpus(index, Quote(kSmallCorpus));
  struct Case {
    std::string args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"--rerank bm25:10,gpt:5", "gpt"},
      {"--rerank bm25:5,ce:10", "depth"},
      {"--rerank ce:5", "bm25"},
      {"--rerank bm25:10,ce:5", "cross-encoder"},
      {"--rerank bm25:10,tilde:5", "TILDE"},
      {"--rerank bm25:10,ce:5 --model " + Quote(kTilde), "not a cross-encoder"},
      {"--rerank bm25:10,ce:5 --model /nonexistent/model", "nonexistent"},
      {"--long-passages split", "split"},
      {"--tilde-alpha 2", "tilde-alpha"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const CommandResult r = Cascade("search --index " + Quote(index) + " " + c.args + " reef");
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r;
  }
  // A bad stored default is refused at index time.
  const CommandResult r = Cascade("index --quiet --index " + Quote(index) +
                                  " --default-rerank bm25:5,tilde:9 " + Quote(kSmallCorpus));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("tilde"), std::string::npos) << r;
}

TEST_F(RerankCliTest, PrecomputedWeightsFromTheInput) {
  const std::string corpus = Path("tilde.jsonl");
  WriteFile(corpus,
            R"({"_id":"a","text":"rocket engines","tilde":{"rocket":2.0,"engine":1.5,"thrust":0.5}})" "\n"
            R"({"_id":"b","text":"boat sails","tilde":{"boat":1.0}})" "\n"
            R"({"_id":"c","text":"bad token","tilde":{"notavocabtokenqq":1.0}})" "\n"
            R"({"_id":"d","text":"bad weight","tilde":{"boat":"x"}})" "\n"
            R"({"_id":"e","text":"rocket boat"})" "\n");
  const std::string index = Path("idx");
  // Without a tokenizer the weights cannot be mapped: those lines are skipped.
  CommandResult r = Cascade("index --quiet --index " + Quote(index) + " " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("tilde.jsonl:1: \"tilde\" weights need a TILDE tokenizer"),
            std::string::npos) << r;
  EXPECT_NE(r.out.find("indexed 1 documents"), std::string::npos) << r;

  const std::string index2 = Path("idx2");
  r = Cascade("index --quiet --index " + Quote(index2) + " --tilde-tokenizer " +
              Quote(kTilde) + " " + Quote(corpus));
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("tilde.jsonl:3: document c: tilde: token \"notavocabtokenqq\" is not in the"),
            std::string::npos) << r;
  EXPECT_NE(r.err.find("tilde.jsonl:4: field \"tilde\": token \"boat\": expected a number"),
            std::string::npos) << r;
  EXPECT_NE(r.out.find("TILDE weights stored for 2 documents"), std::string::npos) << r;
  EXPECT_NE(r.out.find("indexed 3 documents"), std::string::npos) << r;
  // "thrust" is an expansion token: not in the text, still scored.
  r = Cascade("search --json --index " + Quote(index2) + " --rerank bm25:10,tilde:10 rocket thrust");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(HitIds(r.out), (std::vector<std::string>{"a", "e"})) << r;
  // Scale 2.0 / 255: rocket 2.0 (code 255) + thrust 0.5 (63.75: code 64).
  const auto score = JsonNumber(r.out.substr(r.out.find("\"id\":\"a\"")), "score");
  ASSERT_TRUE(score.has_value()) << r;
  EXPECT_NEAR(*score, (255 + 64) * (2.0 / 255), 1e-4) << r;
}

TEST_F(RerankCliTest, EvalWithRerankOnCacmReportsStageTimings) {
  const std::string dataset = kSharedDir + "/data/cacm";
  ASSERT_TRUE(fs::is_directory(dataset)) << "shared data missing: " << dataset;
  const std::string index = Path("cacm");
  CommandResult r = Cascade("index --quiet --index " + Quote(index) + " --tilde-model " +
                            Quote(kTilde) + " " + Quote(dataset));
  ASSERT_EQ(r.exit_code, 0) << r;
  r = Cascade("eval --json --index " + Quote(index) + " --dataset " + Quote(dataset) +
              " --rerank bm25:100,tilde:20,ce:5 --model " + Quote(kCrossEncoder) +
              " --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(JsonNumber(r.out, "queries"), 52) << r;
  ASSERT_TRUE(JsonNumber(r.out, "map").has_value()) << r;
  for (const char* stage : {"\"bm25\":{", "\"tilde\":{", "\"ce\":{"}) {
    const size_t at = r.out.find(stage);
    ASSERT_NE(at, std::string::npos) << stage << "\n" << r;
    ASSERT_TRUE(JsonNumber(r.out.substr(at), "p50_ms").has_value()) << r;
  }
  EXPECT_EQ(JsonNumber(r.out.substr(r.out.find("\"ce\":{")), "scored"), 52 * 5) << r;
}

}  // namespace
}  // namespace cascade::tools
