#include "http/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace cascade::http {
namespace {

// Length of the well-formed UTF-8 sequence at s[i], or 0 when it is not one
// (bad lead, truncated, overlong, surrogate or above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t j) { return static_cast<uint8_t>(s[j]); };
  const uint8_t lead = byte(i);
  if (lead < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t j = 1; j < n; ++j) {
    if ((byte(i + j) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + j) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp > 0x10FFFF) return 0;
  return n;
}

void AppendEscapedByte(std::string* out, unsigned char c) {
  switch (c) {
    case '"': out->append("\\\""); break;
    case '\\': out->append("\\\\"); break;
    case '\n': out->append("\\n"); break;
    case '\r': out->append("\\r"); break;
    case '\t': out->append("\\t"); break;
    case '\b': out->append("\\b"); break;
    case '\f': out->append("\\f"); break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf);
      } else {
        out->push_back(static_cast<char>(c));
      }
  }
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  if (simdjson::validate_utf8(s.data(), s.size())) {
    for (unsigned char c : s) AppendEscapedByte(out, c);
  } else {
    size_t i = 0;
    while (i < s.size()) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out->append("\\ufffd");
        ++i;
      } else if (n == 1) {
        AppendEscapedByte(out, static_cast<unsigned char>(s[i]));
        ++i;
      } else {
        out->append(s.substr(i, n));
        i += n;
      }
    }
  }
  out->push_back('"');
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
}

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_.push_back('}');
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_.push_back(']');
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(&out_, key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  AppendJsonString(&out_, value);
  return *this;
}

namespace {

// Appends the shortest decimal text of a number (std::to_chars).
template <typename T>
void AppendNumber(std::string* out, T value) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, r.ptr);
}

}  // namespace

JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  AppendNumber(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  Separate();
  AppendNumber(&out_, value);
  return *this;
}

// JSON has no NaN or infinity: they are written as null.
JsonWriter& JsonWriter::Double(double value) {
  if (!std::isfinite(value)) return Null();
  Separate();
  AppendNumber(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Float(float value) {
  if (!std::isfinite(value)) return Null();
  Separate();
  AppendNumber(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Millis(double ms) {
  if (!std::isfinite(ms)) return Null();
  Separate();
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", ms);
  out_.append(buf);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_.append(json);
  return *this;
}

const char* JsonTypeName(simdjson::dom::element_type type) {
  using simdjson::dom::element_type;
  switch (type) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

Status FieldError(std::string_view name, std::string_view what) {
  std::string msg = "field \"";
  msg.append(name);
  msg.append("\": ");
  msg.append(what);
  return Status::InvalidArgument(msg);
}

Status ParseObject(simdjson::dom::parser& parser, std::string_view body,
                   simdjson::dom::object* out) {
  simdjson::dom::element root;
  const simdjson::error_code err = parser.parse(body.data(), body.size()).get(root);
  if (err == simdjson::UTF8_ERROR) {
    return Status::InvalidArgument("invalid JSON: invalid UTF-8 in body");
  }
  if (err == simdjson::EMPTY) {
    return Status::InvalidArgument("invalid JSON: empty body");
  }
  if (err != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("invalid JSON: ") +
                                   simdjson::error_message(err));
  }
  if (root.get(*out) != simdjson::SUCCESS) {
    return Status::InvalidArgument(
        std::string("expected a JSON object, got ") + JsonTypeName(root.type()));
  }
  return Status::OK();
}

Status CheckFields(const simdjson::dom::object& object,
                   std::initializer_list<std::string_view> allowed,
                   std::string_view prefix) {
  for (auto field : object) {
    bool known = false;
    for (std::string_view name : allowed) {
      if (field.key == name) {
        known = true;
        break;
      }
    }
    if (!known) {
      std::string msg = "unknown field \"";
      msg.append(prefix);
      msg.append(field.key);
      msg.push_back('"');
      return Status::InvalidArgument(msg);
    }
  }
  return Status::OK();
}

Result<int64_t> ReadInt(const simdjson::dom::element& value,
                        std::string_view name, int64_t min, int64_t max) {
  using simdjson::dom::element_type;
  const std::string range =
      "must be between " + std::to_string(min) + " and " + std::to_string(max);
  switch (value.type()) {
    case element_type::INT64: {
      const int64_t v = value.get_int64().value_unsafe();
      if (v < min || v > max) return FieldError(name, range);
      return v;
    }
    case element_type::UINT64:
      // Only values above INT64_MAX land here: out of every range we use.
      return FieldError(name, range);
    default:
      return FieldError(name, std::string("expected an integer, got ") +
                                  JsonTypeName(value.type()));
  }
}

Result<double> ReadNumber(const simdjson::dom::element& value,
                          std::string_view name) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::INT64:
      return static_cast<double>(value.get_int64().value_unsafe());
    case element_type::UINT64:
      return static_cast<double>(value.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return value.get_double().value_unsafe();
    default:
      return FieldError(name, std::string("expected a number, got ") +
                                  JsonTypeName(value.type()));
  }
}

Result<bool> ReadBool(const simdjson::dom::element& value,
                      std::string_view name) {
  bool b = false;
  if (value.get(b) != simdjson::SUCCESS) {
    return FieldError(name, std::string("expected a boolean, got ") +
                                JsonTypeName(value.type()));
  }
  return b;
}

Result<std::string_view> ReadString(const simdjson::dom::element& value,
                                    std::string_view name) {
  std::string_view s;
  if (value.get(s) != simdjson::SUCCESS) {
    return FieldError(name, std::string("expected a string, got ") +
                                JsonTypeName(value.type()));
  }
  return s;
}

}  // namespace cascade::http
