#include "base/remove_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/unique_fd.h"

namespace reaper {
namespace {

constexpr int kMaxDepth = 64;  // deeper directories are renamed up to the top level

struct Entry {
  bool dir = false;
  uint64_t mount = 0;  // mount id (statx STATX_MNT_ID), or st_dev where the kernel has none
};

std::optional<Entry> Inspect(int dirfd, const char* name) {
  struct statx sx{};
  if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_MNT_ID, &sx) != 0) {
    return std::nullopt;
  }
  Entry e;
  e.dir = S_ISDIR(sx.stx_mode);
  e.mount = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id
                                          : (uint64_t{sx.stx_dev_major} << 32 | sx.stx_dev_minor);
  return e;
}

class Remover {
 public:
  Remover(int root_fd, uint64_t mount, std::string root) : root_fd_(root_fd), mount_(mount), root_(std::move(root)) {}

  // Empties the directory `dfd` (at `depth` below the root). False with status_ set on error.
  bool Empty(int dfd, int depth, const std::string& where) {
    std::vector<std::string> names;
    {
      int copy = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
      if (copy < 0) return Fail(errno, "open " + where);
      DIR* d = fdopendir(copy);
      if (!d) {
        close(copy);
        return Fail(errno, "read " + where);
      }
      rewinddir(d);  // the copy shares its offset with `dfd`, which an earlier pass read
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(std::move(n));
      }
      closedir(d);
    }
    for (const auto& n : names) {
      std::string path = where + "/" + n;
      auto e = Inspect(dfd, n.c_str());
      if (!e) {
        if (errno == ENOENT) continue;
        return Fail(errno, "stat " + path);
      }
      if (e->mount != mount_) {
        status_ = Status(Code::kFailedPrecondition, "not removing " + path + ": it is a mount point");
        return false;
      }
      if (!e->dir) {
        if (unlinkat(dfd, n.c_str(), 0) != 0 && errno != ENOENT) return Fail(errno, "remove " + path);
        continue;
      }
      if (depth >= kMaxDepth) {
        // Move the subtree to the top: the next pass over the root removes it.
        int rc;
        do {  // a name left by an earlier, interrupted removal is skipped
          std::string moved = ".reaper-rm-" + std::to_string(++moved_);
          rc = renameat2(dfd, n.c_str(), root_fd_, moved.c_str(), RENAME_NOREPLACE);
        } while (rc != 0 && errno == EEXIST);
        if (rc != 0) return Fail(errno, "move " + path);
        more_ = true;
        continue;
      }
      UniqueFd child(openat(dfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) {
        if (errno == ENOENT) continue;
        return Fail(errno, "open " + path);
      }
      if (!Empty(child.get(), depth + 1, path)) return false;
      child.reset();
      if (unlinkat(dfd, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return Fail(errno, "remove " + path);
    }
    return true;
  }

  bool EmptyRoot() {
    do {
      more_ = false;
      if (!Empty(root_fd_, 0, root_)) return false;
    } while (more_);
    return true;
  }
  const Status& status() const { return status_; }

 private:
  bool Fail(int err, const std::string& what) {
    status_ = Status::FromErrno(err, what);
    return false;
  }
  int root_fd_;
  uint64_t mount_;
  std::string root_;
  bool more_ = false;
  int moved_ = 0;
  Status status_;
};

}  // namespace

Status RemoveTree(const std::string& path) {
  if (path.empty() || path == "/") return Status(Code::kInvalidArgument, "refusing to remove \"" + path + "\"");
  std::string parent = path.substr(0, path.find_last_of('/'));
  std::string base = path.substr(path.find_last_of('/') + 1);
  if (parent.empty()) parent = "/";
  if (base.empty() || base == "." || base == "..") return Status(Code::kInvalidArgument, "refusing to remove " + path);
  UniqueFd pfd(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!pfd) return errno == ENOENT ? Status::Ok() : Status::FromErrno(errno, "open " + parent);
  auto top = Inspect(pfd.get(), base.c_str());
  if (!top) return errno == ENOENT ? Status::Ok() : Status::FromErrno(errno, "stat " + path);
  if (!top->dir) {
    if (unlinkat(pfd.get(), base.c_str(), 0) != 0 && errno != ENOENT) return Status::FromErrno(errno, "remove " + path);
    return Status::Ok();
  }
  auto parent_entry = Inspect(pfd.get(), ".");
  if (parent_entry && parent_entry->mount != top->mount) {
    return Status(Code::kFailedPrecondition, "not removing " + path + ": it is a mount point");
  }
  UniqueFd root(openat(pfd.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return Status::FromErrno(errno, "open " + path);
  Remover r(root.get(), top->mount, path);
  if (!r.EmptyRoot()) return r.status();
  root.reset();
  if (unlinkat(pfd.get(), base.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Status::FromErrno(errno, "remove " + path);
  }
  return Status::Ok();
}

}  // namespace reaper
