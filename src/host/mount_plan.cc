#include "host/mount_plan.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "base/paths.h"
#include "host/in_root.h"
#include "host/private_run.h"

namespace reaper {
namespace {

bool Under(const std::string& path, const char* dir) {
  size_t n = strlen(dir);
  return path.compare(0, n, dir) == 0 && (path.size() == n || path[n] == '/');
}

bool HasOption(const std::vector<std::string>& opts, const char* o) {
  return std::find(opts.begin(), opts.end(), o) != opts.end();
}

}  // namespace

Result<std::vector<BindPlan>> PlanBinds(const std::vector<MountSpec>& mounts, DnsMode dns) {
  std::vector<BindPlan> out;
  for (const auto& m : mounts) {
    bool bind = m.type == "bind" || HasOption(m.options, "bind") || HasOption(m.options, "rbind");
    if (!bind) continue;
    const std::string& d = m.destination;
    if (CleanPath(d) != d || d[0] != '/') {
      return Status(Code::kInvalidArgument, "mount destination is not a clean absolute path: " + d);
    }
    if (Under(d, "/proc") || Under(d, "/sys") || Under(d, "/dev")) continue;
    if (d == "/etc/hosts" || d == "/etc/hostname") continue;
    if (d == "/etc/resolv.conf" && dns != DnsMode::kKubernetes) continue;
    if (d == "/") return Status(Code::kInvalidArgument, "a bind mount over / is not allowed");
    if (m.source.empty() || m.source[0] != '/') {
      return Status(Code::kInvalidArgument, "bind mount source must be an absolute path: " + m.source);
    }
    BindPlan b{m.source, d};
    b.recursive_ro = HasOption(m.options, "rro");
    b.read_only = b.recursive_ro || HasOption(m.options, "ro");
    b.recursive = HasOption(m.options, "rbind") || !HasOption(m.options, "bind");
    for (const auto& o : m.options) {
      if (o == "rslave" || o == "slave") b.propagation = Propagation::kSlave;
      else if (o == "rshared" || o == "shared") b.propagation = Propagation::kShared;
      else if (o == "runbindable" || o == "unbindable") b.propagation = Propagation::kUnbindable;
      else if (o == "rprivate" || o == "private") b.propagation = Propagation::kPrivate;
    }
    out.push_back(std::move(b));
  }
  return out;
}

Result<std::vector<PreparedMount>> PrepareMounts(const std::vector<BindPlan>& plan) {
  std::vector<PreparedMount> out;
  for (const auto& b : plan) {
    struct stat st{};
    if (stat(b.source.c_str(), &st) != 0) return Status::FromErrno(errno, "mount source " + b.source);
    UniqueFd tree(open_tree(AT_FDCWD, b.source.c_str(),
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (b.recursive ? AT_RECURSIVE : 0)));
    if (!tree) return Status::FromErrno(errno, "open_tree " + b.source);
    if (b.propagation != Propagation::kShared) {  // shared: the clone stays a peer of the source
      mount_attr prop{};
      prop.propagation = b.propagation == Propagation::kSlave        ? MS_SLAVE
                         : b.propagation == Propagation::kUnbindable ? MS_UNBINDABLE
                                                                     : MS_PRIVATE;
      if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &prop, sizeof prop) != 0) {
        return Status::FromErrno(errno, "set the propagation of " + b.source);
      }
    }
    if (b.read_only) {
      mount_attr attr{};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | (b.recursive_ro ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0) {
        return Status::FromErrno(errno, "make " + b.source + " read-only");
      }
    }
    out.push_back(PreparedMount{std::move(tree), b.destination, S_ISDIR(st.st_mode)});
  }
  return out;
}

int AttachMounts(const std::vector<PreparedMount>& mounts, const int* tree_fds, const char** what,
                 const char** path) {
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    *what = "open the container's root";
    *path = "/";
    return errno;
  }
  bool run_private = false;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const PreparedMount& m = mounts[i];
    *path = m.destination.c_str();
    if (!run_private && CreatesInRun(root.get(), m.destination)) {
      // The mount point would be created on the node's /run (host/private_run.h).
      if (int e = PrivatizeRun(what); e != 0) return e;
      run_private = true;
    }
    int target = MakeMountPoint(root.get(), m.destination, m.is_dir);
    if (target < 0) {
      *what = target == -ELOOP ? "refused mount point (a /proc magic link or a symlink loop on the way):"
                               : "create mount point";
      return -target;
    }
    UniqueFd t(target);
    if (move_mount(tree_fds[i], "", t.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
      *what = "attach volume";
      return errno;
    }
  }
  return 0;
}

}  // namespace reaper
