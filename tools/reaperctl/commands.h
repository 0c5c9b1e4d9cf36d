// reaperctl's commands. Each takes the global options and the words after the command name
// (options may still follow) and returns the process exit status; errors are thrown.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli_args.h"
#include "cri_client.h"

namespace reaperctl {

struct GlobalOptions {
  std::string endpoint;       // --runtime-endpoint, CONTAINER_RUNTIME_ENDPOINT
  std::string default_image;  // --default-image, REAPER_DEFAULT_IMAGE
  std::string log_root = "/var/log/pods";    // --log-root (kubelet's)
  std::string root = "/var/lib/reaperctl";   // --root: emptyDir volumes
  std::string ns = "default";                // -n/--namespace
  bool quiet = false;                        // -q/--quiet: no progress lines
};

// The option specs every command accepts.
std::vector<OptionSpec> GlobalOptionSpecs();
// Parses a command's words with its own specs plus the global ones, applying the globals.
ParsedArgs ParseCommand(const std::vector<std::string>& words, std::vector<OptionSpec> specs,
                        GlobalOptions& g);

// A progress line on stderr ("reaperctl: ..."), unless --quiet.
void Progress(const GlobalOptions& g, const std::string& line);
void Warn(const std::string& line);

// Stops every running container of the pod (grace from the pod's terminationGracePeriodSeconds
// unless `grace` is given), stops and removes the sandbox, and removes the pod's emptyDir and
// log directories that reaperctl created.
void RemovePod(CriClient& cri, const GlobalOptions& g, const std::string& pod_id,
               std::optional<int64_t> grace);

int CmdRun(GlobalOptions g, const std::vector<std::string>& words);
int CmdLogs(GlobalOptions g, const std::vector<std::string>& words);
int CmdExec(GlobalOptions g, const std::vector<std::string>& words);
int CmdAttach(GlobalOptions g, const std::vector<std::string>& words);
int CmdPs(GlobalOptions g, const std::vector<std::string>& words);
int CmdRm(GlobalOptions g, const std::vector<std::string>& words);
int CmdStop(GlobalOptions g, const std::vector<std::string>& words);
int CmdInspect(GlobalOptions g, const std::vector<std::string>& words);
int CmdInfo(GlobalOptions g, const std::vector<std::string>& words);
int CmdStats(GlobalOptions g, const std::vector<std::string>& words);
int CmdUpdate(GlobalOptions g, const std::vector<std::string>& words);

}  // namespace reaperctl
