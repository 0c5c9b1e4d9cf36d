// ttrpc::Client against the fake server of tests/unit/ttrpc_fake_server.h: replies by stream
// id, error statuses, deadlines, disconnects, and callbacks that close or destroy the client.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ttrpc/client.h"
#include "ttrpc_fake_server.h"

namespace reaper::ttrpc {
namespace {

using reaper::testing::FakeTtrpcServer;
using reaper::testing::RunUntil;
using reaper::testing::TempDir;
using Mode = FakeTtrpcServer::Mode;
using Outcome = CallResult::Outcome;
using namespace std::chrono_literals;

class TtrpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(reactor_.Init().ok()); }
  // Calls "svc/M" with `payload`; results are appended to `out`.
  Status CallInto(Client& c, const std::string& payload, std::vector<CallResult>* out,
                  std::chrono::milliseconds timeout = 0ms) {
    return c.Call("svc", "M", payload, {{"k", "v"}}, timeout, [out](CallResult r) { out->push_back(std::move(r)); });
  }
  TempDir dir_;
  std::string sock_ = dir_.File("srv.sock");
  Reactor reactor_;
};

TEST_F(TtrpcClientTest, ConnectFailsAtOnceWithoutAServer) {
  Client c(reactor_, dir_.path() + "/absent.sock");
  Status st = c.Connect();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("absent.sock"), std::string::npos) << st.message();
  EXPECT_FALSE(c.connected());
  std::vector<CallResult> got;
  EXPECT_EQ(CallInto(c, "x", &got).code(), Code::kUnavailable);
  EXPECT_TRUE(got.empty());
}

TEST_F(TtrpcClientTest, RepliesAreMatchedByStream) {
  FakeTtrpcServer server(sock_);
  server.SetAnswer([](const FakeTtrpcServer::Request& r) {
    ::ttrpc::Response resp;
    resp.set_payload("echo:" + r.req.payload());
    return resp;
  });
  Client c(reactor_, sock_);
  ASSERT_TRUE(c.Connect().ok());
  std::vector<CallResult> got;
  ASSERT_TRUE(CallInto(c, "a", &got, 1500ms).ok());
  ASSERT_TRUE(CallInto(c, "b", &got).ok());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return got.size() == 2; }));
  EXPECT_EQ(got[0].outcome, Outcome::kReplied);
  EXPECT_TRUE(got[0].status.ok());
  EXPECT_EQ(got[0].payload, "echo:a");
  EXPECT_EQ(got[1].payload, "echo:b");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].stream, 1u);
  EXPECT_EQ(reqs[1].stream, 3u);
  EXPECT_EQ(reqs[0].req.service(), "svc");
  EXPECT_EQ(reqs[0].req.method(), "M");
  EXPECT_EQ(reqs[0].req.timeout_nano(), 1'500'000'000);
  EXPECT_EQ(reqs[1].req.timeout_nano(), 0);
  ASSERT_EQ(reqs[0].req.metadata_size(), 1);
  EXPECT_EQ(reqs[0].req.metadata(0).key(), "k");
  EXPECT_EQ(c.pending(), 0u);
}

TEST_F(TtrpcClientTest, ErrorStatusIsDecoded) {
  FakeTtrpcServer server(sock_);
  server.SetAnswer([](const FakeTtrpcServer::Request&) {
    ::ttrpc::Response resp;
    resp.mutable_status()->set_code(5);
    resp.mutable_status()->set_message("no such thing");
    return resp;
  });
  Client c(reactor_, sock_);
  ASSERT_TRUE(c.Connect().ok());
  std::vector<CallResult> got;
  ASSERT_TRUE(CallInto(c, "a", &got).ok());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return got.size() == 1; }));
  EXPECT_EQ(got[0].outcome, Outcome::kReplied);
  EXPECT_EQ(got[0].status.code(), Code::kNotFound);
  EXPECT_EQ(got[0].status.message(), "no such thing");
}

