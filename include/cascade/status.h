// Status and Result<T>: how every fallible call in Cascade reports failure.
//
// Library code never throws across its API and never prints. A function that
// can fail returns Status (no value) or Result<T> (a value or a Status). Both
// are [[nodiscard]]; a Status dropped on purpose is written `.IgnoreError()`
// so that grep finds every such place.
//
// Thread-safety: Status and Result are values; distinct objects may be used
// from distinct threads, a shared one only for reading.
#ifndef CASCADE_STATUS_H_
#define CASCADE_STATUS_H_

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cascade {

class [[nodiscard]] Status {
 public:
  // Persisted nowhere, but mapped to exit codes and HTTP codes in one place
  // each; add new codes at the end.
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,
    kCorruption,
    kIOError,
    kNotSupported,
    kAlreadyExists,
    kResourceExhausted,
    kDeadlineExceeded,
    kUnavailable,
    kInternal,
  };

  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg, std::string_view detail = {}) {
    return Status(Code::kNotFound, msg, detail);
  }
  static Status InvalidArgument(std::string_view msg,
                                std::string_view detail = {}) {
    return Status(Code::kInvalidArgument, msg, detail);
  }
  static Status Corruption(std::string_view msg, std::string_view detail = {}) {
    return Status(Code::kCorruption, msg, detail);
  }
  static Status IOError(std::string_view msg, std::string_view detail = {}) {
    return Status(Code::kIOError, msg, detail);
  }
  static Status NotSupported(std::string_view msg,
                             std::string_view detail = {}) {
    return Status(Code::kNotSupported, msg, detail);
  }
  static Status AlreadyExists(std::string_view msg,
                              std::string_view detail = {}) {
    return Status(Code::kAlreadyExists, msg, detail);
  }
  static Status ResourceExhausted(std::string_view msg,
                                  std::string_view detail = {}) {
    return Status(Code::kResourceExhausted, msg, detail);
  }
  static Status DeadlineExceeded(std::string_view msg,
                                 std::string_view detail = {}) {
    return Status(Code::kDeadlineExceeded, msg, detail);
  }
  static Status Unavailable(std::string_view msg,
                            std::string_view detail = {}) {
    return Status(Code::kUnavailable, msg, detail);
  }
  static Status Internal(std::string_view msg, std::string_view detail = {}) {
    return Status(Code::kInternal, msg, detail);
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsNotSupported() const { return code_ == Code::kNotSupported; }

  // The message alone ("read postings: <detail>").
  const std::string& message() const { return message_; }
  // "<Code name>: <message>", or "OK".
  std::string ToString() const {
    if (ok()) return "OK";
    std::string out(CodeName(code_));
    out.append(": ");
    out.append(message_);
    return out;
  }
  static std::string_view CodeName(Code code) {
    switch (code) {
      case Code::kOk: return "OK";
      case Code::kNotFound: return "Not found";
      case Code::kInvalidArgument: return "Invalid argument";
      case Code::kCorruption: return "Corruption";
      case Code::kIOError: return "IO error";
      case Code::kNotSupported: return "Not supported";
      case Code::kAlreadyExists: return "Already exists";
      case Code::kResourceExhausted: return "Resource exhausted";
      case Code::kDeadlineExceeded: return "Deadline exceeded";
      case Code::kUnavailable: return "Unavailable";
      case Code::kInternal: return "Internal error";
    }
    return "Unknown";
  }

  // Marks a Status as deliberately ignored.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string_view msg, std::string_view detail)
      : code_(code), message_(msg) {
    if (!detail.empty()) {
      message_.append(": ");
      message_.append(detail);
    }
  }

  Code code_ = Code::kOk;
  std::string message_;
};

// Holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : data_(value) {}  // NOLINT(runtime/explicit)
  Result(T&& value) : data_(std::move(value)) {}  // NOLINT(runtime/explicit)
  Result(Status status) : data_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(data_).ok() && "Result built from OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(data_); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace cascade

#define CASCADE_STATUS_CONCAT_INNER_(a, b) a##b
#define CASCADE_STATUS_CONCAT_(a, b) CASCADE_STATUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function when `expr` is not OK.
#define CASCADE_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::cascade::Status cascade_status_ = (expr);  \
    if (!cascade_status_.ok()) return cascade_status_; \
  } while (0)

// `lhs = value of expr` or return its Status. `lhs` may declare a variable.
#define CASCADE_ASSIGN_OR_RETURN(lhs, expr) \
  CASCADE_ASSIGN_OR_RETURN_IMPL_(CASCADE_STATUS_CONCAT_(cascade_result_, __LINE__), lhs, expr)
#define CASCADE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

#endif  // CASCADE_STATUS_H_
