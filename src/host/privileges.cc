#include "host/privileges.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace reaper {

int CapLastCap() {
  static int last = [] {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 40;
    char buf[16] = {};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    int v = n > 0 ? atoi(buf) : 40;
    return v > 0 && v < 64 ? v : 40;
  }();
  return last;
}

uint64_t AllCapabilities() {
  int last = CapLastCap();
  return last >= 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
}

uint64_t OwnPermittedCapabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return AllCapabilities();
  return (uint64_t{data[1].permitted} << 32) | data[0].permitted;
}

CapabilitySets ForThisKernel(const CapabilitySets& c) {
  uint64_t m = AllCapabilities();
  uint64_t held = m & OwnPermittedCapabilities();
  return CapabilitySets{c.bounding & m, c.effective & held, c.permitted & held, c.inheritable & held,
                        c.ambient & held};
}

int CapsBeforeSetuid(uint64_t bounding, int last_cap) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno;
  for (int cap = 0; cap <= last_cap; ++cap) {
    if (bounding & (uint64_t{1} << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  }
  return 0;
}

int SetCapSets(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return errno;
  return Capset(effective, permitted, inheritable);
}

int Capset(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) != 0) return errno;
  return 0;
}

void SetAmbient(uint64_t ambient, int last_cap, int* failed) {
  *failed = -1;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap = 0; cap <= last_cap; ++cap) {
    if (!(ambient & (uint64_t{1} << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0 && *failed < 0) *failed = cap;
  }
}

}  // namespace reaper
