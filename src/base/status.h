// Status and Result<T>: the one error type of libreaper.
// Codes are gRPC codes because that is what ttrpc carries (docs/protocol.md §1.10); the one
// errno -> code mapper is CodeFromErrno. Context is prepended as errors travel up:
//   Status s = ...; return s.Wrap("create t1");   // "create t1: open /x: No such file..."
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace reaper {

enum class Code : int {
  kOk = 0,
  kCanceled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

Code CodeFromErrno(int err);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }
  // "<context>: <strerror(err)>", code from CodeFromErrno.
  static Status FromErrno(int err, const std::string& context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno a FromErrno status came from (0 otherwise), for callers that must pass it on.
  int sys_errno() const { return errno_; }
  // Same code, message "<context>: <message>".
  Status Wrap(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int errno_ = 0;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}     // NOLINT: must not be OK
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define REAPER_RETURN_IF_ERROR(expr)    \
  do {                                  \
    ::reaper::Status _st = (expr);      \
    if (!_st.ok()) return _st;          \
  } while (0)

}  // namespace reaper
