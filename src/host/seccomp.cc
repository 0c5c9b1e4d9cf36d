#include "host/seccomp.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>

#include "base/files.h"
#include "base/sha256.h"
#include "base/unique_fd.h"

namespace reaper {
namespace {

Status Invalid(const std::string& msg) { return Status(Code::kInvalidArgument, msg); }

uint32_t Action(const std::string& name, std::optional<uint32_t> errno_ret) {
  uint16_t e = static_cast<uint16_t>(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(e);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(e);
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  return SCMP_ACT_ALLOW;  // the parser admits no other name
}

scmp_compare Op(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  return SCMP_CMP_MASKED_EQ;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 if unknown.
uint32_t ArchToken(const std::string& name) {
  std::string n = name.substr(strlen("SCMP_ARCH_"));
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(n.c_str());
}

struct CtxDeleter {
  void operator()(void* c) const { seccomp_release(c); }
};

}  // namespace

Result<SeccompProgram> CompileSeccomp(const SeccompSpec& spec) {
  uint32_t def = Action(spec.default_action, spec.default_errno_ret);
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(def));
  if (!ctx) return Invalid("linux.seccomp: libseccomp refused the default action " + spec.default_action);
  SeccompProgram prog;
  // A binary tree of syscall numbers instead of a list: a workload's every syscall walks
  // O(log n) instructions, not hundreds (libseccomp >= 2.5).
  (void)seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (const auto& a : spec.architectures) {
    uint32_t tok = ArchToken(a);
    if (tok == 0) return Invalid("linux.seccomp.architectures: " + a + " is not supported by libseccomp");
    int r = seccomp_arch_add(ctx.get(), tok);
    if (r != 0 && r != -EEXIST) return Invalid("linux.seccomp.architectures: " + a + ": " + strerror(-r));
  }
  for (const auto& f : spec.flags) {
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") prog.flags |= SECCOMP_FILTER_FLAG_TSYNC;
    else if (f == "SECCOMP_FILTER_FLAG_LOG") prog.flags |= SECCOMP_FILTER_FLAG_LOG;
    else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") prog.flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  for (const auto& rule : spec.syscalls) {
    uint32_t act = Action(rule.action, rule.errno_ret);
    if (act == def) continue;  // libseccomp refuses a rule that repeats the default
    std::vector<scmp_arg_cmp> conds;
    bool same_index_twice = false;
    for (const auto& a : rule.args) {
      for (const auto& c : conds) same_index_twice |= c.arg == a.index;
      conds.push_back(scmp_arg_cmp{a.index, Op(a.op), a.value, a.value_two});
    }
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        ++prog.skipped;  // newer than this libseccomp: the default action applies to it
        continue;
      }
      auto add = [&](unsigned n, const scmp_arg_cmp* c) -> Status {
        int r = seccomp_rule_add_array(ctx.get(), act, nr, n, c);
        if (r != 0) return Invalid("linux.seccomp: rule for " + name + " (" + rule.action + "): " + strerror(-r));
        return Status::Ok();
      };
      // One rule ANDs its conditions, and libseccomp allows one condition per argument in
      // it; conditions on the same argument become separate rules (any of them matches).
      if (!same_index_twice) {
        REAPER_RETURN_IF_ERROR(add(static_cast<unsigned>(conds.size()), conds.data()));
      } else {
        for (const auto& c : conds) REAPER_RETURN_IF_ERROR(add(1, &c));
      }
    }
  }
  UniqueFd mem(memfd_create("reaper-seccomp", MFD_CLOEXEC));
  if (!mem) return Status::FromErrno(errno, "memfd_create for the seccomp program");
  if (int r = seccomp_export_bpf(ctx.get(), mem.get()); r != 0) {
    return Invalid(std::string("linux.seccomp: cannot compile the filter: ") + strerror(-r));
  }
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return Status(Code::kInternal, "seccomp program of odd size");
  if (static_cast<size_t>(size) / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Invalid("linux.seccomp: the filter has more than " + std::to_string(BPF_MAXINSNS) + " instructions");
  }
  prog.filter.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(mem.get(), prog.filter.data(), static_cast<size_t>(size), 0) != size) {
    return Status::FromErrno(errno, "read the seccomp program");
  }
  return prog;
}

