// The privilege fields of an OCI spec, as plain data (parsed in oci_spec.cc, pure):
// process.capabilities (five sets as bit masks), linux.seccomp (the profile as containerd
// writes it), linux.maskedPaths / readonlyPaths and root.readonly (docs/security.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace reaper {

// Bit n is capability n (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
struct CapabilitySets {
  uint64_t bounding = 0;
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
  uint64_t ambient = 0;
  bool operator==(const CapabilitySets&) const = default;
};

// "CAP_NET_ADMIN" -> 12; nullopt for a name this build does not know.
std::optional<int> CapabilityNumber(std::string_view name);
// Every capability name this build knows, CAP_CHOWN first.
const std::vector<std::string>& CapabilityNames();
// process.capabilities; an unknown name is InvalidArgument naming it.
Result<CapabilitySets> ParseCapabilities(const nlohmann::json& j);

struct SeccompArg {
  unsigned index = 0;  // 0..5
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct SeccompSpec {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_*
  std::vector<SeccompRule> syscalls;
};

// linux.seccomp. Actions, operators, architectures and flags are checked against the lists
// below; syscall names are resolved when the filter is compiled (host/seccomp.h).
Result<SeccompSpec> ParseSeccomp(const nlohmann::json& j);

const std::vector<std::string>& SeccompActions();    // SCMP_ACT_* Reaper supports
const std::vector<std::string>& SeccompOperators();  // SCMP_CMP_*
const std::vector<std::string>& SeccompArchitectures();
const std::vector<std::string>& SeccompFlags();

}  // namespace reaper
