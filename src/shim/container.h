// The shim's model of containers and their processes (docs/protocol.md §3.2). Plain data:
// the lifecycle (shim/lifecycle.h) changes it, the task service (shim/task_service.h) reads
// it to build replies. Nothing here knows the wire. Loop thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "base/reactor.h"
#include "base/unique_fd.h"
#include "host/cgroup.h"
#include "host/cgroup_limits.h"
#include "host/cgroup_set.h"
#include "host/mount_plan.h"
#include "host/oci_spec.h"
#include "host/overlay_group.h"
#include "host/spawn.h"
#include "shim/process_io.h"

namespace reaper {

struct Timestamp {
  int64_t sec = 0;
  int32_t nsec = 0;
  static Timestamp Now();
};

enum class ProcState {
  kCreating,  // forked, setting up; "created" is reported when the child says it is ready
  kCreated,   // held before execve (init) or registered (exec, pid 0)
  kStarting,  // released; "started" is reported once execve succeeded or failed
  kRunning,
  kStopped,
};

struct Process {
  std::string container_id;
  std::string exec_id;  // empty for init
  pid_t pid = 0;
  ProcState state = ProcState::kCreated;
  IoPaths paths;
  ProcessSpec spec;
  std::unique_ptr<ProcessIo> io;
  UniqueFd release_w;  // held init: one byte releases it (Child::Release)
  UniqueFd status_r;   // the child's status records, watched on the reactor until EOF
  StatusDecoder status;
  std::string spawn_error;  // from the child's 'E' record
  uint32_t exit_status = 0;
  Timestamp exited_at;
  Reactor::TimerId io_grace_timer = 0;

  bool is_init() const { return exec_id.empty(); }
  // The id TaskExit carries: the exec id, or the container id for init.
  const std::string& event_id() const { return is_init() ? container_id : exec_id; }
};

// Host protection of a container still being set up: its overlay group is being built by us
// (a helper's pipe watched on the reactor) or is locked by another process (a retry timer).
struct PendingSetup {
  GroupRef group;
  std::vector<PreparedMount> mounts;
  std::unique_ptr<GroupBuild> build;
  Reactor::TimerId retry = 0;
  int attempts = 0;
  std::chrono::steady_clock::time_point deadline;
};

struct Container {
  std::string id;
  std::string bundle;
  bool sandbox = false;
  bool paused = false;
  bool deleting = false;
  std::string group;     // overlay group key, empty without host protection
  // The Kubernetes pod and container (CRI annotations; empty for ctr tasks), for the audit log.
  std::string pod_namespace, pod_name, container_name;
  UniqueFd mnt_ns;       // the container's own mount namespace; execs join it
  unsigned long long start_time = 0;  // of init, against pid reuse in the `delete` action
  Cgroup cgroup;  // !valid() when the node has no usable cgroup2: session tracking instead
  ControllerCgroups v1;  // hybrid nodes: the v1 controller cgroups (host/cgroup_set.h)
  std::string cgroups_path;  // the spec's linux.cgroupsPath
  Resources resources;       // the spec's linux.resources, then each Update's
  UniqueFd oom_fd;           // v1 OOM eventfd or v2 inotify on memory.events, on the reactor
  uint64_t oom_kills = 0;    // oom_kill count already reported
  std::unique_ptr<PendingSetup> setup;  // set until init is forked (protection pending)
  // The spec's privileges (docs/design.md "Privileges"): init and every exec load the same
  // filter; init applies the masks in its own mount namespace, which execs join.
  std::shared_ptr<const SeccompProgram> seccomp;
  PathMasks masks;
  bool own_mnt_ns = false;  // init unshared a mount namespace (kept in mnt_ns for execs)
  std::unique_ptr<Process> init;
  std::map<std::string, std::unique_ptr<Process>> execs;
};

}  // namespace reaper
