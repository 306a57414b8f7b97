// QueryParser: Lucene's classic query syntax (a documented subset) parsed
// into a small tree of QueryNodes, plus a bag-of-words mode that never fails.
//
// Terms stay raw: nothing here lowercases, stems or splits words. The
// searcher analyses each leaf later, with the analyzer of its field, as
// Lucene's QueryParser hands each term to its Analyzer. This file depends
// on nothing but the standard library and cascade/status.h.
//
// The syntax, by example:
//
//   parallel computation     terms; juxtaposed clauses are joined by the
//                            default operator (ParserOptions, OR unless set)
//   "parallel computation"   a phrase; "a b"~3 allows a slop of 3 positions
//   title:cpu  title:"x y"   a field for one clause ...
//   title:(cpu gpu)          ... or for every leaf of a group (a field
//                            written inside the group wins)
//   +must -never  may        required, prohibited, optional
//   a AND b, a OR b, NOT a   operators (upper case only, as in Lucene);
//   a && b, a || b, !a       their synonyms
//   (a OR b) AND c           grouping, at most max_depth levels deep
//   cpu^2  "x y"^0.5 (a b)^3 boosts: digits with an optional fraction, >= 0
//   comput*                  a prefix: one trailing '*', at least 1
//                            character before it
//   year:[1990 TO 2000]      ranges: [ ] inclusive, { } exclusive, mixed
//   year:{1990 TO *]         [a TO b}; '*' is an open end; a field is needed
//   *:*                      every document
//   e\-mail  \(1\+1\)  \AND  a backslash makes the next character literal
//
// Special characters: + - && || ! ( ) { } [ ] ^ " ~ * ? : \ / and
// whitespace. Inside a word, '+', '-', '&' and '|' are ordinary ("e-mail"
// is one term, as in Lucene); at the start of a clause '+' and '-' are
// modifiers. The words AND, OR, NOT, "&&" and "||" are operators when they
// stand alone; escape one letter (\AND) or quote it to search for the word.
//
// Precedence. Lucene's classic parser does not have any: it turns AND and OR
// into MUST and SHOULD flags on the clauses of one flat BooleanQuery, so
// "a AND b OR c" means (+a b c). We follow Lucene's precedence parser
// (the flexible StandardQueryParser with precedence) instead:
// NOT > AND > OR.
//   - NOT (and '!', '-') binds to the one clause after it: MUST_NOT.
//   - AND binds the clauses around it into a conjunction, a nested Boolean
//     whose clauses are MUST (MUST_NOT for negated ones):
//       a AND b OR c      -> ((+a +b) c)
//       a OR b AND c      -> (a (+b +c))
//       a AND NOT b OR c  -> ((+a -b) c)
//   - OR and juxtaposition under the default OR make SHOULD clauses:
//       a b AND c         -> (a (+b +c))
//   - Under default AND, juxtaposition binds like AND:
//       a b OR c          -> ((+a +b) c)        a -b -> (+a -b)
//   - '+' and '-' keep their meaning at any level: +a b -c -> (+a b -c).
//   - A modifier applies to exactly one clause; "NOT -a", "+-a" are errors.
//     Whitespace may follow a modifier ("a - b" is (a -b)), as in Lucene.
// Parentheses are kept as written: "a OR (b OR c)" stays (a (b c)). A group
// or conjunction that ends up with a single clause that is not MUST_NOT is
// replaced by that clause ("(a)" is a, "+a" is a, "(a^2)^3" is a^6).
//
// Purely negative queries. Lucene matches nothing for a BooleanQuery whose
// clauses are all MUST_NOT, which is never what the user meant. Here any
// such Boolean, at the top or nested ("-a", "a (-b)", "NOT a AND NOT b"),
// is an error; write "*:* -a" for "everything but a".
//
// Not supported (each is an error naming the column): fuzzy terms (a~2),
// '?' and leading or inner '*' wildcards, regular expressions (/re/), the
// \uXXXX escape (a backslash makes the next UTF-8 character literal).
// Unlike Lucene, a phrase's slop must be a whole number ("x y"~ and
// "x y"~1.5 are errors), ranges need a field (directly or from a group),
// a boost must follow its clause directly ("a^2", not "a ^2" or "a^ 2"),
// so must the colon after a field name ("title: a" is fine, "title :a" not),
// and an empty phrase ("" or "  ") is an error rather than nothing.
//
// Errors are Status::InvalidArgument with a message of the form
//   query syntax error at column N: expected X, found Y
// where N is a 1-based byte offset into the query (a column counts bytes,
// not characters). Over-limit queries are InvalidArgument too, worded
// "query too large: N bytes ..." (max_bytes), "query too large at column N:
// more than M clauses" (max_clauses) and "query too deeply nested at column
// N" (max_depth).
//
// Thread-safety: plain values and pure functions.
#ifndef CASCADE_QUERY_QUERY_PARSER_H_
#define CASCADE_QUERY_QUERY_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::query {

