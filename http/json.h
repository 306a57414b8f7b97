// JSON for the HTTP API: a small writer for response bodies, and the
// simdjson-based readers that validate request bodies field by field so that
// every 400 names the field at fault ("field \"k\": expected an integer").
//
// Thread-safety: JsonWriter is a value; use one per response. The readers
// are free functions over a caller-owned simdjson::dom::parser (one per
// thread: a parser and the elements it returned are not shareable).
#ifndef CASCADE_HTTP_JSON_H_
#define CASCADE_HTTP_JSON_H_

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "cascade/status.h"

namespace cascade::http {

// Builds one JSON text. Commas are placed automatically; keys and values
// must alternate inside objects. Strings are escaped, and any invalid UTF-8
// in them becomes U+FFFD, so the output is always valid JSON.
class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  // Shortest text that reads back as the same double; NaN and infinities
  // (not representable in JSON) become null.
  JsonWriter& Double(double value);
  // Same for a float (model scores), shortest for float precision.
  JsonWriter& Float(float value);
  // Milliseconds rounded to microseconds ("took_ms": 1.234).
  JsonWriter& Millis(double ms);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // A value written verbatim: `json` must be one valid JSON value (a
  // document's stored extra field, validated when it was indexed).
  JsonWriter& Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  void Separate();

  std::string out_;
  // One entry per open object/array: true until its first element.
  std::vector<bool> first_;
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included), replacing invalid
// UTF-8 with U+FFFD.
void AppendJsonString(std::string* out, std::string_view s);

// "array", "object", "number", "string", "boolean", "null".
const char* JsonTypeName(simdjson::dom::element_type type);

// Parses `body` as a JSON document whose root must be an object.
// InvalidArgument: "invalid JSON: <simdjson message>" (malformed or invalid
// UTF-8) or "expected a JSON object, got <type>".
Status ParseObject(simdjson::dom::parser& parser, std::string_view body,
                   simdjson::dom::object* out);

// InvalidArgument `unknown field "<prefix><key>"` for the first key of
// `object` that is not in `allowed`.
Status CheckFields(const simdjson::dom::object& object,
                   std::initializer_list<std::string_view> allowed,
                   std::string_view prefix = {});

// Typed reads of one field value; `name` is how the error names it (e.g.
// "k" or "rerank.depth"). InvalidArgument `field "<name>": expected ...`.
Result<int64_t> ReadInt(const simdjson::dom::element& value,
                        std::string_view name, int64_t min, int64_t max);
Result<double> ReadNumber(const simdjson::dom::element& value,
                          std::string_view name);
Result<bool> ReadBool(const simdjson::dom::element& value,
                      std::string_view name);
Result<std::string_view> ReadString(const simdjson::dom::element& value,
                                    std::string_view name);

// `field "<name>": <what>` as InvalidArgument.
Status FieldError(std::string_view name, std::string_view what);

}  // namespace cascade::http

#endif  // CASCADE_HTTP_JSON_H_
