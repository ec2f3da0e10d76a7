// SPDX-License-Identifier: Apache-2.0
#include "src/identity/pod_naming.h"

#include <cerrno>

#include "src/common/identity_name.h"
#include "src/identity/identity_naming.h"

namespace flowwall::identity {

namespace {

constexpr std::string_view kLabelPrefix = "label:";

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::string quote_for_log(std::string_view text) {
    constexpr size_t kShown = 80;
    std::string shown(text.substr(0, kShown));
    if (text.size() > kShown)
        shown += "...";
    return "\"" + shown + "\"";
}

std::string in_namespace(std::string_view namespace_name, const std::string& name) {
    if (namespace_name.empty())
        return name;
    std::string qualified = std::string(namespace_name) + "/" + name;
    return common::validate_identity_name(qualified) ? qualified : name;
}

} // namespace

Result<PodNaming> PodNaming::parse(std::string_view text) {
    PodNaming naming;
    if (text == "image")
        return naming;
    if (text == "bare-image") {
        naming.from = From::bare_image;
        return naming;
    }
    if (starts_with(text, kLabelPrefix)) {
        auto label = text.substr(kLabelPrefix.size());
        if (label.empty())
            return Error{EINVAL, quote_for_log(text) + " names no label: write label:NAME, e.g. "
                                                       "label:app.kubernetes.io/name"};
        naming.from = From::label;
        naming.label = std::string(label);
        return naming;
    }
    return Error{EINVAL, quote_for_log(text) +
                             " is not a way to name pods: use image "
                             "(<namespace>/<repository>), label:NAME "
                             "(<namespace>/<value>) or bare-image (<repository>)"};
}

std::string PodNaming::to_string() const {
    switch (from) {
    case From::image:
        return "image";
    case From::label:
        return std::string(kLabelPrefix) + label;
    case From::bare_image:
        return "bare-image";
    }
    return "image";
}

std::string PodNaming::name_for(std::string_view namespace_name, std::string_view image,
                                const std::map<std::string, std::string>& labels) const {
    if (from == From::label) {
        auto found = labels.find(label);
        // A value that is no valid identity name ("my app") would leave the pod without an
        // id at all; the image rule still names it.
        if (found != labels.end() && common::validate_identity_name(found->second))
            return in_namespace(namespace_name, found->second);
    }
    if (image.empty())
        return std::string(common::kUnknownIdentity);
    std::string repository = familiar_repository(image);
    if (repository == common::kUnknownIdentity || from == From::bare_image)
        return repository;
    return in_namespace(namespace_name, repository);
}

std::string familiar_repository(std::string_view image) {
    constexpr std::string_view kHub = "docker.io/";
    constexpr std::string_view kLibrary = "library/";
    std::string repository = image_repository(image);
    std::string_view familiar = repository;
    if (starts_with(familiar, kHub)) {
        familiar.remove_prefix(kHub.size());
        // "docker.io/library/mysql" is Docker's "mysql"; "docker.io/library/a/b" is no
        // official image and keeps its path.
        if (starts_with(familiar, kLibrary) &&
            familiar.find('/', kLibrary.size()) == std::string_view::npos)
            familiar.remove_prefix(kLibrary.size());
    }
    return familiar.empty() ? std::string(common::kUnknownIdentity) : std::string(familiar);
}

} // namespace flowwall::identity
