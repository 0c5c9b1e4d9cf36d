// A private temp dir for a test, removed on destruction with every entry made through it.
// The one TempDir of the unit tests: two classes of that name in reaper::testing (one per
// helper header) broke the one-definition rule, the linker kept one destructor for both, and
// half of the tests left their dirs in /tmp.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace reaper::testing {

class TempDir {
 public:
  // /tmp/reaper-<what>.XXXXXX; aborts if it cannot be made (a test cannot go on without it).
  explicit TempDir(const std::string& what = "test") {
    std::string t = "/tmp/reaper-" + what + ".XXXXXX";
    if (!mkdtemp(t.data())) abort();
    path_ = t;
  }
  ~TempDir() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) unlink(it->c_str());
    rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The path of NAME in the dir (a plain file or socket the test makes), removed at the end.
  std::string File(const std::string& name) {
    made_.push_back(path_ + "/" + name);
    return made_.back();
  }
  // A FIFO NAME (0600) made in the dir.
  std::string Fifo(const std::string& name) {
    std::string p = File(name);
    if (mkfifo(p.c_str(), 0600) != 0) abort();
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> made_;
};

}  // namespace reaper::testing
