// Tests for query/query_parser.h, mostly as tables: each valid query with the
// DebugString it must parse to, each invalid one with the column and a piece
// of the message it must be refused with. Then the tree's fields (which
// DebugString does not show), the limits, round trips through DebugString
// and EscapeQueryTerm, and the bag-of-words mode.
#include "query/query_parser.h"

#include <gtest/gtest.h>

#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cascade/status.h"

namespace cascade::query {
namespace {

struct ValidCase {
  const char* query;
  const char* debug;  // DebugString of the tree
};

// Under the default operator OR.
const ValidCase kValidOr[] = {
    // Terms and juxtaposition.
    {"a", "a"},
    {"a b", "(a b)"},
    {"  a   b  ", "(a b)"},
    {"a\tb\nc\rd", "(a b c d)"},
    {"a\xE3\x80\x80"
     "b",
     "(a b)"},                       // U+3000 ideographic space
    {"and or not", "(and or not)"},  // lower case: words, not operators
    {"TO", "TO"},
    {"caf\xC3\xA9^2", "caf\xC3\xA9^2"},
    {"e-mail", "e-mail"},  // '-' inside a word is a letter
    {"a+b", "a+b"},
    {"a&&b", "a&&b"},    // "&&" is an operator only on its own
    {"12:30", "12:30"},  // field "12", term "30"
    // Modifiers.
    {"+a -b c", "(+a -b c)"},
    {"+a +b", "(+a +b)"},
    {"-a +b", "(-a +b)"},
    {"a - b", "(a -b)"},  // whitespace may follow a modifier
    {"+a", "a"},          // a lone required clause is the clause
    {"!a b", "(-a b)"},
    {"+(a b) -c", "(+(a b) -c)"},
    // Operators and precedence (NOT > AND > OR).
    {"a AND b", "(+a +b)"},
    {"a OR b", "(a b)"},
    {"a && b", "(+a +b)"},
    {"a || b", "(a b)"},
    {"a AND b AND c", "(+a +b +c)"},
    {"a AND b OR c", "((+a +b) c)"},
    {"a OR b AND c", "(a (+b +c))"},
    {"a && b || c", "((+a +b) c)"},
    {"a b AND c", "(a (+b +c))"},
    {"a AND NOT b", "(+a -b)"},
    {"a NOT b", "(a -b)"},
    {"a OR NOT b", "(a -b)"},
    {"a OR -b", "(a -b)"},
    {"NOT a AND b", "(-a +b)"},
    {"NOT a OR b", "(-a b)"},
    {"a AND NOT b OR c", "((+a -b) c)"},
    {"a AND (b OR c) AND d", "(+a +(b c) +d)"},
    // Groups.
    {"(a OR b) AND c", "(+(a b) +c)"},
    {"a OR (b OR c)", "(a (b c))"},  // parentheses are kept
    {"(a OR b) -(c AND d)", "((a b) -(+c +d))"},
    {"(a)", "a"},
    {"((a))", "a"},
    {"(+a)", "a"},
    // Boosts.
    {"a^2", "a^2"},
    {"a^0.5", "a^0.5"},
    {"a^0", "a^0"},
    {"a^2 b^3", "(a^2 b^3)"},
    {"(a b)^2", "(a b)^2"},
    {"(a^2)^3", "a^6"},  // a group of one clause is the clause
    {"a^2.50", "a^2.5"},
    // Phrases and slop.
    {"\"a b\"", "\"a b\""},
    {"\"a b\"~3", "\"a b\"~3"},
    {"\"a b\"~0", "\"a b\""},
    {"\"a b\"~1", "\"a b\"~1"},
    {"\"a b\"~2147483647", "\"a b\"~2147483647"},
    {"\"a b\"~2^3", "\"a b\"~2^3"},
    {"\"a b\"^2 c", "(\"a b\"^2 c)"},
    {"\"say \\\"hi\\\"\"", "\"say \\\"hi\\\"\""},
    {"\"a*b? (c)\"", "\"a*b? (c)\""},  // no syntax inside quotes
    {"\"AND\"", "\"AND\""},
    // Fields.
    {"title:a", "title:a"},
    {"title: a", "title:a"},
    {"title:\"x y\"~3", "title:\"x y\"~3"},
    {"title:\"x\"", "title:\"x\""},
    {"title:(a b)", "(title:a title:b)"},
    {"title:(a body:b)", "(title:a body:b)"},  // the inner field wins
    {"title:(a OR (b AND c))", "(title:a (+title:b +title:c))"},
    {"title:(a b)^2", "(title:a title:b)^2"},
    {"title:(a)^2", "title:a^2"},
    {"my\\ field:x", "my\\ field:x"},
    // Prefixes.
    {"comput*", "comput*"},
    {"c*", "c*"},
    {"title:comp*^2", "title:comp*^2"},
    // Ranges.
    {"f:[1 TO 5]", "f:[1 TO 5]"},
    {"f:{1 TO 5}", "f:{1 TO 5}"},
    {"f:[1 TO 5}", "f:[1 TO 5}"},
    {"f:{a TO b]", "f:{a TO b]"},
    {"f:[* TO 5]", "f:[* TO 5]"},
    {"f:{* TO *}", "f:[* TO *]"},  // open ends render with square brackets
    {"f:[ 1  TO  5 ]", "f:[1 TO 5]"},
    {"f:[\"a b\" TO \"c d\"]", "f:[\"a b\" TO \"c d\"]"},
    {"f:[\"*\" TO z]", "f:[\"*\" TO z]"},  // a quoted star is a value
    {"f:[\\* TO z]", "f:[\"*\" TO z]"},
    {"f:[a\\]b TO c]", "f:[\"a]b\" TO c]"},
    {"f:[2020-01-01 TO 2020-12-31]^2", "f:[2020-01-01 TO 2020-12-31]^2"},
    {"f:[-1.5 TO 1e3]", "f:[-1.5 TO 1e3]"},
    {"f:(a [1 TO 2])", "(f:a f:[1 TO 2])"},
    {"f:[TO TO b]", "f:[\"TO\" TO b]"},
    // Match all.
    {"*:*", "*:*"},
    {"*:* -a", "(*:* -a)"},
    {"*:*^2", "*:*^2"},
    // Escapes.
    {"e\\-mail", "e-mail"},
    {"\\-a", "\\-a"},
    {"\\(1\\+1\\)\\:2", "\\(1+1\\)\\:2"},
    {"\\AND", "\\AND"},
    {"a \\&& b", "(a \\&& b)"},
    {"a\\*", "a\\*"},
    {"a\\ b", "a\\ b"},
    {"a\\/b", "a\\/b"},
    {"\\caf\xC3\xA9", "caf\xC3\xA9"},
    {"\\\xC3\xA9t\xC3\xA9",
     "\xC3\xA9t\xC3\xA9"},  // escapes a whole UTF-8 character
};

// Under the default operator AND: juxtaposition binds like AND.
const ValidCase kValidAnd[] = {
    {"a b", "(+a +b)"},          {"a b c", "(+a +b +c)"},
    {"a b OR c", "((+a +b) c)"}, {"a OR b c", "(a (+b +c))"},
    {"a OR b", "(a b)"},         {"a -b", "(+a -b)"},
    {"a NOT b c", "(+a -b +c)"}, {"a (b c)", "(+a +(+b +c))"},
    {"a OR -b", "(a -b)"},       {"title:(a b) c", "(+(+title:a +title:b) +c)"},
};

static_assert(std::size(kValidOr) + std::size(kValidAnd) >= 50);

ParserOptions WithDefault(DefaultOperator op) {
  ParserOptions options;
  options.default_operator = op;
  return options;
}

TEST(QueryParserTest, ValidQueriesUnderDefaultOr) {
  for (const ValidCase& c : kValidOr) {
    SCOPED_TRACE(c.query);
    auto parsed = ParseLuceneQuery(c.query);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(DebugString(**parsed), c.debug);
  }
}

TEST(QueryParserTest, ValidQueriesUnderDefaultAnd) {
  const ParserOptions options = WithDefault(DefaultOperator::kAnd);
  for (const ValidCase& c : kValidAnd) {
    SCOPED_TRACE(c.query);
    auto parsed = ParseLuceneQuery(c.query, options);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(DebugString(**parsed), c.debug);
  }
}

// Explicit operators mean the same under either default.
TEST(QueryParserTest, ExplicitOperatorsIgnoreTheDefault) {
  for (const char* query : {"a AND b OR c", "a OR b AND c", "+a -b",
                            "a OR (b AND c)", "a", "title:(x OR y)^2"}) {
    SCOPED_TRACE(query);
    auto with_or = ParseLuceneQuery(query);
    auto with_and = ParseLuceneQuery(query, WithDefault(DefaultOperator::kAnd));
    ASSERT_TRUE(with_or.ok() && with_and.ok());
    EXPECT_EQ(DebugString(**with_or), DebugString(**with_and));
  }
}

// DebugString reads back as the same tree under the default OR.
TEST(QueryParserTest, DebugStringRoundTrips) {
  std::vector<std::string> debugs;
  for (const ValidCase& c : kValidOr) debugs.push_back(c.debug);
  for (const ValidCase& c : kValidAnd) debugs.push_back(c.debug);
  for (const std::string& debug : debugs) {
    SCOPED_TRACE(debug);
    auto again = ParseLuceneQuery(debug);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(DebugString(**again), debug);
  }
}

struct InvalidCase {
  const char* query;
  size_t column;        // 1-based byte column in the message
  const char* message;  // a part of the message
};

const InvalidCase kInvalid[] = {
    // Empty.
    {"", 1, "expected a query, found end of query"},
    {"   ", 4, "expected a query, found end of query"},
    // Parentheses.
    {"(a b", 5,
     "expected ')' to close the '(' at column 1, found end of query"},
    {"((a)", 5, "expected ')' to close the '(' at column 1"},
    {"a b)", 4, "found ')' with no matching '('"},
    {"(a))", 4, "found ')' with no matching '('"},
    {")", 1, "with no matching '('"},
    {"()", 2, "expected a clause after '(', found ')'"},
    {"(a AND )", 8, "expected a clause after 'AND', found ')'"},
    {"(a ]", 4, "expected an operator, a clause or ')', found ']'"},
    // Quotes.
    {"\"a b", 5,
     "expected '\"' to close the phrase opened at column 1, found end of "
     "query"},
    {"a \"b", 5, "phrase opened at column 3"},
    {"\"\"", 1, "expected words inside the quotes, found an empty phrase"},
    {"title:\"  \"", 7, "empty phrase"},
    // Operators and modifiers.
    {"a AND", 6, "expected a clause after 'AND', found end of query"},
    {"a OR", 5, "expected a clause after 'OR', found end of query"},
    {"a &&", 5, "after '&&', found end of query"},
    {"AND a", 1, "expected a clause, found 'AND'"},
    {"OR a", 1, "expected a clause, found 'OR'"},
    {"a OR OR b", 6, "expected a clause after 'OR', found 'OR'"},
    {"a AND OR b", 7, "after 'AND', found 'OR'"},
    {"a +", 4,
     "expected a term, phrase, range or group after '+', found end of query"},
    {"-", 2, "after '-', found end of query"},
    {"NOT", 4, "after 'NOT', found end of query"},
    {"a !", 4, "after '!', found end of query"},
    {"NOT NOT a", 5, "after 'NOT', found 'NOT'"},
    {"+-a", 2, "after '+', found '-'"},
    // Fields.
    {"title:", 7,
     "expected a term, phrase, range or group after 'title:', found end of "
     "query"},
    {"title: AND b", 8, "after 'title:', found 'AND'"},
    {"title:-a", 7, "after 'title:', found '-'"},
    {"a:b:c", 4, "expected an operator, a clause or end of query, found ':'"},
    {":a", 1, "expected a clause, found ':'"},
    {"ti*le:x", 3, "expected a field name, found wildcard '*'"},
    {"*:a", 3, "expected '*' after '*:'"},
    // Boosts.
    {"a^", 3,
     "expected a boost (a number such as 2 or 0.5) after '^', found end of "
     "query"},
    {"a^x", 3, "expected a boost"},
    {"a^-1", 3, "found '-1'"},
    {"a^1.", 3, "found '1.'"},
    {"a^.5", 3, "found '.5'"},
    {"a^2^3", 3, "found '2^3'"},
    {"a^1e3", 3, "found '1e3'"},
    {"(a b)^", 7, "expected a boost"},
    {"a ^2", 3, "expected an operator, a clause or end of query, found '^'"},
    {"\"a b\"^2~1", 7, "found '2~1'"},
    // Slop.
    {"\"a b\"~", 7,
     "expected a whole number of positions after '~', found end of query"},
    {"\"a b\"~x", 7, "found 'x'"},
    {"\"a b\"~1.5", 7, "found '1.5'"},
    {"\"a b\"~-1", 7, "found '-1'"},
    {"\"a b\"~99999999999", 7, "expected a whole number"},
    {"\"a b\"~2147483648", 7, "expected a whole number"},
    {"a~2", 2, "fuzzy queries are not supported"},
    {"a*~", 3, "fuzzy queries are not supported"},
    {"(a b)~2", 6, "slop applies only to phrases"},
    {"f:[1 TO 5]~2", 11, "slop applies only to phrases"},
    // Wildcards.
    {"*ab", 1,
     "expected at least 1 character before '*', found a leading wildcard"},
    {"*", 1, "leading wildcard"},
    {"title:*", 7, "leading wildcard"},
    {"a*b", 2, "expected '*' only at the end of a term, found it inside 'a*b'"},
    {"a**", 2, "only at the end of a term"},
    {"te?t", 3, "found wildcard '?' (not supported)"},
    {"a/b", 2, "regular expressions are not supported"},
    {"/re/", 1, "regular expressions are not supported"},
    // Ranges.
    {"f:[1 5]", 6, "expected 'TO' between the bounds of the range, found '5'"},
    {"f:[1]", 5, "expected 'TO' between the bounds of the range, found ']'"},
    {"f:[1 TO 5", 10,
     "expected ']' or '}' to close the range opened at column 3, found end of "
     "query"},
    {"f:[1 TO 5 6]", 11, "found '6'"},
    {"f:[]", 4, "expected a lower bound (a value or *), found ']'"},
    {"f:[1 TO ]", 9, "expected an upper bound (a value or *), found ']'"},
    {"f:[\"a TO b]", 12, "phrase opened at column 4"},
    {"[1 TO 5]", 1,
     "expected a field before the range (field:[a TO b]), found '['"},
    {"a OR {1 TO 5}", 6, "expected a field before the range"},
    {"a ]", 3, "expected an operator, a clause or end of query, found ']'"},
    // Purely negative Booleans.
    {"-a", 1, "found only prohibited clauses"},
    {"-a -b", 1, "found only prohibited clauses"},
    {"NOT a", 1, "only prohibited"},
    {"a (-b)", 4, "only prohibited"},
    {"a OR (NOT b AND NOT c)", 7, "only prohibited"},
    {"a OR NOT b AND NOT c", 6, "only prohibited"},
    // Escapes.
    {"a\\", 2, "expected a character after '\\', found end of query"},
    {"\"a\\", 3, "expected a character after '\\'"},
};

static_assert(std::size(kInvalid) >= 30);

// The column that "at column N:" names in `message`, or 0.
size_t ColumnOf(const std::string& message) {
  const std::string key = "at column ";
  const size_t at = message.find(key);
  if (at == std::string::npos) return 0;
  return std::stoul(message.substr(at + key.size()));
}

TEST(QueryParserTest, InvalidQueriesNameTheColumn) {
  for (const InvalidCase& c : kInvalid) {
    SCOPED_TRACE(c.query);
    auto parsed = ParseLuceneQuery(c.query);
    ASSERT_FALSE(parsed.ok()) << "parsed as " << DebugString(**parsed);
    const Status& status = parsed.status();
    EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
    EXPECT_EQ(status.message().rfind("query syntax error at column ", 0), 0u)
        << status.message();
    EXPECT_EQ(ColumnOf(status.message()), c.column) << status.message();
    EXPECT_NE(status.message().find(c.message), std::string::npos)
        << status.message();
  }
}

TEST(QueryParserTest, PurelyNegativeIsAnErrorUnderDefaultAndToo) {
  auto parsed = ParseLuceneQuery("-a -b", WithDefault(DefaultOperator::kAnd));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("only prohibited"),
            std::string::npos);
  EXPECT_EQ(ColumnOf(parsed.status().message()), 1u);
}

// ------------------------------------------------------------ the tree

TEST(QueryParserTest, TreeCarriesOccursFieldsAndColumns) {
  auto parsed = ParseLuceneQuery("+title:a -\"b c\"~2 d*^3");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const QueryNode& root = **parsed;
  ASSERT_EQ(root.kind, QueryKind::kBoolean);
  ASSERT_EQ(root.clauses.size(), 3u);
  EXPECT_EQ(root.column,
            1u);  // a Boolean starts at its first clause's modifier

  EXPECT_EQ(root.clauses[0].occur, Occur::kMust);
  const QueryNode& a = *root.clauses[0].query;
  EXPECT_EQ(a.kind, QueryKind::kTerm);
  EXPECT_EQ(a.field, "title");
  EXPECT_EQ(a.text, "a");
  EXPECT_EQ(a.column, 2u);  // a leaf with a field starts at the field
  EXPECT_EQ(a.boost, 1.0);

  EXPECT_EQ(root.clauses[1].occur, Occur::kMustNot);
  const QueryNode& bc = *root.clauses[1].query;
  EXPECT_EQ(bc.kind, QueryKind::kPhrase);
  EXPECT_EQ(bc.field, "");
  EXPECT_EQ(bc.text, "b c");
  EXPECT_EQ(bc.slop, 2u);
  EXPECT_EQ(bc.column, 11u);

  EXPECT_EQ(root.clauses[2].occur, Occur::kShould);
  const QueryNode& d = *root.clauses[2].query;
  EXPECT_EQ(d.kind, QueryKind::kPrefix);
  EXPECT_EQ(d.text, "d");
  EXPECT_EQ(d.boost, 3.0);
  EXPECT_EQ(d.column, 19u);
}

TEST(QueryParserTest, RangeBoundsKeepTextFlagsAndNumbers) {
  auto parsed = ParseLuceneQuery("year:[1990 TO 2000.5}");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const QueryNode& r = **parsed;
  ASSERT_EQ(r.kind, QueryKind::kRange);
  EXPECT_EQ(r.field, "year");
  EXPECT_EQ(r.column, 1u);
  EXPECT_FALSE(r.lower.open);
  EXPECT_TRUE(r.lower.inclusive);
  EXPECT_EQ(r.lower.text, "1990");
  ASSERT_TRUE(r.lower.number.has_value());
  EXPECT_EQ(*r.lower.number, 1990.0);
  EXPECT_FALSE(r.upper.inclusive);
  EXPECT_EQ(r.upper.text, "2000.5");
  ASSERT_TRUE(r.upper.number.has_value());
  EXPECT_EQ(*r.upper.number, 2000.5);

  auto open = ParseLuceneQuery("d:{* TO 2020-01-01]");
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_TRUE((*open)->lower.open);
  EXPECT_FALSE((*open)->lower.inclusive);
  EXPECT_EQ((*open)->lower.text, "");
  EXPECT_FALSE((*open)->lower.number.has_value());
  EXPECT_FALSE((*open)->upper.open);
  EXPECT_TRUE((*open)->upper.inclusive);
  EXPECT_EQ((*open)->upper.text, "2020-01-01");
  EXPECT_FALSE((*open)->upper.number.has_value());  // not a number

  for (const char* not_numbers :
       {"f:[inf TO nan]", "f:[0x10 TO 1e999]", "f:[+1 TO 1.2.3]"}) {
    SCOPED_TRACE(not_numbers);
    auto p = ParseLuceneQuery(not_numbers);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_FALSE((*p)->lower.number.has_value());
    EXPECT_FALSE((*p)->upper.number.has_value());
  }
}

TEST(QueryParserTest, MatchAllAndEscapedTermText) {
  auto all = ParseLuceneQuery("*:*");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)->kind, QueryKind::kMatchAll);
  EXPECT_EQ((*all)->field, "");

  auto escaped = ParseLuceneQuery("f\\:g:\\(x\\*\\)");
  ASSERT_TRUE(escaped.ok()) << escaped.status().ToString();
  EXPECT_EQ((*escaped)->kind,
            QueryKind::kTerm);  // an escaped '*' is no wildcard
  EXPECT_EQ((*escaped)->field, "f:g");
  EXPECT_EQ((*escaped)->text, "(x*)");
}

