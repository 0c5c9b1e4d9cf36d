#include "log_follow.h"

#include <algorithm>

#include "cri_log.h"

namespace reaperctl {

std::string LogCursor::Feed(std::string_view bytes) {
  pending_.append(bytes);
  read_ += bytes.size();
  std::string text;
  DecodeCriLog(pending_, text);  // leaves the unfinished last record in pending_
  return text;
}

std::string LogCursor::Finish() {
  std::string text;
  if (pending_.empty()) return text;
  pending_.push_back('\n');
  DecodeCriLog(pending_, text);
  pending_.clear();
  return text;
}

void LogCursor::Restart(uint64_t offset) {
  pending_.clear();
  read_ = offset;
}

LogFileChange CompareLogFile(const FileIdentity& open, const std::optional<FileIdentity>& at_path,
                             uint64_t read_offset) {
  if (open.size < read_offset) return LogFileChange::kTruncated;
  if (!at_path) return LogFileChange::kMissing;
  if (at_path->dev != open.dev || at_path->ino != open.ino) return LogFileChange::kReplaced;
  return LogFileChange::kSame;
}

TailScanner::TailScanner(uint64_t size, int64_t n) : pos_(size), wanted_(n < 0 ? 0 : n + 1) {
  if (n < 0 || size == 0) done_ = true;  // start_ = 0
}

void TailScanner::FeedBackwards(std::string_view block) {
  if (done_) return;
  const uint64_t block_start = pos_ - std::min<uint64_t>(block.size(), pos_);
  for (size_t i = block.size(); i-- > 0;) {
    if (block[i] != '\n') continue;
    if (--wanted_ == 0) {
      start_ = block_start + i + 1;
      done_ = true;
      return;
    }
  }
  pos_ = block_start;
  if (pos_ == 0) {  // fewer records than asked for: all of them
    start_ = 0;
    done_ = true;
  }
}

FollowPolicy::FollowPolicy(const Params& params, Clock::time_point now)
    : params_(params), next_probe_(now), last_answer_(now), last_growth_(now) {}

FollowPolicy::Step FollowPolicy::OnProbe(const ProbeResult& probe, Clock::time_point now) {
  Step step;
  if (probe.state != ContainerProbe::kUnreachable) {
    if (failures_ > 0) step.change = Change::kRegained;
    failures_ = 0;
    last_answer_ = now;
    next_probe_ = now + params_.check_interval;
    if (probe.state != ContainerProbe::kRunning) step.action = Action::kStop;
    return step;
  }
  last_error_ = probe.error;
  if (failures_ == 0) {
    step.change = Change::kLost;
    lost_since_ = now;
  }
  ++failures_;
  const auto alive = std::max(last_answer_, last_growth_);
  const auto deadline = alive + params_.give_up_after;
  if (now >= deadline) {
    step.action = Action::kGiveUp;
    return step;
  }
  // first_retry * 2^(failures-1), capped; the last retry falls on the deadline itself.
  ms delay = params_.first_retry;
  for (int i = 1; i < failures_ && delay < params_.max_retry; ++i) delay *= 2;
  delay = std::min(delay, params_.max_retry);
  next_probe_ = std::min(now + delay, deadline);
  return step;
}

void FollowPolicy::OnLogGrowth(Clock::time_point now) { last_growth_ = std::max(last_growth_, now); }

void FollowPolicy::ProbeSoon(Clock::time_point now) {
  if (failures_ == 0) next_probe_ = std::min(next_probe_, now);
}

}  // namespace reaperctl
