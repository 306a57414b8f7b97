// End-to-end tests of dense retrieval in the `cascade` binary: index with
// --vector-field, train-ivf, search/eval/run with --mode dense|hybrid and
// query vectors from a file (.fvecs, .npy, JSON lines by id), and bad
// vector input exiting 2.
//
// Fixture (written by the test): six documents with 3-d vectors, a dot
// field. Reef documents a1 (1,0,0) and a2 (0.9,0.1,0); glacier documents
// a3 (0,1,0) and a4 (0.1,0.9,0); a5 and a6 on the third axis (a6 also says
// "reef"). Query q1 "reef" with vector (1,0,0): kNN a1, a2; BM25 a2, a6,
// a1; RRF a2, a1 (both in the top two of each list but a6). Query q2
// "glacier" with (0,1,0): a3, a4 either way. Qrels judge a1, a2 for q1 and
// a3, a4 for q2, so dense and hybrid runs reach nDCG@10 1.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/tools/cli_harness.h"

namespace cascade::tools {
namespace {

using namespace testing_cli;  // NOLINT: the harness is this file's vocabulary
using Ids = std::vector<std::string>;

constexpr char kCorpus[] =
    R"({"_id": "a1", "text": "coral reef fish", "vectors": {"emb": [1, 0, 0]}}
{"_id": "a2", "text": "reef diving", "vectors": {"emb": [0.9, 0.1, 0]}}
{"_id": "a3", "text": "glacier ice", "vectors": {"emb": [0, 1, 0]}}
{"_id": "a4", "text": "glacier lake", "vectors": {"emb": [0.1, 0.9, 0]}}
{"_id": "a5", "text": "desert sand", "vectors": {"emb": [0, 0, 1]}}
{"_id": "a6", "text": "reef sand", "vectors": {"emb": [0, 0, 0.9]}}
)";

// Rows of 3-d vectors as .fvecs (per vector: int32 dim, then floats).
std::string Fvecs(const std::vector<std::vector<float>>& rows) {
  std::string out;
  for (const auto& row : rows) {
    const int32_t dim = static_cast<int32_t>(row.size());
    out.append(reinterpret_cast<const char*>(&dim), 4);
    out.append(reinterpret_cast<const char*>(row.data()), row.size() * 4);
  }
  return out;
}

// Rows as a version 1 .npy file: a 2-d little-endian float32 array.
std::string Npy(const std::vector<std::vector<float>>& rows) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" +
                       std::to_string(rows.size()) + ", " + std::to_string(rows[0].size()) +
                       "), }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  for (const auto& row : rows) {
    out.append(reinterpret_cast<const char*>(row.data()), row.size() * 4);
  }
  return out;
}

class DenseCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    index_ = Path("idx");
    WriteFile(Path("corpus.jsonl"), kCorpus);
    WriteFile(Path("queries.tsv"), "q1\treef\nq2\tglacier\n");
    WriteFile(Path("qrels.tsv"), "query-id\tcorpus-id\tscore\nq1\ta1\t1\nq1\ta2\t1\n"
                                 "q2\ta3\t1\nq2\ta4\t1\n");
    // By id, in the other order than queries.tsv.
    WriteFile(Path("qv.jsonl"), "{\"_id\": \"q2\", \"vector\": [0, 1, 0]}\n"
                                "{\"_id\": \"q1\", \"vector\": [1, 0, 0]}\n");
    WriteFile(Path("qv.fvecs"), Fvecs({{1, 0, 0}, {0, 1, 0}}));
    WriteFile(Path("qv.npy"), Npy({{1, 0, 0}, {0, 1, 0}}));
    WriteFile(Path("qv4.fvecs"), Fvecs({{1, 0, 0, 0}, {0, 1, 0, 0}}));
    WriteFile(Path("qv_one.fvecs"), Fvecs({{1, 0, 0}}));
    const CommandResult r = Cascade("index --quiet --index " + Quote(index_) +
                                    " --vector-field emb:3:dot " + Quote(Path("corpus.jsonl")));
    ASSERT_EQ(r.exit_code, 0) << r;
  }

  CommandResult Eval(const std::string& flags) {
    return Cascade("eval --json --index " + Quote(index_) + " --queries " +
                   Quote(Path("queries.tsv")) + " --qrels " + Quote(Path("qrels.tsv")) + " " +
                   flags);
  }
  CommandResult RunQueries(const std::string& flags) {
    return Cascade("run --json --index " + Quote(index_) + " --queries " +
                   Quote(Path("queries.tsv")) + " " + flags);
  }

  std::string index_;
};

