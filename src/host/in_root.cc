#include "host/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.h"

namespace reaper {

int OpenInRoot(int root_fd, const std::string& path, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path.find_first_not_of('/') == std::string::npos ? "." : path.substr(path.find_first_not_of('/'));
  long fd;
  int tries = 0;
  do {  // EAGAIN: a concurrent rename in the tree; retried a bounded number of times
    fd = syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN && ++tries < 32);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

int MakeMountPoint(int root_fd, const std::string& path, bool is_dir) {
  int fd = OpenInRoot(root_fd, path, O_PATH);
  if (fd != -ENOENT) return fd;
  int p = OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY);
  if (p < 0) return p;
  UniqueFd parent(p);
  size_t pos = 0;  // path[pos] is the '/' before the next component
  while (true) {
    size_t next = path.find('/', pos + 1);
    bool last = next == std::string::npos;
    std::string prefix = path.substr(0, next), name = path.substr(pos + 1, last ? std::string::npos : next - pos - 1);
    int c = OpenInRoot(root_fd, prefix, O_PATH);
    if (c == -ENOENT) {
      // Created by name in the resolved parent: mkdirat and O_CREAT|O_EXCL never follow a
      // link at `name` (a dangling one fails with EEXIST and then ENOENT below).
      if (last && !is_dir) {
        int f = openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f >= 0) close(f);
        else if (errno != EEXIST) return -errno;
      } else if (mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return -errno;
      }
      c = OpenInRoot(root_fd, prefix, O_PATH);
    }
    if (c < 0 || last) return c;
    parent.reset(c);
    pos = next;
  }
}

}  // namespace reaper
