#include "index/index_options.h"

#include <charconv>
#include <cmath>
#include <string>

namespace cascade::index {

std::string_view LengthNormName(LengthNorm norm) {
  switch (norm) {
    case LengthNorm::kLucene: return "lucene";
    case LengthNorm::kExact: return "exact";
  }
  return "lucene";
}

Result<LengthNorm> ParseLengthNorm(std::string_view name) {
  if (name == "lucene") return LengthNorm::kLucene;
  if (name == "exact") return LengthNorm::kExact;
  return Status::InvalidArgument("length_norm must be lucene or exact, got",
                                 name);
}

Status ValidateIndexOptions(const IndexOptions& options) {
  std::string bad;
  if (!(options.k1 >= 0) || !std::isfinite(options.k1)) bad += " k1 (must be >= 0)";
  if (!(options.b >= 0 && options.b <= 1)) bad += " b (must be in [0, 1])";
  if (!bad.empty()) return Status::InvalidArgument("bad index options:" + bad);
  CASCADE_RETURN_IF_ERROR(dense::ValidateVectorFields(options.vector_fields));
  CASCADE_RETURN_IF_ERROR(ValidateFieldSchema(options.fields));
  return ValidateAnalyzerOptions(options.analyzer);
}

std::string SerializeIndexOptions(const IndexOptions& options) {
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value) {
    out.append(key).append("=").append(value).append("\n");
  };
  line("analyzer.stemmer", options.analyzer.stemmer);
  line("analyzer.stopwords", options.analyzer.stopwords ? "true" : "false");
  line("analyzer.max_token_bytes",
       std::to_string(options.analyzer.max_token_bytes));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", options.k1);
  line("bm25.k1", buf);
  std::snprintf(buf, sizeof(buf), "%.17g", options.b);
  line("bm25.b", buf);
  line("bm25.length_norm", std::string(LengthNormName(options.length_norm)));
  line("positions", options.positions ? "true" : "false");
  // One line per field, in ordinal order (written only when there are some,
  // so indexes without vectors keep their exact options text).
  for (const dense::VectorField& field : options.vector_fields) {
    line("vector_field", dense::FormatVectorFieldSpec(field));
  }
  // Likewise one line per keyword and numeric field, in ordinal order.
  for (const std::string& name : options.fields.keyword_fields) line("keyword_field", name);
  for (const std::string& name : options.fields.numeric_fields) line("numeric_field", name);
  // Text fields likewise, with contents' weight when there are some.
  for (const TextField& field : options.fields.text_fields) {
    line("text_field", FormatTextField(field));
  }
  if (!options.fields.text_fields.empty() || options.fields.contents_weight != 1) {
    std::snprintf(buf, sizeof(buf), "%.17g", options.fields.contents_weight);
    line("contents_weight", buf);
  }
  // Only when off, so that other indexes keep their exact options text.
  if (!options.store_extra) line("store_extra", "false");
  return out;
}

namespace {

Result<double> ParseDouble(std::string_view key, std::string_view value) {
  std::string s(value);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) {
    return Status::Corruption("index option " + std::string(key) +
                              " is not a number", value);
  }
  return d;
}

}  // namespace

Result<IndexOptions> ParseIndexOptions(std::string_view text) {
  IndexOptions options;
  options.positions = false;  // absent: written before positions existed
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::Corruption("index options line has no '='", line);
    }
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (key == "analyzer.stemmer") {
      options.analyzer.stemmer = std::string(value);
    } else if (key == "analyzer.stopwords") {
      options.analyzer.stopwords = (value == "true");
    } else if (key == "analyzer.max_token_bytes") {
      size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return Status::Corruption("index option analyzer.max_token_bytes", value);
      }
      options.analyzer.max_token_bytes = n;
    } else if (key == "bm25.k1") {
      CASCADE_ASSIGN_OR_RETURN(options.k1, ParseDouble(key, value));
    } else if (key == "bm25.b") {
      CASCADE_ASSIGN_OR_RETURN(options.b, ParseDouble(key, value));
    } else if (key == "vector_field") {
      auto field = dense::ParseVectorFieldSpec(value);
      if (!field.ok()) return Status::Corruption(field.status().message());
      options.vector_fields.push_back(std::move(field).value());
    } else if (key == "keyword_field") {
      options.fields.keyword_fields.emplace_back(value);
    } else if (key == "numeric_field") {
      options.fields.numeric_fields.emplace_back(value);
    } else if (key == "text_field") {
      auto field = ParseTextField(value);
      if (!field.ok()) return Status::Corruption("index options: " + field.status().message());
      options.fields.text_fields.push_back(std::move(field).value());
    } else if (key == "contents_weight") {
      CASCADE_ASSIGN_OR_RETURN(options.fields.contents_weight, ParseDouble(key, value));
    } else if (key == "positions") {
      if (value != "true" && value != "false") {
        return Status::Corruption("index option positions", value);
      }
      options.positions = value == "true";
    } else if (key == "store_extra") {
      if (value != "true" && value != "false") {
        return Status::Corruption("index option store_extra", value);
      }
      options.store_extra = value == "true";
    } else if (key == "bm25.length_norm") {
      auto norm = ParseLengthNorm(value);
      if (!norm.ok()) return Status::Corruption(norm.status().message());
      options.length_norm = *norm;
    } else {
      return Status::NotSupported(
          "index has an option this version of cascade does not know "
          "(written by a newer version?)",
          key);
    }
  }
  Status fields = ValidateFieldSchema(options.fields);
  if (!fields.ok()) return Status::Corruption("index options: " + fields.message());
  return options;
}

}  // namespace cascade::index
