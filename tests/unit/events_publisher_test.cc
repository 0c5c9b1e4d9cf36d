// EventPublisher against a fake containerd events service (tests/unit/ttrpc_fake_server.h)
// that stalls, restarts, holds a reply while the queue overflows, and answers with errors.
// No root, no daemon: the publisher runs on this thread's Reactor.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "events.pb.h"
#include "shim/event_publisher.h"
#include "ttrpc_fake_server.h"

namespace reaper {
namespace {

using testing::FakeTtrpcServer;
using testing::RunUntil;
using testing::TempDir;
using Mode = FakeTtrpcServer::Mode;
using namespace std::chrono_literals;

// The topic each request carried (topics name the events in these tests: "/t/0", "/t/1"...).
std::string TopicOf(const FakeTtrpcServer::Request& r) {
  containerd::events::ForwardRequest fwd;
  if (!fwd.ParseFromString(r.req.payload())) return "<unparsable>";
  return fwd.envelope().topic();
}
std::vector<std::string> Topics(const std::vector<FakeTtrpcServer::Request>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(TopicOf(r));
  return out;
}
std::string T(int i) { return "/t/" + std::to_string(i); }

class EventsPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(reactor_.Init().ok()); }
  // Quick back-off. The timeout stays long (a loaded machine must not time a request out)
  // except in the tests about timeouts, which set a short one.
  EventPublisherOptions Fast() {
    EventPublisherOptions o;
    o.request_timeout = 10s;
    o.backoff_initial = 10ms;
    o.backoff_max = 50ms;
    return o;
  }
  void Publish(EventPublisher& p, int i) { p.Publish(T(i), "containerd.events.TaskStart", "v" + std::to_string(i)); }

  TempDir dir_;
  std::string sock_ = dir_.File("events.sock");
  Reactor reactor_;
};

TEST_F(EventsPublisherTest, DeliversInOrderWithNamespaceAndTimeout) {
  FakeTtrpcServer server(sock_);
  EventPublisher pub(reactor_, "unix://" + sock_, "k8s.io", Fast());
  for (int i = 0; i < 3; ++i) Publish(pub, i);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));
  auto reqs = server.requests();
  EXPECT_EQ(Topics(reqs), (std::vector<std::string>{T(0), T(1), T(2)}));
  ASSERT_FALSE(reqs.empty());
  const auto& r = reqs[0].req;
  EXPECT_EQ(r.service(), "containerd.services.events.ttrpc.v1.Events");
  EXPECT_EQ(r.method(), "Forward");
  EXPECT_EQ(r.timeout_nano(), 10'000'000'000);
  ASSERT_EQ(r.metadata_size(), 1);
  EXPECT_EQ(r.metadata(0).key(), "containerd-namespace-ttrpc");
  EXPECT_EQ(r.metadata(0).value(), "k8s.io");
  containerd::events::ForwardRequest fwd;
  ASSERT_TRUE(fwd.ParseFromString(r.payload()));
  EXPECT_EQ(fwd.envelope().namespace_(), "k8s.io");
  EXPECT_EQ(fwd.envelope().event().type_url(), "containerd.events.TaskStart");
  EXPECT_EQ(fwd.envelope().event().value(), "v0");
  EXPECT_GT(fwd.envelope().timestamp().seconds(), 0);
  EXPECT_EQ(reqs[1].stream, 3u);  // one connection, odd ids
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(pub.delivered(), 3u);
}

// Regression (issue 12, defect 4): a containerd that accepts but never answers stalled events
// for good. Now the request times out, the publisher reconnects and sends the same event
// again, and everything is delivered in order, once, when the server answers.
TEST_F(EventsPublisherTest, StalledServerTimesOutReconnectsAndDeliversInOrder) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kStall);
  EventPublisherOptions o = Fast();
  o.request_timeout = 500ms;
  EventPublisher pub(reactor_, sock_, "unit", o);
  for (int i = 0; i < 3; ++i) Publish(pub, i);
  // The head is re-sent on a new connection after its timeout.
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.requests().size() >= 2; }, 5s))
      << "no re-send: requests " << server.requests().size();
  auto reqs = server.requests();
  EXPECT_EQ(TopicOf(reqs[0]), T(0));
  EXPECT_EQ(TopicOf(reqs[1]), T(0));
  EXPECT_NE(reqs[0].conn, reqs[1].conn) << "the re-send must use a fresh connection";
  EXPECT_EQ(reqs[1].stream, 1u);

  server.SetMode(Mode::kAnswer);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }, 5s));
  EXPECT_EQ(Topics(server.answered()), (std::vector<std::string>{T(0), T(1), T(2)}));
  // Never a later event before an earlier one was answered.
  auto all = Topics(server.requests());
  for (size_t i = 1; i < all.size(); ++i) EXPECT_LE(all[i - 1], all[i]) << "out of order at " << i;
  EXPECT_EQ(pub.delivered(), 3u);
  EXPECT_EQ(pub.dropped(), 0u);
}

