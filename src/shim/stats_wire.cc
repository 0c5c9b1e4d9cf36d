#include "shim/stats_wire.h"

#include "cgroups_v1.pb.h"
#include "cgroups_v2.pb.h"
#include "task.pb.h"

namespace reaper {
namespace {
namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

std::string V1(const CgroupStats& s) {
  v1::Metrics m;
  if (s.has_pids) {
    m.mutable_pids()->set_current(s.pids_current);
    m.mutable_pids()->set_limit(s.pids_limit);
  }
  if (s.has_cpu) {
    auto* u = m.mutable_cpu()->mutable_usage();
    u->set_total(s.cpu_total_ns);
    u->set_user(s.cpu_user_ns);
    u->set_kernel(s.cpu_kernel_ns);
    for (uint64_t v : s.cpu_per_cpu_ns) u->add_per_cpu(v);
    auto* t = m.mutable_cpu()->mutable_throttling();
    t->set_periods(s.cpu_periods);
    t->set_throttled_periods(s.cpu_throttled_periods);
    t->set_throttled_time(s.cpu_throttled_ns);
  }
  if (s.has_memory) {
    auto* mem = m.mutable_memory();
    mem->set_cache(s.Stat("cache"));
    mem->set_rss(s.Stat("rss"));
    mem->set_rss_huge(s.Stat("rss_huge"));
    mem->set_mapped_file(s.Stat("mapped_file"));
    mem->set_dirty(s.Stat("dirty"));
    mem->set_writeback(s.Stat("writeback"));
    mem->set_pg_pg_in(s.Stat("pgpgin"));
    mem->set_pg_pg_out(s.Stat("pgpgout"));
    mem->set_pg_fault(s.Stat("pgfault"));
    mem->set_pg_maj_fault(s.Stat("pgmajfault"));
    mem->set_inactive_anon(s.Stat("inactive_anon"));
    mem->set_active_anon(s.Stat("active_anon"));
    mem->set_inactive_file(s.Stat("inactive_file"));
    mem->set_active_file(s.Stat("active_file"));
    mem->set_unevictable(s.Stat("unevictable"));
    mem->set_hierarchical_memory_limit(s.Stat("hierarchical_memory_limit"));
    mem->set_hierarchical_swap_limit(s.Stat("hierarchical_memsw_limit"));
    mem->set_total_cache(s.Stat("total_cache"));
    mem->set_total_rss(s.Stat("total_rss"));
    mem->set_total_rss_huge(s.Stat("total_rss_huge"));
    mem->set_total_mapped_file(s.Stat("total_mapped_file"));
    mem->set_total_dirty(s.Stat("total_dirty"));
    mem->set_total_writeback(s.Stat("total_writeback"));
    mem->set_total_pg_pg_in(s.Stat("total_pgpgin"));
    mem->set_total_pg_pg_out(s.Stat("total_pgpgout"));
    mem->set_total_pg_fault(s.Stat("total_pgfault"));
    mem->set_total_pg_maj_fault(s.Stat("total_pgmajfault"));
    mem->set_total_inactive_anon(s.Stat("total_inactive_anon"));
    mem->set_total_active_anon(s.Stat("total_active_anon"));
    mem->set_total_inactive_file(s.Stat("total_inactive_file"));
    mem->set_total_active_file(s.Stat("total_active_file"));
    mem->set_total_unevictable(s.Stat("total_unevictable"));
    auto* u = mem->mutable_usage();
    u->set_usage(s.memory_usage);
    u->set_max(s.memory_max_usage);
    u->set_limit(s.memory_limit);
    u->set_failcnt(s.memory_failcnt);
    auto* sw = mem->mutable_swap();
    sw->set_usage(s.swap_usage);
    sw->set_limit(s.swap_limit);
    auto* oc = m.mutable_memory_oom_control();
    oc->set_under_oom(s.under_oom ? 1 : 0);
    oc->set_oom_kill(s.oom_kills);
  }
  if (s.has_io) {
    auto* b = m.mutable_blkio();
    for (const auto& d : s.io) {
      for (auto [op, v] : {std::pair{"Read", d.read_bytes}, std::pair{"Write", d.write_bytes}}) {
        auto* e = b->add_io_service_bytes_recursive();
        e->set_op(op);
        e->set_major(d.major);
        e->set_minor(d.minor);
        e->set_value(v);
      }
      for (auto [op, v] : {std::pair{"Read", d.read_ios}, std::pair{"Write", d.write_ios}}) {
        auto* e = b->add_io_serviced_recursive();
        e->set_op(op);
        e->set_major(d.major);
        e->set_minor(d.minor);
        e->set_value(v);
      }
    }
  }
  return m.SerializeAsString();
}

std::string V2(const CgroupStats& s) {
  v2::Metrics m;
  if (s.has_pids) {
    m.mutable_pids()->set_current(s.pids_current);
    m.mutable_pids()->set_limit(s.pids_limit);
  }
  if (s.has_cpu) {
    auto* c = m.mutable_cpu();
    c->set_usage_usec(s.cpu_total_ns / 1000);
    c->set_user_usec(s.cpu_user_ns / 1000);
    c->set_system_usec(s.cpu_kernel_ns / 1000);
    c->set_nr_periods(s.cpu_periods);
    c->set_nr_throttled(s.cpu_throttled_periods);
    c->set_throttled_usec(s.cpu_throttled_ns / 1000);
  }
  if (s.has_memory) {
    auto* mem = m.mutable_memory();
    mem->set_anon(s.Stat("anon"));
    mem->set_file(s.Stat("file"));
    mem->set_kernel_stack(s.Stat("kernel_stack"));
    mem->set_slab(s.Stat("slab"));
    mem->set_sock(s.Stat("sock"));
    mem->set_shmem(s.Stat("shmem"));
    mem->set_file_mapped(s.Stat("file_mapped"));
    mem->set_file_dirty(s.Stat("file_dirty"));
    mem->set_file_writeback(s.Stat("file_writeback"));
    mem->set_anon_thp(s.Stat("anon_thp"));
    mem->set_inactive_anon(s.Stat("inactive_anon"));
    mem->set_active_anon(s.Stat("active_anon"));
    mem->set_inactive_file(s.Stat("inactive_file"));
    mem->set_active_file(s.Stat("active_file"));
    mem->set_unevictable(s.Stat("unevictable"));
    mem->set_slab_reclaimable(s.Stat("slab_reclaimable"));
    mem->set_slab_unreclaimable(s.Stat("slab_unreclaimable"));
    mem->set_pgfault(s.Stat("pgfault"));
    mem->set_pgmajfault(s.Stat("pgmajfault"));
    mem->set_usage(s.memory_usage);
    mem->set_usage_limit(s.memory_limit);
    mem->set_swap_usage(s.swap_usage);
    mem->set_swap_limit(s.swap_limit);
    mem->set_max_usage(s.memory_max_usage);
    auto* ev = m.mutable_memory_events();
    ev->set_max(s.memory_failcnt);
    ev->set_oom_kill(s.oom_kills);
  }
  for (const auto& d : s.io) {
    auto* e = m.mutable_io()->add_usage();
    e->set_major(d.major);
    e->set_minor(d.minor);
    e->set_rbytes(d.read_bytes);
    e->set_wbytes(d.write_bytes);
    e->set_rios(d.read_ios);
    e->set_wios(d.write_ios);
  }
  return m.SerializeAsString();
}
}  // namespace

std::string EncodeStatsResponse(const CgroupStats& s, bool v1) {
  containerd::task::v2::StatsResponse resp;
  resp.mutable_stats()->set_type_url(v1 ? kMetricsV1Type : kMetricsV2Type);
  resp.mutable_stats()->set_value(v1 ? V1(s) : V2(s));
  return resp.SerializeAsString();
}

}  // namespace reaper
