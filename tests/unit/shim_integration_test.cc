// Drives the real shim daemon over ttrpc, the way containerd does, including the calls ctr
// cannot make (CloseIO) and malformed frames.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include "base/proc.h"
#include "host/cgroup.h"
#include "shim_fixture.h"
#include "shim/state_record.h"
#include "task.pb.h"

namespace reaper {
namespace {
namespace task = containerd::task::v2;
using testing::Client;
using testing::Reply;
using testing::ShimProcess;

TEST_F(ShimTest, RunsAProcessAndReportsItsExit) {
  std::string out = shim_.Fifo("out");
  FifoReader reader(out);
  auto cr = Parse<task::CreateTaskResponse>(Create("t1", Spec(R"(["sh","-c","echo hi; exit 3"])"), out));
  EXPECT_GT(cr.pid(), 0u);
  auto st = Parse<task::StateResponse>(Simple("State", "t1"));
  EXPECT_EQ(st.status(), task::CREATED);
  EXPECT_FALSE(st.has_exited_at());
  EXPECT_EQ(st.stdout(), out);
  auto sr = Parse<task::StartResponse>(Simple("Start", "t1"));
  EXPECT_EQ(sr.pid(), cr.pid());
  auto wr = Parse<task::WaitResponse>(Simple("Wait", "t1"));
  EXPECT_EQ(wr.exit_status(), 3u);
  EXPECT_EQ(reader.ReadAll(), "hi\n");
  st = Parse<task::StateResponse>(Simple("State", "t1"));
  EXPECT_EQ(st.status(), task::STOPPED);
  EXPECT_EQ(st.exit_status(), 3u);
  EXPECT_EQ(st.exited_at().seconds(), wr.exited_at().seconds());
  EXPECT_EQ(st.exited_at().nanos(), wr.exited_at().nanos());
  auto dr = Parse<task::DeleteResponse>(Simple("Delete", "t1"));
  EXPECT_EQ(dr.exit_status(), 3u);
  EXPECT_EQ(dr.exited_at().nanos(), wr.exited_at().nanos());
  EXPECT_EQ(Simple("State", "t1").code, 5);
  auto ev = shim_.events().WaitFor(4);
  ASSERT_GE(ev.size(), 4u);
  EXPECT_EQ(ev[0].topic, "/tasks/create");
  EXPECT_EQ(ev[0].type, "containerd.events.TaskCreate");
  EXPECT_EQ(ev[1].topic, "/tasks/start");
  EXPECT_EQ(ev[2].topic, "/tasks/exit");
  EXPECT_EQ(ev[3].topic, "/tasks/delete");
  containerd::events::TaskExit exit;
  ASSERT_TRUE(exit.ParseFromString(ev[2].value));
  EXPECT_EQ(exit.exit_status(), 3u);
  EXPECT_EQ(exit.id(), "t1");
  EXPECT_EQ(exit.exited_at().nanos(), wr.exited_at().nanos());
}

// Every byte of a large stdout through the FIFO containerd hands over, in order (the e2e
// suite checks its 20 MB through a file:// log: ctr's own copy loses an unread tail at Delete).
TEST_F(ShimTest, TwentyMegabytesThroughTheStdoutFifo) {
  std::string data_path = shim_.dir() + "/big.data";
  std::string data(20000000, '\0');
  {
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    rnd.read(data.data(), static_cast<std::streamsize>(data.size()));
    ASSERT_EQ(rnd.gcount(), static_cast<std::streamsize>(data.size()));
    std::ofstream(data_path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  std::string out = shim_.Fifo("big.out");
  FifoReader reader(out);
  ASSERT_EQ(Create("big", Spec(R"(["cat",")" + data_path + R"("])"), out).message, "");
  ASSERT_EQ(Simple("Start", "big").message, "");
  std::string got = reader.ReadAll(30000);  // until EOF: the shim closed the FIFO after the drain
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "the bytes differ";
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "big")).exit_status(), 0u);
  EXPECT_EQ(Simple("Delete", "big").code, 0);
}

TEST_F(ShimTest, WaitBeforeStartAndRepliesOutOfOrder) {
  ASSERT_EQ(Create("w1", Spec(R"(["sh","-c","read x; exit 7"])"), "", shim_.Fifo("in")).code, 0);
  task::StateRequest wait;
  wait.set_id("w1");
  uint32_t wait_stream = client_->Send("Wait", wait.SerializeAsString());
  uint32_t wait2 = client_->Send("Wait", wait.SerializeAsString());
  uint32_t start_stream = client_->Send("Start", wait.SerializeAsString());
  Reply r;
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.stream, start_stream);  // Start answered while both Waits are pending
  EXPECT_EQ(r.code, 0);
  task::CloseIORequest close;
  close.set_id("w1");
  close.set_stdin(true);
  uint32_t close_stream = client_->Send("CloseIO", close.SerializeAsString());
  std::set<uint32_t> seen;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client_->Recv(&r));
    seen.insert(r.stream);
    if (r.stream != close_stream) {
      task::WaitResponse w;
      ASSERT_TRUE(w.ParseFromString(r.payload));
      EXPECT_EQ(w.exit_status(), 7u);
    }
  }
  EXPECT_EQ(seen, (std::set<uint32_t>{wait_stream, wait2, close_stream}));
}

