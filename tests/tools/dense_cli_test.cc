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
#include <limits>
#include <regex>
#include <sstream>
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

// --- kNN by text: --embedding-model ---

// Four documents whose vectors are the tiny bi-encoder's embeddings of
// their texts (made by `cascade model embed`): a query equal to a
// document's text embeds to its vector and finds it first.
TEST_F(DenseCliTest, EmbeddingModelEmbedsTheQueryText) {
  const std::string model = kTestData + "/hf-bert/bi-encoder";
  const std::vector<std::string> texts = {"the rocket engine burns liquid oxygen",
                                          "green tea grows on hillsides",
                                          "solar panels make electricity",
                                          "sourdough bread needs wild yeast"};
  std::string corpus, input, queries;
  for (size_t i = 0; i < texts.size(); ++i) {
    corpus += "{\"_id\": \"e" + std::to_string(i) + "\", \"text\": \"" + texts[i] + "\"}\n";
    input += "{\"text\": \"" + texts[i] + "\"}\n";
    queries += "q" + std::to_string(i) + "\t" + texts[i] + "\n";
  }
  WriteFile(Path("emb_corpus.jsonl"), corpus);
  WriteFile(Path("texts.jsonl"), input);
  WriteFile(Path("emb_queries.tsv"), queries);
  const CommandResult embedded = Cascade("model embed --device cpu --model " + Quote(model) +
                                         " --input " + Quote(Path("texts.jsonl")));
  ASSERT_EQ(embedded.exit_code, 0) << embedded;
  // {"embedding":[...]} lines become the rows of a side file.
  std::string rows;
  std::istringstream lines(embedded.out);
  for (std::string line; std::getline(lines, line);) {
    const size_t open = line.find('['), close = line.rfind(']');
    ASSERT_NE(open, std::string::npos) << line;
    rows += line.substr(open, close - open + 1) + "\n";
  }
  WriteFile(Path("emb_rows.jsonl"), rows);
  const std::string index = Path("emb_idx");
  const CommandResult built =
      Cascade("index --quiet --index " + Quote(index) + " --vector-field emb:32:cosine " +
              "--vectors " + Quote("emb=" + Path("emb_rows.jsonl")) + " " +
              Quote(Path("emb_corpus.jsonl")));
  ASSERT_EQ(built.exit_code, 0) << built;

  const std::string embed_flags = "--device cpu --embedding-model " + Quote(model);
  for (size_t i = 0; i < texts.size(); ++i) {
    const Ids hits = Search(index, texts[i], "--mode dense --k 2 " + embed_flags);
    ASSERT_EQ(hits.size(), 2u) << texts[i];
    EXPECT_EQ(hits[0], "e" + std::to_string(i)) << texts[i];
  }
  // run: every query's first hit is its own document.
  const CommandResult run =
      Cascade("run --json --k 1 --mode dense --index " + Quote(index) + " --queries " +
              Quote(Path("emb_queries.tsv")) + " --output " + Quote(Path("emb.run")) + " " +
              embed_flags);
  ASSERT_EQ(run.exit_code, 0) << run;
  const std::string trec = ReadFile(Path("emb.run"));
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string want = "q" + std::to_string(i) + " Q0 e" + std::to_string(i) + " 1 ";
    EXPECT_EQ(CountLines(trec, want), 1u) << want << "\n" << trec;
  }
  // The model's 32 dimensions against index_'s 3-d field.
  const CommandResult mismatch = Cascade("search --index " + Quote(index_) +
                                         " --mode dense " + embed_flags + " reef");
  EXPECT_EQ(mismatch.exit_code, 2) << mismatch;
  EXPECT_NE(mismatch.err.find("gives 32-d vectors"), std::string::npos) << mismatch;
  // Without a model, a dense search still needs a vector.
  const CommandResult no_model =
      Cascade("search --index " + Quote(index) + " --mode dense reef");
  EXPECT_EQ(no_model.exit_code, 2) << no_model;
  EXPECT_NE(no_model.err.find("--embedding-model"), std::string::npos) << no_model;
}

// --- Vectors from side files: `cascade index --vectors FIELD=FILE` ---

// kCorpus's documents without "vectors", plus a malformed line (its row is
// skipped with it) and a blank line (no row).
constexpr char kPlainCorpus[] = R"({"_id": "a1", "text": "coral reef fish"}
{"_id": "a2", "text": "reef diving"}
{"_id": "a3", "text": "glacier ice"}
{"_id": "bad", "text": 7}

{"_id": "a4", "text": "glacier lake"}
{"_id": "a5", "text": "desert sand"}
{"_id": "a6", "text": "reef sand"}
)";
// The rows of kPlainCorpus: kCorpus's vectors, and a filler for "bad".
const std::vector<std::vector<float>> kRows = {{1, 0, 0},     {0.9, 0.1, 0}, {0, 1, 0},
                                               {5, 5, 5},     {0.1, 0.9, 0}, {0, 0, 1},
                                               {0, 0, 0.9}};
