#include "http/response.h"

#include "http/json.h"

namespace cascade::http {

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kDeadlineExceeded: return 408;
    case Status::Code::kResourceExhausted: return 429;
    case Status::Code::kUnavailable: return 503;
    case Status::Code::kCorruption:
    case Status::Code::kIOError:
    case Status::Code::kNotSupported:
    case Status::Code::kAlreadyExists:
    case Status::Code::kInternal:
      return 500;
  }
  return 500;
}

Response ErrorResponse(int http_status, std::string_view reason) {
  JsonWriter json;
  json.BeginObject().Key("error").BeginObject();
  json.Key("status").Int(http_status);
  json.Key("reason").String(reason);
  json.EndObject().EndObject();
  Response response;
  response.status = http_status;
  response.body = json.Take();
  return response;
}

Response ErrorResponse(const Status& status) {
  return ErrorResponse(HttpStatusFor(status), status.message());
}

Response JsonResponse(std::string body, int http_status) {
  Response response;
  response.status = http_status;
  response.body = std::move(body);
  return response;
}

}  // namespace cascade::http