TEST_F(DenseCliTest, SearchDenseAndHybrid) {
  EXPECT_EQ(Search(index_, "", "--mode dense --k 2 --vector '[1, 0, 0]'"), (Ids{"a1", "a2"}));
  EXPECT_EQ(Search(index_, "", "--mode dense --k 2 --vector " + Quote(Path("qv.fvecs"))),
            (Ids{"a1", "a2"}));
  EXPECT_EQ(Search(index_, "reef", "--mode hybrid --k 2 --vector '[1, 0, 0]'"),
            (Ids{"a2", "a1"}));
  // IVF lists: probing every list is exact.
  const CommandResult train =
      Cascade("train-ivf --index " + Quote(index_) + " --lists 2 --threads 1");
  ASSERT_EQ(train.exit_code, 0) << train;
  EXPECT_NE(train.out.find("trained 2 IVF lists for field emb"), std::string::npos) << train;
  EXPECT_EQ(Search(index_, "", "--mode dense --k 2 --nprobe 2 --vector '[0, 1, 0]'"),
            (Ids{"a3", "a4"}));
  const CommandResult stats = Cascade("ivf-stats --index " + Quote(index_));
  EXPECT_EQ(stats.exit_code, 0) << stats;
  EXPECT_NE(stats.out.find("6 vectors in 2 lists"), std::string::npos) << stats;
}

TEST_F(DenseCliTest, EvalDenseAndHybridWithQueryVectors) {
  for (const std::string vectors : {"qv.jsonl", "qv.fvecs", "qv.npy"}) {
    for (const std::string mode : {"dense", "hybrid"}) {
      const CommandResult r =
          Eval("--mode " + mode + " --query-vectors " + Quote(Path(vectors)));
      ASSERT_EQ(r.exit_code, 0) << mode << " " << vectors << "\n" << r;
      EXPECT_EQ(JsonNumber(r.out, "queries"), 2.0) << r;
      EXPECT_NEAR(JsonNumber(r.out, "ndcg@10").value_or(0), 1.0, 1e-4)
          << mode << " " << vectors << "\n" << r;
    }
  }
  // BM25 (the default) needs no vectors and ranks a6 above a1 for q1.
  const CommandResult bm25 = Eval("");
  ASSERT_EQ(bm25.exit_code, 0) << bm25;
  EXPECT_LT(JsonNumber(bm25.out, "ndcg@10").value_or(1), 0.999) << bm25;
}

TEST_F(DenseCliTest, RunDenseAndHybridWriteRuns) {
  const CommandResult dense = RunQueries("--k 2 --mode dense --query-vectors " +
                                         Quote(Path("qv.jsonl")) + " --output " +
                                         Quote(Path("dense.run")));
  ASSERT_EQ(dense.exit_code, 0) << dense;
  EXPECT_EQ(JsonNumber(dense.out, "queries"), 2.0) << dense;
  const std::string run = ReadFile(Path("dense.run"));
  EXPECT_EQ(CountLines(run, "q1 Q0 a1 1 "), 1u) << run;
  EXPECT_EQ(CountLines(run, "q1 Q0 a2 2 "), 1u) << run;
  EXPECT_EQ(CountLines(run, "q2 Q0 a3 1 "), 1u) << run;

  const CommandResult hybrid = RunQueries("--k 2 --mode hybrid --query-vectors " +
                                          Quote(Path("qv.fvecs")) + " --output " +
                                          Quote(Path("hybrid.run")));
  ASSERT_EQ(hybrid.exit_code, 0) << hybrid;
  const std::string fused = ReadFile(Path("hybrid.run"));
  EXPECT_EQ(CountLines(fused, "q1 Q0 a2 1 "), 1u) << fused;
  EXPECT_EQ(CountLines(fused, "q1 Q0 a1 2 "), 1u) << fused;
}

TEST_F(DenseCliTest, BadQueryVectorsExitTwo) {
  // Wrong dimension (4 for a 3-d field).
  for (const std::string cmd : {"eval", "run"}) {
    const CommandResult wrong_dim =
        cmd == "eval" ? Eval("--mode dense --query-vectors " + Quote(Path("qv4.fvecs")))
                      : RunQueries("--mode dense --query-vectors " + Quote(Path("qv4.fvecs")));
    EXPECT_EQ(wrong_dim.exit_code, 2) << cmd << "\n" << wrong_dim;
    EXPECT_NE(wrong_dim.err.find("q1"), std::string::npos) << wrong_dim;
  }
  // No vectors for a mode that needs them.
  const CommandResult missing = Eval("--mode hybrid");
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_NE(missing.err.find("--query-vectors"), std::string::npos) << missing;
  // One vector by order for two queries.
  const CommandResult short_file =
      RunQueries("--mode dense --query-vectors " + Quote(Path("qv_one.fvecs")));
  EXPECT_EQ(short_file.exit_code, 2) << short_file;
  // A query id without a vector.
  WriteFile(Path("qv_q1.jsonl"), "{\"_id\": \"q1\", \"vector\": [1, 0, 0]}\n");
  const CommandResult no_q2 = Eval("--mode dense --query-vectors " + Quote(Path("qv_q1.jsonl")));
  EXPECT_EQ(no_q2.exit_code, 2) << no_q2;
  EXPECT_NE(no_q2.err.find("q2"), std::string::npos) << no_q2;
  // A missing file.
  const CommandResult no_file =
      Eval("--mode dense --query-vectors " + Quote(Path("nope.fvecs")));
  EXPECT_EQ(no_file.exit_code, 2) << no_file;
  // Search with a wrong-dimension vector.
  const CommandResult search = Cascade("search --index " + Quote(index_) +
                                       " --mode dense --vector '[1, 0]'");
  EXPECT_EQ(search.exit_code, 2) << search;
}

}  // namespace
}  // namespace cascade::tools
