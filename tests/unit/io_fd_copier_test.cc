// FdCopier (src/shim/fd_copier.h) over real pipes, FIFOs, socketpairs and PTYs: splice and
// buffered paths, both directions of a PTY master, a full sink, a vanished reader with and
// without keepalive, EOF, Flush/Finish, and the HUP of a PTY master whose slave closed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <memory>
#include <string>

#include "io_test_util.h"
#include "shim/fd_copier.h"

namespace reaper {
namespace {

using namespace std::chrono_literals;
using testing::Drain;
using testing::Dup;
using testing::FifoHasReader;
using testing::Feed;
using testing::LoopCpuOver;
using testing::MakePipe;
using testing::Pattern;
using testing::Writable;
using testing::RawPty;
using testing::RunFor;
using testing::RunUntil;

class FdCopierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as in the shim (daemon.cc): EPIPE instead of death
    ASSERT_TRUE(r.Init().ok());
  }
  // Starts a copier; `done_calls` counts its completion callback.
  std::unique_ptr<FdCopier> Copy(UniqueFd src, UniqueFd dst, UniqueFd keepalive = UniqueFd()) {
    auto c = std::make_unique<FdCopier>(r, std::move(src), std::move(dst), std::move(keepalive));
    EXPECT_TRUE(c->Start([this] { ++done_calls; }).ok());
    return c;
  }
  Reactor r;
  int done_calls = 0;
};

TEST_F(FdCopierTest, PipeToPipeSplicesEveryByteThenCompletesAtEof) {
  auto in = MakePipe(), out = MakePipe();
  const std::string data = Pattern(4 << 20);
  auto c = Copy(std::move(in.r), std::move(out.w));
  Feed feed(r, std::move(in.w), data);
  Drain sink(r, std::move(out.r));
  ASSERT_TRUE(RunUntil(r, [&] { return sink.eof(); }, 20000ms)) << sink.data().size() << " bytes";
  EXPECT_EQ(sink.data().size(), data.size());
  EXPECT_TRUE(sink.data() == data);
  EXPECT_TRUE(c->done());
  EXPECT_EQ(done_calls, 1);
  EXPECT_TRUE(c->splicing());  // pipe to pipe: no userspace buffer
}

