#include "index/field_values.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "index/keys.h"

namespace cascade::index {

namespace {

constexpr std::string_view kReservedNames[] = {
    "id", "_id", "title", "text", "contents", "tilde", "vectors"};

bool NameChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9') || c == '_') {
    return true;
  }
  return !first && (c == '.' || c == '-');
}

int Find(const std::vector<std::string>& names, std::string_view name) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// The values given for field `name` in `values` (by name), or null.
template <typename T>
const std::vector<T>* ValuesOf(
    const std::vector<std::pair<std::string, std::vector<T>>>& values,
    std::string_view name) {
  for (const auto& [field, v] : values) {
    if (field == name) return &v;
  }
  return nullptr;
}

}  // namespace

int FieldSchema::KeywordOrdinal(std::string_view name) const {
  return Find(keyword_fields, name);
}

int FieldSchema::NumericOrdinal(std::string_view name) const {
  return Find(numeric_fields, name);
}

int FieldSchema::TextOrdinal(std::string_view name) const {
  for (size_t i = 0; i < text_fields.size(); ++i) {
    if (text_fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Result<TextField> ParseTextField(std::string_view spec) {
  TextField field;
  const size_t caret = spec.find('^');
  field.name.assign(spec.substr(0, caret));
  if (caret == std::string_view::npos) return field;
  const std::string weight(spec.substr(caret + 1));
  char* end = nullptr;
  field.weight = std::strtod(weight.c_str(), &end);
  if (weight.empty() || end != weight.c_str() + weight.size() ||
      weight.find_first_not_of("0123456789.eE+-") != std::string::npos) {
    return Status::InvalidArgument("text field \"" + field.name + "\": weight \"" + weight +
                                   "\" is not a number (write NAME or NAME^WEIGHT)");
  }
  return field;
}

std::string FormatTextField(const TextField& field) {
  if (field.weight == 1) return field.name;
  char buf[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, field.weight);
    if (std::strtod(buf, nullptr) == field.weight) break;
  }
  return field.name + "^" + buf;
}

std::string_view TextFieldValue(const Document& doc, std::string_view name) {
  if (name == "title") return doc.title;
  if (name == "text") return doc.text;
  for (const auto& [field, value] : doc.texts) {
    if (field == name) return value;
  }
  return {};
}

Status ValidateFieldSchema(const FieldSchema& schema) {
  if (schema.keyword_fields.size() + schema.numeric_fields.size() >
      kMaxSchemaFields) {
    return Status::InvalidArgument("more than " +
                                   std::to_string(kMaxSchemaFields) +
                                   " keyword and numeric fields");
  }
  if (schema.text_fields.size() > kMaxTextFields) {
    return Status::InvalidArgument("more than " + std::to_string(kMaxTextFields) +
                                   " text fields");
  }
  const auto bad_weight = [](double w) { return !(w >= 0 && w <= kMaxFieldWeight); };
  if (bad_weight(schema.contents_weight)) {
    return Status::InvalidArgument("contents weight must be in [0, " +
                                   std::to_string(int(kMaxFieldWeight)) + "]");
  }
  std::vector<std::string> text_names;
  bool any_weight = schema.contents_weight > 0;
  for (const TextField& field : schema.text_fields) {
    text_names.push_back(field.name);
    if (bad_weight(field.weight)) {
      return Status::InvalidArgument("text field \"" + field.name + "\": weight must be in [0, " +
                                     std::to_string(int(kMaxFieldWeight)) + "]");
    }
    any_weight |= field.weight > 0;
  }
  if (!any_weight) {
    return Status::InvalidArgument(
        "contents and every text field have weight 0: a word without a field "
        "would search nothing");
  }
  std::vector<std::string_view> seen;
  const std::vector<std::string>& texts = text_names;
  for (const auto* names : {&schema.keyword_fields, &schema.numeric_fields, &texts}) {
    const char* kind = names == &schema.keyword_fields   ? "keyword"
                       : names == &schema.numeric_fields ? "numeric"
                                                         : "text";
    for (const std::string& name : *names) {
      const std::string what = std::string(kind) + " field \"" + name + "\"";
      if (name.empty())
        return Status::InvalidArgument(std::string(kind) +
                                       " field with an empty name");
      if (name.size() > kMaxFieldNameBytes) {
        return Status::InvalidArgument(what + ": name over " +
                                       std::to_string(kMaxFieldNameBytes) +
                                       " bytes");
      }
      for (size_t i = 0; i < name.size(); ++i) {
        if (!NameChar(name[i], i == 0)) {
          return Status::InvalidArgument(
              what +
              ": a name is letters, digits and '_' (then also '.' and '-')");
        }
      }
      const bool text_source = names == &texts && (name == "title" || name == "text");
      if (!text_source && std::find(std::begin(kReservedNames), std::end(kReservedNames),
                                    name) != std::end(kReservedNames)) {
        return Status::InvalidArgument(
            what +
            ": the name is reserved (id, _id, title, text, "
            "contents, tilde, vectors; a text field may be title or text)");
      }
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return Status::InvalidArgument(what + " is declared twice");
      }
      seen.push_back(name);
    }
  }
  return Status::OK();
}

Status CheckFieldValues(const FieldSchema& schema, const Document& doc) {
  const auto problem = [&](const std::string& field, const std::string& what) {
    return Status::InvalidArgument("document " + doc.id + ": field \"" + field +
                                   "\": " + what);
  };
  for (size_t i = 0; i < doc.keywords.size(); ++i) {
    const auto& [name, values] = doc.keywords[i];
    if (schema.KeywordOrdinal(name) < 0) {
      return problem(name, schema.NumericOrdinal(name) >= 0
                               ? "is a numeric field, given strings"
                               : "the index has no keyword field of that name");
    }
    for (size_t j = 0; j < i; ++j) {
      if (doc.keywords[j].first == name) return problem(name, "given twice");
    }
    if (values.size() > kMaxFieldValues) {
      return problem(
          name, "more than " + std::to_string(kMaxFieldValues) + " values");
    }
    for (const std::string& v : values) {
      if (v.empty()) return problem(name, "empty string");
      if (v.size() > kMaxKeywordBytes) {
        return problem(name, "a value over " +
                                 std::to_string(kMaxKeywordBytes) + " bytes");
      }
    }
  }
  for (size_t i = 0; i < doc.numbers.size(); ++i) {
    const auto& [name, values] = doc.numbers[i];
    if (schema.NumericOrdinal(name) < 0) {
      return problem(name, schema.KeywordOrdinal(name) >= 0
                               ? "is a keyword field, given numbers"
                               : "the index has no numeric field of that name");
    }
    for (size_t j = 0; j < i; ++j) {
      if (doc.numbers[j].first == name) return problem(name, "given twice");
    }
    if (values.size() > kMaxFieldValues) {
      return problem(
          name, "more than " + std::to_string(kMaxFieldValues) + " values");
    }
    for (double v : values) {
      if (!std::isfinite(v)) return problem(name, "not a finite number");
    }
  }
  for (size_t i = 0; i < doc.texts.size(); ++i) {
    const std::string& name = doc.texts[i].first;
    if (name == "title" || name == "text") {
      return problem(name, "is the document's " + name + ", not one of its other texts");
    }
    if (schema.TextOrdinal(name) < 0) {
      return problem(name, schema.KeywordOrdinal(name) >= 0 || schema.NumericOrdinal(name) >= 0
                               ? "is not a text field, given a text"
                               : "the index has no text field of that name");
    }
    for (size_t j = 0; j < i; ++j) {
      if (doc.texts[j].first == name) return problem(name, "given twice");
    }
  }
  return Status::OK();
}

void EncodeStoredFields(const FieldSchema& schema, const Document& doc,
                        bool store_extra, std::string* out) {
  for (const std::string& field : schema.keyword_fields) {
    const std::vector<std::string>* values = ValuesOf(doc.keywords, field);
    PutVarint32(out, values ? static_cast<uint32_t>(values->size()) : 0);
    if (!values) continue;
    for (const std::string& v : *values) {
      PutVarint32(out, static_cast<uint32_t>(v.size()));
      out->append(v);
    }
  }
  for (const std::string& field : schema.numeric_fields) {
    const std::vector<double>* values = ValuesOf(doc.numbers, field);
    PutVarint32(out, values ? static_cast<uint32_t>(values->size()) : 0);
    if (!values) continue;
    for (double v : *values) {
      const auto bits = std::bit_cast<uint64_t>(v);
      PutFixed32(out, static_cast<uint32_t>(bits));
      PutFixed32(out, static_cast<uint32_t>(bits >> 32));
    }
  }
  for (const TextField& field : schema.text_fields) {
    if (field.name == "title" || field.name == "text") continue;  // stored before
    const std::string_view value = TextFieldValue(doc, field.name);
    PutVarint32(out, static_cast<uint32_t>(value.size()));
    out->append(value);
  }
  if (store_extra && !doc.extra.empty()) {
    PutVarint32(out, static_cast<uint32_t>(doc.extra.size()));
    out->append(doc.extra);
  }
}

Status DecodeStoredFields(const FieldSchema& schema, std::string_view tail,
                          Document* doc) {
  doc->keywords.clear();
  doc->numbers.clear();
  doc->texts.clear();
  doc->extra.clear();
  if (tail.empty()) return Status::OK();
  const auto truncated = [] {
    return Status::Corruption("stored field values are truncated");
  };
  for (const std::string& field : schema.keyword_fields) {
    uint32_t n;
    if (!GetVarint32(&tail, &n) || n > tail.size()) return truncated();
    if (n == 0) continue;
    std::vector<std::string> values(n);
    for (std::string& v : values) {
      std::string_view s;
      if (!GetLengthPrefixed(&tail, &s)) return truncated();
      v.assign(s);
    }
    doc->keywords.emplace_back(field, std::move(values));
  }
  for (const std::string& field : schema.numeric_fields) {
    uint32_t n;
    if (!GetVarint32(&tail, &n) || size_t{n} * 8 > tail.size())
      return truncated();
    if (n == 0) continue;
    std::vector<double> values(n);
    for (double& v : values) {
      const uint64_t bits = DecodeFixed32(tail.data()) |
                            (uint64_t{DecodeFixed32(tail.data() + 4)} << 32);
      v = std::bit_cast<double>(bits);
      tail.remove_prefix(8);
    }
    doc->numbers.emplace_back(field, std::move(values));
  }
  for (const TextField& field : schema.text_fields) {
    if (field.name == "title" || field.name == "text") continue;
    std::string_view value;
    if (!GetLengthPrefixed(&tail, &value)) return truncated();
    if (!value.empty()) doc->texts.emplace_back(field.name, std::string(value));
  }
  if (!tail.empty()) {
    std::string_view extra;
    if (!GetLengthPrefixed(&tail, &extra)) return truncated();
    doc->extra.assign(extra);
  }
  return Status::OK();
}

void PutSortableDouble(std::string* out, double v) {
  if (v == 0) v = 0;  // -0.0 sorts and matches as 0.0
  uint64_t bits = std::bit_cast<uint64_t>(v);
  bits = (bits >> 63) ? ~bits : bits | (uint64_t{1} << 63);
  PutFixed32BE(out, static_cast<uint32_t>(bits >> 32));
  PutFixed32BE(out, static_cast<uint32_t>(bits));
}

double DecodeSortableDouble(const char* p) {
  uint64_t bits = (uint64_t{DecodeFixed32BE(p)} << 32) | DecodeFixed32BE(p + 4);
  bits = (bits >> 63) ? bits & ~(uint64_t{1} << 63) : ~bits;
  return std::bit_cast<double>(bits);
}

void EncodeDocList(const std::vector<uint32_t>& docs, std::string* out) {
  PutVarint32(out, static_cast<uint32_t>(docs.size()));
  uint32_t prev = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    PutVarint32(out, i == 0 ? docs[i] : docs[i] - prev);
    prev = docs[i];
  }
}

Status DecodeDocList(std::string_view in, std::vector<uint32_t>* docs) {
  docs->clear();
  uint32_t n;
  if (!GetVarint32(&in, &n) || n > in.size())
    return Status::Corruption("bad keyword doc list");
  docs->reserve(n);
  uint64_t doc = 0;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t gap;
    if (!GetVarint32(&in, &gap) || (i > 0 && gap == 0)) {
      return Status::Corruption("bad keyword doc list");
    }
    doc = i == 0 ? gap : doc + gap;
    if (doc > UINT32_MAX) return Status::Corruption("bad keyword doc list");
    docs->push_back(static_cast<uint32_t>(doc));
  }
  if (!in.empty())
    return Status::Corruption("bad keyword doc list: trailing bytes");
  return Status::OK();
}

}  // namespace cascade::index
