// reaperctl's error type and exit codes. reaperctl is a CLI: errors are exceptions caught in
// main(), which prints "reaperctl: <message>" and exits with the error's code.
#pragma once

#include <stdexcept>
#include <string>

namespace reaperctl {

// Exit codes of reaperctl itself. `run` and `exec` otherwise exit with the workload's code.
inline constexpr int kExitUsage = 2;      // bad command line or manifest
inline constexpr int kExitTimeout = 124;  // --timeout expired (as timeout(1))
inline constexpr int kExitFailure = 125;  // reaperctl or the CRI runtime failed
inline constexpr int kExitInterrupted = 130;

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg, int exit_code = kExitFailure)
      : std::runtime_error(msg), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// A malformed command line or Pod manifest.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg, kExitUsage) {}
};

}  // namespace reaperctl
