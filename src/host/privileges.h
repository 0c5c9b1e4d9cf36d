// Capabilities of a spawned child (docs/design.md "Privileges"): the parent masks the spec's
// sets to what this kernel knows; the child, with plain syscalls only, drops the bounding set
// and keeps its permitted set across setuid (before), then sets effective, permitted,
// inheritable and ambient (after).
#pragma once

#include <cstdint>

#include "host/security_spec.h"

namespace reaper {

// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap; 40 if
// unreadable). Parent side, cached.
int CapLastCap();
// All capabilities 0..CapLastCap().
uint64_t AllCapabilities();
// The calling process's permitted set (capget), parent side.
uint64_t OwnPermittedCapabilities();
// The spec's sets with bits above CapLastCap() removed (names the kernel does not know), and
// effective, permitted, inheritable and ambient limited to what the shim itself holds (a node
// whose root lacks, say, CAP_SYS_RESOURCE cannot give it: containerd writes only the
// capabilities it holds for a privileged container, and so does this).
CapabilitySets ForThisKernel(const CapabilitySets& c);

inline constexpr int kCapSysAdmin = 21;

// Child side. Each returns 0 or an errno.
// Before setgid/setuid: PR_SET_KEEPCAPS and PR_CAPBSET_DROP of every capability 0..last_cap
// outside `bounding`.
int CapsBeforeSetuid(uint64_t bounding, int last_cap);
// After setuid: PR_SET_KEEPCAPS off, then Capset.
int SetCapSets(uint64_t effective, uint64_t permitted, uint64_t inheritable);
// capset(2) with _LINUX_CAPABILITY_VERSION_3 on the calling thread.
int Capset(uint64_t effective, uint64_t permitted, uint64_t inheritable);
// Clears the ambient set and raises each capability of `ambient`; the first one the kernel
// refuses is returned in *failed (-1 if none), the others are still raised.
void SetAmbient(uint64_t ambient, int last_cap, int* failed);

}  // namespace reaper
