// Response: what a handler hands back to the connection that asked, before
// it becomes Beast's message type (handlers know no Boost). Also the one
// place that maps a cascade::Status to an HTTP status code.
//
// Thread-safety: values; built on a worker, moved to the connection's strand.
#ifndef CASCADE_HTTP_RESPONSE_H_
#define CASCADE_HTTP_RESPONSE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cascade/status.h"

namespace cascade::http {

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Extra headers (x-took-ms, Allow, WWW-Authenticate ...).
  std::vector<std::pair<std::string, std::string>> headers;
  // Close the connection after sending, whatever the client asked.
  bool close = false;
};

// The HTTP status code for a Status: InvalidArgument 400, NotFound 404,
// ResourceExhausted 429, DeadlineExceeded 408, Unavailable 503, OK 200,
// anything else 500. Every Status-derived answer goes through here.
int HttpStatusFor(const Status& status);

// {"error":{"status":<code>,"reason":"<reason>"}} with that status code.
Response ErrorResponse(int http_status, std::string_view reason);
// The same for a failed Status (code via HttpStatusFor, reason = message).
Response ErrorResponse(const Status& status);
// 200 (or `http_status`) with a JSON body.
Response JsonResponse(std::string body, int http_status = 200);

}  // namespace cascade::http

#endif  // CASCADE_HTTP_RESPONSE_H_
