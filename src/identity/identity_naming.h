// SPDX-License-Identifier: Apache-2.0
// How a workload's identity name is derived (DESIGN.md, Identities): by default the image
// repository with tag and digest stripped; optionally with the tag kept, or from a label.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "src/common/identity_name.h"
#include "src/common/result.h"

namespace flowwall::identity {

struct IdentityNaming {
    enum class From { image, image_with_tag, label };
    From from = From::image;
    std::string label; // for From::label, e.g. "com.docker.swarm.service.name"
    // A Swarm task is named by its service (the label below) when it carries one, whatever
    // `from` says, unless From::label finds its own label: every task of a service is the
    // same application, and a service's image may change with an update. --swarm-service-
    // identity false names tasks like any container.
    bool swarm_services = true;

    // "image", "image-tag", "label:<name>"; the error lists what is allowed.
    static Result<IdentityNaming> parse(std::string_view text);
    std::string to_string() const;

    // The identity of a workload running `image` with `labels`. From::label falls back to
    // the image rule when the label is absent, empty or not a valid identity name (a
    // workload never goes unnamed).
    std::string name_for(std::string_view image,
                         const std::map<std::string, std::string>& labels) const;
};

// "mysql:5.7" -> "mysql"; "registry.local:5000/team/web:2@sha256:..." ->
// "registry.local:5000/team/web"; a registry port is not a tag. Docker Hub's implicit
// prefixes are left as written ("library/mysql" stays "library/mysql").
std::string image_repository(std::string_view image);

// The label Docker puts on every container of a Swarm service.
inline constexpr std::string_view kSwarmServiceLabel = "com.docker.swarm.service.name";
// Same but keeps the tag ("mysql:5.7"); the digest is always dropped. No tag: ":latest"
// is not invented, the repository alone is returned.
std::string image_repository_with_tag(std::string_view image);

} // namespace flowwall::identity
