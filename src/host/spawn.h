// The one spawn routine for every process Reaper starts: init or exec, held or not, sandbox
// placeholder or workload (docs/design.md "Spawning").
//
// The child, first of all, moves the fds it needs to 3.. and closes every other fd it
// inherited (so a held child never keeps another process's pipe open), then: default
// signal state, new session, joins the container's cgroup and mount namespace, stdio,
// chdir, umask, rlimits, oom_score_adj, bounding set, setgroups (always) / setgid / setuid,
// capabilities, no_new_privs, reports "ready", waits for Release() if held, seccomp, execve with exactly the spec's env (only
// fds 0-2 survive it). Failures and warnings travel to the parent over a CLOEXEC status pipe
// (see StatusDecoder), so a failed execve is an error the caller can report, never a silent
// exit.
//
// Spawn must be called by a single-threaded process (the child allocates before execve:
// safe only because no other thread can hold the heap's lock at fork time).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "host/mount_plan.h"
#include "host/path_masks.h"
#include "host/seccomp.h"
#include "host/oci_spec.h"
#include "base/child.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace reaper {

struct StdioFds {
  int in = -1;  // not owned; -1 means /dev/null
  int out = -1;
  int err = -1;
  bool terminal = false;  // `in` is a PTY slave: make it the controlling terminal
};

struct SpawnRequest {
  const ProcessSpec* spec = nullptr;
  StdioFds stdio;
  // The container's cgroup (not owned): the child is born in it with clone3(CLONE_INTO_CGROUP)
  // from `cgroup_dir_fd` (no migration, no window in the parent's cgroup); where the kernel
  // refuses that, it forks and the child writes "0" to `cgroup_procs_fd` first thing.
  int cgroup_dir_fd = -1;
  int cgroup_procs_fd = -1;
  bool no_clone_into_cgroup = false;  // always take the fallback (tests, old kernels)
  // Hybrid node: the `tasks` files of the container's v1 controller cgroups (not owned). The
  // child, still single-threaded, writes "0" into each as its first step: the kernel moves
  // the calling thread without the threadgroup lock, whereas moving a process by pid through
  // `cgroup.procs` waits for an RCU grace period (5-15 ms; docs/design.md "Tracking").
  std::vector<int> v1_tasks_fds;
  int join_mnt_ns = -1;      // not owned; setns(CLONE_NEWNS) into it (group or container)
  bool new_mount_ns = false; // then unshare a mount namespace of its own (a slave of the
                             // host's when join_mnt_ns is -1), attach `mounts`, apply `masks`
  const std::vector<PreparedMount>* mounts = nullptr;
  const PathMasks* masks = nullptr;
  // Privileges (docs/design.md "Privileges"): spec->capabilities (absent: unchanged) are set
  // around setuid; `seccomp` (not owned) is loaded as the last step before execve.
  const SeccompProgram* seccomp = nullptr;
  bool hold = false;         // wait for Child::Release() before execve
  int hold_fd = -1;          // or: wait for one byte on this fd (not owned; reaper-runtime's
                             // exec.fifo opened O_RDWR before any namespace is joined)
  bool placeholder = false;  // sandbox: exec `self_exe` as a do-nothing pause process
  std::string self_exe = "/proc/self/exe";
  // How the caller reaps: the shim's SIGCHLD handler (kBySigchld) or the Child (kOnDrop).
  OwnedChild::Reap reap = OwnedChild::Reap::kOnDrop;
};

// The forked child and the parent's ends of its pipes. Dropping it kills the child
// (OwnedChild); `process.Detach()` hands the pid over to whoever reaps it.
struct Child {
  OwnedChild process;
  bool born_in_cgroup = false;  // clone3(CLONE_INTO_CGROUP) was used
  UniqueFd release_w;  // held children: one byte releases them, EOF makes them exit
  UniqueFd status_r;   // status records (non-blocking); EOF after a successful execve or death
  pid_t pid() const { return process.pid(); }
  // Lets a held child go on to execve. Returns false if the child is already gone.
  bool Release();
};

// Forks the child. Returns once it is forked; readiness arrives on status_r.
Result<Child> Spawn(const SpawnRequest& req);
// Lets a held child go on: one byte on its release pipe, which is then closed. False if the
// child is already gone.
bool ReleaseHeld(UniqueFd& release_w);

// Finds args[0] the way execvp would, but with PATH from the spec's env (default
// /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin), relative to spec.cwd.
// Errors read like runc's: `exec: "foo": executable file not found in $PATH`.
// Spawn calls it in the child, inside the container's mount namespace, so binaries a pod
// installed into its overlay are found.
Result<std::string> ResolveExecutable(const ProcessSpec& spec);

// The argv[1] that makes the shim binary behave as the sandbox placeholder.
inline constexpr const char* kPauseArg = "reaper-pause";
// Body of the placeholder process: sleeps until a signal ends it. Never returns.
[[noreturn]] void PauseForever();

// Decodes the child's status records: 'R' ready, 'W' warning, 'E' error (each: kind byte,
// 16-bit little-endian length, text). Pure.
class StatusDecoder {
 public:
  struct Record {
    char kind;
    std::string text;
  };
  void Feed(const char* data, size_t n) { buf_.append(data, n); }
  std::optional<Record> Next();

 private:
  std::string buf_;
};

}  // namespace reaper
