#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace reaper {

Code CodeFromErrno(int err) {
  switch (err) {
    case 0: return Code::kOk;
    case ENOENT:
    case ESRCH: return Code::kNotFound;
    case EEXIST: return Code::kAlreadyExists;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOTDIR:
    case E2BIG: return Code::kInvalidArgument;
    case EPERM:
    case EACCES: return Code::kPermissionDenied;
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOSPC: return Code::kResourceExhausted;
    case ETIMEDOUT: return Code::kDeadlineExceeded;
    case ENOSYS:
    case EOPNOTSUPP: return Code::kUnimplemented;
    default: return Code::kUnknown;
  }
}

Status Status::FromErrno(int err, const std::string& context) {
  Status st(CodeFromErrno(err), context + ": " + std::strerror(err));
  st.errno_ = err;
  return st;
}

Status Status::Wrap(const std::string& context) const {
  if (ok()) return *this;
  Status st(code_, context + ": " + message_);
  st.errno_ = errno_;
  return st;
}

}  // namespace reaper
