// Tests of query/snippet.h: the best window of a hit's text with the
// query's terms marked. English analysis (stop words, Porter), so words
// match as the index analyses them.
#include "query/snippet.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace cascade::query {
namespace {

class SnippetTest : public testing::Test {
 protected:
  void SetUp() override {
    auto analyzer = index::Analyzer::Create(index::AnalyzerOptions());
    ASSERT_TRUE(analyzer.ok());
    analyzer_ = std::move(*analyzer);
  }
  std::string Snippet(const std::string& text,
                      const std::vector<std::string>& terms, size_t words) {
    SnippetOptions options;
    options.window_words = words;
    return MakeSnippet(text, terms, *analyzer_, options);
  }
  std::unique_ptr<index::Analyzer> analyzer_;
};

TEST_F(SnippetTest, MarksAnalysedMatches) {
  // "Rockets," and "ROCKET" stem to the query term "rocket".
  EXPECT_EQ(Snippet("Rockets, and a ROCKET engine.", {"rocket"}, 10),
            "<b>Rockets,</b> and a <b>ROCKET</b> engine.");
  EXPECT_EQ(Snippet("", {"rocket"}, 10), "");
  EXPECT_EQ(Snippet("  \n ", {"rocket"}, 10), "");
}

TEST_F(SnippetTest, PicksTheWindowWithMostDistinctTerms) {
  // Words 0-9 hold "engine" three times; words 10-13 hold both terms once.
  const std::string text =
      "engine engine engine a b c d e f g solid rocket engine h i j k l";
  EXPECT_EQ(Snippet(text, {"solid", "rocket", "engin"}, 3),
            "… <b>solid</b> <b>rocket</b> <b>engine</b> …");
  // Two distinct terms beat three repeats of one.
  EXPECT_EQ(Snippet(text, {"rocket", "engin"}, 2),
            "… <b>rocket</b> <b>engine</b> …");
  // No match: the first window.
  EXPECT_EQ(Snippet(text, {"zeppelin"}, 4), "engine engine engine a …");
  // Ties: the earliest window with the most matches.
  EXPECT_EQ(Snippet("x rocket y rocket z", {"rocket"}, 2), "x <b>rocket</b> …");
  // A window as long as the text is the whole text.
  EXPECT_EQ(Snippet("a rocket", {"rocket"}, 2), "a <b>rocket</b>");
}

}  // namespace
}  // namespace cascade::query