TEST_F(ShimTest, StdinReachesEofOnlyAfterCloseIO) {
  std::string in = shim_.Fifo("in"), out = shim_.Fifo("out");
  FifoReader reader(out);
  ASSERT_EQ(Create("s1", Spec(R"(["wc","-l"])"), out, in).code, 0);
  ASSERT_EQ(Simple("Start", "s1").code, 0);
  {
    UniqueFd w(open(in.c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(w);
    ASSERT_EQ(write(w.get(), "a\nb\nc\n", 6), 6);
  }  // the client's writer is closed; the shim's held writer keeps stdin open
  auto st = Parse<task::StateResponse>(Simple("State", "s1"));
  EXPECT_EQ(st.status(), task::RUNNING);
  task::CloseIORequest close;
  close.set_id("s1");
  close.set_stdin(true);
  ASSERT_EQ(client_->Call("CloseIO", close).code, 0);
  auto wr = Parse<task::WaitResponse>(Simple("Wait", "s1"));
  EXPECT_EQ(wr.exit_status(), 0u);
  EXPECT_EQ(reader.ReadAll(), "3\n");
}

TEST_F(ShimTest, WorkloadSeesOnlyTheSpecEnvironmentAndStdioFds) {
  std::string out = shim_.Fifo("out");
  FifoReader reader(out);
  ASSERT_EQ(Create("e1", Spec(R"(["sh","-c","env | sort; ls /proc/self/fd | wc -l"])"), out).code, 0);
  ASSERT_EQ(Simple("Start", "e1").code, 0);
  ASSERT_EQ(Parse<task::WaitResponse>(Simple("Wait", "e1")).exit_status(), 0u);
  std::string text = reader.ReadAll();
  // sh adds PWD (and may add SHLVL/_); nothing from the shim (TTRPC_ADDRESS, HOME...) may appear.
  EXPECT_NE(text.find("ONLY=this\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("TTRPC_ADDRESS"), std::string::npos) << text;
  EXPECT_EQ(text.find("HOME="), std::string::npos) << text;
  // ls sees 0,1,2 and its own directory fd: 4 entries.
  EXPECT_NE(text.find("\n4\n"), std::string::npos) << text;
}

TEST_F(ShimTest, MissingExecutableFailsCreateWithItsName) {
  Reply r = Create("m1", Spec(R"(["no-such-binary-xyz"])"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.message.find("no-such-binary-xyz"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("not found in $PATH"), std::string::npos) << r.message;
  EXPECT_EQ(Simple("Delete", "m1").code, 5);  // nothing was registered
}

TEST_F(ShimTest, BadCwdFailsCreate) {
  Reply r = Create("c1", R"({"process":{"args":["/bin/true"],"cwd":"/no/such/dir"}})");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.message.find("/no/such/dir"), std::string::npos) << r.message;
  EXPECT_EQ(Simple("State", "c1").code, 5);
}

TEST_F(ShimTest, MalformedConfigAndDuplicatesAndUnknownIds) {
  Reply r = Create("bad", "{ this is not json");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.message.find("config.json"), std::string::npos) << r.message;
  ASSERT_EQ(Create("d1", Spec(R"(["sleep","100"])")).code, 0);
  r = Create("d1", Spec(R"(["sleep","100"])"));
  EXPECT_EQ(r.code, 6);
  EXPECT_EQ(Simple("State", "nope").code, 5);
  EXPECT_EQ(Simple("Wait", "nope").code, 5);
  EXPECT_EQ(Kill("nope", 9).code, 5);
  EXPECT_EQ(Simple("Delete", "nope").code, 5);
  EXPECT_EQ(Simple("State", "d1", "no-exec").code, 5);
  task::CreateTaskRequest req;
  req.set_id("../evil");
  req.set_bundle(shim_.dir());
  r = client_->Call("Create", req);
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(Kill("d1", 9).code, 0);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "d1")).exit_status(), 137u);
}

TEST_F(ShimTest, KillAfterExitIsOkOrNotFound) {
  { auto r = Create("k1", Spec(R"(["sleep","100"])")); ASSERT_EQ(r.code, 0) << r.message; }
  ASSERT_EQ(Simple("Start", "k1").code, 0);
  EXPECT_EQ(Kill("k1", SIGTERM).code, 0);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "k1")).exit_status(), 143u);
  EXPECT_EQ(Kill("k1", SIGKILL).code, 5);
  EXPECT_EQ(Kill("k1", SIGKILL, true).code, 0);
  EXPECT_EQ(Kill("k1", 999).code, 3);
}

