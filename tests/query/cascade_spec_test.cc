// The cascade spec grammar: valid specs parse to the stages they say, and
// every mistake is refused with a message naming the stage.
#include "query/cascade_spec.h"

#include <gtest/gtest.h>

namespace cascade::query {
namespace {

TEST(CascadeSpecTest, ParsesStagesDepthsAndBudgets) {
  auto stages = ParseCascadeSpec("bm25:1000,tilde:200,ce:50:20");
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  ASSERT_EQ(stages->size(), 3u);
  EXPECT_EQ((*stages)[0].kind, StageKind::kBm25);
  EXPECT_EQ((*stages)[0].depth, 1000u);
  EXPECT_FALSE((*stages)[0].budget_ms.has_value());
  EXPECT_EQ((*stages)[1].kind, StageKind::kTilde);
  EXPECT_EQ((*stages)[1].depth, 200u);
  EXPECT_EQ((*stages)[2].kind, StageKind::kCrossEncoder);
  EXPECT_EQ((*stages)[2].depth, 50u);
  EXPECT_EQ((*stages)[2].budget_ms, 20.0);
}

TEST(CascadeSpecTest, SpacesAndEqualDepthsAreFine) {
  auto stages = ParseCascadeSpec("  bm25:100 , ce:100:2.5 ");
  ASSERT_TRUE(stages.ok()) << stages.status().ToString();
  EXPECT_EQ(FormatCascadeSpec(*stages), "bm25:100,ce:100:2.5");
  auto single = ParseCascadeSpec("bm25:10");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->size(), 1u);
}

TEST(CascadeSpecTest, FormatRoundTrips) {
  for (const char* spec : {"bm25:1000,tilde:200,ce:50", "bm25:10000,ce:1:0.25",
                           "bm25:7,tilde:7:1e-3"}) {
    auto stages = ParseCascadeSpec(spec);
    ASSERT_TRUE(stages.ok()) << spec << ": " << stages.status().ToString();
    auto again = ParseCascadeSpec(FormatCascadeSpec(*stages));
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->size(), stages->size());
    for (size_t i = 0; i < stages->size(); ++i) {
      EXPECT_EQ((*again)[i].kind, (*stages)[i].kind);
      EXPECT_EQ((*again)[i].depth, (*stages)[i].depth);
      EXPECT_EQ((*again)[i].budget_ms, (*stages)[i].budget_ms);
    }
  }
}

struct BadSpec {
  const char* spec;
  const char* message_part;  // must appear in the error
};

TEST(CascadeSpecTest, MistakesAreRefusedWithTheStageNamed) {
  const BadSpec cases[] = {
      {"", "empty cascade spec"},
      {"   ", "empty cascade spec"},
      {"bm25:100,", "stage 2"},
      {"bm25:100,,ce:10", "empty stage"},
      {"bm25", "expected stage:depth"},
      {"bm25:10:5:5", "expected stage:depth"},
      {"bm25:100,splade:10", "unknown stage \"splade\""},
      {"BM25:100", "unknown stage"},
      {"bm25:0", "depth must be an integer from 1 to 10000"},
      {"bm25:-5", "depth must be"},
      {"bm25:10001", "depth must be"},
      {"bm25:1e3", "depth must be"},
      {"bm25:abc", "depth must be"},
      {"bm25:100,ce:10:0", "budget must be a positive number"},
      {"bm25:100,ce:10:-1", "budget must be"},
      {"bm25:100,ce:10:fast", "budget must be"},
      {"bm25:100,ce:10:inf", "budget must be"},
      {"ce:50", "the first stage must retrieve"},
      {"tilde:50,ce:10", "the first stage must retrieve"},
      {"bm25:100,bm25:50", "only the first stage may retrieve"},
      {"bm25:100,ce:200", "depth 200 is larger than the previous stage's 100"},
      {"bm25:1000,tilde:200,ce:201", "stage 3"},
  };
  for (const BadSpec& c : cases) {
    auto stages = ParseCascadeSpec(c.spec);
    ASSERT_FALSE(stages.ok()) << "accepted: \"" << c.spec << "\"";
    EXPECT_TRUE(stages.status().IsInvalidArgument()) << c.spec;
    EXPECT_NE(stages.status().message().find(c.message_part), std::string::npos)
        << "\"" << c.spec << "\" -> " << stages.status().message();
  }
}

}  // namespace
}  // namespace cascade::query