namespace {

void Add(std::string& k, const std::string& v) { k += std::to_string(v.size()) + ":" + v + ";"; }

// An unambiguous text of everything that shapes the program.
std::string CacheKey(const SeccompSpec& spec) {
  const scmp_version* v = seccomp_version();
  std::string k = "reaper-seccomp-2 libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                  std::to_string(v->micro) + " native " + std::to_string(seccomp_arch_native()) + "\n";
  auto num = [](std::optional<uint32_t> e) { return e ? std::to_string(*e) : std::string("-"); };
  Add(k, spec.default_action);
  Add(k, num(spec.default_errno_ret));
  for (const auto& a : spec.architectures) Add(k, a);
  k += "|";
  for (const auto& f : spec.flags) Add(k, f);
  k += "|";
  for (const auto& r : spec.syscalls) {
    k += "{";
    for (const auto& n : r.names) Add(k, n);
    Add(k, r.action);
    Add(k, num(r.errno_ret));
    for (const auto& a : r.args) {
      Add(k, std::to_string(a.index) + "," + std::to_string(a.value) + "," + std::to_string(a.value_two) + "," + a.op);
    }
    k += "}";
  }
  return k;
}

constexpr char kMagic[8] = {'R', 'S', 'E', 'C', 'B', 'P', 'F', '1'};

std::optional<SeccompProgram> ReadCached(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st{};
  if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
    return std::nullopt;
  }
  size_t n = static_cast<size_t>(st.st_size);
  if (n <= 16 || (n - 16) % sizeof(sock_filter) != 0 || (n - 16) / sizeof(sock_filter) > BPF_MAXINSNS) {
    return std::nullopt;
  }
  std::string buf(n, '\0');
  if (pread(fd.get(), buf.data(), n, 0) != static_cast<ssize_t>(n) || buf.compare(0, 8, kMagic, 8) != 0) {
    return std::nullopt;
  }
  SeccompProgram p;
  uint32_t head[2];
  memcpy(head, buf.data() + 8, sizeof head);
  p.flags = head[0];
  p.skipped = head[1];
  p.filter.resize((n - 16) / sizeof(sock_filter));
  memcpy(p.filter.data(), buf.data() + 16, n - 16);
  return p;
}

}  // namespace

Result<SeccompProgram> CompileSeccompCached(const SeccompSpec& spec, const std::string& cache_dir) {
  std::string path = cache_dir + "/" + Sha256Hex(CacheKey(spec)) + ".bpf";
  if (auto cached = ReadCached(path)) return std::move(*cached);
  auto prog = CompileSeccomp(spec);
  if (!prog.ok()) return prog;
  if (MkdirAll(cache_dir, 0700).ok()) {
    std::string data(kMagic, sizeof kMagic);
    uint32_t head[2] = {prog->flags, static_cast<uint32_t>(prog->skipped)};
    data.append(reinterpret_cast<const char*>(head), sizeof head);
    data.append(reinterpret_cast<const char*>(prog->filter.data()), prog->filter.size() * sizeof(sock_filter));
    (void)WriteFileAtomic(path, data);  // best effort: another shim may be writing it too
  }
  return prog;
}

int LoadSeccomp(const SeccompProgram& p) {
  sock_fprog fprog{static_cast<unsigned short>(p.filter.size()), const_cast<sock_filter*>(p.filter.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p.flags, &fprog) != 0) return errno;
  return 0;
}

std::vector<std::string> SeccompSupportedArchitectures() {
  std::vector<std::string> out;
  for (const auto& a : SeccompArchitectures()) {
    if (ArchToken(a) != 0) out.push_back(a);
  }
  return out;
}

}  // namespace reaper
