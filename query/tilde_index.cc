#include "query/tilde_index.h"

#include "index/keys.h"
#include "rerank/tilde_query.h"

namespace cascade::query {

namespace {

std::string EncodeTokenizerFiles(const rerank::TokenizerFiles& files) {
  std::string out;
  for (const std::string* part : {&files.source, &files.tokenizer_json,
                                  &files.vocab_txt, &files.tokenizer_config_json}) {
    index::PutVarint32(&out, static_cast<uint32_t>(part->size()));
    out.append(*part);
  }
  return out;
}

Result<rerank::TokenizerFiles> DecodeTokenizerFiles(std::string_view bytes) {
  rerank::TokenizerFiles files;
  for (std::string* part : {&files.source, &files.tokenizer_json,
                            &files.vocab_txt, &files.tokenizer_config_json}) {
    std::string_view value;
    if (!index::GetLengthPrefixed(&bytes, &value)) {
      return Status::Corruption("bad TILDE tokenizer record");
    }
    part->assign(value);
  }
  if (!bytes.empty()) return Status::Corruption("bad TILDE tokenizer record");
  return files;
}

}  // namespace

Result<std::unique_ptr<rerank::WordPieceTokenizer>> LoadTildeTokenizer(
    const index::Store& store) {
  CASCADE_ASSIGN_OR_RETURN(std::optional<std::string> blob,
                           store.GetMeta(index::kMetaTildeTokenizer));
  if (!blob) return std::unique_ptr<rerank::WordPieceTokenizer>();
  CASCADE_ASSIGN_OR_RETURN(rerank::TokenizerFiles files, DecodeTokenizerFiles(*blob));
  files.source = store.path() + " (TILDE tokenizer from " + files.source + ")";
  return rerank::WordPieceTokenizer::FromFiles(files);
}

Status AttachTildeTokenizer(index::Store& store,
                            const rerank::TokenizerFiles& files,
                            std::string_view model) {
  // Check that the files make a tokenizer before storing them.
  CASCADE_RETURN_IF_ERROR(rerank::WordPieceTokenizer::FromFiles(files).status());
  CASCADE_ASSIGN_OR_RETURN(std::optional<std::string> blob,
                           store.GetMeta(index::kMetaTildeTokenizer));
  if (blob) {
    CASCADE_ASSIGN_OR_RETURN(rerank::TokenizerFiles stored, DecodeTokenizerFiles(*blob));
    if (stored.tokenizer_json != files.tokenizer_json ||
        stored.vocab_txt != files.vocab_txt) {
      return Status::InvalidArgument(
          "the index's TILDE weights were made with the tokenizer of " +
          stored.source + "; " + files.source +
          " has a different vocabulary (use a new index)");
    }
    return Status::OK();
  }
  CASCADE_RETURN_IF_ERROR(store.PutMeta(index::kMetaTildeModel, model));
  return store.PutMeta(index::kMetaTildeTokenizer, EncodeTokenizerFiles(files));
}

Status MapTildeTerms(const rerank::WordPieceTokenizer& tokenizer,
                     index::Document* doc) {
  if (doc->tilde_terms.empty()) return Status::OK();
  Result<rerank::TokenWeightList> mapped =
      rerank::MapTokenWeights(tokenizer, doc->tilde_terms);
  if (!mapped.ok()) {
    return Status::InvalidArgument("document " + doc->id + ": " +
                                   mapped.status().message());
  }
  doc->tilde = std::move(mapped).value();
  return Status::OK();
}

Status WeighDocuments(rerank::NeuralModel& weigher,
                      std::span<index::Document*> docs) {
  std::vector<std::string> passages;
  std::vector<index::Document*> targets;
  for (index::Document* doc : docs) {
    if (!doc->tilde.empty() || !doc->tilde_terms.empty()) continue;
    targets.push_back(doc);
    if (doc->title.empty()) {
      passages.push_back(doc->text);
    } else if (doc->text.empty()) {
      passages.push_back(doc->title);
    } else {
      passages.push_back(doc->title + " " + doc->text);
    }
  }
  if (targets.empty()) return Status::OK();
  CASCADE_ASSIGN_OR_RETURN(std::vector<rerank::TokenWeightList> weights,
                           rerank::WeighPassages(weigher, passages));
  for (size_t i = 0; i < targets.size(); ++i) targets[i]->tilde = std::move(weights[i]);
  return Status::OK();
}

}  // namespace cascade::query
