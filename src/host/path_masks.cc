#include "host/path_masks.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace reaper {
namespace {

class Fd {  // child side: no allocation, closes on scope exit
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int OpenInRoot(int root, const char* path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, root, path, &how, sizeof how));
}

int Attach(int tree, int target) {
  if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) return errno;
  return 0;
}

int MaskDir(int target) {
  Fd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (fs.get() < 0) return errno;
  if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "4k", 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0555", 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return errno;
  }
  Fd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC,
                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (mnt.get() < 0) return errno;
  return Attach(mnt.get(), target);
}

int MaskFile(int root, int target) {
  Fd tree(open_tree(root, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (tree.get() < 0) return errno;
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
  if (mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) return errno;
  return Attach(tree.get(), target);
}

int ReadOnly(int target) {
  Fd tree(open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (tree.get() < 0) return errno;
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) return errno;
  return Attach(tree.get(), target);
}

}  // namespace

int ApplyPathMasks(const PathMasks& m, const char** what, const char** path) {
  *path = "/";
  *what = "open the container's root";
  Fd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return errno;
  for (int pass = 0; pass < 2; ++pass) {
    const auto& list = pass == 0 ? m.masked : m.readonly;
    for (const auto& p : list) {
      *path = p.c_str();
      *what = pass == 0 ? "masked path: resolve" : "read-only path: resolve";
      Fd target(OpenInRoot(root.get(), p.c_str()));
      if (target.get() < 0) {
        if (errno == ENOENT) continue;  // as runc: nothing to hide
        return errno;
      }
      struct stat st{};
      if (fstat(target.get(), &st) != 0) return errno;
      int e = 0;
      if (pass == 0) {
        *what = "masked path: mount over";
        e = S_ISDIR(st.st_mode) ? MaskDir(target.get()) : MaskFile(root.get(), target.get());
      } else {
        *what = "read-only path: bind read-only";
        e = ReadOnly(target.get());
      }
      if (e != 0) return e;
    }
  }
  if (m.root_readonly) {
    *path = "/";
    *what = "make the root filesystem read-only";
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(root.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) return errno;
  }
  return 0;
}

}  // namespace reaper
