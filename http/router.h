// Router: request targets to routes. Knows the API's paths, which methods
// each accepts, which ones write, and how a document id travels in a path
// (percent-encoded; "%2F" is a '/'). No Boost type: the server hands it the
// raw target and method text.
//
// Thread-safety: pure functions.
#ifndef CASCADE_HTTP_ROUTER_H_
#define CASCADE_HTTP_ROUTER_H_

#include <optional>
#include <string>
#include <string_view>

#include "cascade/status.h"

namespace cascade::http {

enum class Route {
  kNone,       // no such path: 404
  kHealth,     // GET /health
  kStats,      // GET /stats
  kSearch,     // POST /search
  kDocuments,  // POST /documents
  kDocument,   // GET, DELETE /documents/{id}
  kRefresh,    // POST /refresh
  kDeleteByQuery,  // POST /delete_by_query
  kRerank,     // POST /rerank
  kMetrics,    // GET /metrics
};

struct RouteMatch {
  Route route = Route::kNone;
  // The metric label: the route pattern ("/documents/{id}"), or "other".
  std::string_view pattern = "other";
  // kDocument: the decoded id. Not OK when its percent-encoding is invalid
  // or it decodes to invalid UTF-8 (answered 400).
  std::string id;
  Status id_status;
  std::string_view path;   // the target before '?'
  std::string_view query;  // the target after '?' (no '?'), may be empty
};

// Matches an origin-form target ("/documents/a%20b?refresh=true").
RouteMatch MatchRoute(std::string_view target);

// Whether `method` ("GET", "POST", ...) is served on `route`, and the value
// of the Allow header for a 405.
bool MethodAllowed(Route route, std::string_view method);
std::string_view AllowedMethods(Route route);

// Whether the request changes the index (auth scope "writes").
bool IsWrite(Route route, std::string_view method);

// Decodes %XX escapes ('+' stays '+': this is a path, not a form).
// InvalidArgument for a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view in);

// The decoded value of `name` in a query string ("a=1&refresh=true"):
// nullopt when absent, "" for a bare "name" or "name=". InvalidArgument for
// a bad escape in the value.
Result<std::optional<std::string>> QueryParam(std::string_view query,
                                              std::string_view name);

}  // namespace cascade::http

#endif  // CASCADE_HTTP_ROUTER_H_
