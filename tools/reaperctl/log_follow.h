// The pure parts of `reaperctl logs [-f] [--tail N]` (no I/O, no clock: callers pass bytes, file
// identities and times; unit-tested):
//   LogCursor       where the reader is in one CRI log file; hands out complete records only
//   CompareLogFile  is the open file still the one at the log path (rotation, truncation)?
//   TailScanner     where the last N records of a file start, scanning it from the end
//   FollowPolicy    when to ask the runtime about the container, how to back off while it does
//                   not answer, when to stop and when to give up
// The I/O loop that drives them is PrintCriLog (cri_log.h); the runtime probe is in cmd_logs.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace reaperctl {

// The bytes of one CRI log file, read in order from `start`. Only complete records (up to and
// including their '\n') are decoded and handed out; an unfinished last record waits for the
// rest. So printed() is always the end of a record, and reading on from read() (or again from
// printed(), after Restart) neither repeats nor skips a line.
class LogCursor {
 public:
  explicit LogCursor(uint64_t start = 0) : read_(start) {}

  // `bytes` were read from offset read(); returns the text of the records they complete.
  std::string Feed(std::string_view bytes);
  // The file ends for good (the container is gone, or the file was replaced): an unfinished
  // last record is handed out as it is, with a newline. read() stays.
  std::string Finish();
  // Reading starts over at `offset` (of a truncated or a new file); an unfinished record is
  // dropped.
  void Restart(uint64_t offset);

  uint64_t read() const { return read_; }  // the next offset to read from
  uint64_t printed() const { return read_ - pending_.size(); }  // end of the last record out
  size_t pending() const { return pending_.size(); }

 private:
  uint64_t read_;
  std::string pending_;  // bytes of the unfinished last record
};

// A file as stat(2) shows it.
struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
};

enum class LogFileChange {
  kSame,       // the path names the open file, which did not shrink
  kTruncated,  // the open file is shorter than what was read of it (copytruncate): read it again
               // from 0
  kReplaced,   // the path names another file (rotated, recreated): read the open one to its
               // end, then the new one from 0
  kMissing,    // nothing at the path (the pod's log directory was removed): keep reading the
               // open file
};

// `open`: fstat of the file being read; `at_path`: stat of the log path now (nullopt: none);
// `read_offset`: how far the open file was read.
LogFileChange CompareLogFile(const FileIdentity& open, const std::optional<FileIdentity>& at_path,
                             uint64_t read_offset);

// Where the last `n` complete records of a file of `size` bytes start. Feed it the file's
// blocks from the end backwards until done(). A last record without its '\n' (being written)
// does not count: it comes after the n records. n < 0: the whole file; n = 0: only what comes
// after the last complete record.
class TailScanner {
 public:
  TailScanner(uint64_t size, int64_t n);

  bool done() const { return done_; }
  uint64_t start() const { return start_; }  // valid once done()
  // The next block to feed ends at this offset (the data fed so far starts there).
  uint64_t next_block_end() const { return pos_; }
  // `block`: the bytes just before next_block_end(). Must not be empty while !done().
  void FeedBackwards(std::string_view block);

 private:
  uint64_t pos_;
  int64_t wanted_;  // newlines still to find: the last record's, then one before each record
  uint64_t start_ = 0;
  bool done_ = false;
};

// What the runtime says about the followed container.
enum class ContainerProbe {
  kRunning,      // created, running or unknown to the runtime for now: keep following
  kExited,       // its log is complete once the file is read to its end
  kRemoved,      // NotFound: likewise
  kUnreachable,  // no answer (no socket, connection refused, deadline, not initialised yet)
};

struct ProbeResult {
  ContainerProbe state = ContainerProbe::kRunning;
  std::string error;  // kUnreachable: why
};

// When to probe the runtime, and what a probe's answer means for the follower.
//
// While the runtime answers, it is asked every check_interval, and at once when the log file
// was closed by its writer, moved or removed (ProbeSoon). When it stops answering (containerd
// restarting), the follower keeps reading the file and retries after first_retry, doubling up
// to max_retry. It gives up once the runtime has not answered for give_up_after AND the log
// has not grown for as long: a log that still grows means the container is alive and its
// output is being written, so following goes on.
class FollowPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  using ms = std::chrono::milliseconds;

  struct Params {
    ms check_interval{1000};
    ms first_retry{100};
    ms max_retry{2000};
    ms give_up_after{60000};  // `logs --reconnect-timeout`; 0: at the first failed probe
  };

  enum class Action {
    kContinue,  // keep following; probe again at next_probe()
    kStop,      // the container is gone: read the file to its end and stop (exit 0)
    kGiveUp,    // the runtime is unreachable for too long: read what is there, then fail
  };
  enum class Change {
    kNone,
    kLost,      // this probe is the first that failed
    kRegained,  // this probe is the first that succeeded after failures
  };
  struct Step {
    Action action = Action::kContinue;
    Change change = Change::kNone;
  };

  // `now`: when the runtime last answered (the caller just looked the container up). The
  // first probe is due at once.
  FollowPolicy(const Params& params, Clock::time_point now);

  Clock::time_point next_probe() const { return next_probe_; }
  bool reconnecting() const { return failures_ > 0; }
  // Since when the runtime does not answer (valid while reconnecting()).
  Clock::time_point lost_since() const { return lost_since_; }
  const std::string& last_error() const { return last_error_; }
  const Params& params() const { return params_; }

  Step OnProbe(const ProbeResult& probe, Clock::time_point now);
  // New bytes in the log file.
  void OnLogGrowth(Clock::time_point now);
  // Probe at once, unless reconnecting (the next retry stands then).
  void ProbeSoon(Clock::time_point now);

 private:
  Params params_;
  Clock::time_point next_probe_;
  Clock::time_point last_answer_;  // last successful probe (or construction)
  Clock::time_point last_growth_;
  Clock::time_point lost_since_;
  int failures_ = 0;
  std::string last_error_;
};

}  // namespace reaperctl