const std::vector<std::string> kRowIds = {"a1", "a2", "a3", "bad", "a4", "a5", "a6"};

// JSON lines of rows, with ids when `ids` is given.
std::string VectorLines(const std::vector<std::vector<float>>& rows,
                        const std::vector<std::string>& ids = {}) {
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string array = "[";
    for (size_t j = 0; j < rows[i].size(); ++j) {
      array += (j ? ", " : "") + std::to_string(rows[i][j]);
    }
    array += "]";
    out += ids.empty() ? array + "\n"
                       : "{\"id\": \"" + ids[i] + "\", \"vector\": " + array + "}\n";
  }
  return out;
}

// "id=score" of each hit of `search --json`.
std::vector<std::string> IdScores(const std::string& json) {
  static const std::regex kHit(R"re("id":"([^"]*)","score":([-0-9.e]+))re");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(json.begin(), json.end(), kHit);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str() + "=" + (*it)[2].str());
  }
  return out;
}

class SideVectorsCliTest : public DenseCliTest {
 protected:
  void SetUp() override {
    DenseCliTest::SetUp();
    WriteFile(Path("plain.jsonl"), kPlainCorpus);
  }

  CommandResult IndexWith(const std::string& index, const std::string& vectors,
                          const std::string& corpus = "plain.jsonl") {
    return Cascade("index --quiet --index " + Quote(index) + " --vector-field emb:3:dot " +
                   "--vectors " + Quote("emb=" + Path(vectors)) + " " + Quote(Path(corpus)));
  }

  // Every document's kNN hits and scores for a few query vectors.
  std::vector<std::string> KnnAll(const std::string& index) {
    std::vector<std::string> out;
    for (const char* q : {"[1, 0, 0]", "[0, 1, 0]", "[0.2, 0.3, 0.9]"}) {
      const CommandResult r = Cascade("search --json --index " + Quote(index) +
                                      " --mode dense --k 10 --vector " + Quote(q));
      EXPECT_EQ(r.exit_code, 0) << r;
      for (std::string& hit : IdScores(r.out)) out.push_back(q + (" " + hit));
    }
    return out;
  }

  // Expects `cascade index` to exit 2 naming every `needles`, and no
  // index to be left behind.
  void ExpectRefused(const std::string& vectors, const std::vector<std::string>& needles) {
    const std::string index = Path("refused_" + vectors);
    const CommandResult r = IndexWith(index, vectors);
    EXPECT_EQ(r.exit_code, 2) << vectors << "\n" << r;
    for (const std::string& needle : needles) {
      EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << r;
    }
    EXPECT_FALSE(fs::exists(index)) << "a refused run created " << index;
  }
};

TEST_F(SideVectorsCliTest, SideFilesGiveTheSameKnnAsInlineVectors) {
  const std::vector<std::string> inline_hits = KnnAll(index_);
  ASSERT_EQ(inline_hits.size(), 18u);
  WriteFile(Path("side.fvecs"), Fvecs(kRows));
  WriteFile(Path("side.npy"), Npy(kRows));
  WriteFile(Path("side_ids.jsonl"), VectorLines(kRows, kRowIds));
  WriteFile(Path("side_arrays.jsonl"), VectorLines(kRows));
  for (const std::string vectors :
       {"side.fvecs", "side.npy", "side_ids.jsonl", "side_arrays.jsonl"}) {
    const std::string index = Path("idx_" + vectors);
    const CommandResult r = IndexWith(index, vectors);
    ASSERT_EQ(r.exit_code, 0) << vectors << "\n" << r;
    EXPECT_NE(r.out.find("indexed 6 documents"), std::string::npos) << r;
    EXPECT_NE(r.err.find("plain.jsonl:4:"), std::string::npos) << r;  // the bad line
    EXPECT_EQ(KnnAll(index), inline_hits) << vectors;
  }
}

TEST_F(SideVectorsCliTest, BadSideFilesAreRefusedBeforeIndexing) {
  // Row counts: one short, one extra.
  WriteFile(Path("short.fvecs"), Fvecs({kRows.begin(), kRows.end() - 1}));
  ExpectRefused("short.fvecs", {"short.fvecs holds 6 rows", "record 7", "a6"});
  std::vector<std::vector<float>> extra = kRows;
  extra.push_back({1, 1, 1});
  WriteFile(Path("extra.npy"), Npy(extra));
  ExpectRefused("extra.npy", {"extra.npy holds 8 rows", "7 records"});
  // Wrong dimension in row 3 (a3).
  std::vector<std::vector<float>> wide = kRows;
  wide[2] = {0, 1, 0, 0};
  WriteFile(Path("wide.fvecs"), Fvecs(wide));
  ExpectRefused("wide.fvecs", {"wide.fvecs: row 3", "a3", "dimension 4"});
  WriteFile(Path("wide.jsonl"), VectorLines(wide));
  ExpectRefused("wide.jsonl", {"wide.jsonl:3:", "dimension 4"});
  // NaN and Inf.
  std::vector<std::vector<float>> nan = kRows;
  nan[1][2] = std::numeric_limits<float>::quiet_NaN();
  WriteFile(Path("nan.npy"), Npy(nan));
  ExpectRefused("nan.npy", {"nan.npy: row 2", "value 2 is not finite (NaN)"});
  std::vector<std::vector<float>> inf = kRows;
  inf[5][0] = std::numeric_limits<float>::infinity();
  WriteFile(Path("inf.fvecs"), Fvecs(inf));
  ExpectRefused("inf.fvecs", {"inf.fvecs: row 6", "Inf"});
  WriteFile(Path("big.jsonl"), "[1, 0, 0]\n[1e39, 0, 0]\n");
  ExpectRefused("big.jsonl", {"big.jsonl:2:", "not a finite number"});
  // Ids out of order: a2 and a3 swapped.
  std::vector<std::string> swapped = kRowIds;
  std::swap(swapped[1], swapped[2]);
  WriteFile(Path("swapped.jsonl"), VectorLines(kRows, swapped));
  ExpectRefused("swapped.jsonl",
                {"swapped.jsonl:2:", "id \"a3\" does not match document \"a2\""});
  // Malformed JSON, a truncated .fvecs, a missing file.
  WriteFile(Path("broken.jsonl"), "[1, 0, 0]\n[1, 0\n");
  ExpectRefused("broken.jsonl", {"broken.jsonl:2:", "invalid JSON"});
  std::string truncated = Fvecs(kRows);
  truncated.resize(truncated.size() - 2);
  WriteFile(Path("truncated.fvecs"), truncated);
  ExpectRefused("truncated.fvecs", {"truncated.fvecs: row 7", "truncated"});
  ExpectRefused("missing.fvecs", {"missing.fvecs"});
  // A vector given both inline and by a side file.
  WriteFile(Path("side.fvecs"), Fvecs({{1, 0, 0}, {0.9, 0.1, 0}}));
  WriteFile(Path("both.jsonl"), "{\"_id\": \"x1\", \"text\": \"a\"}\n"
                                "{\"_id\": \"x2\", \"text\": \"b\", \"vectors\": {\"emb\": [1, 0, 0]}}\n");
  const CommandResult both = IndexWith(Path("idx_both"), "side.fvecs", "both.jsonl");
  EXPECT_EQ(both.exit_code, 2) << both;
  EXPECT_NE(both.err.find("x2"), std::string::npos) << both;
  EXPECT_NE(both.err.find("inline"), std::string::npos) << both;
  // An unknown field; stdin as the corpus.
  const CommandResult unknown = Cascade("index --quiet --index " + Quote(Path("idx_u")) +
                                        " --vector-field emb:3:dot --vectors " +
                                        Quote("other=" + Path("side.fvecs")) + " " +
                                        Quote(Path("plain.jsonl")));
  EXPECT_EQ(unknown.exit_code, 2) << unknown;
  EXPECT_NE(unknown.err.find("no vector field other"), std::string::npos) << unknown;
  const CommandResult from_stdin =
      Cascade("index --quiet --index " + Quote(Path("idx_s")) +
                  " --vector-field emb:3:dot --vectors " + Quote("emb=" + Path("side.fvecs")) +
                  " -",
              Path("plain.jsonl"));
  EXPECT_EQ(from_stdin.exit_code, 2) << from_stdin;
}

TEST_F(SideVectorsCliTest, ABadSideFileLeavesAnExistingIndexUnchanged) {
  // index_ holds a1..a6; the new corpus adds n1, n2, but its second row is
  // NaN: neither is added, and a1..a6 keep their vectors.
  WriteFile(Path("more.jsonl"), "{\"_id\": \"n1\", \"text\": \"new one\"}\n"
                                "{\"_id\": \"n2\", \"text\": \"new two\"}\n");
  WriteFile(Path("more.fvecs"),
            Fvecs({{1, 0, 0}, {std::numeric_limits<float>::quiet_NaN(), 0, 0}}));
  const std::vector<std::string> before = KnnAll(index_);
  const CommandResult r = Cascade("index --quiet --index " + Quote(index_) + " --vectors " +
                                  Quote("emb=" + Path("more.fvecs")) + " " +
                                  Quote(Path("more.jsonl")));
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("more.fvecs: row 2"), std::string::npos) << r;
  EXPECT_EQ(KnnAll(index_), before);
  EXPECT_TRUE(Search(index_, "new").empty());
  // The same corpus with good rows goes in.
  WriteFile(Path("more.fvecs"), Fvecs({{1, 0, 0}, {0, 2, 0}}));
  const CommandResult good = Cascade("index --quiet --index " + Quote(index_) + " --vectors " +
                                     Quote("emb=" + Path("more.fvecs")) + " " +
                                     Quote(Path("more.jsonl")));
  ASSERT_EQ(good.exit_code, 0) << good;
  EXPECT_EQ(Search(index_, "", "--mode dense --k 1 --vector '[0, 1, 0]'"), (Ids{"n2"}));
}

}  // namespace
}  // namespace cascade::tools
