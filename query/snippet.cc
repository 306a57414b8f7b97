#include "query/snippet.h"

#include <algorithm>

namespace cascade::query {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

}  // namespace

std::string MakeSnippet(std::string_view text,
                        const std::vector<std::string>& terms,
                        index::Analyzer& analyzer,
                        const SnippetOptions& options) {
  std::vector<std::string_view> words;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  if (words.empty()) return std::string();
  const size_t window =
      std::clamp<size_t>(options.window_words, 1, kMaxSnippetWords);
  // Per word: the query term it matches (index into `terms`), or -1.
  std::vector<int> match(words.size(), -1);
  std::vector<std::string> tokens;
  for (size_t w = 0; w < words.size(); ++w) {
    tokens.clear();
    analyzer.Analyze(words[w], &tokens);
    for (const std::string& token : tokens) {
      auto it = std::find(terms.begin(), terms.end(), token);
      if (it != terms.end()) {
        match[w] = static_cast<int>(it - terms.begin());
        break;
      }
    }
  }
  // Slide the window, counting distinct terms and matching words in it.
  size_t best = 0, best_distinct = 0, best_matches = 0;
  if (words.size() > window) {
    std::vector<size_t> count(terms.size(), 0);
    size_t distinct = 0, matches = 0;
    for (size_t w = 0; w < words.size(); ++w) {
      if (match[w] >= 0) {
        ++matches;
        if (count[match[w]]++ == 0) ++distinct;
      }
      if (w >= window) {
        const int out = match[w - window];
        if (out >= 0) {
          --matches;
          if (--count[out] == 0) --distinct;
        }
      }
      if (w + 1 >= window) {
        const size_t begin = w + 1 - window;
        if (distinct > best_distinct ||
            (distinct == best_distinct && matches > best_matches)) {
          best = begin;
          best_distinct = distinct;
          best_matches = matches;
        }
      }
    }
  }
  const size_t end = std::min(words.size(), best + window);
  std::string out;
  if (best > 0) out += "… ";
  for (size_t w = best; w < end; ++w) {
    if (w > best) out.push_back(' ');
    if (match[w] >= 0) {
      out += options.open;
      out += words[w];
      out += options.close;
    } else {
      out += words[w];
    }
  }
  if (end < words.size()) out += " …";
  return out;
}

}  // namespace cascade::query
