#include "host/signals.h"

#include <signal.h>

#include <string>

#include "base/files.h"

namespace reaper {
namespace {
struct Named {
  const char* name;
  int number;
};
constexpr Named kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"POLL", SIGPOLL},   {"PWR", SIGPWR},       {"SYS", SIGSYS},
};
}  // namespace

Result<int> ParseSignal(std::string_view s) {
  long long n;
  if (ParseInt(s, &n)) {
    if (n >= 1 && n < NSIG) return static_cast<int>(n);
  } else {
    std::string_view name = s;
    if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
    for (const auto& sig : kSignals) {
      if (name == sig.name) return sig.number;
    }
  }
  return Status(Code::kInvalidArgument, "unknown signal \"" + std::string(s) + "\"");
}

}  // namespace reaper