TEST_F(ShimTest, ExecRunsWithItsOwnSpecAndStatus) {
  ASSERT_EQ(Create("x1", Spec(R"(["sleep","100"])")).code, 0);
  ASSERT_EQ(Simple("Start", "x1").code, 0);
  std::string out = shim_.Fifo("xout");
  FifoReader reader(out);
  task::ExecProcessRequest ex;
  ex.set_id("x1");
  ex.set_exec_id("e1");
  ex.set_stdout(out);
  ex.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  ex.mutable_spec()->set_value(R"({"args":["sh","-c","echo $X; pwd; exit 5"],"env":["X=exec-env"],"cwd":"/tmp"})");
  ASSERT_EQ(client_->Call("Exec", ex).code, 0);
  EXPECT_EQ(client_->Call("Exec", ex).code, 6);  // duplicate exec id
  EXPECT_EQ(Parse<task::StateResponse>(Simple("State", "x1", "e1")).pid(), 0u);
  EXPECT_EQ(Kill("x1", SIGTERM).code, 0);  // (the init process; the exec is not started)
  // ...an exec into a stopped container cannot start, but can be deleted.
  ASSERT_EQ(Parse<task::WaitResponse>(Simple("Wait", "x1")).exit_status(), 143u);
  EXPECT_EQ(Simple("Start", "x1", "e1").code, 9);
  EXPECT_EQ(Parse<task::DeleteResponse>(Simple("Delete", "x1", "e1")).pid(), 0u);
  EXPECT_EQ(Simple("State", "x1", "e1").code, 5);
  EXPECT_EQ(reader.ReadAll(), "");  // deleting the exec closed its output

  ASSERT_EQ(Create("x2", Spec(R"(["sleep","100"])")).code, 0);
  ASSERT_EQ(Simple("Start", "x2").code, 0);
  std::string out2 = shim_.Fifo("xout2");
  FifoReader reader2(out2);
  ex.set_id("x2");
  ex.set_stdout(out2);
  ASSERT_EQ(client_->Call("Exec", ex).code, 0);
  auto started = Parse<task::StartResponse>(Simple("Start", "x2", "e1"));
  EXPECT_GT(started.pid(), 0u);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "x2", "e1")).exit_status(), 5u);
  EXPECT_EQ(reader2.ReadAll(), "exec-env\n/tmp\n");
  EXPECT_EQ(Kill("x2", SIGKILL, false).code == 0, true);
  auto del = Parse<task::DeleteResponse>(Simple("Delete", "x2", "e1"));
  EXPECT_EQ(del.exit_status(), 5u);
  EXPECT_EQ(del.pid(), started.pid());
  EXPECT_TRUE(shim_.events().WaitForTopic("/tasks/exec-added"));
  EXPECT_TRUE(shim_.events().WaitForTopic("/tasks/exec-started"));
}

