#include "shim/process_io.h"

#include "host/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
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

Result<UniqueFd> Dup(int fd) {
  UniqueFd d(fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!d) return Status::FromErrno(errno, "dup");
  return d;
}
}  // namespace

Result<std::unique_ptr<ProcessIo>> ProcessIo::Open(Reactor& reactor, const IoPaths& paths) {
  std::unique_ptr<ProcessIo> io(new ProcessIo(reactor));
  Status st = paths.terminal ? io->OpenTerminal(paths) : io->OpenPlain(paths);
  if (!st.ok()) return st;
  return io;
}

Status ProcessIo::OpenStdinFifo(const std::string& p, UniqueFd* reader) {
  reader->reset(open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!*reader) return Status::FromErrno(errno, "open stdin " + p);
  stdin_hold_.reset(open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!stdin_hold_) return Status::FromErrno(errno, "open stdin writer " + p);
  return Status::Ok();
}

Status ProcessIo::OpenSink(const std::string& uri, const char* name, UniqueFd* dst, UniqueFd* keepalive) {
  auto c = Classify(uri);
  if (!c.ok()) return c.status();
  const std::string& p = c->second;
  switch (c->first) {
    case Kind::kNull:
      dst->reset(open("/dev/null", O_WRONLY | O_CLOEXEC));
      break;
    case Kind::kFile:
      dst->reset(open(p.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
      break;
    case Kind::kFifo:
      // Reader first: it keeps the FIFO alive without a client and lets the writer open.
      keepalive->reset(open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
      if (!*keepalive) return Status::FromErrno(errno, std::string("open ") + name + " " + p);
      dst->reset(open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      break;
  }
  if (!*dst) return Status::FromErrno(errno, std::string("open ") + name + " " + (p.empty() ? "/dev/null" : p));
  return Status::Ok();
}

Status ProcessIo::OpenPlain(const IoPaths& paths) {
  auto in = Classify(paths.stdin_path);
  if (!in.ok()) return in.status();
  if (in->first == Kind::kFifo) {
    REAPER_RETURN_IF_ERROR(OpenStdinFifo(in->second, &child_[0]));
    // The process wants ordinary blocking reads.
    fcntl(child_[0].get(), F_SETFL, fcntl(child_[0].get(), F_GETFL) & ~O_NONBLOCK);
  } else if (in->first == Kind::kFile) {
    child_[0].reset(open(in->second.c_str(), O_RDONLY | O_CLOEXEC));
    if (!child_[0]) return Status::FromErrno(errno, "open stdin " + in->second);
  }
  const std::string* outs[] = {&paths.stdout_path, &paths.stderr_path};
  for (int i = 1; i <= 2; ++i) {
    const std::string& uri = *outs[i - 1];
    const char* name = i == 1 ? "stdout" : "stderr";
    auto c = Classify(uri);
    if (!c.ok()) return c.status();
    if (c->first == Kind::kNull) continue;  // the child gets /dev/null
    if (c->first == Kind::kFile) {
      UniqueFd unused;
      REAPER_RETURN_IF_ERROR(OpenSink(uri, name, &child_[i], &unused));
      continue;
    }
    Copy cp;
    REAPER_RETURN_IF_ERROR(OpenSink(uri, name, &cp.dst, &cp.keepalive));
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, std::string(name) + " pipe");
    cp.src.reset(fds[0]);
    child_[i].reset(fds[1]);
    copies_.push_back(std::move(cp));
  }
  return Status::Ok();
}

Status ProcessIo::OpenTerminal(const IoPaths& paths) {
  auto pty = OpenPty();
  if (!pty.ok()) return pty.status();
  master_ = std::move(pty->master);
  UniqueFd slave = std::move(pty->slave);
  for (int i = 0; i < 3; ++i) {
    auto d = Dup(slave.get());
    if (!d.ok()) return d.status();
    child_[i] = std::move(*d);
  }
  Copy out;
  REAPER_RETURN_IF_ERROR(OpenSink(paths.stdout_path, "stdout", &out.dst, &out.keepalive));
  auto m = Dup(master_.get());
  if (!m.ok()) return m.status();
  out.src = std::move(*m);
  copies_.push_back(std::move(out));
  auto in = Classify(paths.stdin_path);
  if (!in.ok()) return in.status();
  if (in->first != Kind::kNull) {
    Copy cp;
    cp.output = false;
    if (in->first == Kind::kFifo) {
      REAPER_RETURN_IF_ERROR(OpenStdinFifo(in->second, &cp.src));
    } else {
      cp.src.reset(open(in->second.c_str(), O_RDONLY | O_CLOEXEC));
      if (!cp.src) return Status::FromErrno(errno, "open stdin " + in->second);
    }
    auto w = Dup(master_.get());
    if (!w.ok()) return w.status();
    cp.dst = std::move(*w);
    copies_.push_back(std::move(cp));
  }
  return Status::Ok();
}

ProcessIo::~ProcessIo() = default;

StdioFds ProcessIo::child_fds() const {
  return StdioFds{child_[0].get(), child_[1].get(), child_[2].get(), terminal()};
}

Status ProcessIo::Started() {
  started_ = true;
  for (auto& fd : child_) fd.reset();
  for (auto& cp : copies_) {
    cp.copier = std::make_unique<FdCopier>(reactor_, std::move(cp.src), std::move(cp.dst), std::move(cp.keepalive));
    REAPER_RETURN_IF_ERROR(cp.copier->Start([this] { CheckDrained(); }));
  }
  return Status::Ok();
}

Status ProcessIo::Resize(uint32_t width, uint32_t height) {
  if (!master_) return Status::Ok();
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (ioctl(master_.get(), TIOCSWINSZ, &ws) != 0) return Status::FromErrno(errno, "TIOCSWINSZ");
  return Status::Ok();
}

bool ProcessIo::OutputsDone() const {
  for (const auto& cp : copies_) {
    if (cp.output && (!cp.copier || !cp.copier->done())) return false;
  }
  return true;
}

bool ProcessIo::drained() const {
  for (const auto& cp : copies_) {
    if (!cp.copier || !cp.copier->done()) return false;
  }
  return true;
}

void ProcessIo::OnDrained(std::function<void()> cb) {
  on_drained_ = std::move(cb);
  CheckDrained();
}

void ProcessIo::CheckDrained() {
  if (checking_) return;  // an input copy ending below: the outer call finishes the job
  if (!OutputsDone()) return;
  checking_ = true;
  // Only a terminal has input copies, and its output ends when no slave fd is left: nobody
  // can read what a client types any more. Without this the stdin copy would wait on the
  // stdin FIFO (held open by us and the client) until Delete.
  bool had_input = false;
  for (auto& cp : copies_) {
    if (cp.output || !cp.copier) continue;
    had_input = true;
    cp.copier->Finish();
  }
  if (had_input) stdin_hold_.reset();
  checking_ = false;
  if (on_drained_ && drained()) std::exchange(on_drained_, nullptr)();
}

void ProcessIo::FlushOutputs() {
  for (auto& cp : copies_) {
    if (cp.output && cp.copier) cp.copier->Flush();
  }
}

void ProcessIo::Finish() {
  stdin_hold_.reset();
  for (auto& cp : copies_) {
    if (cp.copier) {
      cp.copier->Finish();
    } else {
      cp.src.reset();
      cp.dst.reset();
      cp.keepalive.reset();
      cp.copier = nullptr;
    }
  }
  // Copies that never started count as done once their fds are closed.
  copies_.erase(std::remove_if(copies_.begin(), copies_.end(), [](const Copy& c) { return !c.copier; }),
                copies_.end());
  master_.reset();
  CheckDrained();
}

}  // namespace reaper
