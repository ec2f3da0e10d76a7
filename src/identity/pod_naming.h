// SPDX-License-Identifier: Apache-2.0
// How a Kubernetes pod's identity name is derived (--pod-identity-from). A pod lives in a
// namespace, and the same image in two namespaces is usually two applications, so by default
// the namespace is part of the name. Names carry no node or cluster, so a model learned on
// one node applies on every other.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "src/common/result.h"

namespace flowwall::identity {

struct PodNaming {
    //   image       <namespace>/<repository of the first application container> (default)
    //   label:NAME  <namespace>/<value of the pod label NAME>, else as `image`
    //   bare-image  <repository> alone, shared across namespaces
    enum class From { image, label, bare_image };
    From from = From::image;
    std::string label;

    // "image", "label:<name>", "bare-image"; the error lists what is allowed.
    static Result<PodNaming> parse(std::string_view text);
    std::string to_string() const;

    // The identity of a pod in `namespace_name` whose first application container runs
    // `image` (empty: none yet), with pod `labels`. `unknown` when neither the label nor an
    // image names it. A namespace that would make the name invalid is left out.
    std::string name_for(std::string_view namespace_name, std::string_view image,
                         const std::map<std::string, std::string>& labels) const;
};

// "docker.io/library/mysql:5.7" -> "mysql", "docker.io/team/web@sha256:..." -> "team/web",
// "registry.local:5000/team/web:2" -> "registry.local:5000/team/web". containerd writes Docker
// Hub images in full, Docker writes them short: stripping docker.io/ and library/ gives the
// same image the same identity under both runtimes. "sha256:<hex>" -> "sha256:<12 hex>".
std::string familiar_repository(std::string_view image);

} // namespace flowwall::identity