TEST_F(ShimTest, DeleteOfRunningIsRefusedAndInitExitKillsEverything) {
  std::string marker = "reaper-unit-" + std::to_string(getpid());
  ASSERT_EQ(Create("b1", Spec(R"(["sh","-c","setsid sleep 1001 & sleep 100"])")).code, 0);
  ASSERT_EQ(Simple("Start", "b1").code, 0);
  EXPECT_EQ(Simple("Delete", "b1").code, 9);
  task::PidsRequest pr;
  pr.set_id("b1");
  // The backgrounded setsid child shows up as part of the container (within the deadline).
  size_t n = 0;
  for (int i = 0; i < 200 && n < 3; ++i) {
    auto pids = Parse<task::PidsResponse>(client_->Call("Pids", pr));
    n = static_cast<size_t>(pids.processes_size());
    if (n < 3) usleep(10000);
  }
  EXPECT_GE(n, 3u);
  EXPECT_EQ(Kill("b1", SIGTERM).code, 0);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "b1")).exit_status(), 143u);
  EXPECT_EQ(Parse<task::DeleteResponse>(Simple("Delete", "b1")).exit_status(), 143u);
  // Nothing of the container survives: no `sleep 1001` whose parent is the shim.
  std::string cmd = "pgrep -P " + std::to_string(shim_.pid()) + " -f 'sleep 1001' >/dev/null";
  int alive = 1;
  for (int i = 0; i < 200 && alive == 0 + 1; ++i) {
    alive = system(cmd.c_str()) == 0 ? 1 : 0;
    if (alive) usleep(10000);
  }
  EXPECT_EQ(alive, 0);
}

TEST_F(ShimTest, PauseAndResume) {
  ASSERT_EQ(Create("p1", Spec(R"(["sleep","100"])")).code, 0);
  ASSERT_EQ(Simple("Start", "p1").code, 0);
  task::PauseRequest p;
  p.set_id("p1");
  ASSERT_EQ(client_->Call("Pause", p).code, 0);
  EXPECT_EQ(Parse<task::StateResponse>(Simple("State", "p1")).status(), task::PAUSED);
  EXPECT_EQ(client_->Call("Pause", p).code, 9);
  ASSERT_EQ(client_->Call("Resume", p).code, 0);
  EXPECT_EQ(Parse<task::StateResponse>(Simple("State", "p1")).status(), task::RUNNING);
  EXPECT_EQ(client_->Call("Checkpoint", p).code, 12);
  // Real metrics with a cgroup (tests/unit/resources_test.cc), NotFound without one.
  EXPECT_EQ(client_->Call("Stats", p).code, shim_.cgroup_parent().empty() ? 5 : 0);
  EXPECT_EQ(client_->Call("Update", p).code, 0);
  EXPECT_EQ(Kill("p1", SIGKILL).code, 0);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "p1")).exit_status(), 137u);
}

