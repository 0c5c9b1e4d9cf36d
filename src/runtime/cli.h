// reaper-runtime: a runc-compatible OCI runtime command line for host processes, built on
// the same spawning, identity and host-protection code as the shim (runtime_commands.cc).
// Global flags: --root DIR (default /run/reaper-runtime), --log FILE, --log-format text|json,
// --debug, --systemd-cgroup (accepted). Commands: create, start, state, kill, delete, exec,
// ps, list, features; --version.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace reaper::runtime {

struct Globals {
  std::string root = "/run/reaper-runtime";
  std::string log_path;
  bool log_json = false;
  bool debug = false;
};

// A parsed command line: the command, its --flags (value or "" for booleans) and positionals.
struct Command {
  std::string name;
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> args;
  bool has(const std::string& f) const { return flags.count(f) != 0; }
  std::string get(const std::string& f, const std::string& def = "") const {
    auto it = flags.find(f);
    return it == flags.end() || it->second.empty() ? def : it->second.back();
  }
};

// Pure: splits argv into globals and the command. Flags take `--f v`, `--f=v`, `-f v`.
Result<std::pair<Globals, Command>> ParseCommandLine(const std::vector<std::string>& argv);

// Runs a parsed command; returns the exit code. Errors are printed by the caller.
Result<int> Execute(const Globals& g, const Command& c);

// Entry point: parse, run, report errors (stderr and --log), return the exit code.
int Main(int argc, char** argv);

}  // namespace reaper::runtime
