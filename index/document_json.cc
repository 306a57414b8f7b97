#include "index/document_json.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

namespace cascade::index {

namespace {

const char* JsonTypeName(simdjson::dom::element_type type) {
  using simdjson::dom::element_type;
  switch (type) {
    case element_type::ARRAY:
      return "array";
    case element_type::OBJECT:
      return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "number";
    case element_type::STRING:
      return "string";
    case element_type::BOOL:
      return "boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::string ExpectedString(std::string_view field,
                           simdjson::dom::element_type got) {
  std::string msg = "field \"";
  msg.append(field);
  msg.append("\": expected a string, got ");
  msg.append(JsonTypeName(got));
  return msg;
}

// Writes a JSON number as its decimal text; the shortest form that reads
// back the same for doubles, so 1e3 becomes "1000" and 2.5 stays "2.5".
void NumberText(const simdjson::dom::element& value, std::string* out) {
  char buf[64];
  std::to_chars_result r{};
  switch (value.type()) {
    case simdjson::dom::element_type::INT64:
      r = std::to_chars(buf, buf + sizeof(buf),
                        int64_t(value.get_int64().value_unsafe()));
      break;
    case simdjson::dom::element_type::UINT64:
      r = std::to_chars(buf, buf + sizeof(buf),
                        uint64_t(value.get_uint64().value_unsafe()));
      break;
    default:
      r = std::to_chars(buf, buf + sizeof(buf),
                        double(value.get_double().value_unsafe()));
      break;
  }
  out->assign(buf, r.ptr);
}

// Reads an optional string field. Absent and null leave `out` empty (many
// exported corpora write null for a missing title); another type is a problem.
bool OptionalString(const simdjson::dom::object& obj, std::string_view field,
                    std::string* out, std::string* problem) {
  simdjson::dom::element value;
  if (obj.at_key(field).get(value) != simdjson::SUCCESS) {
    out->clear();
    return true;
  }
  switch (value.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view s = value.get_string().value_unsafe();
      out->assign(s.data(), s.size());
      return true;
    }
    case simdjson::dom::element_type::NULL_VALUE:
      out->clear();
      return true;
    default:
      *problem = ExpectedString(field, value.type());
      return false;
  }
}

// Reads the optional "tilde" object: {"token": weight, ...} (Anserini's JSON
// vector format). Weights are finite numbers >= 0; at most
// kMaxTildeEntries entries.
bool OptionalTilde(const simdjson::dom::object& obj,
                   std::vector<std::pair<std::string, float>>* out,
                   std::string* problem) {
  out->clear();
  simdjson::dom::element value;
  if (obj.at_key("tilde").get(value) != simdjson::SUCCESS || value.is_null()) {
    return true;
  }
  simdjson::dom::object weights;
  if (value.get(weights) != simdjson::SUCCESS) {
    *problem = "field \"tilde\": expected an object of token weights, got ";
    problem->append(JsonTypeName(value.type()));
    return false;
  }
  for (auto field : weights) {
    if (out->size() == kMaxTildeEntries) {
      *problem = "field \"tilde\": more than " +
                 std::to_string(kMaxTildeEntries) + " tokens";
      return false;
    }
    double weight;
    if (field.value.get(weight) != simdjson::SUCCESS) {
      *problem = "field \"tilde\": token \"" + std::string(field.key) +
                 "\": expected a number, got " +
                 std::string(JsonTypeName(field.value.type()));
      return false;
    }
    if (field.key.empty() || !std::isfinite(weight) || weight < 0 ||
        weight > 3.0e38) {
      *problem = "field \"tilde\": token \"" + std::string(field.key) +
                 "\": " + (field.key.empty() ? "empty token"
                                              : "weight must be a finite number >= 0");
      return false;
    }
    out->emplace_back(std::string(field.key), static_cast<float>(weight));
  }
  return true;
}

// Reads the optional "vectors" object: {"name": [number, ...], ...}. Values
// must be finite in float32; the writer checks names and dimensions
// against the index's vector fields.
bool OptionalVectors(const simdjson::dom::object& obj,
                     std::vector<std::pair<std::string, std::vector<float>>>* out,
                     std::string* problem) {
  out->clear();
  simdjson::dom::element value;
  if (obj.at_key("vectors").get(value) != simdjson::SUCCESS || value.is_null()) {
    return true;
  }
  simdjson::dom::object fields;
  if (value.get(fields) != simdjson::SUCCESS) {
    *problem = "field \"vectors\": expected an object of named vectors, got ";
    problem->append(JsonTypeName(value.type()));
    return false;
  }
  for (auto field : fields) {
    const std::string name(field.key);
    simdjson::dom::array values;
    if (field.value.get(values) != simdjson::SUCCESS) {
      *problem = "field \"vectors\": vector \"" + name + "\": expected an array of numbers, got " +
                 std::string(JsonTypeName(field.value.type()));
      return false;
    }
    std::vector<float> v;
    v.reserve(values.size());
    for (auto element : values) {
      double x;
      if (v.size() == kMaxVectorDimension) {
        *problem = "field \"vectors\": vector \"" + name + "\": more than " +
                   std::to_string(kMaxVectorDimension) + " values";
        return false;
      }
      if (element.get(x) != simdjson::SUCCESS) {
        *problem = "field \"vectors\": vector \"" + name + "\": value " +
                   std::to_string(v.size()) + ": expected a number, got " +
                   std::string(JsonTypeName(element.type()));
        return false;
      }
      if (!std::isfinite(x) || std::fabs(x) > 3.4028234663852886e38) {
        *problem = "field \"vectors\": vector \"" + name + "\": value " +
                   std::to_string(v.size()) + " is not a finite float";
        return false;
      }
      v.push_back(static_cast<float>(x));
    }
    out->emplace_back(name, std::move(v));
  }
  return true;
}

// Reads the declared keyword, numeric and text fields of `schema` from
// `obj` (title and text are read before).
bool SchemaFields(const simdjson::dom::object& obj, const FieldSchema& schema, Document* doc,
                  std::string* problem) {
  doc->keywords.clear();
  doc->numbers.clear();
  doc->texts.clear();
  for (const TextField& field : schema.text_fields) {
    if (field.name == "title" || field.name == "text") continue;
    std::string value;
    if (!OptionalString(obj, field.name, &value, problem)) return false;
    if (!value.empty()) doc->texts.emplace_back(field.name, std::move(value));
  }
  const auto wrong = [&](const std::string& field, const char* expected,
                         simdjson::dom::element_type got) {
    *problem = "field \"" + field + "\": expected " + expected + ", got " + JsonTypeName(got);
    return false;
  };
  for (const std::string& field : schema.keyword_fields) {
    simdjson::dom::element value;
    if (obj.at_key(field).get(value) != simdjson::SUCCESS || value.is_null()) continue;
    std::vector<std::string> values;
    std::string_view s;
    if (value.get(s) == simdjson::SUCCESS) {
      values.emplace_back(s);
    } else {
      simdjson::dom::array array;
      if (value.get(array) != simdjson::SUCCESS) {
        return wrong(field, "a string or an array of strings", value.type());
      }
      for (simdjson::dom::element item : array) {
        if (item.get(s) != simdjson::SUCCESS) {
          return wrong(field, "an array of strings", item.type());
        }
        values.emplace_back(s);
      }
    }
    doc->keywords.emplace_back(field, std::move(values));
  }
  for (const std::string& field : schema.numeric_fields) {
    simdjson::dom::element value;
    if (obj.at_key(field).get(value) != simdjson::SUCCESS || value.is_null()) continue;
    std::vector<double> values;
    double x;
    if (value.is_number()) {
      if (value.get(x) != simdjson::SUCCESS) return wrong(field, "a number", value.type());
      values.push_back(x);
    } else {
      simdjson::dom::array array;
      if (value.get(array) != simdjson::SUCCESS) {
        return wrong(field, "a number or an array of numbers", value.type());
      }
      for (simdjson::dom::element item : array) {
        if (!item.is_number() || item.get(x) != simdjson::SUCCESS) {
          return wrong(field, "an array of numbers", item.type());
        }
        values.push_back(x);
      }
    }
    doc->numbers.emplace_back(field, std::move(values));
  }
  Status checked = CheckFieldValues(schema, *doc);
  if (!checked.ok()) {
    // "document ID: field ...": the caller names the record already.
    const std::string& message = checked.message();
    const size_t at = message.find("field \"");
    *problem = at == std::string::npos ? message : message.substr(at);
    return false;
  }
  return true;
}

// The names a record's top level reads itself; every other name is an
// extra field (Document::extra).
bool IsReadField(const FieldSchema& schema, std::string_view name) {
  for (std::string_view read : {"_id", "id", "title", "text", "tilde", "vectors"}) {
    if (name == read) return true;
  }
  return schema.KeywordOrdinal(name) >= 0 || schema.NumericOrdinal(name) >= 0 ||
         schema.TextOrdinal(name) >= 0;
}

// A raw scan of JSON text that simdjson has already validated: it only
// finds where each member's value starts and ends, which simdjson's DOM
// does not keep (version 3.0's On-Demand API has no raw text for a value of
// any type either).
bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && IsJsonSpace(s[i])) ++i;
  return i;
}

