#include "http/router.h"

#include <simdjson.h>

namespace cascade::http {
namespace {

constexpr std::string_view kDocumentPrefix = "/documents/";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const bool complete = i + 2 < in.size();
    const int hi = complete ? HexValue(in[i + 1]) : -1;
    const int lo = complete ? HexValue(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(
          "invalid percent-encoding at offset " + std::to_string(i));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

RouteMatch MatchRoute(std::string_view target) {
  RouteMatch match;
  const size_t q = target.find('?');
  match.path = target.substr(0, q);
  if (q != std::string_view::npos) match.query = target.substr(q + 1);
  const std::string_view path = match.path;

  struct Fixed {
    std::string_view path;
    Route route;
  };
  static constexpr Fixed kFixed[] = {
      {"/health", Route::kHealth},   {"/stats", Route::kStats},
      {"/search", Route::kSearch},   {"/documents", Route::kDocuments},
      {"/refresh", Route::kRefresh}, {"/rerank", Route::kRerank},
      {"/metrics", Route::kMetrics}, {"/delete_by_query", Route::kDeleteByQuery},
  };
  for (const Fixed& fixed : kFixed) {
    if (path == fixed.path) {
      match.route = fixed.route;
      match.pattern = fixed.path;
      return match;
    }
  }
  if (path.size() > kDocumentPrefix.size() &&
      path.starts_with(kDocumentPrefix)) {
    match.route = Route::kDocument;
    match.pattern = "/documents/{id}";
    // Everything after the prefix is the id: ids from folder corpora hold
    // '/' ("sub/a.txt"), which clients may send raw or as %2F.
    Result<std::string> id = PercentDecode(path.substr(kDocumentPrefix.size()));
    if (!id.ok()) {
      match.id_status = Status::InvalidArgument("document id: " +
                                                id.status().message());
    } else if (!simdjson::validate_utf8(id->data(), id->size())) {
      match.id_status = Status::InvalidArgument(
          "document id: percent-encoding decodes to invalid UTF-8");
    } else {
      match.id = std::move(id).value();
    }
  }
  return match;
}

bool MethodAllowed(Route route, std::string_view method) {
  switch (route) {
    case Route::kHealth:
    case Route::kStats:
    case Route::kMetrics:
      return method == "GET";
    case Route::kSearch:
    case Route::kDocuments:
    case Route::kRefresh:
    case Route::kRerank:
    case Route::kDeleteByQuery:
      return method == "POST";
    case Route::kDocument:
      return method == "GET" || method == "DELETE";
    case Route::kNone:
      return false;
  }
  return false;
}

std::string_view AllowedMethods(Route route) {
  switch (route) {
    case Route::kHealth:
    case Route::kStats:
    case Route::kMetrics:
      return "GET";
    case Route::kSearch:
    case Route::kDocuments:
    case Route::kRefresh:
    case Route::kRerank:
    case Route::kDeleteByQuery:
      return "POST";
    case Route::kDocument:
      return "GET, DELETE";
    case Route::kNone:
      return "";
  }
  return "";
}

bool IsWrite(Route route, std::string_view method) {
  switch (route) {
    case Route::kDocuments:
    case Route::kRefresh:
    case Route::kDeleteByQuery:
      return true;
    case Route::kDocument:
      return method == "DELETE";
    default:
      return false;
  }
}

Result<std::optional<std::string>> QueryParam(std::string_view query,
                                              std::string_view name) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key != name) continue;
    if (eq == std::string_view::npos) return std::optional<std::string>("");
    CASCADE_ASSIGN_OR_RETURN(std::string value,
                             PercentDecode(pair.substr(eq + 1)));
    return std::optional<std::string>(std::move(value));
  }
  return std::optional<std::string>();
}

}  // namespace cascade::http