// ------------------------------------------------------------- limits

std::string Nested(size_t depth) {
  return std::string(depth, '(') + "a" + std::string(depth, ')');
}

TEST(QueryParserTest, DepthLimit) {
  auto ok = ParseLuceneQuery(Nested(32));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(DebugString(**ok), "a");

  auto deep = ParseLuceneQuery(Nested(33));
  ASSERT_FALSE(deep.ok());
  EXPECT_TRUE(deep.status().IsInvalidArgument());
  EXPECT_NE(deep.status().message().find(
                "query too deeply nested at column 33: more than "
                "32 levels of parentheses"),
            std::string::npos)
      << deep.status().message();

  // Far deeper input fails at the limit, without recursing further.
  auto very_deep = ParseLuceneQuery(std::string(10000, '('));
  ASSERT_FALSE(very_deep.ok());
  EXPECT_EQ(ColumnOf(very_deep.status().message()), 33u);

  ParserOptions two;
  two.max_depth = 2;
  EXPECT_TRUE(ParseLuceneQuery("a ((b c) d)", two).ok());
  auto three = ParseLuceneQuery("a ((b (c)) d)", two);
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(ColumnOf(three.status().message()), 7u);

  ParserOptions none;
  none.max_depth = 0;
  EXPECT_TRUE(ParseLuceneQuery("a b", none).ok());
  EXPECT_FALSE(ParseLuceneQuery("(a)", none).ok());

  ParserOptions too_deep;
  too_deep.max_depth = kMaxParserDepth + 1;
  auto refused = ParseLuceneQuery("a", too_deep);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("max_depth"), std::string::npos);
  too_deep.max_depth = kMaxParserDepth;
  EXPECT_TRUE(ParseLuceneQuery(Nested(kMaxParserDepth), too_deep).ok());
}

