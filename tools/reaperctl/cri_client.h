// A blocking CRI (runtime.v1) client over gRPC. Every call has a deadline; a failed call
// throws Error("<Rpc>: <gRPC message>") with a hint for the usual mistakes (no socket, CRI
// plugin disabled, unknown runtime handler). Thread-safe (gRPC stubs are).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "api.grpc.pb.h"

namespace reaperctl {

inline constexpr char kDefaultEndpoint[] = "unix:///run/containerd/containerd.sock";

class CriClient {
 public:
  // `endpoint`: "unix:///path" or a bare absolute path.
  explicit CriClient(const std::string& endpoint);

  const std::string& endpoint() const { return endpoint_; }
  runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
  runtime::v1::ImageService::Stub& image() { return *image_; }

  // Calls `method` on `stub` with a deadline; throws Error on failure.
  template <typename Stub, typename Req, typename Resp>
  Resp Call(const char* name, Stub& stub,
            grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
            std::chrono::milliseconds timeout = kDefaultTimeout) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    Resp resp;
    grpc::Status st = (stub.*method)(&ctx, req, &resp);
    if (!st.ok()) Fail(name, st);
    return resp;
  }

  // Same, but returns the status instead of throwing.
  template <typename Stub, typename Req, typename Resp>
  grpc::Status TryCall(Stub& stub,
                       grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                       const Req& req, Resp* resp,
                       std::chrono::milliseconds timeout = kDefaultTimeout) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    return (stub.*method)(&ctx, req, resp);
  }

  static constexpr std::chrono::milliseconds kDefaultTimeout{120000};

  [[noreturn]] void Fail(const char* rpc, const grpc::Status& st) const;

 private:
  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<runtime::v1::ImageService::Stub> image_;
};

}  // namespace reaperctl
