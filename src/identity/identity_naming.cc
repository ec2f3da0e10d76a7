// SPDX-License-Identifier: Apache-2.0
#include "src/identity/identity_naming.h"
#include "src/common/identity_name.h"

#include <cerrno>
#include <optional>

namespace flowwall::identity {
namespace {

constexpr std::string_view kLabelPrefix = "label:";
constexpr size_t kShortImageIdLength = 12; // what `docker ps` shows

struct ImageReference {
    std::string_view repository;
    std::string_view tag; // empty: none
};

bool is_hex(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

ImageReference split_reference(std::string_view image) {
    if (auto at = image.find('@'); at != std::string_view::npos)
        image = image.substr(0, at);
    // A tag can only follow the last path component: the colon in "host:5000/a/b" belongs to
    // the registry's port.
    auto last_slash = image.rfind('/');
    auto colon = image.rfind(':');
    if (colon != std::string_view::npos &&
        (last_slash == std::string_view::npos || colon > last_slash))
        return {image.substr(0, colon), image.substr(colon + 1)};
    return {image, {}};
}

// A container started from an image id ("sha256:3f57d9...") has no repository; the short id
// names it, so that every such container does not collapse into one identity "sha256".
std::optional<std::string> image_id_identity(std::string_view image) {
    constexpr std::string_view kPrefix = "sha256:";
    if (image.substr(0, kPrefix.size()) != kPrefix)
        return std::nullopt;
    auto hex = image.substr(kPrefix.size());
    if (!is_hex(hex))
        return std::nullopt;
    return std::string(kPrefix) + std::string(hex.substr(0, kShortImageIdLength));
}

} // namespace

Result<IdentityNaming> IdentityNaming::parse(std::string_view text) {
    IdentityNaming naming;
    if (text == "image")
        return naming;
    if (text == "image-tag") {
        naming.from = From::image_with_tag;
        return naming;
    }
    if (text.substr(0, kLabelPrefix.size()) == kLabelPrefix) {
        auto label = text.substr(kLabelPrefix.size());
        if (label.empty())
            return Error{EINVAL, "\"" + std::string(text) +
                                     "\" names no label: write label:NAME, e.g. label:app"};
        naming.from = From::label;
        naming.label = std::string(label);
        return naming;
    }
    return Error{EINVAL, "\"" + std::string(text) +
                             "\" is not a way to name identities: use image, image-tag or "
                             "label:NAME"};
}

std::string IdentityNaming::to_string() const {
    switch (from) {
    case From::image:
        return "image";
    case From::image_with_tag:
        return "image-tag";
    case From::label:
        return std::string(kLabelPrefix) + label;
    }
    return "image";
}

std::string IdentityNaming::name_for(std::string_view image,
                                     const std::map<std::string, std::string>& labels) const {
    if (from == From::label) {
        auto found = labels.find(label);
        // A value that is no valid identity name ("my app") would leave the workload without
        // an id at all; the image rule still names it.
        if (found != labels.end() && common::validate_identity_name(found->second))
            return found->second;
    }
    if (swarm_services) {
        auto service = labels.find(std::string(kSwarmServiceLabel));
        if (service != labels.end() && common::validate_identity_name(service->second))
            return service->second;
    }
    if (from == From::image_with_tag)
        return image_repository_with_tag(image);
    return image_repository(image);
}

std::string image_repository(std::string_view image) {
    if (image.empty())
        return std::string(common::kUnknownIdentity);
    if (auto id = image_id_identity(image))
        return *id;
    auto repository = split_reference(image).repository;
    return repository.empty() ? std::string(common::kUnknownIdentity) : std::string(repository);
}

std::string image_repository_with_tag(std::string_view image) {
    if (image.empty())
        return std::string(common::kUnknownIdentity);
    if (auto id = image_id_identity(image))
        return *id;
    auto reference = split_reference(image);
    if (reference.repository.empty())
        return std::string(common::kUnknownIdentity);
    if (reference.tag.empty())
        return std::string(reference.repository);
    return std::string(reference.repository) + ":" + std::string(reference.tag);
}

} // namespace flowwall::identity
