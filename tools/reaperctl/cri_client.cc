#include "cri_client.h"

#include <sys/stat.h>

#include "errors.h"

namespace reaperctl {

CriClient::CriClient(const std::string& endpoint, const Options& options) {
  std::string path;
  if (endpoint.rfind("unix://", 0) == 0) {
    path = endpoint.substr(7);
  } else if (!endpoint.empty() && endpoint[0] == '/') {
    path = endpoint;
  } else {
    throw UsageError("runtime endpoint must be unix:///path or an absolute path, got \"" +
                     endpoint + "\"");
  }
  endpoint_ = "unix://" + path;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    throw Error("cannot reach the CRI runtime: " + path +
                " is not a socket (is containerd running? use --runtime-endpoint or "
                "CONTAINER_RUNTIME_ENDPOINT)");
  grpc::ChannelArguments args;
  // ExecSync returns up to 16 MiB per stream.
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(16 << 20);
  if (options.own_connection) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  channel_ = grpc::CreateCustomChannel(endpoint_, grpc::InsecureChannelCredentials(), args);
  runtime_ = runtime::v1::RuntimeService::NewStub(channel_);
  image_ = runtime::v1::ImageService::NewStub(channel_);
}

std::string CriClient::Describe(const char* rpc, const grpc::Status& st) const {
  std::string msg = std::string(rpc) + ": " + st.error_message();
  switch (st.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      msg += " (cannot reach the CRI runtime at " + endpoint_ + ")";
      break;
    case grpc::StatusCode::UNIMPLEMENTED:
      msg += " (does " + endpoint_ + " serve CRI runtime.v1? containerd needs its CRI plugin)";
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      msg += " (no answer in time)";
      break;
    default:
      if (st.error_message().find("no runtime for") != std::string::npos)
        msg += " (the runtime handler, i.e. spec.runtimeClassName, is not configured in "
               "containerd's CRI plugin)";
      break;
  }
  return msg;
}

void CriClient::Fail(const char* rpc, const grpc::Status& st) const { throw Error(Describe(rpc, st)); }

}  // namespace reaperctl
