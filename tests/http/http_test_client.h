// The client side of the HTTP tests: a small synchronous HTTP/1.1 client on
// Boost.Beast (keep-alive, raw bytes for malformed or partial requests, a
// timeout on every exchange) and JSON helpers over simdjson. Header-only,
// test-only.
//
// Every exchange writes and reads at the same time, so an answer the server
// sends before it has read the whole request (413, 431) is seen even when the
// server then stops reading. Operations time out after `timeout` (default
// 10 s); a timeout, a refused connection or a closed connection give a
// Response with status 0 and say which.
#ifndef CASCADE_TESTS_HTTP_HTTP_TEST_CLIENT_H_
#define CASCADE_TESTS_HTTP_HTTP_TEST_CLIENT_H_

#include <simdjson.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cascade::testing_http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;  // 0: no answer; closed / timed_out / error say why
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  bool keep_alive = false;
  bool closed = false;     // the server closed the connection unanswered
  bool timed_out = false;  // nothing (complete) came within the timeout
  std::string error;

  // The value of header `name` (lower case), or "".
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

inline std::ostream& operator<<(std::ostream& os, const Response& r) {
  os << "status " << r.status;
  if (!r.error.empty()) os << " (" << r.error << ")";
  os << "\n";
  for (const auto& [name, value] : r.headers) {
    os << name << ": " << value.substr(0, 200) << "\n";
  }
  return os << r.body.substr(0, 2000);
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class Client {
 public:
  explicit Client(uint16_t port,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : port_(port), timeout_(timeout) {}
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One request on the kept-alive connection (opened on demand). `close`
  // sends `Connection: close`.
  Response Request(std::string_view method, std::string_view target,
                   std::string body = {}, const Headers& headers = {},
                   bool close = false) {
    bhttp::request<bhttp::string_body> req;
    const beast::string_view method_view(method.data(), method.size());
    const bhttp::verb verb = bhttp::string_to_verb(method_view);
    if (verb == bhttp::verb::unknown) {
      req.method_string(method_view);
    } else {
      req.method(verb);
    }
    req.target(beast::string_view(target.data(), target.size()));
    req.version(11);
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.body() = std::move(body);
    req.prepare_payload();
    if (close) req.keep_alive(false);
    return Exchange([&](auto handler) {
      bhttp::async_write(*stream_, req, std::move(handler));
    });
  }
  Response Get(std::string_view target, const Headers& headers = {}) {
    return Request("GET", target, {}, headers);
  }
  Response Post(std::string_view target, std::string body,
                const Headers& headers = {}) {
    return Request("POST", target, std::move(body), headers);
  }
  Response Delete(std::string_view target, const Headers& headers = {}) {
    return Request("DELETE", target, {}, headers);
  }

  // Sends `bytes` as they are and reads an answer meanwhile.
  Response Raw(const std::string& bytes) {
    return Exchange([&](auto handler) {
      net::async_write(*stream_, net::buffer(bytes), std::move(handler));
    });
  }

  // Only sends `bytes` (the answer, if any, is read later with Read()).
  // False when the connection or the write fails.
  bool Send(const std::string& bytes) {
    Response failure;
    if (!Connect(&failure)) return false;
    beast::error_code result;
    stream_->expires_after(timeout_);
    net::async_write(*stream_, net::buffer(bytes),
                     [&](beast::error_code ec, size_t) { result = ec; });
    Run();
    if (result) Close();
    return !result;
  }

  // Reads one answer on the open connection. With `keep_open` the
  // connection stays open even when the answer says close (to see whether
  // the server closes it).
  Response Read(bool keep_open = false) {
    Response response;
    if (!stream_) {
      response.error = "not connected";
      return response;
    }
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    StartParser(parser);
    beast::error_code read_ec;
    stream_->expires_after(timeout_);
    bhttp::async_read(*stream_, buffer_, *parser,
                      [&](beast::error_code ec, size_t) { read_ec = ec; });
    Run();
    Finish(read_ec, beast::error_code(), *parser, &response, keep_open);
    return response;
  }

  // Opens the connection now; false (with the reason) when refused.
  bool Open(std::string* error = nullptr) {
    Response failure;
    const bool ok = Connect(&failure);
    if (error != nullptr) *error = failure.error;
    return ok;
  }
  bool connected() const { return stream_.has_value(); }

  void Close() {
    if (!stream_) return;
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->close();
    stream_.reset();
    buffer_.clear();
  }

 private:
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  bool Connect(Response* response) {
    if (stream_) return true;
    stream_.emplace(ioc_);
    buffer_.clear();
    beast::error_code result;
    stream_->expires_after(timeout_);
    stream_->async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port_),
                           [&](beast::error_code ec) { result = ec; });
    Run();
    if (result) {
      response->error = "connect: " + result.message();
      response->timed_out = result == beast::error::timeout;
      stream_.reset();
      return false;
    }
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    return true;
  }

  static void StartParser(
      std::optional<bhttp::response_parser<bhttp::string_body>>& parser) {
    parser.emplace();
    parser->body_limit(std::uint64_t{256} << 20);
    parser->header_limit(1 << 20);
  }

  // Starts the write (start_write(handler)) and a read together; when the
  // answer is complete, a write still pending is cancelled.
  template <class StartWrite>
  Response Exchange(StartWrite start_write) {
    Response response;
    if (!Connect(&response)) return response;
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    StartParser(parser);
    bool write_done = false;
    bool read_done = false;
    beast::error_code write_ec;
    beast::error_code read_ec;
    stream_->expires_after(timeout_);
    start_write([&](beast::error_code ec, size_t) {
      write_done = true;
      write_ec = ec;
    });
    bhttp::async_read(*stream_, buffer_, *parser,
                      [&](beast::error_code ec, size_t) {
                        read_done = true;
                        read_ec = ec;
                        if (!write_done) {
                          beast::error_code ignored;
                          stream_->socket().cancel(ignored);
                        }
                      });
    Run();
    Finish(read_ec, write_done ? write_ec : net::error::operation_aborted,
           *parser, &response);
    return response;
  }

  void Finish(beast::error_code read_ec, beast::error_code write_ec,
              bhttp::response_parser<bhttp::string_body>& parser,
              Response* response, bool keep_open = false) {
    if (read_ec) {
      response->timed_out = read_ec == beast::error::timeout;
      response->closed = !response->timed_out;
      response->error = "read: " + read_ec.message();
      if (write_ec) response->error += "; write: " + write_ec.message();
      Close();
      return;
    }
    const auto& message = parser.get();
    response->status = static_cast<int>(message.result_int());
    response->body = message.body();
    for (const auto& field : message) {
      const beast::string_view name = field.name_string();
      const beast::string_view value = field.value();
      response->headers[Lower(std::string_view(name.data(), name.size()))] =
          std::string(value.data(), value.size());
    }
    response->keep_alive = message.keep_alive();
    if (write_ec) response->error = "write: " + write_ec.message();
    if ((!response->keep_alive && !keep_open) || write_ec) Close();
  }

  net::io_context ioc_;
  uint16_t port_;
  std::chrono::milliseconds timeout_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// A parsed JSON document; root() lives as long as the Json.
class Json {
 public:
  explicit Json(const std::string& text)
      : parser_(std::make_unique<simdjson::dom::parser>()) {
    error_ = parser_->parse(text).get(root_);
  }
  bool ok() const { return error_ == simdjson::SUCCESS; }
  std::string error() const { return simdjson::error_message(error_); }
  simdjson::dom::element root() const { return root_; }

 private:
  std::unique_ptr<simdjson::dom::parser> parser_;
  simdjson::dom::element root_;
  simdjson::error_code error_ = simdjson::SUCCESS;
};

// Field accessors; a missing field or wrong type throws simdjson_error,
// which gtest reports as a failure of the test.
inline bool Has(simdjson::dom::element e, std::string_view key) {
  return e.is_object() && e[key].error() == simdjson::SUCCESS;
}
inline double Num(simdjson::dom::element e, std::string_view key) {
  return e[key].get_double().value();
}
inline int64_t Int(simdjson::dom::element e, std::string_view key) {
  return e[key].get_int64().value();
}
inline std::string Str(simdjson::dom::element e, std::string_view key) {
  return std::string(e[key].get_string().value());
}
inline bool Bool(simdjson::dom::element e, std::string_view key) {
  return e[key].get_bool().value();
}
inline simdjson::dom::array Arr(simdjson::dom::element e,
                                std::string_view key) {
  return e[key].get_array().value();
}

// `s` as a JSON string literal, quotes included.
inline std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(kHex[(c >> 4) & 0xf]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

// One NDJSON line for POST /documents.
inline std::string DocLine(std::string_view id, std::string_view title,
                           std::string_view text) {
  return "{\"id\":" + JsonString(id) + ",\"title\":" + JsonString(title) +
         ",\"text\":" + JsonString(text) + "}\n";
}

// Percent-encodes every byte outside [A-Za-z0-9-._~].
inline std::string UrlEncode(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
        (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' ||
        u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

}  // namespace cascade::testing_http

#endif  // CASCADE_TESTS_HTTP_HTTP_TEST_CLIENT_H_