TEST_F(ShimTest, SandboxRunsAPlaceholder) {
  ASSERT_EQ(Create("sb", R"({"annotations":{"io.kubernetes.cri.container-type":"sandbox"}})").code, 0);
  auto sr = Parse<task::StartResponse>(Simple("Start", "sb"));
  std::ifstream cmd("/proc/" + std::to_string(sr.pid()) + "/cmdline");
  std::string argv0;
  std::getline(cmd, argv0, '\0');
  EXPECT_EQ(argv0, "reaper-sandbox");
  EXPECT_EQ(Parse<task::StateResponse>(Simple("State", "sb")).status(), task::RUNNING);
  EXPECT_EQ(Kill("sb", SIGKILL).code, 0);
  EXPECT_EQ(Parse<task::WaitResponse>(Simple("Wait", "sb")).exit_status(), 137u);
}

TEST_F(ShimTest, ProtocolErrorsGetGoServerReplies) {
  using namespace reaper::ttrpc;
  // Oversized frame: ResourceExhausted on its stream, connection stays usable.
  std::string big(kMaxMessageSize + 1, 'x');
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(101, kTypeRequest, big)));
  Reply r;
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.stream, 101u);
  EXPECT_EQ(r.code, 8);
  // Even stream id.
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(2, kTypeRequest, "")));
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 3);
  // Garbage that is not a ttrpc.Request.
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(103, kTypeRequest, "\xff\xff\xff")));
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 3);
  // A frame of another type is ignored: the next reply belongs to the next request.
  ASSERT_TRUE(testing::WriteAll(client_->fd(), EncodeFrame(105, 7, "zzz")));
  client_->Send("Connect", "", "no.such.Service");
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 12);
  EXPECT_EQ(r.message, "service no.such.Service");
  client_->Send("NoSuchMethod", "");
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.message, "method NoSuchMethod");
  client_->Send("State", "\xff\xff");
  ASSERT_TRUE(client_->Recv(&r));
  EXPECT_EQ(r.code, 13);
  task::ConnectRequest c;
  auto cr = Parse<task::ConnectResponse>(client_->Call("Connect", c));
  EXPECT_EQ(cr.shim_pid(), static_cast<uint32_t>(shim_.pid()));
}

