#include "process_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace reaper {
namespace {
enum class Kind { kNull, kFifo, kFile };

Result<std::pair<Kind, std::string>> Classify(const std::string& uri) {
  if (uri.empty()) return std::make_pair(Kind::kNull, std::string());
  if (uri.rfind("fifo://", 0) == 0) return std::make_pair(Kind::kFifo, uri.substr(7));
  if (uri.rfind("file://", 0) == 0) {
    std::string p = uri.substr(7);
    if (p.empty() || p[0] != '/') return Status(Code::kInvalidArgument, "file:// log path must be absolute: " + uri);
    return std::make_pair(Kind::kFile, p);
  }
  if (uri.find("://") != std::string::npos) {
    return Status(Code::kUnimplemented, "unsupported stdio URI scheme: " + uri);
  }
  struct stat st{};
  if (stat(uri.c_str(), &st) == 0 && !S_ISFIFO(st.st_mode)) return std::make_pair(Kind::kFile, uri);
  return std::make_pair(Kind::kFifo, uri);
}
}  // namespace

Result<std::unique_ptr<ProcessIo>> ProcessIo::Open(Reactor& reactor, const IoPaths& paths) {
  std::unique_ptr<ProcessIo> io(new ProcessIo(reactor));
  auto in = Classify(paths.stdin_path);
  if (!in.ok()) return in.status();
  if (in->first == Kind::kFifo) {
    const std::string& p = in->second;
    io->child_[0].reset(open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!io->child_[0]) return Status::FromErrno(errno, "open stdin " + p);
    io->stdin_hold_.reset(open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!io->stdin_hold_) return Status::FromErrno(errno, "open stdin writer " + p);
    // The process wants ordinary blocking reads.
    fcntl(io->child_[0].get(), F_SETFL, fcntl(io->child_[0].get(), F_GETFL) & ~O_NONBLOCK);
  } else if (in->first == Kind::kFile) {
    io->child_[0].reset(open(in->second.c_str(), O_RDONLY | O_CLOEXEC));
    if (!io->child_[0]) return Status::FromErrno(errno, "open stdin " + in->second);
  }
  REAPER_RETURN_IF_ERROR(io->OpenOutput(paths.stdout_path, 1));
  if (!paths.terminal) REAPER_RETURN_IF_ERROR(io->OpenOutput(paths.stderr_path, 2));
  return io;
}

Status ProcessIo::OpenOutput(const std::string& uri, int index) {
  const char* name = index == 1 ? "stdout" : "stderr";
  auto c = Classify(uri);
  if (!c.ok()) return c.status();
  const std::string& p = c->second;
  if (c->first == Kind::kNull) return Status::Ok();
  if (c->first == Kind::kFile) {
    child_[index].reset(open(p.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    if (!child_[index]) return Status::FromErrno(errno, std::string("open ") + name + " " + p);
    return Status::Ok();
  }
  Pending& pd = pending_[index];
  // Reader first: it keeps the FIFO alive without a client and lets the writer open at once.
  pd.keepalive.reset(open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!pd.keepalive) return Status::FromErrno(errno, std::string("open ") + name + " " + p);
  pd.fifo_w.reset(open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!pd.fifo_w) return Status::FromErrno(errno, std::string("open ") + name + " writer " + p);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, std::string(name) + " pipe");
  pd.pipe_r.reset(fds[0]);
  child_[index].reset(fds[1]);
  return Status::Ok();
}

ProcessIo::~ProcessIo() = default;

StdioFds ProcessIo::child_fds() const {
  return StdioFds{child_[0].get(), child_[1].get(), child_[2].get()};
}

Status ProcessIo::Started() {
  for (auto& fd : child_) fd.reset();
  for (int i = 1; i < 3; ++i) {
    Pending& pd = pending_[i];
    if (!pd.pipe_r) continue;
    copiers_[i] = std::make_unique<OutputCopier>(reactor_, std::move(pd.pipe_r), std::move(pd.fifo_w),
                                                 std::move(pd.keepalive));
    REAPER_RETURN_IF_ERROR(copiers_[i]->Start([this] { CheckDrained(); }));
  }
  return Status::Ok();
}

bool ProcessIo::drained() const {
  for (const auto& c : copiers_) {
    if (c && !c->done()) return false;
  }
  for (int i = 1; i < 3; ++i) {
    if (pending_[i].pipe_r) return false;
  }
  return true;
}

void ProcessIo::OnDrained(std::function<void()> cb) {
  on_drained_ = std::move(cb);
  CheckDrained();
}

void ProcessIo::CheckDrained() {
  if (on_drained_ && drained()) std::exchange(on_drained_, nullptr)();
}

void ProcessIo::Finish() {
  stdin_hold_.reset();
  for (int i = 1; i < 3; ++i) pending_[i] = Pending{};
  for (auto& c : copiers_) {
    if (c) c->Finish();
  }
  CheckDrained();
}

}  // namespace reaper