// The server goes away (with nothing in flight, and then with a request in flight) and comes
// back on the same path: reconnect, nothing lost, nothing twice.
TEST_F(EventsPublisherTest, ServerRestartLosesNothing) {
  auto server = std::make_unique<FakeTtrpcServer>(sock_);
  EventPublisher pub(reactor_, sock_, "unit", Fast());
  Publish(pub, 0);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));

  server->Stop();  // containerd restarts: the connection closes, the socket is gone a while
  Publish(pub, 1);
  Publish(pub, 2);
  EXPECT_EQ(pub.queued(), 2u);
  server->Start();
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));

  server->SetMode(Mode::kStall);  // this time it dies with a request unanswered
  Publish(pub, 3);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return Topics(server->requests()).back() == T(3); }));
  server->Stop();
  server->SetMode(Mode::kAnswer);
  server->Start();
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));

  EXPECT_EQ(Topics(server->answered()), (std::vector<std::string>{T(0), T(1), T(2), T(3)}));
  EXPECT_EQ(pub.delivered(), 4u);
  EXPECT_EQ(pub.dropped(), 0u);
  EXPECT_GE(server->accepted(), 3);
}

// Regression (issue 12, defect 4): on overflow with a request in flight the old publisher
// dropped the in-flight head, and the reply then popped the next event, which was never sent.
TEST_F(EventsPublisherTest, OverflowWhileInFlightKeepsTheSentHeadAndDropsOldestUnsent) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kHold);
  EventPublisherOptions o = Fast();
  o.max_queued = 4;  // the held reply, not the (long) timeout, ends the request
  EventPublisher pub(reactor_, sock_, "unit", o);
  Publish(pub, 0);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.requests().size() == 1; }));
  for (int i = 1; i <= 6; ++i) Publish(pub, i);  // 6 unsent into room for 4: 1 and 2 go
  EXPECT_EQ(pub.dropped(), 2u);
  EXPECT_EQ(pub.queued(), 5u);  // the in-flight head + 4 unsent

  server.SetMode(Mode::kAnswer);
  server.ReleaseHeld();  // containerd finally acknowledges event 0
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));
  std::vector<std::string> want{T(0), T(3), T(4), T(5), T(6)};
  EXPECT_EQ(Topics(server.answered()), want);
  EXPECT_EQ(Topics(server.requests()), want) << "each sent once, the one after 0 is 3";
  EXPECT_EQ(pub.delivered(), 5u);
  EXPECT_EQ(pub.dropped(), 2u);
}

// A head that was sent and timed out (waiting for its re-send) is protected too.
TEST_F(EventsPublisherTest, OverflowKeepsAHeadThatTimedOut) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kStall);
  EventPublisherOptions o = Fast();
  o.request_timeout = 200ms;
  o.max_queued = 2;
  o.backoff_initial = o.backoff_max = 60s;  // stays in back-off after the first timeout
  EventPublisher pub(reactor_, sock_, "unit", o);
  Publish(pub, 0);
  // Sent, timed out, connection closed: the head now waits for its re-send.
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.closed_by_client() == 1; }));
  EXPECT_EQ(server.requests().size(), 1u);
  for (int i = 1; i <= 5; ++i) Publish(pub, i);
  EXPECT_EQ(pub.dropped(), 3u);
  EXPECT_EQ(pub.queued(), 3u);  // 0 (sent) + 4, 5
}

