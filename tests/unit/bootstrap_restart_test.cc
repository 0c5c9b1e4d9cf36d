// What containerd 2.x relies on after it restarts and on every stats poll
// (docs/protocol.md §3.3, §3.7, §2.7): Pids lists every live process of a container (it deletes
// app containers that report none), a Shutdown on one container's connection never stops a
// grouped shim that still serves others, and Stats answers NotFound, never an empty message.
// The real daemon, driven over ttrpc.
#include <gtest/gtest.h>

#include <set>

#include "base/files.h"
#include "shim_fixture.h"

namespace reaper {
namespace {

std::string ShArgs(const std::string& script) { return nlohmann::json::array({"/bin/sh", "-c", script}).dump(); }

// One line from a non-blocking fd, without the newline; waits up to 10 s for it.
std::string ReadLine(int fd) {
  std::string line;
  char ch;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = read(fd, &ch, 1);
    if (n == 1 && ch == '\n') return line;
    if (n == 1) line += ch;
    if (n == 0) return line + "<eof>";
  }
  return line + "<timeout>";
}

// Waits (pidfd, up to 5 s each) until every pid in `pids` has exited; false if one stays.
bool WaitAllGone(const std::set<pid_t>& pids) {
  for (pid_t p : pids) {
    UniqueFd fd(static_cast<int>(syscall(SYS_pidfd_open, p, 0)));
    if (!fd) continue;  // already gone
    pollfd pf{fd.get(), POLLIN, 0};
    if (poll(&pf, 1, 5000) != 1) return false;
  }
  return true;
}

std::set<pid_t> PidsOf(Client& c, const std::string& id, int* code = nullptr) {
  task::PidsRequest req;
  req.set_id(id);
  Reply r = c.Call("Pids", req);
  if (code) *code = r.code;
  task::PidsResponse resp;
  std::set<pid_t> out;
  if (r.code == 0 && resp.ParseFromString(r.payload)) {
    for (const auto& p : resp.processes()) out.insert(static_cast<pid_t>(p.pid()));
  }
  return out;
}

class BootstrapRestart : public ShimTest {
 protected:
  BootstrapRestart() = default;
  explicit BootstrapRestart(const std::string& config) : ShimTest(config) {}

