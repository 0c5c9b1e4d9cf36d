#include "runtime/cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>

#include "base/log.h"
#include "base/unique_fd.h"

namespace reaper::runtime {
namespace {

// Flags that take a value, per command ("" = global).
const std::set<std::string>& ValueFlags() {
  static const std::set<std::string> s = {
      "root", "log", "log-format", "criu", "rootless",                     // global
      "bundle", "b", "pid-file", "console-socket", "preserve-fds",          // create / exec
      "process", "p", "cwd", "env", "e", "user", "u", "format", "f", "cap",  // exec / ps / list
      "additional-gids", "g", "process-label", "apparmor", "cgroup", "notify-socket"};
  return s;
}

std::string JsonEscape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o;
}

void LogError(const Globals& g, const std::string& msg) {
  fprintf(stderr, "reaper-runtime: %s\n", msg.c_str());
  if (g.log_path.empty()) return;
  UniqueFd f(open(g.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!f) return;
  std::string line = g.log_json ? "{\"level\":\"error\",\"msg\":\"" + JsonEscape(msg) + "\",\"time\":\"" + log::NowRfc3339() + "\"}\n"
                                : log::FormatLine(log::NowRfc3339(), log::Level::kError, msg, {});
  ssize_t r = write(f.get(), line.data(), line.size());
  (void)r;
}
}  // namespace

Result<std::pair<Globals, Command>> ParseCommandLine(const std::vector<std::string>& argv) {
  Globals g;
  Command c;
  bool after_dashdash = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (after_dashdash || a.size() < 2 || a[0] != '-') {
      if (c.name.empty() && !after_dashdash) {
        c.name = a;
      } else {
        c.args.push_back(a);
        // exec's command arguments may look like flags: everything after the id is argv.
        if (c.name == "exec" && c.args.size() == 1) after_dashdash = true;
      }
      continue;
    }
    if (a == "--") {
      after_dashdash = true;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "version" || name == "v") {
      c.name = "version";
      continue;
    }
    if (!has_value && ValueFlags().count(name)) {
      if (i + 1 >= argv.size()) return Status(Code::kInvalidArgument, "flag needs an argument: --" + name);
      value = argv[++i];
    }
    if (c.name.empty()) {  // global flag
      if (name == "root") g.root = value;
      else if (name == "log") g.log_path = value;
      else if (name == "log-format") {
        if (value != "text" && value != "json") return Status(Code::kInvalidArgument, "invalid log format " + value);
        g.log_json = value == "json";
      } else if (name == "debug") g.debug = true;
      // --systemd-cgroup and others: accepted (host processes get no cgroup limits)
      continue;
    }
    c.flags[name].push_back(value);
  }
  if (c.name.empty()) return Status(Code::kInvalidArgument, "no command given (create, start, state, kill, delete, exec, ps, list, features)");
  if (g.root.empty() || g.root[0] != '/') return Status(Code::kInvalidArgument, "--root must be an absolute path");
  return std::make_pair(g, c);
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseCommandLine(args);
  if (!parsed.ok()) {
    fprintf(stderr, "reaper-runtime: %s\n", parsed.status().message().c_str());
    return 1;
  }
  // Library progress messages ("creating overlay group") go to stderr only with --debug:
  // callers such as podman show the runtime's stderr to the user.
  log::SetLevel(parsed->first.debug ? log::Level::kDebug : log::Level::kWarn);
  auto rc = Execute(parsed->first, parsed->second);
  if (!rc.ok()) {
    LogError(parsed->first, rc.status().message());
    return 1;
  }
  return *rc;
}

}  // namespace reaper::runtime
