// SPDX-License-Identifier: Apache-2.0
#include "src/web/radar_assets.h"

#include <array>

#define FLOWWALL_ASSET(name)                                                           \
    extern "C" const char fw_asset_##name##_start[];                                   \
    extern "C" const char fw_asset_##name##_end[];                                     \
    static std::string_view name##_body() {                                            \
        return {fw_asset_##name##_start,                                               \
                static_cast<size_t>(fw_asset_##name##_end - fw_asset_##name##_start)}; \
    }

FLOWWALL_ASSET(index_html)
FLOWWALL_ASSET(radar_js)
FLOWWALL_ASSET(radar_css)
FLOWWALL_ASSET(cytoscape_js)

namespace flowwall::web {

const StaticAsset* find_radar_asset(std::string_view path) {
    static const std::array<StaticAsset, 4> assets{{
        {"/", "text/html; charset=utf-8", index_html_body()},
        {"/radar.js", "text/javascript; charset=utf-8", radar_js_body()},
        {"/radar.css", "text/css; charset=utf-8", radar_css_body()},
        {"/vendor/cytoscape.min.js", "text/javascript; charset=utf-8", cytoscape_js_body()},
    }};
    for (const auto& asset : assets)
        if (asset.path == path)
            return &asset;
    return nullptr;
}

} // namespace flowwall::web
