// Snippets: the best window of a hit's text for a query, with the query's
// terms marked, for result lists (SearchOptions::snippet_words).
//
// The text is split at whitespace into words; a word matches when one of
// its tokens, analysed like the documents (so "Rockets," matches the query
// term "rocket"), is a query term. The window is the run of `window_words`
// consecutive words holding the most distinct query terms, then the most
// matching words, then the earliest. Matching words are wrapped in
// `open`/`close` (by default <b> and </b>; the text is not escaped); "…"
// marks text cut before or after the window. Text of at most
// `window_words` words is the whole snippet.
//
// Thread-safety: uses `analyzer`, which must not be shared meanwhile.
#ifndef CASCADE_QUERY_SNIPPET_H_
#define CASCADE_QUERY_SNIPPET_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "index/analyzer.h"

namespace cascade::query {

// The largest window a request may ask for, in words.
inline constexpr size_t kMaxSnippetWords = 1000;

struct SnippetOptions {
  size_t window_words = 30;  // 1..kMaxSnippetWords
  std::string open = "<b>";
  std::string close = "</b>";
};

// `terms`: the query's analysed terms (TopDocs::terms). Empty text gives an
// empty snippet; no match gives the first window.
std::string MakeSnippet(std::string_view text,
                        const std::vector<std::string>& terms,
                        index::Analyzer& analyzer,
                        const SnippetOptions& options);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_SNIPPET_H_
