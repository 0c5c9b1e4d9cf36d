#include "terminal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"

namespace reaperctl {

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(std::string("write: ") + strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (!isatty(fd) || tcgetattr(fd, &saved_) != 0) return;
  termios raw = saved_;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
}

RawTerminal::~RawTerminal() {
  if (active_) tcsetattr(fd_, TCSANOW, &saved_);
}

bool TerminalSize(int fd, unsigned* width, unsigned* height) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return false;
  *width = ws.ws_col;
  *height = ws.ws_row;
  return true;
}

namespace {
int g_winch_write_fd = -1;

void OnWinch(int) {
  int saved = errno;
  char c = 'w';
  [[maybe_unused]] ssize_t n = write(g_winch_write_fd, &c, 1);
  errno = saved;
}
}  // namespace

int WatchWindowChanges() {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) throw Error(std::string("pipe: ") + strerror(errno));
  g_winch_write_fd = p[1];
  struct sigaction sa {};
  sa.sa_handler = OnWinch;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGWINCH, &sa, nullptr);
  return p[0];
}

void DrainWindowChanges(int fd) {
  char buf[64];
  while (read(fd, buf, sizeof buf) > 0) {
  }
}

}  // namespace reaperctl