// Regression (issue 12, defect 4): drops are counted and logged, not a line per drop.
TEST_F(EventsPublisherTest, DropsAreCountedAndLoggedRateLimited) {
  std::string log_path = dir_.File("stderr.log");
  EventPublisherOptions o = Fast();
  o.max_queued = 4;
  o.drop_log_interval = 100ms;
  // No server: nothing is ever sent, so every drop takes the oldest event.
  auto pub = std::make_unique<EventPublisher>(reactor_, dir_.File("absent.sock"), "unit", o);
  int saved = dup(2);
  int logfd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(logfd, 0);
  dup2(logfd, 2);
  close(logfd);
  for (int i = 0; i < 1000; ++i) Publish(*pub, i);
  auto drop_lines = [&] {
    std::ifstream f(log_path);
    std::vector<std::string> out;
    for (std::string l; std::getline(f, l);) {
      if (l.find("queue full") != std::string::npos) out.push_back(l);
    }
    return out;
  };
  size_t right_away = drop_lines().size();
  // The rest of the burst is summarised when the interval ends.
  bool summarised = RunUntil(reactor_, [&] { return drop_lines().size() >= 2; }, 5s);
  pub.reset();
  dup2(saved, 2);
  close(saved);
  EXPECT_EQ(right_away, 1u);
  ASSERT_TRUE(summarised);
  auto lines = drop_lines();
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("dropped=1 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("dropped=995 "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("dropped_total=996"), std::string::npos) << lines[1];
}

TEST_F(EventsPublisherTest, RejectedEventIsCountedAndTheNextOneDelivered) {
  FakeTtrpcServer server(sock_);
  server.SetAnswer([](const FakeTtrpcServer::Request& r) {
    ::ttrpc::Response resp;
    if (TopicOf(r) == T(0)) {
      resp.mutable_status()->set_code(3);  // InvalidArgument: containerd refuses the envelope
      resp.mutable_status()->set_message("envelope topic: invalid argument");
    }
    return resp;
  });
  EventPublisher pub(reactor_, sock_, "unit", Fast());
  Publish(pub, 0);
  Publish(pub, 1);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));
  EXPECT_EQ(Topics(server.requests()), (std::vector<std::string>{T(0), T(1)}));
  EXPECT_EQ(pub.rejected(), 1u);
  EXPECT_EQ(pub.delivered(), 1u);
}

TEST_F(EventsPublisherTest, TransientErrorReplyIsRetried) {
  FakeTtrpcServer server(sock_);
  int unavailable = 2;
  server.SetAnswer([&](const FakeTtrpcServer::Request&) {
    ::ttrpc::Response resp;
    if (unavailable > 0) {  // runs on the server's thread, one request at a time
      --unavailable;
      resp.mutable_status()->set_code(14);
      resp.mutable_status()->set_message("shutting down");
    }
    return resp;
  });
  EventPublisher pub(reactor_, sock_, "unit", Fast());
  Publish(pub, 0);
  Publish(pub, 1);
  ASSERT_TRUE(RunUntil(reactor_, [&] { return pub.idle(); }));
  EXPECT_EQ(Topics(server.requests()), (std::vector<std::string>{T(0), T(0), T(0), T(1)}));
  EXPECT_EQ(pub.delivered(), 2u);
  EXPECT_EQ(pub.rejected(), 0u);
}

TEST_F(EventsPublisherTest, OnIdleWaitsForTheLastAcknowledgement) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kHold);
  EventPublisher pub(reactor_, sock_, "unit", Fast());
  bool idle = false;
  pub.OnIdle([&] { idle = true; });
  EXPECT_TRUE(idle);  // nothing queued: at once
  idle = false;
  Publish(pub, 0);
  pub.OnIdle([&] { idle = true; });
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.requests().size() == 1; }));
  EXPECT_FALSE(idle);
  server.ReleaseHeld();
  ASSERT_TRUE(RunUntil(reactor_, [&] { return idle; }));
  EXPECT_TRUE(pub.idle());
}

TEST_F(EventsPublisherTest, EmptyAddressDiscards) {
  EventPublisher pub(reactor_, "", "unit", Fast());
  Publish(pub, 0);
  EXPECT_TRUE(pub.idle());
}

}  // namespace
}  // namespace reaper