// s[i] is the opening quote of a string: the index after its closing quote.
size_t StringEnd(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// Appends the JSON value that starts at s[i] to *out, without the
// whitespace outside its strings, and returns the index after it.
size_t CopyValue(std::string_view s, size_t i, std::string* out) {
  int depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      const size_t end = StringEnd(s, i);
      out->append(s.substr(i, end - i));
      i = end;
      if (depth == 0) return i;
    } else if (c == '{' || c == '[') {
      ++depth;
      out->push_back(c);
      ++i;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;  // the end of the enclosing object
      out->push_back(c);
      ++i;
      if (--depth == 0) return i;
    } else if (IsJsonSpace(c)) {
      if (depth == 0) return i;  // after a number, true, false or null
      ++i;
    } else if (c == ',' && depth == 0) {
      return i;
    } else {
      out->push_back(c);
      ++i;
    }
  }
  return i;
}

// Calls fn(name, value) for each member of `obj`, the DOM of the JSON
// object text `json`: the name unescaped (from the DOM), the value as
// CopyValue writes it (from the text). The DOM keeps members in text
// order, duplicates included, so the two walks stay in step. False if the
// text does not look like the object (it cannot, once simdjson accepted
// it; checked so that no read goes past the text).
template <typename Fn>
bool ForEachMember(std::string_view json, const simdjson::dom::object& obj, Fn&& fn) {
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  size_t i = json.starts_with(kUtf8Bom) ? kUtf8Bom.size() : 0;
  i = SkipSpace(json, i);
  if (i >= json.size() || json[i] != '{') return false;
  ++i;
  std::string value;
  for (auto field : obj) {
    i = SkipSpace(json, i);
    if (i >= json.size() || json[i] != '"') return false;
    i = SkipSpace(json, StringEnd(json, i));
    if (i >= json.size() || json[i] != ':') return false;
    i = SkipSpace(json, i + 1);
    value.clear();
    i = SkipSpace(json, CopyValue(json, i, &value));
    if (i >= json.size() || (json[i] != ',' && json[i] != '}') || value.empty()) return false;
    ++i;
    fn(field.key, std::string_view(value));
  }
  return true;
}