  // A running container whose init starts a setsid'd background child (its own session and
  // process group) and an exec; returns {init, exec, background} pids.
  std::tuple<pid_t, pid_t, pid_t> StartWithExecAndBackground(const std::string& id) {
    // The child reports its pid on the container's stdout (the shim's FIFO; a FIFO the
    // container opened itself would be the overlay's, not ours).
    std::string fifo = shim_.Fifo(id + ".out");
    UniqueFd out(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    Reply c = Create(id, Spec(ShArgs("setsid /bin/sh -c 'echo $$; exec sleep 1000' & exec sleep 1000")), fifo);
    EXPECT_EQ(c.code, 0) << c.message;
    auto init = Parse<task::StartResponse>(Simple("Start", id));
    std::string text = ReadLine(out.get());
    long long bg_pid = 0;
    EXPECT_TRUE(ParseInt(text, &bg_pid)) << text;
    task::ExecProcessRequest ex;
    ex.set_id(id);
    ex.set_exec_id("e1");
    ex.mutable_spec()->set_value(R"({"args":["sleep","1000"],"env":["PATH=/usr/bin:/bin"],"cwd":"/"})");
    Reply e = client_->Call("Exec", ex);
    EXPECT_EQ(e.code, 0) << e.message;
    auto exec = Parse<task::StartResponse>(Simple("Start", id, "e1"));
    return {static_cast<pid_t>(init.pid()), static_cast<pid_t>(exec.pid()), static_cast<pid_t>(bg_pid)};
  }

  // Kills the container, waits for init, and checks that Pids then answers only init's pid
  // (exited, not deleted: containerd 2.x must keep the shim after a restart to learn the real
  // exit status), and NotFound once it is deleted.
  void KillAndExpectOnlyInit(const std::string& id, pid_t init) {
    ASSERT_EQ(Kill(id, SIGKILL, /*all=*/true).code, 0);
    ASSERT_EQ(Simple("Wait", id).code, 0);
    // Init's exit is reported as soon as init is reaped; the rest of the container got
    // SIGKILL and leaves within moments, so the list is init's pid alone then, never an error.
    std::set<pid_t> left;
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
      int code = -1;
      left = PidsOf(*client_, id, &code);
      ASSERT_EQ(code, 0) << "an exited container answers a list, not an error";
      left.erase(init);
    } while (!left.empty() && std::chrono::steady_clock::now() < end && WaitAllGone(left));
    EXPECT_EQ(left, std::set<pid_t>{});
    EXPECT_EQ(PidsOf(*client_, id), std::set<pid_t>{init});
    Simple("Delete", id, "e1");
    EXPECT_EQ(Simple("Delete", id).code, 0);
    int gone = -1;
    PidsOf(*client_, id, &gone);
    EXPECT_EQ(gone, 5);  // deleted: NotFound
  }
};

// With cgroup tracking (the default): every member of the container's cgroup.
TEST_F(BootstrapRestart, PidsListInitExecAndSetsidChildThenInitAlone) {
  auto [init, exec, bg] = StartWithExecAndBackground("p1");
  ASSERT_GT(init, 0);
  ASSERT_GT(exec, 0);
  ASSERT_GT(bg, 0);
  std::set<pid_t> pids = PidsOf(*client_, "p1");
  EXPECT_TRUE(pids.count(init)) << "init";
  EXPECT_TRUE(pids.count(exec)) << "exec";
  EXPECT_TRUE(pids.count(bg)) << "setsid'd background child";
  KillAndExpectOnlyInit("p1", init);
  EXPECT_NE(kill(bg, 0), 0);  // the background child went with the container
}

class BootstrapRestartNoCgroup : public BootstrapRestart {
 protected:
  BootstrapRestartNoCgroup() : BootstrapRestart("cgroup_parent = \"none\"\n") {}
};

// Without cgroups (cgroup_parent = "none"): init and execs (their sessions) are listed, so
// containerd keeps a running container after a restart.
TEST_F(BootstrapRestartNoCgroup, PidsListInitAndExecThenInitAlone) {
  auto [init, exec, bg] = StartWithExecAndBackground("p2");
  ASSERT_GT(init, 0);
  ASSERT_GT(exec, 0);
  std::set<pid_t> pids = PidsOf(*client_, "p2");
  EXPECT_TRUE(pids.count(init)) << "init";
  EXPECT_TRUE(pids.count(exec)) << "exec";
  KillAndExpectOnlyInit("p2", init);
  if (bg > 0) kill(bg, SIGKILL);  // no cgroup: not tracked as the container's (see the report)
}

// containerd sends Shutdown on each container's own connection after its Delete (and after
// a restart deletes a container that reports no pids). The pod's other containers stay.
TEST_F(BootstrapRestart, ShutdownOnOneConnectionKeepsAGroupedShimServing) {
  ASSERT_EQ(Create("keep", Spec(R"(["sleep","1000"])")).code, 0);
  ASSERT_EQ(Simple("Start", "keep").code, 0);
  {
    Client other(shim_.socket());  // the second container's own connection
    ASSERT_TRUE(other.ok());
    task::CreateTaskRequest req;
    req.set_id("done");
    req.set_bundle(shim_.Bundle("done", Spec(R"(["true"])")));
    ASSERT_EQ(other.Call("Create", req).code, 0);
    task::StateRequest id;
    id.set_id("done");
    ASSERT_EQ(other.Call("Start", id).code, 0);
    ASSERT_EQ(other.Call("Wait", id).code, 0);
    ASSERT_EQ(other.Call("Delete", id).code, 0);
    task::ShutdownRequest sd;
    sd.set_id("done");
    EXPECT_EQ(other.Call("Shutdown", sd).code, 0);
    sd.set_now(true);  // never set by containerd; still no reason to stop a shim in use
    EXPECT_EQ(other.Call("Shutdown", sd).code, 0);
  }  // connection closed, as containerd does next
  // Still serving: the old connection, a new one, and the running container.
  ASSERT_EQ(Simple("State", "keep").code, 0);
  Client again(shim_.socket());
  ASSERT_TRUE(again.ok());
  task::StateRequest keep;
  keep.set_id("keep");
  EXPECT_EQ(again.Call("State", keep).code, 0);
  EXPECT_EQ(PidsOf(again, "keep").size(), 1u);
  EXPECT_EQ(shim_.WaitExit(0), -1);
  // The last container's Shutdown stops it.
  ASSERT_EQ(Kill("keep", SIGKILL).code, 0);
  ASSERT_EQ(Simple("Wait", "keep").code, 0);
  ASSERT_EQ(Simple("Delete", "keep").code, 0);
  task::ShutdownRequest sd;
  sd.set_id("keep");
  client_->Call("Shutdown", sd);
  EXPECT_EQ(shim_.WaitExit(10000), 0);
}

// containerd's CRI decodes a StatsResponse without metrics as an error for the whole node:
// a container answers real metrics (tests/unit/resources_test.cc) or NotFound, which is
// skipped silently; never an empty message.
TEST_F(BootstrapRestart, StatsAnswersMetricsOrNotFoundNeverAnEmptyMessage) {
  ASSERT_EQ(Create("st", Spec(R"(["sleep","1000"])")).code, 0);
  ASSERT_EQ(Simple("Start", "st").code, 0);
  task::StatsRequest req;
  req.set_id("st");
  Reply r = client_->Call("Stats", req);
  if (shim_.cgroup_parent().empty()) {
    EXPECT_EQ(r.code, 5);
    EXPECT_EQ(r.message, "stats for st: no cgroup: not found");
  } else {
    EXPECT_EQ(r.code, 0) << r.message;
    task::StatsResponse resp;
    ASSERT_TRUE(resp.ParseFromString(r.payload));
    EXPECT_TRUE(resp.stats().type_url() == "io.containerd.cgroups.v1.Metrics" ||
                resp.stats().type_url() == "io.containerd.cgroups.v2.Metrics");
    EXPECT_FALSE(resp.stats().value().empty());
  }
  ASSERT_EQ(Kill("st", SIGKILL).code, 0);
  ASSERT_EQ(Simple("Wait", "st").code, 0);
  ASSERT_EQ(Simple("Delete", "st").code, 0);
  r = client_->Call("Stats", req);
  EXPECT_EQ(r.code, 5);
  EXPECT_EQ(r.message, "container st: not found");
}

}  // namespace
}  // namespace reaper