std::string Words(size_t n) {
  std::string q;
  for (size_t i = 0; i < n; ++i) q += "a ";
  return q;
}

TEST(QueryParserTest, ClauseLimitCountsEveryLeaf) {
  auto ok = ParseLuceneQuery(Words(1024));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->clauses.size(), 1024u);

  auto over = ParseLuceneQuery(Words(1025));
  ASSERT_FALSE(over.ok());
  EXPECT_TRUE(over.status().IsInvalidArgument());
  // The 1025th "a " starts at byte 2048.
  EXPECT_NE(over.status().message().find(
                "query too large at column 2049: more than 1024 "
                "clauses (max_clauses)"),
            std::string::npos)
      << over.status().message();

  ParserOptions three;
  three.max_clauses = 3;
  // Leaves in nested groups, phrases, ranges and *:* all count.
  EXPECT_TRUE(ParseLuceneQuery("a (\"b c d\" f:[1 TO 2])", three).ok());
  auto four = ParseLuceneQuery("(a (b)) (*:* c)", three);
  ASSERT_FALSE(four.ok());
  EXPECT_EQ(ColumnOf(four.status().message()), 14u);  // the fourth leaf, c
  auto four_range = ParseLuceneQuery("a b c f:[1 TO 2]", three);
  ASSERT_FALSE(four_range.ok());
  EXPECT_EQ(ColumnOf(four_range.status().message()), 9u);
}