// Appends `name` as a JSON string: valid UTF-8 (simdjson checked it) with
// quotes, backslashes and control characters escaped.
void AppendJsonName(std::string* out, std::string_view name) {
  out->push_back('"');
  for (const char c : name) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

struct DocumentJsonParser::Impl {
  // Reused: parse() copies each line into its padded buffer (a memcpy, not
  // a malloc, once it has grown).
  simdjson::dom::parser parser;
  bool numeric_ids = true;
  FieldSchema schema;
  // Scratch for the extra fields of one record: name -> place in `extra`.
  std::vector<std::pair<std::string_view, std::string>> extra;
  std::unordered_map<std::string_view, size_t> extra_at;

  // Collects obj's fields that are not read otherwise into doc->extra.
  bool ExtraFields(std::string_view json, const simdjson::dom::object& obj, Document* doc,
                   std::string* problem);
};

bool DocumentJsonParser::Impl::ExtraFields(std::string_view json,
                                           const simdjson::dom::object& obj, Document* doc,
                                           std::string* problem) {
  doc->extra.clear();
  bool any = false;
  for (auto field : obj) {
    if (!IsReadField(schema, field.key)) {
      any = true;
      break;
    }
  }
  if (!any) return true;  // most records: no second look at the text
  extra.clear();
  extra_at.clear();
  const bool walked = ForEachMember(json, obj, [&](std::string_view name, std::string_view value) {
    if (IsReadField(schema, name)) return;
    // A repeated name keeps its last value in the place of the first.
    const auto [at, added] = extra_at.try_emplace(name, extra.size());
    if (added) {
      extra.emplace_back(name, value);
    } else {
      extra[at->second].second.assign(value);
    }
  });
  if (!walked) {
    *problem = "invalid JSON: could not read the other fields";
    return false;
  }
  doc->extra.push_back('{');
  for (const auto& [name, value] : extra) {
    if (doc->extra.size() > 1) doc->extra.push_back(',');
    AppendJsonName(&doc->extra, name);
    doc->extra.push_back(':');
    doc->extra.append(value);
  }
  doc->extra.push_back('}');
  return true;
}

DocumentJsonParser::DocumentJsonParser(bool numeric_ids)
    : impl_(std::make_unique<Impl>()) {
  impl_->numeric_ids = numeric_ids;
}

DocumentJsonParser::~DocumentJsonParser() = default;

void DocumentJsonParser::SetFields(const FieldSchema& schema) { impl_->schema = schema; }

bool DocumentJsonParser::Parse(std::string_view line, Document* doc,
                               std::string* problem_out) {
  std::string& problem = *problem_out;
  simdjson::dom::parser& parser = impl_->parser;
  simdjson::dom::element root;
  // realloc_if_needed copies the line into the parser's own padded buffer,
  // which is allocated once and reused, so this costs a memcpy, not a malloc.
  simdjson::error_code err = parser.parse(line.data(), line.size()).get(root);
  if (err == simdjson::UTF8_ERROR) {
    problem = "invalid UTF-8";
    return false;
  }
  if (err != simdjson::SUCCESS) {
    problem = "invalid JSON: ";
    problem.append(simdjson::error_message(err));
    return false;
  }
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS) {
    problem = "expected a JSON object, got ";
    problem.append(JsonTypeName(root.type()));
    return false;
  }

  // BEIR writes "_id"; many other exports write "id". "_id" wins when both
  // are present, so a record is read the same way whatever else it carries.
  std::string_view id_field = "_id";
  simdjson::dom::element id;
  if (obj.at_key(id_field).get(id) != simdjson::SUCCESS) {
    id_field = "id";
    if (obj.at_key(id_field).get(id) != simdjson::SUCCESS) {
      problem = "missing id: no \"_id\" or \"id\" field";
      return false;
    }
  }
  switch (id.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view s = id.get_string().value_unsafe();
      if (s.empty()) {
        problem = "field \"" + std::string(id_field) + "\": empty id";
        return false;
      }
      doc->id.assign(s.data(), s.size());
      break;
    }
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      if (!impl_->numeric_ids) {
        problem = ExpectedString(id_field, id.type());
        return false;
      }
      NumberText(id, &doc->id);
      break;
    default:
      problem = ExpectedString(id_field, id.type());
      return false;
  }

  if (!OptionalString(obj, "title", &doc->title, &problem)) return false;
  if (!OptionalString(obj, "text", &doc->text, &problem)) return false;
  if (!OptionalTilde(obj, &doc->tilde_terms, &problem)) return false;
  if (!OptionalVectors(obj, &doc->vectors, &problem)) return false;
  if (!SchemaFields(obj, impl_->schema, doc, &problem)) return false;
  if (!impl_->ExtraFields(line, obj, doc, &problem)) return false;
  doc->tilde.clear();
  if (doc->title.empty() && doc->text.empty() && doc->texts.empty()) {
    problem = impl_->schema.text_fields.empty() ? "empty document: no title or text"
                                                : "empty document: no title, text or text field";
    return false;
  }
  return true;
}

