// Reactor (src/base/reactor.h): timer order, cancel and re-arm; removal of fds and cancel of
// timers from inside callbacks, including an fd whose event is in the same epoll batch.
#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <string>
#include <vector>

#include "base/reactor.h"
#include "io_test_util.h"

namespace reaper {
namespace {

using namespace std::chrono_literals;
using testing::MakePipe;
using testing::RunUntil;

class ReactorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(r.Init().ok()); }
  Reactor r;
};

TEST_F(ReactorTest, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  r.AddTimer(30ms, [&] { order.push_back(30); });
  r.AddTimer(10ms, [&] { order.push_back(10); });
  r.AddTimer(20ms, [&] { order.push_back(20); });
  r.AddTimer(0ms, [&] { order.push_back(0); });
  r.Defer([&] { order.push_back(1); });  // zero delay, added later: after the first 0 ms one
  ASSERT_TRUE(RunUntil(r, [&] { return order.size() == 5; }));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 10, 20, 30}));
}

TEST_F(ReactorTest, TimerFiresNotBeforeItsDeadline) {
  auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point fired{};
  r.AddTimer(40ms, [&] { fired = std::chrono::steady_clock::now(); });
  ASSERT_TRUE(RunUntil(r, [&] { return fired.time_since_epoch().count() != 0; }));
  EXPECT_GE(fired - t0, 40ms);
}

TEST_F(ReactorTest, CancelledTimerNeverFiresAndCancelIsIdempotent) {
  int cancelled = 0, kept = 0;
  Reactor::TimerId a = r.AddTimer(5ms, [&] { ++cancelled; });
  r.AddTimer(20ms, [&] { ++kept; });
  r.CancelTimer(a);
  r.CancelTimer(a);       // twice: no effect
  r.CancelTimer(999999);  // unknown id: no effect
  ASSERT_TRUE(RunUntil(r, [&] { return kept == 1; }));
  EXPECT_EQ(cancelled, 0);
  r.CancelTimer(a);  // after the loop ran: still nothing
}

TEST_F(ReactorTest, TimerCancelledByAnEarlierTimerOfTheSameBatchDoesNotRun) {
  // Both are due before the loop starts, so one FireTimers call sees both.
  int second = 0;
  bool first = false;
  Reactor::TimerId b = 0;
  r.AddTimer(0ms, [&] {
    first = true;
    r.CancelTimer(b);
  });
  b = r.AddTimer(0ms, [&] { ++second; });
  bool after = false;
  r.AddTimer(10ms, [&] { after = true; });
  ASSERT_TRUE(RunUntil(r, [&] { return after; }));
  EXPECT_TRUE(first);
  EXPECT_EQ(second, 0);
}

TEST_F(ReactorTest, TimerCancellingItselfInItsCallbackIsHarmless) {
  int runs = 0;
  Reactor::TimerId self = 0;
  self = r.AddTimer(0ms, [&] {
    ++runs;
    r.CancelTimer(self);
  });
  bool after = false;
  r.AddTimer(10ms, [&] { after = true; });
  ASSERT_TRUE(RunUntil(r, [&] { return after; }));
  EXPECT_EQ(runs, 1);
}

TEST_F(ReactorTest, TimerReArmsItselfFromItsCallback) {
  int runs = 0;
  std::function<void()> tick = [&] {
    if (++runs < 5) r.AddTimer(1ms, tick);
  };
  r.AddTimer(1ms, tick);
  ASSERT_TRUE(RunUntil(r, [&] { return runs == 5; }));
  bool after = false;
  r.AddTimer(20ms, [&] { after = true; });
  ASSERT_TRUE(RunUntil(r, [&] { return after; }));
  EXPECT_EQ(runs, 5);  // and no more
}

TEST_F(ReactorTest, WatchdogReArmedLaterReplacesTheEarlierDeadline) {
  // The pattern of a grace timer pushed back: cancel, then add with a later deadline.
  std::vector<int> fired;
  Reactor::TimerId w = r.AddTimer(10ms, [&] { fired.push_back(1); });
  r.CancelTimer(w);
  w = r.AddTimer(30ms, [&] { fired.push_back(2); });
  // The timerfd was armed for 10 ms: a wakeup with nothing due must re-arm it for 30 ms.
  ASSERT_TRUE(RunUntil(r, [&] { return !fired.empty(); }));
  EXPECT_EQ(fired, std::vector<int>{2});
}

TEST_F(ReactorTest, TimerAddedAndCancelledFromAnIoCallback) {
  auto p = MakePipe();
  ASSERT_EQ(write(p.w.get(), "x", 1), 1);
  int doomed = 0;
  bool added = false;
  Reactor::TimerId d = r.AddTimer(50ms, [&] { ++doomed; });
  ASSERT_TRUE(r.Add(p.r.get(), EPOLLIN, [&](uint32_t) {
                 char c;
                 (void)read(p.r.get(), &c, 1);
                 r.CancelTimer(d);
                 r.AddTimer(60ms, [&] { added = true; });
               }).ok());
  ASSERT_TRUE(RunUntil(r, [&] { return added; }));
  EXPECT_EQ(doomed, 0);
  r.Remove(p.r.get());
}

