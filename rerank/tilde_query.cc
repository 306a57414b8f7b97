#include "rerank/tilde_query.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace cascade::rerank {

namespace {

// NLTK's English stopword list (179 words), the list the TILDEv2 reference
// filters query tokens with, less the question words it keeps.
constexpr std::string_view kNltkEnglishStopwords[] = {
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you",
    "you're", "you've", "you'll", "you'd", "your", "yours", "yourself",
    "yourselves", "he", "him", "his", "himself", "she", "she's", "her", "hers",
    "herself", "it", "it's", "its", "itself", "they", "them", "their",
    "theirs", "themselves", "what", "which", "who", "whom", "this", "that",
    "that'll", "these", "those", "am", "is", "are", "was", "were", "be",
    "been", "being", "have", "has", "had", "having", "do", "does", "did",
    "doing", "a", "an", "the", "and", "but", "if", "or", "because", "as",
    "until", "while", "of", "at", "by", "for", "with", "about", "against",
    "between", "into", "through", "during", "before", "after", "above",
    "below", "to", "from", "up", "down", "in", "out", "on", "off", "over",
    "under", "again", "further", "then", "once", "here", "there", "when",
    "where", "why", "how", "all", "any", "both", "each", "few", "more", "most",
    "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
    "than", "too", "very", "s", "t", "can", "will", "just", "don", "don't",
    "should", "should've", "now", "d", "ll", "m", "o", "re", "ve", "y", "ain",
    "aren", "aren't", "couldn", "couldn't", "didn", "didn't", "doesn",
    "doesn't", "hadn", "hadn't", "hasn", "hasn't", "haven", "haven't", "isn",
    "isn't", "ma", "mightn", "mightn't", "mustn", "mustn't", "needn",
    "needn't", "shan", "shan't", "shouldn", "shouldn't", "wasn", "wasn't",
    "weren", "weren't", "won", "won't", "wouldn", "wouldn't"};

constexpr std::string_view kKeptQuestionWords[] = {"where", "how",  "what", "when",
                                                   "which", "why", "who"};

bool PlainAsciiWord(std::string_view token) {
  return std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

}  // namespace

std::vector<int32_t> TildeStopIds(const WordPieceTokenizer& tokenizer) {
  std::vector<int32_t> stop;
  std::vector<int32_t> ids;
  for (std::string_view word : kNltkEnglishStopwords) {
    if (std::find(std::begin(kKeptQuestionWords), std::end(kKeptQuestionWords),
                  word) != std::end(kKeptQuestionWords)) {
      continue;
    }
    ids.clear();
    tokenizer.Tokenize(word, &ids);
    if (ids.size() == 1) stop.push_back(ids[0]);
  }
  const auto vocab = static_cast<int32_t>(tokenizer.vocab_size());
  for (int32_t id = 0; id < vocab; ++id) {
    const std::string_view token = tokenizer.token(id);
    if (token == "##s") {
      stop.push_back(id);
    } else if (token.size() > 1 && token[0] == '#') {
      continue;  // a continuation piece: kept
    } else if (!PlainAsciiWord(token)) {
      stop.push_back(id);
    }
  }
  std::sort(stop.begin(), stop.end());
  stop.erase(std::unique(stop.begin(), stop.end()), stop.end());
  return stop;
}

TildeQueryEncoder::TildeQueryEncoder(const WordPieceTokenizer* tokenizer)
    : tokenizer_(tokenizer), stop_ids_(TildeStopIds(*tokenizer)) {}

std::vector<int32_t> TildeQueryEncoder::Encode(std::string_view query) const {
  std::vector<int32_t> ids;
  tokenizer_->Tokenize(query, &ids);
  std::erase_if(ids, [&](int32_t id) {
    return std::binary_search(stop_ids_.begin(), stop_ids_.end(), id);
  });
  return ids;
}

Result<std::vector<TokenWeightList>> WeighPassages(
    NeuralModel& model, std::span<const std::string> passages) {
  CASCADE_ASSIGN_OR_RETURN(std::vector<TokenWeights> weighed, model.Weigh(passages));
  const WordPieceTokenizer& tok = model.tokenizer();
  const int32_t specials[] = {tok.cls_id(), tok.sep_id(), tok.pad_id()};
  std::vector<TokenWeightList> out(weighed.size());
  std::unordered_map<int32_t, float> best;
  for (size_t p = 0; p < weighed.size(); ++p) {
    best.clear();
    const TokenWeights& w = weighed[p];
    for (size_t i = 0; i < w.input_ids.size() && i < w.weights.size(); ++i) {
      const int32_t id = w.input_ids[i];
      if (std::find(std::begin(specials), std::end(specials), id) !=
          std::end(specials)) {
        continue;
      }
      if (!(w.weights[i] > 0)) continue;
      auto [it, inserted] = best.try_emplace(id, w.weights[i]);
      if (!inserted) it->second = std::max(it->second, w.weights[i]);
    }
    out[p].assign(best.begin(), best.end());
    std::sort(out[p].begin(), out[p].end());
  }
  return out;
}

Result<TokenWeightList> MapTokenWeights(
    const WordPieceTokenizer& tokenizer,
    std::span<const std::pair<std::string, float>> entries) {
  std::unordered_map<int32_t, float> best;
  for (const auto& [token, weight] : entries) {
    if (token.empty()) return Status::InvalidArgument("tilde: empty token");
    if (!std::isfinite(weight) || weight < 0) {
      return Status::InvalidArgument(
          "tilde: weight of \"" + token + "\" must be a finite number >= 0");
    }
    const int32_t id = tokenizer.id(token);
    if (id < 0) {
      return Status::InvalidArgument(
          "tilde: token \"" + token + "\" is not in the model's vocabulary");
    }
    auto [it, inserted] = best.try_emplace(id, weight);
    if (!inserted) it->second = std::max(it->second, weight);
  }
  TokenWeightList out(best.begin(), best.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cascade::rerank