TEST_F(TtrpcClientTest, DeadlinePassesAndTheLateReplyIsDropped) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kHold);
  Client c(reactor_, sock_);
  ASSERT_TRUE(c.Connect().ok());
  std::vector<CallResult> got;
  ASSERT_TRUE(CallInto(c, "slow", &got, 50ms).ok());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return got.size() == 1; }));
  EXPECT_EQ(got[0].outcome, Outcome::kTimedOut);
  EXPECT_EQ(got[0].status.code(), Code::kDeadlineExceeded);
  EXPECT_TRUE(c.connected()) << "a timeout does not end the connection";

  server.SetMode(Mode::kAnswer);
  server.ReleaseHeld();  // the late reply to stream 1
  ASSERT_TRUE(CallInto(c, "next", &got).ok());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return got.size() >= 2; }));
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.answered().size() == 2; }));
  // Let anything else that arrived be read: the late reply must not produce a callback.
  std::vector<CallResult> more;
  ASSERT_TRUE(CallInto(c, "sync", &more).ok());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return more.size() == 1; }));
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].outcome, Outcome::kReplied);
  EXPECT_EQ(server.requests()[1].stream, 3u);
}

TEST_F(TtrpcClientTest, DisconnectFailsPendingCallsThenCallsBack) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kStall);
  Client c(reactor_, sock_);
  std::vector<std::string> order;
  c.SetDisconnectCallback([&](const Status& why) { order.push_back("disconnected:" + std::to_string(static_cast<int>(why.code()))); });
  ASSERT_TRUE(c.Connect().ok());
  for (std::string p : {"a", "b"}) {
    ASSERT_TRUE(c.Call("svc", "M", p, {}, 10s, [&order, p](CallResult r) {
                   order.push_back(p + ":" + std::to_string(static_cast<int>(r.outcome)));
                 }).ok());
  }
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.requests().size() == 2; }));
  server.Stop();
  ASSERT_TRUE(RunUntil(reactor_, [&] { return order.size() == 3; }));
  std::vector<std::string> want{"a:2", "b:2", "disconnected:14"};
  EXPECT_EQ(order, want);
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(c.pending(), 0u);

  // Connect again on the same Client: stream ids start over.
  server.SetMode(Mode::kAnswer);
  server.Start();
  ASSERT_TRUE(c.Connect().ok());
  std::vector<CallResult> got;
  ASSERT_TRUE(CallInto(c, "c", &got).ok());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return got.size() == 1; }));
  EXPECT_TRUE(got[0].replied());
  EXPECT_EQ(server.requests().back().stream, 1u);
}

TEST_F(TtrpcClientTest, CloseForgetsPendingCallsSilently) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kHold);
  Client c(reactor_, sock_);
  bool disconnected = false;
  c.SetDisconnectCallback([&](const Status&) { disconnected = true; });
  ASSERT_TRUE(c.Connect().ok());
  std::vector<CallResult> got;
  auto deadline = std::chrono::steady_clock::now() + 300ms;
  ASSERT_TRUE(CallInto(c, "a", &got, 300ms).ok());
  c.Close();  // before the deadline, with the call pending
  ASSERT_TRUE(got.empty());
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.closed_by_client() == 1; }));
  // Past the deadline: the cancelled timer must not fire either.
  RunUntil(reactor_, [&] { return std::chrono::steady_clock::now() > deadline + 50ms; });
  EXPECT_TRUE(got.empty());
  EXPECT_FALSE(disconnected);
}

TEST_F(TtrpcClientTest, CallbackMayDestroyTheClient) {
  FakeTtrpcServer server(sock_);
  server.SetMode(Mode::kHold);
  auto c = std::make_unique<Client>(reactor_, sock_);
  ASSERT_TRUE(c->Connect().ok());
  int calls = 0;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c->Call("svc", "M", "x", {}, 0ms, [&](CallResult) {
                   ++calls;
                   c.reset();  // both replies may arrive in one read: the second must not run
                 }).ok());
  }
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.requests().size() == 2; }));
  server.ReleaseHeld();
  ASSERT_TRUE(RunUntil(reactor_, [&] { return calls >= 1; }));
  ASSERT_TRUE(RunUntil(reactor_, [&] { return server.closed_by_client() == 1; }));
  EXPECT_EQ(calls, 1);
}

TEST_F(TtrpcClientTest, OversizedRequestIsRefused) {
  FakeTtrpcServer server(sock_);
  Client c(reactor_, sock_);
  ASSERT_TRUE(c.Connect().ok());
  std::vector<CallResult> got;
  Status st = CallInto(c, std::string(kMaxMessageSize + 1, 'x'), &got);
  EXPECT_EQ(st.code(), Code::kResourceExhausted);
  EXPECT_EQ(c.pending(), 0u);
  EXPECT_TRUE(got.empty());
}

}  // namespace
}  // namespace reaper::ttrpc
