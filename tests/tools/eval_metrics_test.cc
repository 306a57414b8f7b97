// Parity with trec_eval on three fixtures (tests/data/trec_eval, see its
// README), plus the readers, the writer and the corner cases of Evaluate.
#include "tools/eval_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cascade/status.h"

namespace cascade::tools {
namespace {

const std::string kDataDir = std::string(CASCADE_TEST_DATA_DIR) + "/trec_eval/";

// trec_eval prints 4 decimals, so ours may differ by half a unit in the last.
// Exactly half a unit happens: 1/32 = 0.03125 prints "0.0312" (printf rounds
// an exact binary tie to even), hence the hair of slack over 5e-5.
constexpr double kPrinted = 5e-5 + 1e-12;

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = testing::TempDir() + "eval_metrics_test_" + name;
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

// measure -> query id ("all" included) -> value, from `trec_eval -q` output.
using TrecEvalOutput = std::map<std::string, std::map<std::string, double>>;

TrecEvalOutput ReadTrecEvalOutput(const std::string& path) {
  TrecEvalOutput out;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string measure, qid;
  double value = 0;
  while (in >> measure >> qid >> value) out[measure][qid] = value;
  return out;
}

double Measure(const Metrics& m, const std::string& measure) {
  if (measure == "ndcg_cut_10") return m.ndcg_10;
  if (measure == "recip_rank") return m.recip_rank;
  if (measure == "recall_100") return m.recall_100;
  if (measure == "recall_1000") return m.recall_1000;
  if (measure == "map") return m.map;
  if (measure == "P_10") return m.p_10;
  ADD_FAILURE() << "unexpected measure " << measure;
  return std::nan("");
}

struct Fixture {
  std::string name;
  std::string qrels;
  std::string run;
  size_t queries;  // judged queries, i.e. rows per measure besides "all"
};

std::ostream& operator<<(std::ostream& os, const Fixture& f) {
  return os << f.name;
}

class TrecEvalParityTest : public testing::TestWithParam<Fixture> {};

TEST_P(TrecEvalParityTest, EveryValueMatchesTrecEval) {
  const Fixture& f = GetParam();
  Result<Qrels> qrels = ReadQrels(kDataDir + f.qrels);
  ASSERT_TRUE(qrels.ok()) << qrels.status().ToString();
  Result<tools::Run> run = ReadRun(kDataDir + f.run);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const EvalReport report = Evaluate(*qrels, *run);
  EXPECT_EQ(report.queries, f.queries);
  EXPECT_EQ(report.per_query.size(), report.queries);
  EXPECT_EQ(report.run_queries_without_judgments, 0u);

  const TrecEvalOutput expected =
      ReadTrecEvalOutput(kDataDir + f.name + ".trec_eval.c.txt");
  const std::vector<std::string> measures = {
      "ndcg_cut_10", "recip_rank", "recall_100", "recall_1000", "map", "P_10"};
  ASSERT_EQ(expected.size(), measures.size());
  size_t compared = 0;
  for (const std::string& measure : measures) {
    auto by_query = expected.find(measure);
    ASSERT_NE(by_query, expected.end()) << measure;
    // One row per judged query plus "all": -c left nobody out.
    EXPECT_EQ(by_query->second.size(), f.queries + 1) << measure;
    for (const auto& [qid, value] : by_query->second) {
      if (qid == "all") {
        EXPECT_NEAR(Measure(report.all, measure), value, kPrinted) << measure;
        ++compared;
        continue;
      }
      auto ours = report.per_query.find(qid);
      ASSERT_NE(ours, report.per_query.end()) << measure << " query " << qid;
      EXPECT_NEAR(Measure(ours->second, measure), value, kPrinted)
          << measure << " query " << qid;
      ++compared;
    }
  }
  EXPECT_EQ(compared, measures.size() * (f.queries + 1));
}

// MRR@10 is recip_rank over the run cut to its top 10 (after trec_eval's
// re-sort); the cut run must also leave every @10 measure unchanged.
TEST_P(TrecEvalParityTest, MrrAt10IsRecipRankOfRunCutTo10) {
  const Fixture& f = GetParam();
  Result<Qrels> qrels = ReadQrels(kDataDir + f.qrels);
  ASSERT_TRUE(qrels.ok()) << qrels.status().ToString();
  Result<tools::Run> run = ReadRun(kDataDir + f.run);
  ASSERT_TRUE(run.ok()) << run.status().ToString();

  tools::Run top10 = *run;
  for (auto& [qid, entries] : top10.ranked) {
    SortLikeTrecEval(&entries);
    if (entries.size() > 10) entries.resize(10);
  }
  const EvalReport full = Evaluate(*qrels, *run);
  const EvalReport cut = Evaluate(*qrels, top10);
  size_t cut_below_10 = 0;
  for (const auto& [qid, m] : full.per_query) {
    const Metrics& c = cut.per_query.at(qid);
    EXPECT_DOUBLE_EQ(m.mrr_10, c.recip_rank) << qid;
    EXPECT_DOUBLE_EQ(m.mrr_10, c.mrr_10) << qid;
    EXPECT_DOUBLE_EQ(m.ndcg_10, c.ndcg_10) << qid;
    EXPECT_DOUBLE_EQ(m.p_10, c.p_10) << qid;
    EXPECT_LE(m.mrr_10, m.recip_rank) << qid;
    if (m.recip_rank > 0 && m.recip_rank < 0.1) {
      EXPECT_EQ(m.mrr_10, 0) << qid;
      ++cut_below_10;
    } else {
      EXPECT_DOUBLE_EQ(m.mrr_10, m.recip_rank) << qid;
    }
  }
  EXPECT_DOUBLE_EQ(full.all.mrr_10, cut.all.recip_rank);
  if (f.name == "cacm") {
    // Some CACM query finds its first relevant doc below rank 10, so the cut
    // is really exercised.
    EXPECT_GT(cut_below_10, 0u);
  }
}

// trec_eval ignores the file's order and rank column; so must we.
TEST_P(TrecEvalParityTest, FileOrderDoesNotMatter) {
  const Fixture& f = GetParam();
  Result<Qrels> qrels = ReadQrels(kDataDir + f.qrels);
  ASSERT_TRUE(qrels.ok());
  Result<tools::Run> run = ReadRun(kDataDir + f.run);
  ASSERT_TRUE(run.ok());
  tools::Run reversed = *run;
  for (auto& [qid, entries] : reversed.ranked) {
    std::reverse(entries.begin(), entries.end());
  }
  const EvalReport a = Evaluate(*qrels, *run);
  const EvalReport b = Evaluate(*qrels, reversed);
  for (const auto& [qid, m] : a.per_query) {
    const Metrics& n = b.per_query.at(qid);
    EXPECT_EQ(m.ndcg_10, n.ndcg_10) << qid;
    EXPECT_EQ(m.map, n.map) << qid;
    EXPECT_EQ(m.recip_rank, n.recip_rank) << qid;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, TrecEvalParityTest,
    testing::Values(Fixture{"cacm", "cacm.qrels", "cacm.run.gz", 52},
                    Fixture{"nfcorpus-orig-test", "nfcorpus-orig-test.qrels",
                            "nfcorpus-orig-test.run.gz", 323},
                    Fixture{"edge", "edge.qrels", "edge.run", 3}),
    [](const testing::TestParamInfo<Fixture>& info) {
      std::string name = info.param.name;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// The edge fixture worked by hand, so a failure says which convention broke.
// q1 has d2 and d4 tied at 5.0: strcmp descending puts d4 (unjudged) first,
// so the ranking is d4 d2 d1 d3 and the first relevant doc (d2) is at 2.
TEST(EvaluateTest, EdgeFixtureByHand) {
  Result<Qrels> qrels = ReadQrels(kDataDir + "edge.qrels");
  ASSERT_TRUE(qrels.ok());
  Result<tools::Run> run = ReadRun(kDataDir + "edge.run");
  ASSERT_TRUE(run.ok());
  const EvalReport report = Evaluate(*qrels, *run);
  const Metrics& q1 = report.per_query.at("q1");
  EXPECT_DOUBLE_EQ(q1.recip_rank, 0.5);
  EXPECT_DOUBLE_EQ(q1.mrr_10, 0.5);
  EXPECT_DOUBLE_EQ(q1.map, (1.0 / 2 + 2.0 / 3) / 3);  // d9 never retrieved
  EXPECT_DOUBLE_EQ(q1.p_10, 0.2);
  EXPECT_DOUBLE_EQ(q1.recall_100, 2.0 / 3);
  // DCG: grade 1 at rank 2, grade 2 at rank 3; ideal: grades 2, 1, 1.
  const double dcg = 1 / std::log2(3.0) + 2 / std::log2(4.0);
  const double ideal = 2 + 1 / std::log2(3.0) + 1 / std::log2(4.0);
  EXPECT_DOUBLE_EQ(q1.ndcg_10, dcg / ideal);
  // q3 is judged but absent from the run: zero everywhere, still averaged.
  const Metrics& q3 = report.per_query.at("q3");
  EXPECT_EQ(q3.ndcg_10, 0);
  EXPECT_EQ(q3.recip_rank, 0);
  EXPECT_EQ(q3.recall_1000, 0);
  EXPECT_DOUBLE_EQ(report.all.p_10, (0.2 + 0.1 + 0) / 3);
}

TEST(EvaluateTest, TiesBreakByDocIdDescendingStrcmp) {
  std::vector<RunEntry> entries = {
      {"d10", 1.0}, {"d9", 1.0}, {"d2", 2.0}, {"D9", 1.0}, {"d1", 0.5}};
  SortLikeTrecEval(&entries);
  std::vector<std::string> order;
  for (const RunEntry& e : entries) order.push_back(e.doc);
  // "d9" > "d10" > "D9" byte-wise: not numeric, not case-folded.
  EXPECT_EQ(order, (std::vector<std::string>{"d2", "d9", "d10", "D9", "d1"}));
}

TEST(EvaluateTest, RunQueriesWithoutJudgmentsAreCountedAndLeftOut) {
  Qrels qrels;
  qrels.judgments["q1"] = {{"a", 1}, {"b", 0}};
  qrels.judgments["q2"] = {{"c", 0}, {"d", -1}};  // judged, nothing relevant
  tools::Run run;
  run.ranked["q1"] = {{"b", 2.0}, {"a", 1.0}};
  run.ranked["q2"] = {{"c", 3.0}, {"d", 2.0}};
  run.ranked["q3"] = {{"a", 1.0}};  // no judgments
  run.ranked["q4"] = {{"x", 1.0}};  // no judgments
  const EvalReport report = Evaluate(qrels, run);
  EXPECT_EQ(report.run_queries_without_judgments, 2u);
  EXPECT_EQ(report.queries, 2u);
  EXPECT_EQ(report.per_query.count("q3"), 0u);
  const Metrics& q2 = report.per_query.at("q2");
  EXPECT_EQ(q2.ndcg_10, 0);
  EXPECT_EQ(q2.map, 0);
  EXPECT_EQ(q2.recall_100, 0);
  EXPECT_EQ(q2.recip_rank, 0);
  EXPECT_EQ(q2.p_10, 0);
  // q1: "a" at rank 2 -> 0.5; q2 scores 0, and both count.
  EXPECT_DOUBLE_EQ(report.all.recip_rank, 0.25);
  EXPECT_DOUBLE_EQ(report.all.mrr_10, 0.25);
  EXPECT_DOUBLE_EQ(report.all.recall_1000, 0.5);
}

TEST(EvaluateTest, EmptyQrelsGiveEmptyReport) {
  tools::Run run;
  run.ranked["q1"] = {{"a", 1.0}};
  const EvalReport report = Evaluate(Qrels{}, run);
  EXPECT_EQ(report.queries, 0u);
  EXPECT_EQ(report.all.ndcg_10, 0);
  EXPECT_EQ(report.run_queries_without_judgments, 1u);
}

TEST(EvaluateTest, NanScoresRankLastAndDuplicatesCountOnce) {
  Qrels qrels;
  qrels.judgments["q"] = {{"rel", 1}};
  tools::Run run;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  run.ranked["q"] = {{"rel", nan}, {"x", 1.0}, {"x", 0.5}, {"y", -1.0}};
  const EvalReport report = Evaluate(qrels, run);
  // x (once), y, then rel with its NaN score: rank 3.
  EXPECT_DOUBLE_EQ(report.per_query.at("q").recip_rank, 1.0 / 3);
}

TEST(EvaluateTest, MrrAt10DropsFirstRelevantBelowRank10) {
  Qrels qrels;
  qrels.judgments["q"] = {{"r", 2}};
  tools::Run run;
  for (int i = 0; i < 10; ++i) {
    run.ranked["q"].push_back({"n" + std::to_string(i), 100.0 - i});
  }
  run.ranked["q"].push_back({"r", 1.0});  // rank 11
  const Metrics m = Evaluate(qrels, run).per_query.at("q");
  EXPECT_DOUBLE_EQ(m.recip_rank, 1.0 / 11);
  EXPECT_EQ(m.mrr_10, 0);
  EXPECT_EQ(m.ndcg_10, 0);
  EXPECT_EQ(m.recall_100, 1);
}

TEST(ReadQrelsTest, BeirTsvWithHeader) {
  const std::string path = WriteTemp(
      "beir.tsv",
      "query-id\tcorpus-id\tscore\r\n"
      "q1\tdoc 1\t2\r\n"  // BEIR ids may hold spaces; only tabs split
      "q1\td2\t0\r\n"
      "\n"
      "q2\td3\t-1\n");
  Result<Qrels> qrels = ReadQrels(path);
  ASSERT_TRUE(qrels.ok()) << qrels.status().ToString();
  ASSERT_EQ(qrels->judgments.size(), 2u);
  EXPECT_EQ(qrels->judgments.at("q1").at("doc 1"), 2);
  EXPECT_EQ(qrels->judgments.at("q1").at("d2"), 0);
  EXPECT_EQ(qrels->judgments.at("q2").at("d3"), -1);
}

TEST(ReadQrelsTest, BeirTsvWithoutHeader) {
  const std::string path = WriteTemp("beir_noheader.tsv", "q1\td1\t1\n");
  Result<Qrels> qrels = ReadQrels(path);
  ASSERT_TRUE(qrels.ok()) << qrels.status().ToString();
  EXPECT_EQ(qrels->judgments.at("q1").at("d1"), 1);
}

TEST(ReadQrelsTest, TrecFourColumns) {
  const std::string path = WriteTemp("trec.qrels",
                                     "1 0 CACM-1410 1\n"
                                     "1\t0\tCACM-1572  3\n"
                                     "  10 0 CACM-0001 0  \n");
  Result<Qrels> qrels = ReadQrels(path);
  ASSERT_TRUE(qrels.ok()) << qrels.status().ToString();
  ASSERT_EQ(qrels->judgments.size(), 2u);
  EXPECT_EQ(qrels->judgments.at("1").size(), 2u);
  EXPECT_EQ(qrels->judgments.at("1").at("CACM-1572"), 3);
  EXPECT_EQ(qrels->judgments.at("10").at("CACM-0001"), 0);
}

TEST(ReadQrelsTest, FixtureSizes) {
  Result<Qrels> qrels = ReadQrels(kDataDir + "cacm.qrels");
  ASSERT_TRUE(qrels.ok());
  size_t judged = 0;
  for (const auto& [qid, docs] : qrels->judgments) judged += docs.size();
  EXPECT_EQ(qrels->judgments.size(), 52u);
  EXPECT_EQ(judged, 796u);
}

// Each malformed file yields InvalidArgument naming "<path>:<line>".
TEST(ReadQrelsTest, MalformedLinesNameFileAndLine) {
  struct Case {
    const char* name;
    const char* text;
    int line;
  };
  const Case cases[] = {
      {"trec_fields", "1 0 d1 1\n1 0 d2\n", 2},
      {"trec_grade", "1 0 d1 1\n\n1 0 d2 high\n", 3},
      {"trec_float_grade", "1 0 d1 1.5\n", 1},
      {"beir_fields", "query-id\tcorpus-id\tscore\nq1\td1\n", 2},
      {"beir_grade", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\tx\n", 3},
      {"duplicate", "q1\td1\t1\nq1\td1\t0\n", 2},
      {"unknown_layout", "q1 d1 1 2 3\n", 1},
  };
  for (const Case& c : cases) {
    const std::string path = WriteTemp(std::string(c.name) + ".qrels", c.text);
    Result<Qrels> qrels = ReadQrels(path);
    ASSERT_FALSE(qrels.ok()) << c.name;
    EXPECT_TRUE(qrels.status().IsInvalidArgument()) << c.name;
    EXPECT_NE(qrels.status().message().find(path + ":" +
                                            std::to_string(c.line) + ":"),
              std::string::npos)
        << c.name << ": " << qrels.status().ToString();
  }
}

TEST(ReadQrelsTest, MissingFileIsIOError) {
  Result<Qrels> qrels = ReadQrels(testing::TempDir() + "no/such/qrels");
  ASSERT_FALSE(qrels.ok());
  EXPECT_EQ(qrels.status().code(), Status::Code::kIOError);
}

TEST(ReadRunTest, ReadsPlainAndKeepsFileOrder) {
  const std::string path = WriteTemp("plain.run",
                                     "# comment\n"
                                     "q1 Q0 b 1 2.5 tag\n"
                                     "q2 Q0 a 1 1e3 tag extra fields\n"
                                     "\n"
                                     "q1 Q0 a 2 3.0 tag\n");
  Result<tools::Run> run = ReadRun(path);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->ranked.at("q1").size(), 2u);
  EXPECT_EQ(run->ranked.at("q1")[0].doc, "b");
  EXPECT_EQ(run->ranked.at("q1")[1].doc, "a");
  EXPECT_EQ(run->ranked.at("q1")[1].score, 3.0);
  EXPECT_EQ(run->ranked.at("q2")[0].score, 1000.0);
}

TEST(ReadRunTest, ReadsGzippedFixture) {
  Result<tools::Run> run = ReadRun(kDataDir + "cacm.run.gz");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->ranked.size(), 52u);
  size_t lines = 0;
  for (const auto& [qid, entries] : run->ranked) lines += entries.size();
  EXPECT_EQ(lines, 48749u);
  EXPECT_EQ(run->ranked.at("1")[0].doc, "CACM-1938");
  EXPECT_EQ(run->ranked.at("1")[0].score, 22.825710);
}

TEST(ReadRunTest, MalformedLinesNameFileAndLine) {
  struct Case {
    const char* name;
    const char* text;
    int line;
    const char* says;
  };
  const Case cases[] = {
      {"fields", "q1 Q0 a 1 2.0 t\nq1 Q0 b 2 1.0\n", 2, "fields"},
      {"score", "q1 Q0 a 1 abc t\n", 1, "not a number"},
      {"score_suffix", "q1 Q0 a 1 1.5x t\n", 1, "not a number"},
      {"nan", "q1 Q0 a 1 2.0 t\nq1 Q0 b 2 nan t\n", 2, "not a number"},
      {"duplicate", "q1 Q0 a 1 2.0 t\nq2 Q0 a 1 2.0 t\nq1 Q0 a 3 1.0 t\n", 3,
       "first on line 1"},
  };
  for (const Case& c : cases) {
    const std::string path = WriteTemp(std::string(c.name) + ".run", c.text);
    Result<tools::Run> run = ReadRun(path);
    ASSERT_FALSE(run.ok()) << c.name;
    EXPECT_TRUE(run.status().IsInvalidArgument()) << c.name;
    const std::string msg = run.status().message();
    EXPECT_NE(msg.find(path + ":" + std::to_string(c.line) + ":"),
              std::string::npos)
        << c.name << ": " << msg;
    EXPECT_NE(msg.find(c.says), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(ReadRunTest, MissingFileIsIOError) {
  Result<tools::Run> run = ReadRun(testing::TempDir() + "no/such/run");
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), Status::Code::kIOError);
}

TEST(WriteRunTest, RoundTripsPlainAndGzipped) {
  tools::Run run;
  run.ranked["q2"] = {{"d7", 12.3456789}, {"d1", 12.3456786}, {"d3", -0.5}};
  run.ranked["q1"] = {{"x", 1e6}};
  for (const std::string name : {"round.run", "round.run.gz"}) {
    const std::string path = testing::TempDir() + "eval_metrics_test_" + name;
    ASSERT_TRUE(WriteRun(path, run, "cascade_bm25").ok()) << name;
    Result<tools::Run> back = ReadRun(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->ranked.size(), run.ranked.size());
    for (const auto& [qid, entries] : run.ranked) {
      const std::vector<RunEntry>& got = back->ranked.at(qid);
      ASSERT_EQ(got.size(), entries.size()) << qid;
      for (size_t i = 0; i < entries.size(); ++i) {
        EXPECT_EQ(got[i].doc, entries[i].doc);
        EXPECT_NEAR(got[i].score, entries[i].score, 5e-7);
      }
    }
    // %.6f rounds both q2 scores to 12.345679: a tie trec_eval breaks by id.
    EXPECT_EQ(back->ranked.at("q2")[0].score, back->ranked.at("q2")[1].score);
  }
  // The plain file reads as Anserini writes it.
  std::ifstream in(testing::TempDir() + "eval_metrics_test_round.run");
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "q1 Q0 x 1 1000000.000000 cascade_bm25");
  std::string second;
  std::getline(in, second);
  EXPECT_EQ(second, "q2 Q0 d7 1 12.345679 cascade_bm25");
}

TEST(WriteRunTest, RefusesWhatWouldNotReadBack) {
  const std::string path = testing::TempDir() + "eval_metrics_test_bad.run";
  tools::Run run;
  run.ranked["q1"] = {{"a", 1.0}};
  EXPECT_TRUE(WriteRun(path, run, "two words").IsInvalidArgument());
  EXPECT_TRUE(WriteRun(path, run, "").IsInvalidArgument());
  tools::Run spaced;
  spaced.ranked["q1"] = {{"doc 1", 1.0}};
  EXPECT_TRUE(WriteRun(path, spaced, "t").IsInvalidArgument());
  tools::Run nan;
  nan.ranked["q1"] = {{"a", std::nan("")}};
  EXPECT_TRUE(WriteRun(path, nan, "t").IsInvalidArgument());
  EXPECT_EQ(WriteRun(testing::TempDir() + "no/such/dir/x.run", run, "t").code(),
            Status::Code::kIOError);
}

}  // namespace
}  // namespace cascade::tools