TEST_F(FdCopierTest, SocketpairIsNotSpliceableAndUsesTheBufferedPath) {
  int a[2], b[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
  const std::string data = Pattern(2 << 20, 7);
  auto c = Copy(UniqueFd(a[1]), UniqueFd(b[0]));
  Feed feed(r, UniqueFd(a[0]), data);  // closing a[0] is EOF for a[1]
  Drain sink(r, UniqueFd(b[1]));
  ASSERT_TRUE(RunUntil(r, [&] { return sink.eof(); }, 20000ms)) << sink.data().size() << " bytes";
  EXPECT_TRUE(sink.data() == data);
  EXPECT_TRUE(c->done());
  EXPECT_EQ(done_calls, 1);
  EXPECT_FALSE(c->splicing());
}

TEST_F(FdCopierTest, PtyMasterToPipeCopiesEverythingAndEndsWhenTheSlaveCloses) {
  auto pty = RawPty();
  auto out = MakePipe();
  const std::string data = Pattern(256 << 10, 3);
  auto c = Copy(Dup(pty.master.get()), std::move(out.w));
  Feed process(r, std::move(pty.slave), data);  // the process writes, then exits
  Drain sink(r, std::move(out.r));
  // EIO of the master (no slave left) is the end of the output.
  ASSERT_TRUE(RunUntil(r, [&] { return sink.eof(); }, 20000ms)) << sink.data().size() << " bytes";
  EXPECT_TRUE(sink.data() == data) << sink.data().size() << " of " << data.size() << " bytes";
  EXPECT_EQ(done_calls, 1);
}

TEST_F(FdCopierTest, PipeToPtyMasterReachesTheSlave) {
  auto pty = RawPty();
  auto in = MakePipe();
  const std::string data = Pattern(256 << 10, 5);
  auto c = Copy(std::move(in.r), Dup(pty.master.get()));
  Feed client(r, std::move(in.w), data);
  Drain process(r, std::move(pty.slave));
  ASSERT_TRUE(RunUntil(r, [&] { return process.Has(data.size()) && c->done(); }, 20000ms))
      << process.data().size() << " bytes, done=" << c->done();
  EXPECT_TRUE(process.data() == data);
  EXPECT_EQ(done_calls, 1);
}

TEST_F(FdCopierTest, FullSinkStopsTheCopyWithoutSpinningAndResumesWhenRead) {
  auto in = MakePipe(), out = MakePipe();
  UniqueFd sink_view = Dup(out.w.get());  // to watch the sink fill up
  const std::string data = Pattern(1 << 20, 11);
  auto c = Copy(std::move(in.r), std::move(out.w));
  Feed feed(r, std::move(in.w), data);
  // Nobody reads: the sink fills, then the source, then the writer waits.
  ASSERT_TRUE(RunUntil(r, [&] { return !Writable(sink_view.get()) && feed.blocked(); }));
  sink_view.reset();
  size_t blocked_at = feed.written();
  auto cpu = LoopCpuOver(r, 300ms);
  EXPECT_LT(cpu, 15ms) << "the loop spun while the sink was full";
  EXPECT_EQ(feed.written(), blocked_at) << "backpressure did not reach the writer";
  EXPECT_FALSE(c->done());
  // A reader comes: everything arrives, in order.
  Drain sink(r, std::move(out.r));
  ASSERT_TRUE(RunUntil(r, [&] { return sink.eof(); }, 20000ms)) << sink.data().size() << " bytes";
  EXPECT_TRUE(sink.data() == data);
  EXPECT_EQ(done_calls, 1);
}

TEST_F(FdCopierTest, WithKeepaliveAVanishedReaderBlocksTheWriterAndLosesNothing) {
  testing::TempDir dir;
  std::string fifo = dir.Fifo("out");
  UniqueFd keepalive(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  UniqueFd dst(open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(keepalive.valid() && dst.valid());
  auto in = MakePipe();
  auto c = Copy(std::move(in.r), std::move(dst), std::move(keepalive));

  const std::string data = Pattern(1 << 20, 13);
  const size_t first = 1000;
  auto client = std::make_unique<Drain>(r, UniqueFd(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)));
  {
    Feed part(r, Dup(in.w.get()), data.substr(0, first));
    ASSERT_TRUE(RunUntil(r, [&] { return client->Has(first); }));
  }
  // The client vanishes after reading the first part (containerd restarting).
  std::string head = client->data();
  client.reset();
  Feed feed(r, std::move(in.w), data.substr(first));
  ASSERT_TRUE(RunUntil(r, [&] { return feed.blocked(); })) << "the writer was not held up with no client reading";
  auto cpu = LoopCpuOver(r, 300ms);
  EXPECT_LT(cpu, 15ms);
  EXPECT_FALSE(c->done());
  EXPECT_FALSE(feed.finished());
  EXPECT_EQ(feed.error(), 0) << "the writer saw EPIPE";
  // A new client gets every byte after those the first one read.
  Drain again(r, UniqueFd(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)));
  ASSERT_TRUE(RunUntil(r, [&] { return again.eof(); }, 20000ms)) << again.data().size() << " bytes";
  EXPECT_EQ(head.size() + again.data().size(), data.size());
  EXPECT_TRUE(head + again.data() == data);
  EXPECT_EQ(done_calls, 1);
  EXPECT_FALSE(FifoHasReader(fifo)) << "keepalive not closed at the end";
}

TEST_F(FdCopierTest, WithoutKeepaliveAVanishedReaderDropsOutputAndTheWriterNeverBlocks) {
  auto in = MakePipe(), out = MakePipe();
  out.r.reset();  // nobody will ever read: writes fail with EPIPE
  const std::string data = Pattern(1 << 20, 17);
  auto c = Copy(std::move(in.r), std::move(out.w));
  Feed feed(r, std::move(in.w), data);
  auto t0 = testing::ThreadCpu();
  ASSERT_TRUE(RunUntil(r, [&] { return feed.finished() && c->done(); }, 5000ms))
      << feed.written() << " bytes written, done=" << c->done() << ", "
      << (testing::ThreadCpu() - t0).count() << " us of CPU";
  EXPECT_EQ(feed.error(), 0);
  EXPECT_EQ(done_calls, 1);
}

TEST_F(FdCopierTest, EofDeliversPendingBytesThenClosesDestination) {
  auto in = MakePipe(), out = MakePipe();
  ASSERT_EQ(write(in.w.get(), "last words", 10), 10);
  in.w.reset();  // the writer is gone before the copy even starts
  auto c = Copy(std::move(in.r), std::move(out.w));
  Drain sink(r, std::move(out.r));
  ASSERT_TRUE(RunUntil(r, [&] { return sink.eof(); }));
  EXPECT_EQ(sink.data(), "last words");
  EXPECT_EQ(done_calls, 1);
}

TEST_F(FdCopierTest, FlushMovesWithoutCompletingAndFinishMovesThenCloses) {
  auto in = MakePipe(), out = MakePipe();
  auto c = Copy(std::move(in.r), std::move(out.w));
  ASSERT_EQ(write(in.w.get(), "one", 3), 3);
  c->Flush();  // no loop turn needed
  char buf[16];
  ASSERT_EQ(read(out.r.get(), buf, sizeof buf), 3);
  EXPECT_FALSE(c->done());
  // A background child keeps the writer open: no EOF will ever come; Finish ends it anyway.
  ASSERT_EQ(write(in.w.get(), "two", 3), 3);
  c->Finish();
  EXPECT_TRUE(c->done());
  EXPECT_EQ(done_calls, 1);
  ASSERT_EQ(read(out.r.get(), buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "two");
  EXPECT_EQ(read(out.r.get(), buf, sizeof buf), 0);  // the copier closed the sink
  c->Finish();                                       // twice: no second callback
  EXPECT_EQ(done_calls, 1);
}

TEST_F(FdCopierTest, FinishOnAFullSinkCompletesAtOnce) {
  auto in = MakePipe(), out = MakePipe();
  const std::string data = Pattern(1 << 20, 19);
  auto c = Copy(std::move(in.r), std::move(out.w));
  Feed feed(r, std::move(in.w), data);
  ASSERT_TRUE(RunUntil(r, [&] { return feed.blocked(); }));
  c->Finish();
  EXPECT_TRUE(c->done());
  EXPECT_EQ(done_calls, 1);
}

// The stdin copy of a terminal: stdin (a source that never ends: the shim holds a writer)
// into the PTY master. When the process exits its slave closes and the master reports
// EPOLLHUP whatever the registered mask; a copier that keeps the master registered while it
// waits for input sees that HUP on every loop turn, forever (issue 12, defect 1).
TEST_F(FdCopierTest, IdleInputIntoAPtyWhoseSlaveClosedCostsNoCpu) {
  auto pty = RawPty();
  auto in = MakePipe();
  auto c = Copy(std::move(in.r), Dup(pty.master.get()));
  // Some input goes through first, so each direction has been waited on once.
  Drain process(r, Dup(pty.slave.get()));
  ASSERT_EQ(write(in.w.get(), "ls\n", 3), 3);
  ASSERT_TRUE(RunUntil(r, [&] { return process.Has(3); }));
  process.Close();
  pty.slave.reset();  // the process exits
  auto cpu = LoopCpuOver(r, 500ms);
  EXPECT_LT(cpu, 25ms) << "the loop spun on the HUP of the master (" << cpu.count() << " us of CPU in 500 ms)";
  EXPECT_EQ(done_calls, 0);  // no input, no output: the copy just waits (ProcessIo ends it)
}

// The same HUP while the copier waits on the master (its input queue is full: the process
// does not read): HUP on the destination ends the copy.
TEST_F(FdCopierTest, HupOfAFullPtyDestinationEndsTheCopy) {
  auto pty = RawPty();
  auto in = MakePipe();
  auto c = Copy(std::move(in.r), Dup(pty.master.get()));
  Feed client(r, std::move(in.w), Pattern(1 << 20, 23), /*close_at_end=*/false);
  // The writer is held up: the pipe is full, so the copy waits on the terminal. (Not "the
  // master polls unwritable": room the kernel frees without the process reading raises no
  // wakeup, so the master may poll writable while the copy rightly waits for EPOLLOUT.)
  ASSERT_TRUE(RunUntil(r, [&] { return client.blocked(); })) << "the terminal's input never filled up";
  EXPECT_FALSE(c->done());
  pty.slave.reset();  // the process exits without reading
  auto t0 = testing::ThreadCpu();
  ASSERT_TRUE(RunUntil(r, [&] { return c->done(); }, 2000ms)) << "the copy outlived the terminal";
  EXPECT_LT(testing::ThreadCpu() - t0, 50ms);
  EXPECT_EQ(done_calls, 1);
}

}  // namespace
}  // namespace reaper
