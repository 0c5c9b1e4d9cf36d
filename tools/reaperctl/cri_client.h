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
  struct Options {
    // A connection of this client's own (gRPC otherwise shares one, with its reconnect
    // back-off, between clients of the same endpoint): a new client then really dials the
    // socket again, which a follower that reconnects after a runtime restart relies on.
    bool own_connection = false;
  };
  // `endpoint`: "unix:///path" or a bare absolute path. Throws Error if the path is not a
  // socket (UsageError if the endpoint is malformed). Does not connect yet.
  explicit CriClient(const std::string& endpoint) : CriClient(endpoint, Options{}) {}
  CriClient(const std::string& endpoint, const Options& options);

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

  // "<rpc>: <gRPC message> (<hint>)": the text of the Error that Fail throws.
  std::string Describe(const char* rpc, const grpc::Status& st) const;
  [[noreturn]] void Fail(const char* rpc, const grpc::Status& st) const;

 private:
  std::string endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<runtime::v1::ImageService::Stub> image_;
};

}  // namespace reaperctl
