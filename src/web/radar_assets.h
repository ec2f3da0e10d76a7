// SPDX-License-Identifier: Apache-2.0
// The files of the Radar page, compiled into the binary (radar_assets.S.in): the page from
// web/radar/ and cytoscape from npm. Served as they are; nothing is read from disk.
#pragma once

#include <string_view>

namespace flowwall::web {

struct StaticAsset {
    std::string_view path; // "/", "/radar.js", ...
    std::string_view content_type;
    std::string_view body;
};

// The asset served at `path`, or nullptr.
const StaticAsset* find_radar_asset(std::string_view path);

} // namespace flowwall::web