TEST(QueryParserTest, ByteLimit) {
  EXPECT_TRUE(ParseLuceneQuery(std::string(16 * 1024, 'x')).ok());
  auto over = ParseLuceneQuery(std::string(16 * 1024 + 1, 'x'));
  ASSERT_FALSE(over.ok());
  EXPECT_TRUE(over.status().IsInvalidArgument());
  EXPECT_NE(over.status().message().find(
                "query too large: 16385 bytes, over the limit of "
                "16384 (max_bytes)"),
            std::string::npos)
      << over.status().message();

  ParserOptions small;
  small.max_bytes = 3;
  EXPECT_TRUE(ParseLuceneQuery("abc", small).ok());
  EXPECT_FALSE(ParseLuceneQuery("abcd", small).ok());
  EXPECT_FALSE(ParseLuceneQuery("   a", small).ok());  // whitespace counts
}

// ------------------------------------------------------------ escaping

TEST(QueryParserTest, EscapeQueryTermReadsBackAsOneTerm) {
  const char* words[] = {
      "plain",
      "AND",
      "OR",
      "NOT",
      "&&",
      "||",
      "and",
      "a b",
      "-x",
      "+x",
      "x-y",
      "a:b",
      "*",
      "?",
      "a*",
      "\\",
      "\"",
      "(",
      ")",
      "[x]",
      "{y}",
      "^2",
      "~1",
      "!",
      "/",
      "caf\xC3\xA9",
      "a\xE3\x80\x80"
      "b",
      "TO",
      "x\ty",
      "*:*",
  };
  for (const char* word : words) {
    SCOPED_TRACE(word);
    const std::string escaped = EscapeQueryTerm(word);
    auto parsed = ParseLuceneQuery(escaped);
    ASSERT_TRUE(parsed.ok()) << escaped << ": " << parsed.status().ToString();
    EXPECT_EQ((*parsed)->kind, QueryKind::kTerm) << escaped;
    EXPECT_EQ((*parsed)->text, word) << escaped;
    EXPECT_EQ(DebugString(**parsed), escaped);
  }
  EXPECT_EQ(EscapeQueryTerm("e-mail"), "e-mail");
  EXPECT_EQ(EscapeQueryTerm("-mail"), "\\-mail");
  EXPECT_EQ(EscapeQueryTerm("AND"), "\\AND");
  EXPECT_EQ(EscapeQueryTerm("a b"), "a\\ b");
  EXPECT_EQ(EscapeQueryTerm(""), "");
}

