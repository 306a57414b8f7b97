// TILDE weights and the index: the tokenizer an index's weights were made
// with (stored in the index, so that query time needs no model folder), and
// turning documents' "tilde" input or a token weigher's output into the
// per-document weights the writer stores.
//
// Thread-safety: free functions; the Store calls are thread-safe, the
// NeuralModel is used from one thread at a time.
#ifndef CASCADE_QUERY_TILDE_INDEX_H_
#define CASCADE_QUERY_TILDE_INDEX_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "cascade/status.h"
#include "index/document.h"
#include "index/store.h"
#include "rerank/neural_model.h"
#include "rerank/wordpiece.h"

namespace cascade::query {

// The index's TILDE tokenizer, or nullptr when it has none.
Result<std::unique_ptr<rerank::WordPieceTokenizer>> LoadTildeTokenizer(
    const index::Store& store);

// Records `files` as the index's TILDE tokenizer (and `model` as where
// weights come from). An index that already has one keeps it when the
// vocabulary is the same; a different one is InvalidArgument (weights of two
// vocabularies cannot be mixed).
Status AttachTildeTokenizer(index::Store& store,
                            const rerank::TokenizerFiles& files,
                            std::string_view model);

// Maps doc->tilde_terms to doc->tilde with the index's tokenizer.
// InvalidArgument naming the token for one not in the vocabulary.
Status MapTildeTerms(const rerank::WordPieceTokenizer& tokenizer,
                     index::Document* doc);

// Runs `weigher` over the documents that have no TILDE weights yet (title
// and text, as indexed) and fills their `tilde`.
Status WeighDocuments(rerank::NeuralModel& weigher,
                      std::span<index::Document*> docs);

}  // namespace cascade::query

#endif  // CASCADE_QUERY_TILDE_INDEX_H_
