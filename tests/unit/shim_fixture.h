// ShimTest: a GoogleTest fixture around ShimProcess with helpers for the common RPCs.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "shim_harness.h"
#include "task.pb.h"

namespace reaper {
namespace task = containerd::task::v2;
using testing::Client;
using testing::Reply;
using testing::ShimProcess;

inline std::string Spec(const std::string& args_json, const std::string& extra = "") {
  return R"({"ociVersion":"1.0.2","process":{"args":)" + args_json +
         R"(,"env":["PATH=/usr/bin:/bin","ONLY=this"],"cwd":"/"}, "annotations":{}})" + extra;
}

// Reads a FIFO until EOF (the shim closes its writer when the process's output ends).
class FifoReader {
 public:
  explicit FifoReader(const std::string& path) : fd_(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {}
  // Reads until `needle` has arrived (or EOF / timeout); keeps the rest for ReadAll.
  std::string ReadUntil(const std::string& needle, int timeout_ms = 10000) {
    char buf[4096];
    while (pending_.find(needle) == std::string::npos) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) break;
      ssize_t n = read(fd_.get(), buf, sizeof buf);
      if (n <= 0 && !(n < 0 && errno == EAGAIN)) break;
      if (n > 0) pending_.append(buf, static_cast<size_t>(n));
    }
    return pending_;
  }
  std::string ReadAll(int timeout_ms = 10000) {
    std::string out = std::exchange(pending_, std::string());
    char buf[65536];
    for (;;) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return out + "<timeout>";
      ssize_t n = read(fd_.get(), buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (n == 0) {
        return out;  // EOF: every writer closed
      } else if (errno != EAGAIN) {
        return out + "<error>";
      }
    }
  }

 private:
  UniqueFd fd_;
  std::string pending_;
};

class ShimTest : public ::testing::Test {
 protected:
  ShimTest() = default;
  explicit ShimTest(const std::string& extra_config, bool capture_log = false) : shim_(extra_config, capture_log) {}
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the shim daemon, mounts, other users)";
    client_ = std::make_unique<Client>(shim_.socket());
    ASSERT_TRUE(client_->ok());
  }
  Reply Create(const std::string& id, const std::string& config, const std::string& out = "",
               const std::string& in = "") {
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(shim_.Bundle(id, config));
    req.set_stdout(out);
    req.set_stdin(in);
    return client_->Call("Create", req);
  }
  template <typename T>
  T Parse(const Reply& r) {
    T m;
    EXPECT_EQ(r.code, 0) << r.message;
    EXPECT_TRUE(m.ParseFromString(r.payload));
    return m;
  }
  Reply Simple(const std::string& method, const std::string& id, const std::string& exec_id = "") {
    task::StateRequest req;  // {id, exec_id} has the same shape for Start/Wait/Delete/State
    req.set_id(id);
    req.set_exec_id(exec_id);
    return client_->Call(method, req);
  }
  Reply Kill(const std::string& id, int sig, bool all = false) {
    task::KillRequest k;
    k.set_id(id);
    k.set_signal(sig);
    k.set_all(all);
    return client_->Call("Kill", k);
  }

  // Create, Start, Wait, Delete; returns {exit status, stdout}. exit -1: a step failed
  // (the message is in stdout).
  std::pair<int, std::string> Run(const std::string& id, const std::string& config) {
    std::string out = shim_.Fifo(id + ".out");
    FifoReader reader(out);
    Reply c = Create(id, config, out);
    if (c.code != 0) return {-1, c.message};
    Reply s = Simple("Start", id);
    if (s.code != 0) return {-1, s.message};
    task::WaitResponse w;
    Reply wr = Simple("Wait", id);
    if (wr.code != 0 || !w.ParseFromString(wr.payload)) return {-1, wr.message};
    std::string text = reader.ReadAll();
    Simple("Delete", id);
    return {static_cast<int>(w.exit_status()), text};
  }
  // Same for an exec into a running container.
  std::pair<int, std::string> Exec(const std::string& id, const std::string& exec_id, const std::string& process_json) {
    std::string out = shim_.Fifo(id + "." + exec_id + ".out");
    FifoReader reader(out);
    task::ExecProcessRequest ex;
    ex.set_id(id);
    ex.set_exec_id(exec_id);
    ex.set_stdout(out);
    ex.mutable_spec()->set_value(process_json);
    Reply e = client_->Call("Exec", ex);
    if (e.code != 0) return {-1, e.message};
    Reply s = Simple("Start", id, exec_id);
    if (s.code != 0) return {-1, s.message};
    task::WaitResponse w;
    Reply wr = Simple("Wait", id, exec_id);
    if (wr.code != 0 || !w.ParseFromString(wr.payload)) return {-1, wr.message};
    std::string text = reader.ReadAll();
    Simple("Delete", id, exec_id);
    return {static_cast<int>(w.exit_status()), text};
  }

  ShimProcess shim_;
  std::unique_ptr<Client> client_;
};


}  // namespace reaper
