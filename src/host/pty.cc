#include "host/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace reaper {

Result<Pty> OpenPty() {
  Pty p;
  p.master.reset(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master) return Status::FromErrno(errno, "posix_openpt");
  if (grantpt(p.master.get()) != 0 || unlockpt(p.master.get()) != 0) return Status::FromErrno(errno, "unlockpt");
  char name[128];
  if (ptsname_r(p.master.get(), name, sizeof name) != 0) return Status::FromErrno(errno, "ptsname");
  p.slave.reset(open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave) return Status::FromErrno(errno, std::string("open ") + name);
  return p;
}

Status SendFd(const std::string& path, int fd) {
  UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (!s || path.size() >= sizeof sa.sun_path) return Status(Code::kInvalidArgument, "bad console socket: " + path);
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    return Status::FromErrno(errno, "connect console socket " + path);
  }
  char data[] = "pty";
  iovec iov{data, sizeof data - 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(s.get(), &msg, MSG_NOSIGNAL) < 0) return Status::FromErrno(errno, "send console fd");
  return Status::Ok();
}

}  // namespace reaper
