#include "query/query_parser.h"

#include <charconv>
#include <cmath>
#include <utility>

namespace cascade::query {

namespace {

// ------------------------------------------------------------- characters

// Bytes of the whitespace character at s[i], or 0. Lucene's whitespace:
// space, \t, \n, \r, plus \f, \v and U+3000 (ideographic space).
size_t SpaceAt(std::string_view s, size_t i) {
  const char c = s[i];
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
    return 1;
  if (c == '\xE3' && i + 2 < s.size() && s[i + 1] == '\x80' &&
      s[i + 2] == '\x80')
    return 3;
  return 0;
}

// Characters that end a word (besides whitespace). '+', '-', '&', '|', '*'
// and '?' may appear inside one; '\' escapes.
bool EndsWord(char c) {
  switch (c) {
    case '!':
    case '(':
    case ')':
    case ':':
    case '^':
    case '[':
    case ']':
    case '"':
    case '{':
    case '}':
    case '~':
    case '/':
      return true;
    default:
      return false;
  }
}

// Bytes of the UTF-8 character that starts at s[i]: a lead byte and the
// continuation bytes after it (at most 4 in all; 1 for a stray byte).
size_t CharLength(std::string_view s, size_t i) {
  size_t n = 1;
  if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0xC0) return n;
  while (n < 4 && i + n < s.size() &&
         (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) {
    ++n;
  }
  return n;
}

bool IsBlank(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = SpaceAt(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Separators of the bag-of-words mode: whitespace and every special
// character, '&' and '|' included.
size_t PlainSeparatorAt(std::string_view s, size_t i) {
  const size_t space = SpaceAt(s, i);
  if (space > 0) return space;
  switch (s[i]) {
    case '\\':
    case '*':
    case '?':
    case '+':
    case '-':
    case '&':
    case '|':
      return 1;
    default:
      return EndsWord(s[i]) ? 1 : 0;
  }
}

bool IsOperatorWord(std::string_view w) {
  return w == "AND" || w == "OR" || w == "NOT" || w == "&&" || w == "||";
}

// Shortest decimal that reads back as exactly `v`.
std::string FormatNumber(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::optional<double> ParseNumber(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() ||
      !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// ------------------------------------------------------------------ tokens

enum class Tok {
  kEnd,
  kTerm,
  kPhrase,
  kAnd,
  kOr,
  kNot,
  kPlus,
  kMinus,
  kLParen,
  kRParen,
  kColon,
  kCaret,
  kTilde,
  kLBracket,
  kLBrace,
  kRBracket,
  kRBrace,
  kSlash,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t begin = 0, end = 0;  // byte offsets of the token in the query
  std::string text;           // term or phrase text, escapes removed
  // Term: query offsets of unescaped '*' and '?'.
  std::vector<size_t> wildcards;
};

bool StartsClause(Tok t) {
  switch (t) {
    case Tok::kTerm:
    case Tok::kPhrase:
    case Tok::kLParen:
    case Tok::kLBracket:
    case Tok::kLBrace:
    case Tok::kPlus:
    case Tok::kMinus:
    case Tok::kNot:
      return true;
    default:
      return false;
  }
}

bool StartsPrimary(Tok t) {
  return t == Tok::kTerm || t == Tok::kPhrase || t == Tok::kLParen ||
         t == Tok::kLBracket || t == Tok::kLBrace;
}

// One clause on its way into a Boolean: the node and the modifier written
// before it ('+' -> kMust, '-'/NOT -> kMustNot, none -> nullopt).
struct Item {
  std::optional<Occur> modifier;
  std::unique_ptr<QueryNode> node;
  size_t column = 0;  // 1-based, where the clause starts (its modifier)
};

// ------------------------------------------------------------------ parser

class Parser {
 public:
  Parser(std::string_view query, const ParserOptions& options)
      : q_(query), options_(options) {}

  Result<std::unique_ptr<QueryNode>> Parse() {
    CASCADE_ASSIGN_OR_RETURN(Token first, Peek());
    if (first.kind == Tok::kEnd) return Expected(first, "a query");
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> root, ParseOr({}, 0));
    CASCADE_ASSIGN_OR_RETURN(Token rest, Peek());
    if (rest.kind != Tok::kEnd) return Unexpected(rest, 0);
    return root;
  }

 private:
  // --- errors

  static std::string Column(size_t offset) {
    return std::to_string(offset + 1);
  }

  Status Error(size_t offset, const std::string& what) const {
    return Status::InvalidArgument("query syntax error at column " +
                                   Column(offset) + ": " + what);
  }

  std::string Describe(const Token& t) const {
    if (t.kind == Tok::kEnd) return "end of query";
    std::string_view image = q_.substr(t.begin, t.end - t.begin);
    std::string out = "'";
    if (image.size() > 32) {
      size_t cut = 29;  // not inside a UTF-8 character
      while (cut > 0 && (static_cast<unsigned char>(image[cut]) & 0xC0) == 0x80)
        --cut;
      out.append(image.substr(0, cut));
      out.append("...");
    } else {
      out.append(image);
    }
    out.push_back('\'');
    if (t.kind == Tok::kSlash) {
      out.append(
          " (regular expressions are not supported; write \\/ for a '/')");
    }
    return out;
  }

  Status Expected(const Token& found, const std::string& what) const {
    return Error(found.begin,
                 "expected " + what + ", found " + Describe(found));
  }

  // A token that cannot follow a complete clause.
  Status Unexpected(const Token& t, size_t depth) const {
    if (t.kind == Tok::kRParen && depth == 0) {
      return Error(t.begin,
                   "expected an operator, a clause or end of query, found ')' "
                   "with no matching '('");
    }
    return Expected(t, depth == 0 ? "an operator, a clause or end of query"
                                  : "an operator, a clause or ')'");
  }

  // --- lexer

  void SkipSpace() {
    while (pos_ < q_.size()) {
      const size_t n = SpaceAt(q_, pos_);
      if (n == 0) break;
      pos_ += n;
    }
  }

  // The next token after whitespace, without consuming it.
  Result<Token> Peek() {
    SkipSpace();
    if (peeked_ && peeked_->begin == pos_) return *peeked_;
    CASCADE_ASSIGN_OR_RETURN(Token t, Lex(pos_));
    peeked_ = t;
    return t;
  }

  void Consume(const Token& t) { pos_ = t.end; }

  Result<Token> Lex(size_t at) const {
    Token t;
    t.begin = at;
    t.end = at + 1;
    if (at >= q_.size()) {
      t.end = at;
      return t;
    }
    switch (q_[at]) {
      case '+':
        t.kind = Tok::kPlus;
        return t;
      case '-':
        t.kind = Tok::kMinus;
        return t;
      case '!':
        t.kind = Tok::kNot;
        return t;
      case '(':
        t.kind = Tok::kLParen;
        return t;
      case ')':
        t.kind = Tok::kRParen;
        return t;
      case ':':
        t.kind = Tok::kColon;
        return t;
      case '^':
        t.kind = Tok::kCaret;
        return t;
      case '~':
        t.kind = Tok::kTilde;
        return t;
      case '[':
        t.kind = Tok::kLBracket;
        return t;
      case '{':
        t.kind = Tok::kLBrace;
        return t;
      case ']':
        t.kind = Tok::kRBracket;
        return t;
      case '}':
        t.kind = Tok::kRBrace;
        return t;
      case '/':
        t.kind = Tok::kSlash;
        return t;
      case '"':
        return LexPhrase(at);
      default:
        return LexWord(at);
    }
  }

  // Appends the escaped character after the backslash at q_[at]; returns
  // the offset after it.
  Result<size_t> Unescape(size_t at, std::string* out) const {
    if (at + 1 >= q_.size()) {
      return Error(at, "expected a character after '\\', found end of query");
    }
    const size_t n = CharLength(q_, at + 1);
    out->append(q_.substr(at + 1, n));
    return at + 1 + n;
  }

  Result<Token> LexPhrase(size_t at) const {
    Token t;
    t.kind = Tok::kPhrase;
    t.begin = at;
    size_t i = at + 1;
    while (i < q_.size() && q_[i] != '"') {
      if (q_[i] == '\\') {
        CASCADE_ASSIGN_OR_RETURN(i, Unescape(i, &t.text));
      } else {
        t.text.push_back(q_[i++]);
      }
    }
    if (i >= q_.size()) {
      return Error(q_.size(),
                   "expected '\"' to close the phrase opened at column " +
                       Column(at) + ", found end of query");
    }
    t.end = i + 1;
    return t;
  }

  Result<Token> LexWord(size_t at) const {
    Token t;
    t.kind = Tok::kTerm;
    t.begin = at;
    size_t i = at;
    while (i < q_.size() && SpaceAt(q_, i) == 0 && !EndsWord(q_[i])) {
      if (q_[i] == '\\') {
        CASCADE_ASSIGN_OR_RETURN(i, Unescape(i, &t.text));
        continue;
      }
      if (q_[i] == '*' || q_[i] == '?') t.wildcards.push_back(i);
      t.text.push_back(q_[i++]);
    }
    t.end = i;
    const std::string_view image = q_.substr(at, i - at);  // escapes kept
    if (image == "AND" || image == "&&") t.kind = Tok::kAnd;
    if (image == "OR" || image == "||") t.kind = Tok::kOr;
    if (image == "NOT") t.kind = Tok::kNot;
    return t;
  }

  // --- grammar
  //
  //   query       := disjunction END
  //   disjunction := conjunction ( (OR | <juxtaposed, default OR>) conjunction
  //   )* conjunction := unary ( (AND | <juxtaposed, default AND>) unary )*
  //   unary       := [ '+' | '-' | NOT ] primary
  //   primary     := [ FIELD ':' ] ( TERM | PHRASE [slop] | range | '('
  //   disjunction ')' ) [boost]
  //                | '*' ':' '*' [boost]

  Result<std::unique_ptr<QueryNode>> ParseOr(const std::string& field,
                                             size_t depth) {
    std::vector<Item> items;
    while (true) {
      CASCADE_ASSIGN_OR_RETURN(Item item, ParseAnd(field, depth));
      items.push_back(std::move(item));
      CASCADE_ASSIGN_OR_RETURN(Token t, Peek());
      if (t.kind == Tok::kOr) {
        Consume(t);
        CASCADE_ASSIGN_OR_RETURN(Token next, Peek());
        if (!StartsClause(next.kind))
          return Expected(next, "a clause after '" + Image(t) + "'");
        continue;
      }
      if (StartsClause(t.kind)) continue;  // juxtaposed under default OR
      break;
    }
    return Combine(std::move(items), Occur::kShould);
  }

  Result<Item> ParseAnd(const std::string& field, size_t depth) {
    std::vector<Item> items;
    while (true) {
      CASCADE_ASSIGN_OR_RETURN(Item item, ParseUnary(field, depth));
      items.push_back(std::move(item));
      CASCADE_ASSIGN_OR_RETURN(Token t, Peek());
      if (t.kind == Tok::kAnd) {
        Consume(t);
        CASCADE_ASSIGN_OR_RETURN(Token next, Peek());
        if (!StartsClause(next.kind))
          return Expected(next, "a clause after '" + Image(t) + "'");
        continue;
      }
      if (options_.default_operator == DefaultOperator::kAnd &&
          StartsClause(t.kind))
        continue;
      break;
    }
    if (items.size() == 1) return std::move(items[0]);
    const size_t column = items.front().column;
    CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> node,
                             Combine(std::move(items), Occur::kMust));
    return Item{std::nullopt, std::move(node), column};
  }

  // Joins items into one node: a Boolean in which an item without a
  // modifier gets `plain`, or the item itself when it is alone and not
  // prohibited.
  Result<std::unique_ptr<QueryNode>> Combine(std::vector<Item> items,
                                             Occur plain) {
    const size_t column = items.front().column;
    if (items.size() == 1 && items[0].modifier != Occur::kMustNot) {
      return std::move(items[0].node);
    }
    auto node = std::make_unique<QueryNode>();
    node->kind = QueryKind::kBoolean;
    node->column = column;
    bool positive = false;
    for (Item& item : items) {
      const Occur occur = item.modifier.value_or(plain);
      positive = positive || occur != Occur::kMustNot;
      node->clauses.push_back(QueryClause{occur, std::move(item.node)});
    }
    if (!positive) {
      return Error(
          column - 1,
          "expected a clause that is not prohibited, found only prohibited "
          "clauses (they match nothing; write *:* -x for all but x)");
    }
    return node;
  }

  std::string Image(const Token& t) const {
    return std::string(q_.substr(t.begin, t.end - t.begin));
  }

  Result<Item> ParseUnary(const std::string& field, size_t depth) {
    CASCADE_ASSIGN_OR_RETURN(Token t, Peek());
    Item item;
    item.column = t.begin + 1;
    std::string after = "a clause";
    if (t.kind == Tok::kPlus || t.kind == Tok::kMinus || t.kind == Tok::kNot) {
      Consume(t);
      item.modifier = t.kind == Tok::kPlus ? Occur::kMust : Occur::kMustNot;
      after = "a term, phrase, range or group after '" + Image(t) + "'";
    }
    CASCADE_ASSIGN_OR_RETURN(Token next, Peek());
    if (!StartsPrimary(next.kind)) {
      if (next.kind == Tok::kRParen && depth == 0 && !item.modifier) {
        return Unexpected(next, depth);
      }
      return Expected(next, after);
    }
    CASCADE_ASSIGN_OR_RETURN(item.node, ParsePrimary(field, true, depth));
    return item;
  }

  Status CountLeaf(size_t offset) {
    if (++leaves_ > options_.max_clauses) {
      return Status::InvalidArgument(
          "query too large at column " + Column(offset) + ": more than " +
          std::to_string(options_.max_clauses) + " clauses (max_clauses)");
    }
    return Status::OK();
  }

  Result<std::unique_ptr<QueryNode>> ParsePrimary(const std::string& field,
                                                  bool allow_field,
                                                  size_t depth) {
    CASCADE_ASSIGN_OR_RETURN(Token t, Peek());
    if (t.kind == Tok::kTerm && allow_field && t.end < q_.size() &&
        q_[t.end] == ':') {
      // A field for the clause after the colon.
      Consume(t);
      const size_t colon = pos_++;
      if (t.text == "*" && !t.wildcards.empty()) {
        // *:* matches every document.
        CASCADE_ASSIGN_OR_RETURN(Token star, Peek());
        if (star.begin != colon + 1 || star.kind != Tok::kTerm ||
            star.text != "*" || star.wildcards.empty()) {
          return Expected(star, "'*' after '*:' (*:* matches every document)");
        }
        Consume(star);
        CASCADE_RETURN_IF_ERROR(CountLeaf(t.begin));
        auto node = std::make_unique<QueryNode>();
        node->kind = QueryKind::kMatchAll;
        node->column = t.begin + 1;
        CASCADE_RETURN_IF_ERROR(ParseSuffixes(node.get()));
        return node;
      }
      if (!t.wildcards.empty()) {
        return Error(t.wildcards.front(),
                     "expected a field name, found wildcard '" +
                         std::string(1, q_[t.wildcards.front()]) + "' in '" +
                         Image(t) + "'");
      }
      CASCADE_ASSIGN_OR_RETURN(Token next, Peek());
      if (!StartsPrimary(next.kind)) {
        return Expected(
            next, "a term, phrase, range or group after '" + Image(t) + ":'");
      }
      CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> node,
                               ParsePrimary(t.text, false, depth));
      node->column = t.begin + 1;
      return node;
    }
    switch (t.kind) {
      case Tok::kTerm: {
        Consume(t);
        CASCADE_RETURN_IF_ERROR(CountLeaf(t.begin));
        auto node = std::make_unique<QueryNode>();
        node->field = field;
        node->column = t.begin + 1;
        CASCADE_RETURN_IF_ERROR(SetWord(t, node.get()));
        CASCADE_RETURN_IF_ERROR(ParseSuffixes(node.get()));
        return node;
      }
      case Tok::kPhrase: {
        Consume(t);
        if (IsBlank(t.text)) {
          return Error(
              t.begin,
              "expected words inside the quotes, found an empty phrase");
        }
        CASCADE_RETURN_IF_ERROR(CountLeaf(t.begin));
        auto node = std::make_unique<QueryNode>();
        node->kind = QueryKind::kPhrase;
        node->field = field;
        node->text = std::move(t.text);
        node->column = t.begin + 1;
        CASCADE_RETURN_IF_ERROR(ParseSuffixes(node.get()));
        return node;
      }
      case Tok::kLBracket:
      case Tok::kLBrace: {
        if (field.empty()) {
          return Error(
              t.begin,
              "expected a field before the range (field:[a TO b]), found " +
                  Describe(t));
        }
        CASCADE_RETURN_IF_ERROR(CountLeaf(t.begin));
        CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> node,
                                 ParseRange(field));
        CASCADE_RETURN_IF_ERROR(ParseSuffixes(node.get()));
        return node;
      }
      case Tok::kLParen: {
        if (depth + 1 > options_.max_depth) {
          return Status::InvalidArgument("query too deeply nested at column " +
                                         Column(t.begin) + ": more than " +
                                         std::to_string(options_.max_depth) +
                                         " levels of parentheses (max_depth)");
        }
        Consume(t);
        CASCADE_ASSIGN_OR_RETURN(Token first, Peek());
        if (!StartsClause(first.kind))
          return Expected(first, "a clause after '('");
        CASCADE_ASSIGN_OR_RETURN(std::unique_ptr<QueryNode> node,
                                 ParseOr(field, depth + 1));
        CASCADE_ASSIGN_OR_RETURN(Token close, Peek());
        if (close.kind != Tok::kRParen) {
          if (close.kind == Tok::kEnd) {
            return Expected(
                close, "')' to close the '(' at column " + Column(t.begin));
          }
          return Unexpected(close, depth + 1);
        }
        Consume(close);
        if (node->kind == QueryKind::kBoolean) node->column = t.begin + 1;
        CASCADE_RETURN_IF_ERROR(ParseSuffixes(node.get()));
        return node;
      }
      default:
        return Expected(t, "a term, phrase, range or group");
    }
  }

  // A term token becomes a term or a prefix; other wildcards are errors.
  Status SetWord(const Token& t, QueryNode* node) const {
    node->text = t.text;
    if (t.wildcards.empty()) return Status::OK();
    const size_t at = t.wildcards.front();
    if (q_[at] == '?') {
      return Error(
          at, "expected a term or prefix*, found wildcard '?' (not supported)");
    }
    if (at == t.begin) {
      return Error(at,
                   "expected at least 1 character before '*', found a leading "
                   "wildcard (not supported)");
    }
    if (t.wildcards.size() > 1 || at + 1 != t.end) {
      return Error(at,
                   "expected '*' only at the end of a term, found it inside '" +
                       Image(t) + "'");
    }
    node->kind = QueryKind::kPrefix;
    node->text.pop_back();
    return Status::OK();
  }

  // The run of characters after a '^' or '~' at q_[at]: up to whitespace,
  // a parenthesis or (for slop) '^'.
  std::string_view SuffixRun(size_t at, bool stop_at_caret) const {
    size_t i = at;
    while (i < q_.size() && SpaceAt(q_, i) == 0 && q_[i] != '(' &&
           q_[i] != ')' && !(stop_at_caret && q_[i] == '^')) {
      ++i;
    }
    return q_.substr(at, i - at);
  }

  std::string DescribeRun(std::string_view run, size_t at) const {
    if (!run.empty()) return "'" + std::string(run) + "'";
    if (at >= q_.size()) return "end of query";
    return "'" + std::string(q_.substr(at, CharLength(q_, at))) + "'";
  }

  // Slop (phrases only) and boost, written directly after a clause.
  Status ParseSuffixes(QueryNode* node) {
    if (pos_ < q_.size() && q_[pos_] == '~') {
      const size_t tilde = pos_;
      if (node->kind == QueryKind::kTerm || node->kind == QueryKind::kPrefix) {
        return Error(
            tilde,
            "expected an operator, a clause or end of query, found '~' "
            "(fuzzy queries are not supported)");
      }
      if (node->kind != QueryKind::kPhrase) {
        return Error(
            tilde,
            "expected an operator, a clause or end of query, found '~' "
            "(slop applies only to phrases)");
      }
      const std::string_view run = SuffixRun(tilde + 1, true);
      uint32_t slop = 0;
      auto [end, ec] =
          std::from_chars(run.data(), run.data() + run.size(), slop);
      if (run.empty() || ec != std::errc() || end != run.data() + run.size() ||
          slop > 0x7fffffffu) {
        return Error(tilde + 1,
                     "expected a whole number of positions after '~', found " +
                         DescribeRun(run, tilde + 1));
      }
      node->slop = slop;
      pos_ = tilde + 1 + run.size();
    }
    if (pos_ < q_.size() && q_[pos_] == '^') {
      const size_t caret = pos_;
      const std::string_view run = SuffixRun(caret + 1, false);
      // digits [ '.' digits ], as Lucene's NUMBER.
      size_t i = 0, digits = 0, fraction = 0;
      while (i < run.size() && run[i] >= '0' && run[i] <= '9') ++i, ++digits;
      if (i < run.size() && run[i] == '.') {
        ++i;
        while (i < run.size() && run[i] >= '0' && run[i] <= '9')
          ++i, ++fraction;
        if (fraction == 0) digits = 0;
      }
      const std::optional<double> boost = ParseNumber(run);
      if (digits == 0 || i != run.size() || !boost) {
        return Error(caret + 1,
                     "expected a boost (a number such as 2 or 0.5) after '^', "
                     "found " +
                         DescribeRun(run, caret + 1));
      }
      node->boost *= *boost;
      pos_ = caret + 1 + run.size();
    }
    return Status::OK();
  }

  // --- ranges: '[' or '{', bound, TO, bound, ']' or '}'

  // A bound at pos_: a quoted string, or the characters up to whitespace,
  // ']' or '}' with backslash escapes. `raw` gets the source image.
  Status ReadBound(RangeBound* bound, std::string_view* raw, bool* quoted) {
    const size_t start = pos_;
    *quoted = pos_ < q_.size() && q_[pos_] == '"';
    if (*quoted) {
      CASCADE_ASSIGN_OR_RETURN(Token t, LexPhrase(pos_));
      bound->text = std::move(t.text);
      pos_ = t.end;
    } else {
      while (pos_ < q_.size() && SpaceAt(q_, pos_) == 0 && q_[pos_] != ']' &&
             q_[pos_] != '}') {
        if (q_[pos_] == '\\') {
          CASCADE_ASSIGN_OR_RETURN(pos_, Unescape(pos_, &bound->text));
        } else {
          bound->text.push_back(q_[pos_++]);
        }
      }
    }
    *raw = q_.substr(start, pos_ - start);
    return Status::OK();
  }

  std::string DescribeAt(size_t at) const {
    if (at >= q_.size()) return "end of query";
    return "'" + std::string(q_.substr(at, CharLength(q_, at))) + "'";
  }

  Result<std::unique_ptr<QueryNode>> ParseRange(const std::string& field) {
    const size_t open = pos_;
    auto node = std::make_unique<QueryNode>();
    node->kind = QueryKind::kRange;
    node->field = field;
    node->column = open + 1;
    const bool lower_inclusive = q_[open] == '[';
    ++pos_;
    RangeBound* bounds[2] = {&node->lower, &node->upper};
    for (int side = 0; side < 2; ++side) {
      SkipSpace();
      if (side == 1) {
        // TO between the bounds, as a word of its own.
        const size_t at = pos_;
        RangeBound word;
        std::string_view raw;
        bool quoted = false;
        CASCADE_RETURN_IF_ERROR(ReadBound(&word, &raw, &quoted));
        if (raw != "TO") {
          return Error(at,
                       "expected 'TO' between the bounds of the range, found " +
                           (raw.empty() ? DescribeAt(at)
                                        : "'" + std::string(raw) + "'"));
        }
        SkipSpace();
      }
      const size_t at = pos_;
      std::string_view raw;
      bool quoted = false;
      CASCADE_RETURN_IF_ERROR(ReadBound(bounds[side], &raw, &quoted));
      if (raw.empty()) {
        return Error(at, std::string("expected ") +
                             (side == 0 ? "a lower" : "an upper") +
                             " bound (a value or *), found " + DescribeAt(at));
      }
      RangeBound& b = *bounds[side];
      if (raw == "*") {
        b.open = true;
        b.text.clear();
      } else {
        b.number = ParseNumber(b.text);
      }
    }
    SkipSpace();
    if (pos_ >= q_.size() || (q_[pos_] != ']' && q_[pos_] != '}')) {
      return Error(pos_,
                   "expected ']' or '}' to close the range opened at column " +
                       Column(open) + ", found " + DescribeAt(pos_));
    }
    const bool upper_inclusive = q_[pos_] == ']';
    ++pos_;
    node->lower.inclusive = lower_inclusive && !node->lower.open;
    node->upper.inclusive = upper_inclusive && !node->upper.open;
    return node;
  }

  std::string_view q_;
  const ParserOptions& options_;
  size_t pos_ = 0;
  size_t leaves_ = 0;
  std::optional<Token> peeked_;
};

// -------------------------------------------------------------- rendering

void AppendEscaped(std::string_view word, std::string* out) {
  if (IsOperatorWord(word)) out->push_back('\\');
  for (size_t i = 0; i < word.size();) {
    const size_t space = SpaceAt(word, i);
    const char c = word[i];
    if (space > 0 || EndsWord(c) || c == '\\' || c == '*' || c == '?' ||
        (i == 0 && (c == '+' || c == '-'))) {
      out->push_back('\\');
    }
    const size_t n = space > 0 ? space : 1;
    out->append(word.substr(i, n));
    i += n;
  }
}

void AppendQuoted(std::string_view text, std::string* out) {
  out->push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendBound(const RangeBound& b, std::string* out) {
  if (b.open) {
    out->push_back('*');
    return;
  }
  bool quote = b.text.empty() || b.text == "*" || b.text == "TO" ||
               b.text.front() == '"';
  for (size_t i = 0; i < b.text.size() && !quote; ++i) {
    const char c = b.text[i];
    quote = SpaceAt(b.text, i) > 0 || c == ']' || c == '}' || c == '\\';
  }
  if (quote) {
    AppendQuoted(b.text, out);
  } else {
    out->append(b.text);
  }
}

void AppendField(const QueryNode& node, std::string* out) {
  if (node.field.empty()) return;
  AppendEscaped(node.field, out);
  out->push_back(':');
}

void Render(const QueryNode& node, std::string* out) {
  switch (node.kind) {
    case QueryKind::kTerm:
      AppendField(node, out);
      AppendEscaped(node.text, out);
      break;
    case QueryKind::kPrefix:
      AppendField(node, out);
      AppendEscaped(node.text, out);
      out->push_back('*');
      break;
    case QueryKind::kPhrase:
      AppendField(node, out);
      AppendQuoted(node.text, out);
      if (node.slop != 0) {
        out->push_back('~');
        out->append(std::to_string(node.slop));
      }
      break;
    case QueryKind::kRange:
      AppendField(node, out);
      out->push_back(node.lower.inclusive || node.lower.open ? '[' : '{');
      AppendBound(node.lower, out);
      out->append(" TO ");
      AppendBound(node.upper, out);
      out->push_back(node.upper.inclusive || node.upper.open ? ']' : '}');
      break;
    case QueryKind::kMatchAll:
      out->append("*:*");
      break;
    case QueryKind::kBoolean:
      out->push_back('(');
      for (size_t i = 0; i < node.clauses.size(); ++i) {
        if (i > 0) out->push_back(' ');
        const QueryClause& clause = node.clauses[i];
        if (clause.occur == Occur::kMust) out->push_back('+');
        if (clause.occur == Occur::kMustNot) out->push_back('-');
        Render(*clause.query, out);
      }
      out->push_back(')');
      break;
  }
  if (node.boost != 1.0) {
    out->push_back('^');
    out->append(FormatNumber(node.boost));
  }
}

}  // namespace

Result<std::unique_ptr<QueryNode>> ParseLuceneQuery(
    std::string_view query, const ParserOptions& options) {
  if (options.max_depth > kMaxParserDepth) {
    return Status::InvalidArgument(
        "ParserOptions.max_depth is " + std::to_string(options.max_depth) +
        "; at most " + std::to_string(kMaxParserDepth) + " is allowed");
  }
  if (query.size() > options.max_bytes) {
    return Status::InvalidArgument(
        "query too large: " + std::to_string(query.size()) +
        " bytes, over the limit of " + std::to_string(options.max_bytes) +
        " (max_bytes)");
  }
  Parser parser(query, options);
  return parser.Parse();
}

namespace {

// The words of the bag-of-words mode with their byte offsets.
std::vector<std::pair<std::string, size_t>> PlainWordsAt(
    std::string_view text) {
  std::vector<std::pair<std::string, size_t>> words;
  size_t i = 0;
  while (i < text.size()) {
    const size_t separator = PlainSeparatorAt(text, i);
    if (separator > 0) {
      i += separator;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && PlainSeparatorAt(text, i) == 0) ++i;
    words.emplace_back(std::string(text.substr(start, i - start)), start);
  }
  return words;
}

}  // namespace

std::vector<std::string> PlainQueryWords(std::string_view text) {
  std::vector<std::string> words;
  for (auto& [word, offset] : PlainWordsAt(text))
    words.push_back(std::move(word));
  return words;
}

std::unique_ptr<QueryNode> PlainQuery(std::string_view text,
                                      std::string_view field) {
  std::vector<std::pair<std::string, size_t>> words = PlainWordsAt(text);
  auto make_term = [&](std::pair<std::string, size_t>& word) {
    auto term = std::make_unique<QueryNode>();
    term->field = std::string(field);
    term->text = std::move(word.first);
    term->column = word.second + 1;
    return term;
  };
  if (words.size() == 1) return make_term(words[0]);
  auto node = std::make_unique<QueryNode>();
  node->kind = QueryKind::kBoolean;
  node->column = 1;
  for (auto& word : words) {
    node->clauses.push_back(QueryClause{Occur::kShould, make_term(word)});
  }
  return node;
}

std::string EscapeQueryTerm(std::string_view word) {
  std::string out;
  AppendEscaped(word, &out);
  return out;
}

std::string DebugString(const QueryNode& node) {
  std::string out;
  Render(node, &out);
  return out;
}

}  // namespace cascade::query
