#include "host/overlay_group.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/files.h"
#include "base/remove_tree.h"
#include "host/in_root.h"
#include "host/oci_spec.h"
#include "base/log.h"
#include "base/sha256.h"

namespace reaper {
namespace {

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool IsNamespaceName(const std::string& s) {  // containerd's identifier rule
  if (s.empty() || s.size() > 76) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

bool IsMountNsFile(int fd) {
  struct statfs sf{};
  return fstatfs(fd, &sf) == 0 && sf.f_type == NSFS_MAGIC && ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNS;
}

bool IsMountPoint(const std::string& path) {
  auto mi = ReadFile("/proc/self/mountinfo");
  if (!mi.ok()) return false;
  for (auto line : SplitFields(*mi, "\n")) {
    auto f = SplitFields(line);
    if (f.size() > 4 && f[4] == path) return true;
  }
  return false;
}

bool IsMountRoot(const std::string& path) {
  struct statx sx{};
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, 0, &sx) == 0 && (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  return IsMountPoint(path);  // kernels before 5.8
}

// <state_root>/ns holds the nsfs files; it must be a private mount so that binding a
// namespace there cannot propagate anywhere (as `ip netns` does for /run/netns). Checked on
// every group creation (one statx): another process may have unmounted it since.
Status EnsurePrivateNsDir(const std::string& dir) {
  REAPER_RETURN_IF_ERROR(MkdirAll(dir, 0700));
  if (IsMountRoot(dir)) return Status::Ok();
  if (mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) return Status::FromErrno(errno, "bind " + dir);
  if (mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    return Status::FromErrno(errno, "make " + dir + " private");
  }
  return Status::Ok();
}

// Locks `path` (created 0600) with `op` (LOCK_SH/LOCK_EX, maybe | LOCK_NB). An invalid fd
// with errno EWOULDBLOCK when busy. The lock file of a group may be renamed away by a
// removal between open and flock: then the lock is retaken on the new file.
UniqueFd LockFile(const std::string& path, int op, bool create = true) {
  for (;;) {
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600));
    if (!fd) return fd;
    int r;
    while ((r = flock(fd.get(), op)) != 0 && errno == EINTR) {
    }
    if (r != 0) return UniqueFd();
    struct stat a{}, b{};
    if (fstat(fd.get(), &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      return fd;
    }
    if (!create) {
      errno = ENOENT;
      return UniqueFd();
    }
  }
}

Status CreateUserFile(const std::string& path) {
  REAPER_RETURN_IF_ERROR(MkdirAll(path.substr(0, path.rfind('/')), 0700));
  UniqueFd f(open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!f) return Status::FromErrno(errno, "register group user " + path.substr(path.rfind('/') + 1));
  return Status::Ok();
}

// Host mounts other than / that pods would otherwise see as empty directories.
std::vector<std::string> OtherHostFilesystems(const std::string& state_root) {
  std::vector<std::string> out;
  auto mi = ReadFile("/proc/self/mountinfo");
  if (!mi.ok()) return out;
  const char* skip[] = {"/proc", "/sys", "/dev", "/run"};
  for (auto line : SplitFields(*mi, "\n")) {
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto f = SplitFields(line.substr(0, sep));
    auto t = SplitFields(line.substr(sep + 3));
    if (f.size() < 5 || t.empty()) continue;
    std::string mp(f[4]);
    if (mp == "/" || mp.find_first_of(",:\\") != std::string::npos) continue;
    if (t[0] == "autofs" || t[0] == "nsfs") continue;
    bool skipped = false;
    for (const char* s : skip) {
      size_t n = strlen(s);
      if (mp.compare(0, n, s) == 0 && (mp.size() == n || mp[n] == '/')) skipped = true;
    }
    if (mp.compare(0, state_root.size(), state_root) == 0) skipped = true;
    if (!skipped && std::find(out.begin(), out.end(), mp) == out.end()) out.push_back(mp);
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return std::count(a.begin(), a.end(), '/') < std::count(b.begin(), b.end(), '/');
  });
  return out;
}

// An overlay's root directory takes its owner and mode from the upper directory: give the
// upper the lower's, or "/" would be 0700 and closed to non-root users.
bool MatchRoot(const std::string& lower, const std::string& upper) {
  struct stat st{};
  if (stat(lower.c_str(), &st) != 0) return false;
  return chmod(upper.c_str(), st.st_mode & 07777) == 0 && chown(upper.c_str(), st.st_uid, st.st_gid) == 0;
}

[[noreturn]] void HelperFail(int fd, const std::string& what) {
  std::string msg = what + ": " + strerror(errno);
  ssize_t r = write(fd, msg.data(), msg.size());
  (void)r;
  _exit(1);
}

// Runs in the forked helper: builds the namespace, reports "R", waits until the parent has
// bound it, exits.
[[noreturn]] void BuildNamespace(const NodeConfig& cfg, const std::string& gdir, int report, int go) {
  std::string merged = gdir + "/merged", upper = gdir + "/upper", work = gdir + "/work";
  if (unshare(CLONE_NEWNS) != 0) HelperFail(report, "unshare");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) HelperFail(report, "make / private");
  if (cfg.overlay_size != 0) {
    // The group's writable layers (upper, work, other filesystems' uppers) on a tmpfs of
    // their own, mounted only in this namespace: a full group gets ENOSPC, no other group or
    // the host notices, and the memory is freed when the namespace goes.
    std::string o = "size=" + std::to_string(cfg.overlay_size) + ",mode=0700";
    if (mount("tmpfs", gdir.c_str(), "tmpfs", 0, o.c_str()) != 0) HelperFail(report, "mount size-limited tmpfs on " + gdir);
  }
  for (const auto& d : {merged, upper, work}) {
    if (!MkdirAll(d, 0700).ok()) HelperFail(report, "mkdir " + d);
  }
  if (!MatchRoot("/", upper)) HelperFail(report, "set mode of " + upper);
  std::string opts = "lowerdir=/,upperdir=" + upper + ",workdir=" + work;
  if (mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) HelperFail(report, "mount overlay on " + merged);
  if (cfg.host_filesystems == HostFilesystems::kOverlay) {
    for (const auto& mp : OtherHostFilesystems(cfg.state_root)) {
      std::string base = gdir + "/fs/" + Sha256Hex(mp).substr(0, 16);
      std::string target = merged + mp;
      struct stat st{};
      if (stat(target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
      if (!MkdirAll(base + "/upper", 0700).ok() || !MkdirAll(base + "/work", 0700).ok()) continue;
      if (!MatchRoot(mp, base + "/upper")) continue;
      std::string o = "lowerdir=" + mp + ",upperdir=" + base + "/upper,workdir=" + base + "/work";
      if (mount("overlay", target.c_str(), "overlay", 0, o.c_str()) != 0) {
        // Not every filesystem can be an overlay lower; it then stays hidden (an empty dir).
        continue;
      }
    }
  }
  for (const char* d : {"/proc", "/sys", "/dev", "/run"}) {
    std::string target = merged + d;
    if (cfg.proc_hidepid && std::string_view(d) == "/proc") {
      // A procfs of its own (Linux >= 5.8: options per mount): other users' processes are
      // invisible to non-root pods, and with them their command lines, environments, roots.
      if (mount("proc", target.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") != 0) {
        HelperFail(report, "mount /proc with hidepid=invisible (proc_hidepid)");
      }
      continue;
    }
    if (mount(d, target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) HelperFail(report, std::string("bind ") + d);
    // Host mounts appearing later (kubelet volumes, /run/netns...) propagate in, never out.
    if (mount(nullptr, target.c_str(), nullptr, MS_REC | MS_SLAVE, nullptr) != 0) {
      HelperFail(report, std::string("make ") + d + " slave");
    }
  }
  if (chdir(merged.c_str()) != 0) HelperFail(report, "chdir " + merged);
  if (syscall(SYS_pivot_root, ".", ".") != 0) HelperFail(report, "pivot_root");
  if (umount2(".", MNT_DETACH) != 0) HelperFail(report, "detach old root");
  if (chdir("/") != 0) HelperFail(report, "chdir /");
  // Masked paths: resolved inside the overlay (host/in_root.h), so a link is followed to its
  // target there and masks that (never a path outside the view; a /proc magic link fails the
  // group), and the mask is attached by fd.
  std::string empty_file = cfg.state_root + "/mask/empty", empty_dir = cfg.state_root + "/mask/emptydir";
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) HelperFail(report, "open the overlay's root");
  for (const auto& p : cfg.masked_paths) {
    int t = OpenInRoot(root.get(), p, O_PATH);
    if (t == -ENOENT) continue;
    if (t < 0) {
      errno = -t;
      HelperFail(report, "mask " + p + " (resolved inside the overlay)");
    }
    UniqueFd target(t);
    struct stat st{};
    if (fstat(target.get(), &st) != 0) HelperFail(report, "mask " + p);
    const std::string& src = S_ISDIR(st.st_mode) ? empty_dir : empty_file;
    UniqueFd tree(open_tree(AT_FDCWD, src.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!tree) HelperFail(report, "mask " + p + ": clone " + src);
    mount_attr ro{};
    ro.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    if (mount_setattr(tree.get(), "", AT_EMPTY_PATH, &ro, sizeof ro) != 0) HelperFail(report, "mask " + p + ": read-only");
    if (move_mount(tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
      HelperFail(report, "mask " + p);
    }
  }
  // Pods must not reach other groups' upper layers through the host's state root.
  mount("tmpfs", cfg.state_root.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0500");
  if (write(report, "R", 1) != 1) _exit(1);
  char c;
  ssize_t n = read(go, &c, 1);
  _exit(n == 1 ? 0 : 1);
}

// Forks the helper that builds the group's namespace (BuildNamespace). Its fds: the report
// pipe's write end and the go pipe's read end, nothing else of the caller's.
Result<OwnedChild> ForkHelper(const NodeConfig& cfg, const std::string& gdir, OwnedChild::Reap reap,
                              UniqueFd* report_r, UniqueFd* go_w) {
  // The mask sources, on the host, before the helper pivots into the overlay.
  REAPER_RETURN_IF_ERROR(MkdirAll(cfg.state_root + "/mask/emptydir", 0555));
  chmod((cfg.state_root + "/mask/emptydir").c_str(), 0555);
  UniqueFd ef(open((cfg.state_root + "/mask/empty").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444));
  if (!ef) return Status::FromErrno(errno, "create mask file");
  int rp[2], gp[2];
  if (pipe2(rp, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  UniqueFd rr(rp[0]), report_w(rp[1]);
  if (pipe2(gp, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
  UniqueFd go_r(gp[0]), gw(gp[1]);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    int w = report_w.get(), g = go_r.get();
    // The parent's ends, the group lock and everything else the parent holds are closed.
    if (!KeepOnlyFds({&w, &g})) _exit(1);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, nullptr);
    BuildNamespace(cfg, gdir, w, g);
  }
  fcntl(rr.get(), F_SETFL, O_NONBLOCK);
  *report_r = std::move(rr);
  *go_w = std::move(gw);
  return OwnedChild(pid, reap);
}
}  // namespace

Result<GroupRef> ResolveGroup(const NodeConfig& cfg, const std::map<std::string, std::string>& a,
                              const std::string& containerd_ns, const std::string& origin) {
  if (cfg.overlay == OverlayMode::kNode) return GroupRef{"node"};
  auto get = [&](std::string_view k) {
    auto it = a.find(std::string(k));
    return it == a.end() ? std::string() : it->second;
  };
  std::string kns = get(kAnnotationSandboxNamespace);
  std::string name = get(kAnnotationOverlayName);
  if (!name.empty() && !IsDnsLabel(name)) {
    return Status(Code::kInvalidArgument, "annotation reaper.runtime/overlay-name must be a DNS label: " + name);
  }
  if (!kns.empty()) {
    if (!IsDnsLabel(kns)) return Status(Code::kInvalidArgument, "invalid Kubernetes namespace: " + kns);
    return GroupRef{"k8s-" + kns + (name.empty() ? "" : "." + name)};
  }
  if (!IsNamespaceName(containerd_ns)) return Status(Code::kInvalidArgument, "invalid namespace: " + containerd_ns);
  return GroupRef{origin + "-" + containerd_ns + (name.empty() ? "" : "+" + name)};
}

std::string GroupDir(const NodeConfig& cfg, const std::string& key) { return cfg.state_root + "/groups/" + key; }
std::string GroupNsPath(const NodeConfig& cfg, const std::string& key) { return cfg.state_root + "/ns/" + key; }

GroupBuild::GroupBuild(std::string key, std::string ns_path, UniqueFd lock, OwnedChild helper,
                       UniqueFd report_r, UniqueFd go_w)
    : key_(std::move(key)),
      ns_path_(std::move(ns_path)),
      lock_(std::move(lock)),
      helper_(std::move(helper)),
      report_r_(std::move(report_r)),
      go_w_(std::move(go_w)) {}

GroupBuild::~GroupBuild() = default;  // kills an unfinished helper; closing lock_ unlocks

Result<UniqueFd> GroupBuild::Finish() {
  char buf[512];
  for (;;) {
    ssize_t n = read(report_r_.get(), buf, sizeof buf);
    if (n > 0) {
      msg_.append(buf, static_cast<size_t>(n));
      if (msg_ == "R") break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Status(Code::kUnavailable, "overlay group " + key_ + " is being created");
    break;  // EOF: the helper failed (its message is in msg_) or died
  }
  if (msg_ != "R") {
    return Status(Code::kInternal, "create overlay group " + key_ + ": " + (msg_.empty() ? "helper died" : msg_));
  }
  Status st;
  UniqueFd f(open(ns_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  std::string src = "/proc/" + std::to_string(helper_.pid()) + "/ns/mnt";
  if (!f || mount(src.c_str(), ns_path_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    st = Status::FromErrno(errno, "bind " + src + " to " + ns_path_);
  }
  ssize_t w = write(go_w_.get(), "g", 1);  // the helper exits; it is reaped like any child
  (void)w;
  go_w_.reset();
  if (!st.ok()) return st;
  UniqueFd ns(open(ns_path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns || !IsMountNsFile(ns.get())) return Status(Code::kInternal, "overlay group " + key_ + " has no namespace");
  if (!user_file_.empty()) REAPER_RETURN_IF_ERROR(CreateUserFile(user_file_));  // still under the group's lock
  return ns;
}

Result<GroupAttempt> TryOpenGroup(const NodeConfig& cfg, const GroupRef& g, OwnedChild::Reap reap,
                                  const std::string& user) {
  std::string gdir = GroupDir(cfg, g.key), ns_path = GroupNsPath(cfg, g.key);
  GroupAttempt out;
  auto enroll = [&](UniqueFd ns) -> Result<GroupAttempt> {
    if (!user.empty()) REAPER_RETURN_IF_ERROR(AddGroupUser(cfg, g.key, user));
    out.ns = std::move(ns);
    return std::move(out);
  };
  // Fast path: a bound namespace file is only ever replaced or removed under the exclusive
  // lock; the shared lock makes "it exists" and "we are its user" one step for a removal.
  {
    UniqueFd shared = LockFile(gdir + "/lock", LOCK_SH | LOCK_NB, /*create=*/false);
    if (!shared && errno == EWOULDBLOCK) return out;  // being created or removed right now
    if (shared) {
      UniqueFd ns(open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (ns && IsMountNsFile(ns.get())) return enroll(std::move(ns));
    }
  }
  REAPER_RETURN_IF_ERROR(MkdirAll(gdir, 0700));
  // Held (shared) until the namespace is bound: the ns directory is not unmounted meanwhile.
  UniqueFd ns_dir_lock = LockFile(cfg.state_root + "/ns.lock", LOCK_SH | LOCK_NB);
  if (!ns_dir_lock) {
    if (errno == EWOULDBLOCK) return out;
    return Status::FromErrno(errno, "lock " + cfg.state_root + "/ns.lock");
  }
  REAPER_RETURN_IF_ERROR(EnsurePrivateNsDir(cfg.state_root + "/ns"));
  UniqueFd lock = LockFile(gdir + "/lock", LOCK_EX | LOCK_NB);
  if (!lock) {
    if (errno == EWOULDBLOCK) return out;  // busy: created or removed elsewhere right now
    return Status::FromErrno(errno, "lock " + gdir);
  }
  UniqueFd ns(open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (ns && IsMountNsFile(ns.get())) return enroll(std::move(ns));  // created meanwhile
  log::Info("creating overlay group", {{"group", g.key}});
  UniqueFd report_r, go_w;
  auto helper = ForkHelper(cfg, gdir, reap, &report_r, &go_w);
  if (!helper.ok()) return helper.status();
  out.build = std::make_unique<GroupBuild>(g.key, ns_path, std::move(lock), std::move(*helper),
                                           std::move(report_r), std::move(go_w));
  out.build->Enrol(std::move(ns_dir_lock), user.empty() ? std::string() : gdir + "/users/" + user);
  return out;
}

Result<UniqueFd> EnsureGroup(const NodeConfig& cfg, const GroupRef& g, const std::string& user) {
  for (;;) {
    auto attempt = TryOpenGroup(cfg, g, OwnedChild::Reap::kOnDrop, user);
    if (!attempt.ok()) return attempt.status();
    if (attempt->ns) return std::move(attempt->ns);
    if (attempt->build) {
      for (;;) {
        pollfd p{attempt->build->fd(), POLLIN, 0};
        if (poll(&p, 1, -1) < 0 && errno != EINTR) return Status::FromErrno(errno, "poll");
        auto ns = attempt->build->Finish();
        if (ns.ok() || ns.status().code() != Code::kUnavailable) return ns;
      }
    }
    // Busy: wait for whoever holds the lock (this caller may block), then look again.
    UniqueFd lock = LockFile(GroupDir(cfg, g.key) + "/lock", LOCK_EX);
    if (!lock) return Status::FromErrno(errno, "lock group " + g.key);
    lock.reset();
    UniqueFd ns_lock = LockFile(cfg.state_root + "/ns.lock", LOCK_EX);
    if (!ns_lock) return Status::FromErrno(errno, "lock " + cfg.state_root + "/ns.lock");
  }
}

Status AddGroupUser(const NodeConfig& cfg, const std::string& key, const std::string& user) {
  return CreateUserFile(GroupDir(cfg, key) + "/users/" + user);
}

void RemoveGroupUser(const NodeConfig& cfg, const std::string& key, const std::string& user) {
  unlink((GroupDir(cfg, key) + "/users/" + user).c_str());
}

std::vector<GroupInfo> ListGroups(const NodeConfig& cfg) {
  std::vector<GroupInfo> out;
  DIR* d = opendir((cfg.state_root + "/groups").c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    GroupInfo g;
    g.key = e->d_name;
    UniqueFd ns(open(GroupNsPath(cfg, g.key).c_str(), O_RDONLY | O_CLOEXEC));
    g.active = ns && IsMountNsFile(ns.get());
    // Idle since the last change of its users: the users directory's mtime (or the group
    // directory's, when no container ever registered).
    struct stat st{};
    if (stat((GroupDir(cfg, g.key) + "/users").c_str(), &st) == 0 || stat(GroupDir(cfg, g.key).c_str(), &st) == 0) {
      g.idle_since = st.st_mtim.tv_sec;
    }
    if (DIR* u = opendir((GroupDir(cfg, g.key) + "/users").c_str())) {
      while (dirent* ue = readdir(u)) {
        if (ue->d_name[0] != '.') g.users.emplace_back(ue->d_name);
      }
      closedir(u);
    }
    out.push_back(std::move(g));
  }
  closedir(d);
  std::sort(out.begin(), out.end(), [](const GroupInfo& a, const GroupInfo& b) { return a.key < b.key; });
  return out;
}

Result<std::string> DetachGroup(const NodeConfig& cfg, const std::string& key, bool force, bool block) {
  bool clean = !key.empty() && key[0] != '.' && std::all_of(key.begin(), key.end(), [](char c) {
    return isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '+';
  });
  if (!clean) {
    return Status(Code::kInvalidArgument, "invalid group: " + key);
  }
  std::string gdir = GroupDir(cfg, key);
  if (access(gdir.c_str(), F_OK) != 0) return Status::FromErrno(errno, "group " + key);
  UniqueFd lock = LockFile(gdir + "/lock", LOCK_EX | (block ? 0 : LOCK_NB));
  if (!lock) {
    if (errno == EWOULDBLOCK) return Status(Code::kUnavailable, "group " + key + " is locked by another process");
    return Status::FromErrno(errno, "lock " + gdir);
  }
  for (const auto& g : ListGroups(cfg)) {
    if (g.key == key && !g.users.empty() && !force) {
      return Status(Code::kFailedPrecondition, "group " + key + " is used by " + std::to_string(g.users.size()) +
                                                   " container(s), e.g. " + g.users[0]);
    }
  }
  std::string ns_path = GroupNsPath(cfg, key);
  if (umount2(ns_path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Status::FromErrno(errno, "unmount " + ns_path);
  }
  unlink(ns_path.c_str());
  // Under the lock only the rename: the (possibly long) removal of the upper layer runs
  // after it is released, so creating the group again never waits for it.
  std::string trash_dir = cfg.state_root + "/trash";
  REAPER_RETURN_IF_ERROR(MkdirAll(trash_dir, 0700));
  std::string trash = trash_dir + "/" + key + "." + std::to_string(getpid()) + "." + std::to_string(time(nullptr));
  if (rename(gdir.c_str(), trash.c_str()) != 0) return Status::FromErrno(errno, "move " + gdir + " aside");
  return trash;
}

Status ReleaseNsDirIfUnused(const NodeConfig& cfg, bool block) {
  UniqueFd lock = LockFile(cfg.state_root + "/ns.lock", LOCK_EX | (block ? 0 : LOCK_NB));
  if (!lock) {
    if (errno == EWOULDBLOCK) return Status::Ok();  // a group is being created: it is needed
    return Status::FromErrno(errno, "lock " + cfg.state_root + "/ns.lock");
  }
  if (!ListGroups(cfg).empty()) return Status::Ok();
  std::string dir = cfg.state_root + "/ns";
  // Not MNT_DETACH: a namespace still bound there (EBUSY) keeps the directory mounted.
  if (umount2(dir.c_str(), 0) != 0 && errno != EINVAL && errno != ENOENT) {
    return Status::FromErrno(errno, "unmount " + dir);
  }
  rmdir(dir.c_str());
  return Status::Ok();
}

Status RemoveGroup(const NodeConfig& cfg, const std::string& key, bool force) {
  auto trash = DetachGroup(cfg, key, force, /*block=*/true);
  if (!trash.ok()) return trash.status();
  REAPER_RETURN_IF_ERROR(RemoveTree(*trash).Wrap("remove group " + key));
  return ReleaseNsDirIfUnused(cfg, /*block=*/true);
}

}  // namespace reaper