// --------------------------------------------------------- bag of words

struct PlainCase {
  const char* text;
  std::vector<std::string> words;
};

TEST(PlainQueryTest, WordsIgnoreEverySyntaxCharacter) {
  const PlainCase cases[] = {
      {"parallel computation", {"parallel", "computation"}},
      {"what is a (cpu)?", {"what", "is", "a", "cpu"}},
      {"e-mail AND \"x\"", {"e", "mail", "AND", "x"}},
      {"", {}},
      {"  ++--  ", {}},
      {"\"", {}},
      {"title:foo^2", {"title", "foo", "2"}},
      {"C++ && Java || !Go", {"C", "Java", "Go"}},
      {"a & b | c", {"a", "b", "c"}},
      {"don't stop", {"don't", "stop"}},
      {"U.S.A. 3.14", {"U.S.A.", "3.14"}},
      {"caf\xC3\xA9\xE3\x80\x80"
       "bar",
       {"caf\xC3\xA9", "bar"}},
      {"a\\b/c", {"a", "b", "c"}},
      {"x*y?z", {"x", "y", "z"}},
      {"[1 TO 5}", {"1", "TO", "5"}},
      {"a~2 {b}", {"a", "2", "b"}},
      {"NOT the end", {"NOT", "the", "end"}},
      {"a a a", {"a", "a", "a"}},  // repeats kept: BM25 weighs them
      {"a\\", {"a"}},              // what ParseLuceneQuery refuses, this takes
      {"(unbalanced \"quote", {"unbalanced", "quote"}},
  };
  for (const PlainCase& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(PlainQueryWords(c.text), c.words);
  }
}