TEST_F(ShimTest, ShutdownExitsOnlyWhenTheLastContainerIsGone) {
  ASSERT_EQ(Create("a", Spec(R"(["sleep","100"])")).code, 0);
  task::ShutdownRequest sd;
  ASSERT_EQ(client_->Call("Shutdown", sd).code, 0);
  EXPECT_EQ(shim_.WaitExit(300), -1);  // still serving "a"
  EXPECT_EQ(Kill("a", SIGKILL).code, 0);
  Parse<task::WaitResponse>(Simple("Wait", "a"));
  ASSERT_EQ(Simple("Delete", "a").code, 0);
  ASSERT_EQ(client_->Call("Shutdown", sd).code, 0);
  EXPECT_EQ(shim_.WaitExit(5000), 0);
  struct stat st{};
  EXPECT_NE(stat(shim_.socket().c_str(), &st), 0);  // socket removed
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

// A cgroup directory left by an earlier container of the same id, once killed with
// cgroup.kill (a shim that died mid-teardown): the new container still runs. On kernels such
// as 6.18 a child cloned into a cgroup that was ever killed is killed at birth, so the shim
// must take a fresh cgroup.
TEST_F(ShimTest, ALeftoverKilledCgroupDoesNotKillTheNewInit) {
  if (shim_.cgroup_parent().empty()) GTEST_SKIP() << "no cgroup2 hierarchy on this node";
  std::string dir = shim_.cgroup_parent() + "/unit/lk1";
  ASSERT_EQ(MkdirAll(dir).ok(), true);
  {
    UniqueFd k(open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_TRUE(k);
    ASSERT_EQ(write(k.get(), "1", 1), 1);
  }
  auto [code, out] = Run("lk1", Spec(R"(["echo","alive"])"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "alive\n");
}

// The `delete` action after a shim died: kills what the durable record names, reports the
// recorded exit, and is safe when containerd runs it twice at once.
TEST(DeleteAction, KillsLeftoversFromTheRecordAndIsIdempotent) {
  auto parent = DefaultCgroupParent();
  if (!parent) GTEST_SKIP() << "no cgroup2 hierarchy on this node";
  char tmpl[] = "/tmp/reaper-delete-test.XXXXXX";
  std::string bundle = mkdtemp(tmpl);
  std::string cg_path = *parent + "/unit-test/del-" + std::to_string(getpid());
  auto cg = Cgroup::Create(cg_path);
  ASSERT_TRUE(cg.ok()) << cg.status().message();
  pid_t child = fork();
  if (child == 0) {
    if (write(cg->procs_fd(), "0", 1) != 1) _exit(1);
    setsid();
    execl("/bin/sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  StateRecord rec;
  rec.id = "dead";
  rec.pid = child;
  rec.cgroup = cg_path;
  ASSERT_TRUE(WriteStateRecord(bundle, rec).ok());

  auto run_delete = [&](std::string* out) {
    std::string cmd = std::string(REAPER_SHIM_BINARY) + " -namespace unit -id dead -bundle " + bundle +
                      " -address /nonexistent delete";
    FILE* f = popen(cmd.c_str(), "r");
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out->append(buf, n);
    return pclose(f);
  };
  std::string out1, out2;
  int rc2 = -1;
  std::thread t([&] { rc2 = run_delete(&out2); });
  int rc1 = run_delete(&out1);
  t.join();
  EXPECT_EQ(rc1, 0);
  EXPECT_EQ(rc2, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);  // the workload was killed...
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_NE(access(cg_path.c_str(), F_OK), 0);  // ...its cgroup removed
  for (const std::string* out : {&out1, &out2}) {
    task::DeleteResponse resp;
    ASSERT_TRUE(resp.ParseFromString(*out));
    EXPECT_EQ(resp.exit_status(), 137u);
    EXPECT_GT(resp.exited_at().seconds(), 0);
  }
  // With the exit recorded by the shim, that status is what containerd gets.
  rec.exited = true;
  rec.exit_status = 3;
  rec.exited_sec = 1234;
  rec.cgroup.clear();
  rec.pid = 0;
  ASSERT_TRUE(WriteStateRecord(bundle, rec).ok());
  std::string out3;
  EXPECT_EQ(run_delete(&out3), 0);
  task::DeleteResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out3));
  EXPECT_EQ(resp.exit_status(), 3u);
  EXPECT_EQ(resp.exited_at().seconds(), 1234);
  rmdir((*parent + "/unit-test").c_str());
  std::string rm = "rm -rf '" + bundle + "'";
  EXPECT_EQ(system(rm.c_str()), 0);
}

}  // namespace
}  // namespace reaper

namespace reaper {
namespace {

// A container created but never started must not outlive a shim that dies (SIGKILL):
// nothing else could ever release it.
TEST_F(ShimTest, HeldChildDiesWithTheShim) {
  auto cr = Parse<task::CreateTaskResponse>(Create("held", Spec(R"(["sleep","1000"])")));
  pid_t child = static_cast<pid_t>(cr.pid());
  ASSERT_TRUE(ProcessAlive(child, 0));
  kill(shim_.pid(), SIGKILL);
  EXPECT_EQ(shim_.WaitExit(5000), 128 + SIGKILL);
  bool alive = true;
  for (int i = 0; i < 500 && alive; ++i) {  // deadline 5 s
    alive = ProcessAlive(child, 0);
    if (alive) usleep(10000);
  }
  EXPECT_FALSE(alive);
}

}  // namespace
}  // namespace reaper
