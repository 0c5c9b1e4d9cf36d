// Finding pods and containers by the names a person types (`reaperctl logs hello -c main`).
#pragma once

#include <string>
#include <vector>

#include "api.pb.h"
#include "cri_client.h"

namespace reaperctl {

// Every sandbox named `name` in namespace `ns`, newest first; a sandbox id (or unique id
// prefix of at least 6 characters) also matches. Empty if none.
std::vector<runtime::v1::PodSandbox> FindPods(CriClient& cri, const std::string& ns,
                                              const std::string& name);
// The newest (ready ones first) of FindPods; throws Error "pod ns/name not found".
runtime::v1::PodSandbox FindPod(CriClient& cri, const std::string& ns, const std::string& name);

std::vector<runtime::v1::Container> ListPodContainers(CriClient& cri, const std::string& pod_id);

// Pure: the latest attempt of each container name, ordered init containers first, then app
// containers, each by their manifest index (reaperctl's annotations), then by name.
std::vector<runtime::v1::Container> LatestAttempts(std::vector<runtime::v1::Container> all);

bool IsInitContainer(const runtime::v1::Container& c);

// Pure: picks the container `name` (latest attempt); with an empty name, the only app
// container, else the first app container (a note naming the others goes to stderr, as
// kubectl does). Throws Error if there is none or the name is unknown.
runtime::v1::Container PickContainer(const std::vector<runtime::v1::Container>& all,
                                     const std::string& name, const std::string& pod_name);

}  // namespace reaperctl