TEST_F(ReactorTest, RemovingAnotherFdWhoseEventIsInTheSameBatchDropsThatEvent) {
  // Both pipes are readable before the loop starts: one epoll_wait returns both events.
  // Whichever callback runs first removes the other; the other must not run.
  auto a = MakePipe(), b = MakePipe();
  ASSERT_EQ(write(a.w.get(), "a", 1), 1);
  ASSERT_EQ(write(b.w.get(), "b", 1), 1);
  int ran_a = 0, ran_b = 0;
  bool batch_over = false;
  ASSERT_TRUE(r.Add(a.r.get(), EPOLLIN, [&](uint32_t) {
                 ++ran_a;
                 r.Remove(b.r.get());
                 r.Remove(a.r.get());
                 r.Defer([&] { batch_over = true; });
               }).ok());
  ASSERT_TRUE(r.Add(b.r.get(), EPOLLIN, [&](uint32_t) {
                 ++ran_b;
                 r.Remove(a.r.get());
                 r.Remove(b.r.get());
                 r.Defer([&] { batch_over = true; });
               }).ok());
  ASSERT_TRUE(RunUntil(r, [&] { return batch_over; }));
  EXPECT_EQ(ran_a + ran_b, 1);
  // Still readable, but no longer registered: nothing runs again.
  bool later = false;
  r.AddTimer(20ms, [&] { later = true; });
  ASSERT_TRUE(RunUntil(r, [&] { return later; }));
  EXPECT_EQ(ran_a + ran_b, 1);
}

TEST_F(ReactorTest, StaleEventOfARemovedFdDoesNotReachANewRegistrationOfTheSameNumber) {
  // A's callback removes and closes B, and registers a new fd that gets B's number; B's event,
  // already fetched in the same batch, must be dropped, not delivered to the new callback.
  auto a = MakePipe();
  auto b = MakePipe();
  ASSERT_EQ(write(a.w.get(), "a", 1), 1);
  ASSERT_EQ(write(b.w.get(), "b", 1), 1);
  int ran_first = 0, ran_old = 0, ran_new = 0;
  bool reused = false, batch_over = false;
  testing::Pipe c;
  auto first = [&](testing::Pipe& self, testing::Pipe& other) {
    ++ran_first;
    int number = other.r.get();
    r.Remove(other.r.get());
    other.r.reset();
    c = MakePipe();  // the lowest free number goes to its read end (empty: never readable)
    reused = c.r.get() == number;
    ASSERT_TRUE(r.Add(c.r.get(), EPOLLIN, [&](uint32_t) { ++ran_new; }).ok());
    r.Remove(self.r.get());
    r.Defer([&] { batch_over = true; });
  };
  bool a_first = false, b_first = false;
  ASSERT_TRUE(r.Add(a.r.get(), EPOLLIN, [&](uint32_t) {
                 if (b_first) { ++ran_old; return; }
                 a_first = true;
                 first(a, b);
               }).ok());
  ASSERT_TRUE(r.Add(b.r.get(), EPOLLIN, [&](uint32_t) {
                 if (a_first) { ++ran_old; return; }
                 b_first = true;
                 first(b, a);
               }).ok());
  // Stop at the first turn after the batch: the new registration's own events come later.
  ASSERT_TRUE(RunUntil(r, [&] { return batch_over; }));
  ASSERT_TRUE(reused) << "the new pipe did not get the freed fd number";
  EXPECT_EQ(ran_first, 1);
  EXPECT_EQ(ran_old, 0);
  EXPECT_EQ(ran_new, 0);  // the stale event of the old fd never reaches it
  r.Remove(c.r.get());
}

TEST_F(ReactorTest, CallbackRemovingAndClosingItsOwnFdIsSafe) {
  auto p = MakePipe();
  ASSERT_EQ(write(p.w.get(), "x", 1), 1);
  int runs = 0;
  std::string captured = "kept alive while running";
  ASSERT_TRUE(r.Add(p.r.get(), EPOLLIN, [&, captured](uint32_t) {
                 ++runs;
                 r.Remove(p.r.get());  // destroys the registration that owns this callback
                 p.r.reset();
                 EXPECT_EQ(captured, "kept alive while running");  // its captures are still valid
               }).ok());
  bool later = false;
  r.AddTimer(20ms, [&] { later = true; });
  ASSERT_TRUE(RunUntil(r, [&] { return later; }));
  EXPECT_EQ(runs, 1);
}

TEST_F(ReactorTest, RegistrationErrors) {
  auto p = MakePipe();
  ASSERT_TRUE(r.Add(p.r.get(), EPOLLIN, [](uint32_t) {}).ok());
  EXPECT_FALSE(r.Add(p.r.get(), EPOLLIN, [](uint32_t) {}).ok());  // one registration per fd
  EXPECT_EQ(r.Modify(p.w.get(), EPOLLOUT).code(), Code::kNotFound);
  EXPECT_TRUE(r.Modify(p.r.get(), 0).ok());
  r.Remove(p.r.get());
  r.Remove(p.r.get());  // twice: no effect
  EXPECT_EQ(r.Modify(p.r.get(), EPOLLIN).code(), Code::kNotFound);
  EXPECT_FALSE(r.Add(-1, EPOLLIN, [](uint32_t) {}).ok());
}

}  // namespace
}  // namespace reaper
