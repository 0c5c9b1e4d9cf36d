#include "host/private_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "host/in_root.h"

namespace reaper {
namespace {

std::string FdPath(int fd) {
  char link[64], buf[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

struct Entry {
  std::string name;
  mode_t mode = 0;
  std::string link;  // a symlink's target
  UniqueFd tree;     // a clone of the node's entry (not for symlinks)
};

// Clones the node's entry `name` of /run (the caller's current /run) before it is covered.
int Capture(int node_run, const std::string& name, std::vector<Entry>* out, const char** what) {
  Entry e;
  e.name = name;
  struct stat st{};
  if (fstatat(node_run, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : (*what = "stat /run entry", errno);
  e.mode = st.st_mode;
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(node_run, name.c_str(), target, sizeof target - 1);
    if (n < 0) return errno == ENOENT ? 0 : (*what = "read /run link", errno);
    e.link.assign(target, static_cast<size_t>(n));
  } else {
    e.tree.reset(open_tree(node_run, name.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW));
    if (!e.tree) return errno == ENOENT ? 0 : (*what = "clone /run entry", errno);
  }
  out->push_back(std::move(e));
  return 0;
}

// Puts the captured entry back at the same name in the private /run.
int Restore(int run, const Entry& e, const char** what) {
  if (S_ISLNK(e.mode)) return symlinkat(e.link.c_str(), run, e.name.c_str()) == 0 ? 0 : (*what = "copy /run link", errno);
  if (S_ISDIR(e.mode)) {
    if (mkdirat(run, e.name.c_str(), 0755) != 0) return *what = "create /run mount point", errno;
  } else {
    int f = openat(run, e.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (f < 0) return *what = "create /run mount point", errno;
    close(f);
  }
  if (move_mount(e.tree.get(), "", run, e.name.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) return *what = "bind /run entry", errno;
  return 0;
}

}  // namespace

bool CreatesInRun(int root_fd, const std::string& path) {
  UniqueFd last(OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY));
  for (size_t pos = path.find('/', 1);; pos = path.find('/', pos + 1)) {
    int fd = OpenInRoot(root_fd, path.substr(0, pos), O_PATH);
    if (fd == -ENOENT) return last && FdPath(last.get()) == "/run";
    if (fd < 0) return false;  // MakeMountPoint reports it
    last.reset(fd);
    if (pos == std::string::npos) return false;  // nothing to create
  }
}

int PrivatizeRun(const char** what) {
  std::vector<Entry> entries;
  {
    int d = open("/run", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) return *what = "list /run", errno;
    DIR* dir = fdopendir(d);
    if (!dir) {
      close(d);
      return *what = "list /run", errno;
    }
    int e = 0;
    while (dirent* ent = readdir(dir)) {
      std::string n = ent->d_name;
      if (n == "." || n == "..") continue;
      if ((e = Capture(dirfd(dir), n, &entries, what)) != 0) break;
    }
    closedir(dir);
    if (e != 0) return e;
  }
  UniqueFd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return *what = "create the private /run", errno;
  if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "64m", 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return *what = "create the private /run", errno;
  }
  UniqueFd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (!mnt) return *what = "create the private /run", errno;
  if (move_mount(mnt.get(), "", AT_FDCWD, "/run", MOVE_MOUNT_F_EMPTY_PATH) != 0) return *what = "attach the private /run", errno;
  UniqueFd run(open("/run", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!run) return *what = "open the private /run", errno;
  for (const auto& e : entries) {
    if (int err = Restore(run.get(), e, what); err != 0) return err;
  }
  return 0;
}

}  // namespace reaper
