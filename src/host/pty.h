// Pseudo-terminal allocation shared by the shim (ProcessIo) and reaper-runtime
// (--console-socket).
#pragma once

#include <string>

#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

struct Pty {
  UniqueFd master;  // O_RDWR | O_CLOEXEC | O_NOCTTY
  UniqueFd slave;   // O_RDWR | O_CLOEXEC | O_NOCTTY
};

Result<Pty> OpenPty();

// Sends `fd` over the Unix socket at `path` with SCM_RIGHTS (runc's --console-socket).
Status SendFd(const std::string& path, int fd);

}  // namespace reaper