Status CheckExtraJson(const FieldSchema& schema, const Document& doc) {
  if (doc.extra.empty()) return Status::OK();
  const auto problem = [&](const std::string& what) {
    return Status::InvalidArgument("document " + doc.id + ": extra fields: " + what);
  };
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code err = parser.parse(doc.extra.data(), doc.extra.size()).get(root);
  if (err == simdjson::UTF8_ERROR) return problem("invalid UTF-8");
  if (err != simdjson::SUCCESS) {
    return problem(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS) {
    return problem(std::string("expected a JSON object, got ") + JsonTypeName(root.type()));
  }
  std::unordered_set<std::string_view> names;
  for (auto field : obj) {
    const std::string name(field.key);
    if (IsReadField(schema, field.key)) {
      return problem("\"" + name +
                     "\" is not another field (id, _id, title, text, tilde, vectors "
                     "and the index's keyword and numeric fields have their own places)");
    }
    if (!names.insert(field.key).second) return problem("\"" + name + "\" given twice");
  }
  return Status::OK();
}

Status SplitExtraJson(std::string_view json,
                      std::vector<std::pair<std::string, std::string>>* members) {
  members->clear();
  if (json.empty()) return Status::OK();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS ||
      !ForEachMember(json, obj, [&](std::string_view name, std::string_view value) {
        members->emplace_back(std::string(name), std::string(value));
      })) {
    members->clear();
    return Status::Corruption("stored extra fields are not a JSON object");
  }
  return Status::OK();
}

std::string JoinExtraJson(std::span<const std::pair<std::string, std::string>> members) {
  std::string out;
  if (members.empty()) return out;
  out.push_back('{');
  for (const auto& [name, value] : members) {
    if (out.size() > 1) out.push_back(',');
    AppendJsonName(&out, name);
    out.push_back(':');
    out.append(value);
  }
  out.push_back('}');
  return out;
}

}  // namespace cascade::index