enum class QueryKind {
  kTerm,      // text: one raw word
  kPhrase,    // text: the raw words between the quotes; slop
  kPrefix,    // text: the prefix without its '*' (at least 1 byte)
  kRange,     // field (never empty), lower, upper
  kBoolean,   // clauses
  kMatchAll,  // *:*
};

enum class Occur {
  kMust,     // '+', AND: the document must match
  kShould,   // optional: matching adds to the score
  kMustNot,  // '-', NOT, '!': the document must not match
};

// One end of a range.
struct RangeBound {
  bool open = false;       // '*': unbounded on this side (text is empty)
  bool inclusive = false;  // '[' or ']' (false for '{', '}' and open ends)
  std::string text;        // raw bound, escapes and quotes removed
  // The value when all of `text` reads as a finite decimal number
  // ("5", "-2.5", "1e3"); the searcher decides whether a field is numeric.
  std::optional<double> number;
};

struct QueryNode;

struct QueryClause {
  Occur occur = Occur::kShould;
  std::unique_ptr<QueryNode> query;  // never null
};

struct QueryNode {
  QueryKind kind = QueryKind::kTerm;
  // Term, phrase and prefix: empty means the default fields. Range: never
  // empty. Boolean and match-all: empty (fields live on the leaves).
  std::string field;
  std::string text;         // term, phrase or prefix text (see QueryKind)
  uint32_t slop = 0;        // phrase only: positions the words may move
  double boost = 1.0;       // score multiplier, >= 0
  RangeBound lower, upper;  // range only
  std::vector<QueryClause> clauses;  // boolean only; never all kMustNot
  size_t column = 0;  // 1-based byte offset where the node starts, for
                      // the searcher's own messages
};

enum class DefaultOperator { kOr, kAnd };

// The largest max_depth ParserOptions accepts (the parser recurses once per
// level of parentheses).
inline constexpr size_t kMaxParserDepth = 256;

struct ParserOptions {
  // How juxtaposed clauses combine: OR (Lucene's default) makes them
  // optional, AND makes them required.
  DefaultOperator default_operator = DefaultOperator::kOr;
  // Levels of parentheses allowed; "(a)" is one. At most kMaxParserDepth.
  size_t max_depth = 32;
  // Leaf queries (terms, phrases, prefixes, ranges, *:*) in the whole tree,
  // as Lucene's IndexSearcher.maxClauseCount counts them.
  size_t max_clauses = 1024;
  // Length of the query text in bytes (the searcher's kMaxQueryBytes).
  size_t max_bytes = 16 * 1024;
};

// Parses `query` in Lucene syntax. The tree is owned by the caller.
// InvalidArgument (column and expectation in the message, see above) for:
// an empty query, unbalanced parentheses or brackets, an unterminated
// quote, a dangling operator or modifier, "field:" with nothing after it,
// a bad boost or slop, an unsupported wildcard, a range without a field or
// without TO, a purely negative Boolean, a trailing backslash; and for a
// query over max_bytes, deeper than max_depth or with more than max_clauses
// leaves; and for options with max_depth over kMaxParserDepth.
Result<std::unique_ptr<QueryNode>> ParseLuceneQuery(
    std::string_view query, const ParserOptions& options = {});

// Bag-of-words mode, for queries that are text rather than syntax (BEIR and
// TREC topics, as Anserini runs them: its bag-of-words generator never sees
// query syntax, and its analyzer drops the punctuation). Splits `text` at
// whitespace and at every special character listed above (including a lone
// '&' or '|'); what is left are the words, raw and in order, repeats kept.
// Operators are ordinary words here ("NOT" is a word; the analyzer may drop
// it as a stopword). Never fails; applies no limits (the searcher has its
// own).
std::vector<std::string> PlainQueryWords(std::string_view text);

// The words of PlainQueryWords as a tree: one SHOULD clause per word, all
// on `field` (empty: the default fields). One word gives a term node; no
// words give a Boolean with no clauses, which matches nothing.
std::unique_ptr<QueryNode> PlainQuery(std::string_view text,
                                      std::string_view field = {});

// `word` with a backslash before every character that would otherwise be
// syntax, so that ParseLuceneQuery reads the result as one term with
// exactly this text (the operator words get their first letter escaped).
// "" stays "" (which is not a query).
std::string EscapeQueryTerm(std::string_view word);

// A canonical rendering, used by tests and logs, in the query syntax with
// every Boolean in parentheses and each clause's occur as a prefix:
//   (+a -b c^2 title:"x y"~3 f:[1 TO 5})
// Leaves show their field when they have one; boosts other than 1 are
// written in the shortest form that reads back exactly; an open range end
// is written with a square bracket ([* TO 5}); text is escaped (terms) or
// quoted (phrases, range bounds that need it) so that it reads back. Under the
// default OR, ParseLuceneQuery(DebugString(x)) renders as DebugString(x) again.
std::string DebugString(const QueryNode& node);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_QUERY_PARSER_H_