TEST(PlainQueryTest, TreeIsOneShouldClausePerWord) {
  auto two = PlainQuery("what is (cpu)?", "title");
  ASSERT_EQ(two->kind, QueryKind::kBoolean);
  EXPECT_EQ(DebugString(*two), "(title:what title:is title:cpu)");
  ASSERT_EQ(two->clauses.size(), 3u);
  EXPECT_EQ(two->clauses[2].occur, Occur::kShould);
  EXPECT_EQ(two->clauses[2].query->column, 10u);

  auto one = PlainQuery("  -cpu!");
  EXPECT_EQ(one->kind, QueryKind::kTerm);
  EXPECT_EQ(DebugString(*one), "cpu");
  EXPECT_EQ(one->column, 4u);

  auto none = PlainQuery("?! ()");
  EXPECT_EQ(none->kind, QueryKind::kBoolean);
  EXPECT_TRUE(none->clauses.empty());
  EXPECT_EQ(DebugString(*none), "()");
}

// Whatever the text, the words are non-empty, free of separators, and
// their escaped form parses back to exactly those words.
TEST(PlainQueryTest, AnyTextGivesWordsThatParseBack) {
  const std::string alphabet = "ab AND(OR)NOT+-&|!{}[]^\"~*?:\\/ \t\xC3\xA9";
  uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const size_t length = round % 40;
    for (size_t i = 0; i < length; ++i) {
      state = state * 1103515245u + 12345u;
      text.push_back(alphabet[(state >> 16) % alphabet.size()]);
    }
    SCOPED_TRACE(text);
    const std::vector<std::string> words = PlainQueryWords(text);
    std::string query;
    for (const std::string& word : words) {
      ASSERT_FALSE(word.empty());
      ASSERT_EQ(word.find_first_of(" \t+-&|!(){}[]^\"~*?:\\/"),
                std::string::npos)
          << word;
      query += EscapeQueryTerm(word) + " ";
    }
    if (words.empty()) continue;
    auto parsed = ParseLuceneQuery(query);
    ASSERT_TRUE(parsed.ok()) << query << ": " << parsed.status().ToString();
    EXPECT_EQ(DebugString(**parsed), DebugString(*PlainQuery(text))) << query;
  }
}

