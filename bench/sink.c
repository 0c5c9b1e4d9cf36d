// bench/sink.c: the reader at the end of the throughput benchmark (bench/throughput.sh).
//
//   sink <expected-bytes>   < pipe-or-fifo
//
// Drains stdin into /dev/null with splice(2) (no copy to user space; read(2) with a 128 KiB
// buffer if stdin is not a pipe), so the reader costs as little CPU as possible. Prints two
// lines on stdout, each flushed at once:
//
//   reached <bytes> <t_first_ns> <t_reached_ns> <cpu_us>
//       as soon as <expected-bytes> have arrived (or at EOF if that comes first). Timestamps are
//       CLOCK_MONOTONIC; t_first is the arrival of the first byte; cpu_us is the sink's own
//       user+system CPU so far.
//   eof <bytes> <t_eof_ns>
//       at EOF, with the final byte count (to check that nothing more arrived).
//
// The first line is what the benchmark waits for: `ctr run` keeps its stdout open until the
// task is deleted, so EOF alone would not mark the end of the transfer.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sink <expected-bytes> < input\n");
    return 2;
  }
  long long expected = atoll(argv[1]);
  int null_fd = open("/dev/null", O_WRONLY);
  if (null_fd < 0) {
    perror("sink: /dev/null");
    return 1;
  }
  static char buf[1 << 17];
  int use_read = 0, reported = 0;
  long long total = 0, t_first = 0;
  if (expected <= 0) {
    long long t = now_ns();
    printf("reached 0 %lld %lld %lld\n", t, t, cpu_us());
    fflush(stdout);
    reported = 1;
  }
  for (;;) {
    ssize_t n;
    if (!use_read) {
      n = splice(0, NULL, null_fd, NULL, 1 << 20, SPLICE_F_MOVE);
      if (n < 0 && errno == EINVAL) {  // stdin is not a pipe
        use_read = 1;
        continue;
      }
    } else {
      n = read(0, buf, sizeof buf);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("sink");
      return 1;
    }
    if (n == 0) break;
    if (total == 0) t_first = now_ns();
    total += n;
    if (!reported && total >= expected) {
      printf("reached %lld %lld %lld %lld\n", total, t_first, now_ns(), cpu_us());
      fflush(stdout);
      reported = 1;
    }
  }
  long long t_eof = now_ns();
  if (!reported) printf("reached %lld %lld %lld %lld\n", total, t_first ? t_first : t_eof, t_eof, cpu_us());
  printf("eof %lld %lld\n", total, t_eof);
  fflush(stdout);
  return 0;
}
