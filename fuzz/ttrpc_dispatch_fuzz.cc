// libFuzzer target: bytes -> the shim's request path, without a socket or a process.
// The input is a ttrpc byte stream: FrameDecoder -> ttrpc::Server::Route (Request decode,
// service/method lookup) -> TaskService handlers (payload decode, validation, lookups) of a
// shim that holds no container. Checks: every Request frame gets exactly one reply, at once,
// and every reply is a well-formed Response frame within the size limit.
//
// Nothing may be spawned: a Create whose bundle holds a config.json on this machine is
// skipped, so a fuzzer that guesses a real bundle path never starts a process.
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "shim/event_publisher.h"
#include "base/reactor.h"
#include "task.pb.h"
#include "shim/task_service.h"
#include "ttrpc.pb.h"
#include "ttrpc/frame.h"
#include "ttrpc/server.h"

namespace {
namespace tt = reaper::ttrpc;

void Check(bool ok) {
  if (!ok) abort();
}

struct Shim {
  reaper::Reactor reactor;
  reaper::EventPublisher events{reactor, "/nonexistent/reaper-fuzz.sock", "fuzz"};
  tt::Server server{reactor, reaper::UniqueFd()};
  reaper::TaskService tasks;

  static reaper::TaskServiceOptions Options() {
    reaper::TaskServiceOptions o;
    o.ns = "fuzz";
    o.self_exe = "/nonexistent/reaper-fuzz";
    reaper::NodeConfig cfg;
    cfg.overlay = reaper::OverlayMode::kOff;
    cfg.state_root = "/nonexistent/reaper-fuzz-state";
    o.config = cfg;
    return o;
  }
  Shim() : tasks(reactor, events, Options()) {
    Check(reactor.Init().ok());
    tasks.RegisterWith(server);
  }
};

// True if this frame is a Task.Create whose bundle exists here (see the file comment).
bool CreateOfRealBundle(const std::string& payload) {
  ::ttrpc::Request req;
  if (!req.ParseFromString(payload)) return false;
  if (req.service() != "containerd.task.v2.Task" || req.method() != "Create") return false;
  containerd::task::v2::CreateTaskRequest create;
  if (!create.ParseFromString(req.payload())) return false;
  const std::string& b = create.bundle();
  return !b.empty() && access((b + "/config.json").c_str(), F_OK) == 0;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Shim* shim = new Shim();  // one shim for the whole run, as in production
  tt::FrameDecoder dec;
  dec.Feed(reinterpret_cast<const char*>(data), size);
  while (auto f = dec.Next()) {
    if (!f->oversized && CreateOfRealBundle(f->payload)) continue;
    bool expect_reply = f->oversized || f->header.type == tt::kTypeRequest;
    uint32_t stream = f->header.stream_id;
    int replies = 0;
    tt::Responder r(
        [&](std::string bytes) {
          ++replies;
          Check(bytes.size() >= tt::kHeaderSize && bytes.size() - tt::kHeaderSize <= tt::kMaxMessageSize);
          tt::FrameHeader h = tt::DecodeHeader(reinterpret_cast<const uint8_t*>(bytes.data()));
          Check(h.type == tt::kTypeResponse && h.stream_id == stream);
          Check(h.length == bytes.size() - tt::kHeaderSize);
          ::ttrpc::Response resp;
          Check(resp.ParseFromArray(bytes.data() + tt::kHeaderSize, static_cast<int>(h.length)));
        },
        stream);
    shim->server.Route(std::move(*f), r);
    Check(replies == (expect_reply ? 1 : 0));
  }
  Check(shim->tasks.empty());
  return 0;
}