// The parser never crashes and either parses or says where it stopped.
TEST(QueryParserTest, ArbitraryInputParsesOrNamesAColumn) {
  const std::string alphabet = "ab AND OR NOT TO+-&|!(){}[]^\"~*?:\\/ 2.";
  uint32_t state = 777;
  size_t parsed_count = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string text;
    const size_t length = 1 + round % 24;
    for (size_t i = 0; i < length; ++i) {
      state = state * 1103515245u + 12345u;
      text.push_back(alphabet[(state >> 16) % alphabet.size()]);
    }
    SCOPED_TRACE(text);
    auto parsed = ParseLuceneQuery(text);
    if (parsed.ok()) {
      ++parsed_count;
      auto again = ParseLuceneQuery(DebugString(**parsed));
      ASSERT_TRUE(again.ok())
          << DebugString(**parsed) << ": " << again.status().ToString();
      EXPECT_EQ(DebugString(**again), DebugString(**parsed));
    } else {
      const size_t column = ColumnOf(parsed.status().message());
      EXPECT_GE(column, 1u) << parsed.status().message();
      EXPECT_LE(column, text.size() + 1) << parsed.status().message();
    }
  }
  EXPECT_GT(parsed_count, 100u);
}

}  // namespace
}  // namespace cascade::query
