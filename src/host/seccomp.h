// linux.seccomp compiled to a classic BPF program with libseccomp (Debian's), in the shim,
// before the child is forked; the child only loads it with seccomp(2) as its last step before
// execve (docs/design.md "Privileges").
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/status.h"
#include "host/security_spec.h"

namespace reaper {

struct SeccompProgram {
  std::vector<sock_filter> filter;
  unsigned flags = 0;  // SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER)
  size_t skipped = 0;  // syscall names libseccomp does not know (skipped, as runc does)
};

// A bad profile (an architecture or rule libseccomp refuses) is InvalidArgument naming it.
Result<SeccompProgram> CompileSeccomp(const SeccompSpec& spec);

// The same, through a cache of compiled programs in `cache_dir` (created 0700): compiling a
// runtime/default profile costs ~20 ms, so every pod of a node with the same profile (the
// file is named by the SHA-256 of the profile and libseccomp's version) reads ~9 KiB instead.
// A cache file not owned by this uid, writable by others, or malformed is ignored and
// replaced; a cache that cannot be written only costs the compilation.
Result<SeccompProgram> CompileSeccompCached(const SeccompSpec& spec, const std::string& cache_dir);

// Child side, a plain syscall: returns 0 or the errno.
int LoadSeccomp(const SeccompProgram& program);

// The native architecture's name as the spec writes it ("SCMP_ARCH_X86_64").
std::vector<std::string> SeccompSupportedArchitectures();

}  // namespace reaper
