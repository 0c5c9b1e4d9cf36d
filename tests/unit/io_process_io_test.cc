// ProcessIo (src/shim/process_io.h) with a terminal: the child's fds are the PTY slave, output
// reaches the stdout FIFO, the stdin FIFO reaches the process, CloseStdin, Resize, and the end
// of the I/O (drained / OnDrained / Finish), including a real process that exits.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <memory>
#include <string>

#include "io_test_util.h"
#include "shim/process_io.h"

namespace reaper {
namespace {

using namespace std::chrono_literals;
using testing::Drain;
using testing::Dup;
using testing::FifoHasReader;
using testing::LoopCpuOver;
using testing::RunFor;
using testing::RunUntil;

void MakeRaw(int tty) {
  termios t{};
  tcgetattr(tty, &t);
  cfmakeraw(&t);
  tcsetattr(tty, TCSANOW, &t);
}

class ProcessIoTtyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    ASSERT_TRUE(r.Init().ok());
    stdin_path = dir.Fifo("stdin");
    stdout_path = dir.Fifo("stdout");
    auto opened = ProcessIo::Open(r, IoPaths{stdin_path, stdout_path, "", /*terminal=*/true});
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    io = std::move(*opened);
    // containerd's side of the FIFOs: a reader of stdout, a writer of stdin.
    client_out = std::make_unique<Drain>(r, UniqueFd(open(stdout_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)));
    client_in.reset(open(stdin_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(client_in.valid());
  }
  void TearDown() override {
    if (child > 0) {
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
    }
    client_out.reset();
    io.reset();
  }
  // Takes a copy of the slave as the "process" (raw, so bytes pass unchanged), then Started().
  void StartWithSlave() {
    process.reset(fcntl(io->child_fds().in, F_DUPFD_CLOEXEC, 3));
    ASSERT_TRUE(process.valid());
    MakeRaw(process.get());
    ASSERT_TRUE(io->Started().ok());
  }
  bool Reaped() {
    if (child <= 0) return true;
    if (waitpid(child, nullptr, WNOHANG) != child) return false;
    child = -1;
    return true;
  }

  Reactor r;
  testing::TempDir dir;
  std::string stdin_path, stdout_path;
  std::unique_ptr<ProcessIo> io;
  std::unique_ptr<Drain> client_out;
  UniqueFd client_in;
  UniqueFd process;
  pid_t child = -1;
};

TEST_F(ProcessIoTtyTest, ChildFdsAreTheSlave) {
  StdioFds fds = io->child_fds();
  EXPECT_TRUE(fds.terminal);
  EXPECT_TRUE(io->terminal());
  char name[3][64] = {};
  int i = 0;
  for (int fd : {fds.in, fds.out, fds.err}) {
    ASSERT_TRUE(isatty(fd)) << "child fd " << i;
    ASSERT_EQ(ttyname_r(fd, name[i], sizeof name[i]), 0);
    ++i;
  }
  EXPECT_EQ(std::string(name[0]).rfind("/dev/pts/", 0), 0u) << name[0];
  EXPECT_STREQ(name[0], name[1]);
  EXPECT_STREQ(name[0], name[2]);
  EXPECT_NE(fds.in, fds.out);  // separate fds, one terminal
}

TEST_F(ProcessIoTtyTest, OutputReachesTheStdoutFifoAndStdinReachesTheProcess) {
  StartWithSlave();
  EXPECT_EQ(io->child_fds().in, -1);  // Started() dropped the parent's copies
  ASSERT_EQ(write(process.get(), "out-1", 5), 5);
  ASSERT_TRUE(RunUntil(r, [&] { return client_out->Contains("out-1"); })) << client_out->data();
  Drain typed(r, Dup(process.get()));
  ASSERT_EQ(write(client_in.get(), "in-1", 4), 4);
  ASSERT_TRUE(RunUntil(r, [&] { return typed.Contains("in-1"); })) << typed.data();
  EXPECT_EQ(typed.data(), "in-1");
  EXPECT_FALSE(io->drained());
}

TEST_F(ProcessIoTtyTest, CloseStdinLetsTheClientsEofEndTheInputCopy) {
  StartWithSlave();
  Drain typed(r, Dup(process.get()));
  ASSERT_EQ(write(client_in.get(), "abc", 3), 3);
  client_in.reset();  // the client is done typing
  ASSERT_TRUE(RunUntil(r, [&] { return typed.Has(3); }));
  // The shim's writer holds the stdin FIFO open: no EOF yet, the copy still reads it.
  RunFor(r, 50ms);
  EXPECT_TRUE(FifoHasReader(stdin_path));
  io->CloseStdin();
  ASSERT_TRUE(RunUntil(r, [&] { return !FifoHasReader(stdin_path); })) << "the input copy did not end at EOF";
  EXPECT_FALSE(io->drained());  // the process still has its terminal: output goes on
  ASSERT_EQ(write(process.get(), "after", 5), 5);
  ASSERT_TRUE(RunUntil(r, [&] { return client_out->Contains("after"); }));
}

TEST_F(ProcessIoTtyTest, ResizeSetsTheWindowSizeOfTheTerminal) {
  StartWithSlave();
  ASSERT_TRUE(io->Resize(132, 43).ok());
  winsize ws{};
  ASSERT_EQ(ioctl(process.get(), TIOCGWINSZ, &ws), 0);
  EXPECT_EQ(ws.ws_col, 132);
  EXPECT_EQ(ws.ws_row, 43);

  auto plain = ProcessIo::Open(r, IoPaths{});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE((*plain)->terminal());
  EXPECT_TRUE((*plain)->Resize(80, 24).ok());  // no terminal: nothing to do
}

// Issue 12, defect 1 at this level: a real process on the terminal exits while its client
// keeps stdin open. The output drains; the stdin copy must end with it (nothing can read the
// terminal any more) instead of waiting, and the loop must be idle.
TEST_F(ProcessIoTtyTest, ExitedProcessDrainsEndsTheInputCopyAndLeavesTheLoopIdle) {
  StdioFds fds = io->child_fds();
  child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    setsid();
    ioctl(fds.in, TIOCSCTTY, 0);
    dup2(fds.in, 0);
    dup2(fds.out, 1);
    dup2(fds.err, 2);
    execl("/bin/sh", "sh", "-c", "echo hello-from-tty", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_TRUE(io->Started().ok());
  int drained_calls = 0;
  io->OnDrained([&] { ++drained_calls; });
  ASSERT_TRUE(RunUntil(r, [&] { return Reaped() && drained_calls == 1; }))
      << "output: '" << client_out->data() << "', drained=" << io->drained();
  EXPECT_TRUE(client_out->Contains("hello-from-tty")) << client_out->data();
  EXPECT_TRUE(io->drained());

  auto cpu = LoopCpuOver(r, 500ms);
  EXPECT_LT(cpu, 25ms) << "the shim's loop spun after the terminal's process exited (" << cpu.count()
                       << " us of CPU in 500 ms)";
  EXPECT_FALSE(FifoHasReader(stdin_path)) << "the stdin copy outlived the process's output";
  // The shim's stdin writer is released too: with the client's gone, a reader sees EOF.
  UniqueFd reader(open(stdin_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  client_in.reset();
  char c;
  EXPECT_EQ(read(reader.get(), &c, 1), 0) << "a writer of stdin is still held";
  EXPECT_EQ(drained_calls, 1);
}

// A background child keeps the terminal open after the main process exited: the grace timer
// (or Delete) calls Finish, which moves what is there and closes every copy, input included.
TEST_F(ProcessIoTtyTest, FinishMovesTheLastOutputAndClosesEverything) {
  StartWithSlave();
  int drained_calls = 0;
  io->OnDrained([&] { ++drained_calls; });
  ASSERT_EQ(write(process.get(), "tail", 4), 4);
  EXPECT_FALSE(io->drained());
  io->Finish();  // no loop turn in between: Finish itself moves "tail"
  EXPECT_TRUE(io->drained());
  EXPECT_EQ(drained_calls, 1);
  ASSERT_TRUE(RunUntil(r, [&] { return client_out->eof(); })) << "stdout FIFO writer not closed";
  EXPECT_EQ(client_out->data(), "tail");
  EXPECT_FALSE(FifoHasReader(stdin_path)) << "stdin copy still open after Finish";
  // Every master fd is closed: the terminal is hung up for whoever still holds the slave.
  EXPECT_EQ(write(process.get(), "x", 1), -1);
  EXPECT_EQ(errno, EIO);
  // Already drained: a new OnDrained runs at once.
  bool now = false;
  io->OnDrained([&] { now = true; });
  EXPECT_TRUE(now);
  io->Finish();  // twice: harmless
  EXPECT_EQ(drained_calls, 1);
}

TEST_F(ProcessIoTtyTest, FinishBeforeStartClosesTheUnstartedCopies) {
  io->Finish();  // Spawn failed: Started() never ran
  EXPECT_TRUE(io->drained());
  EXPECT_FALSE(FifoHasReader(stdin_path));
}

}  // namespace
}  // namespace reaper
