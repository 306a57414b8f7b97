// Document: one record of a corpus as the index layer sees it.
//
// Text is UTF-8 (validated by whoever builds the Document). The index analyses
// `title` and `text` into one searchable field ("contents", as Anserini does)
// and stores both for display and for the reranking stages.
#ifndef CASCADE_INDEX_DOCUMENT_H_
#define CASCADE_INDEX_DOCUMENT_H_

#include <string>

namespace cascade::index {

struct Document {
  std::string id;     // external id, unique within an index; never empty
  std::string title;  // may be empty
  std::string text;   // may be empty (but not together with title)
};

}  // namespace cascade::index

#endif  // CASCADE_INDEX_DOCUMENT_H_
