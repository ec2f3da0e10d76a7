// SPDX-License-Identifier: Apache-2.0
#include "src/cluster/store_url.h"

namespace flowwall::cluster {

Result<std::vector<std::string>> parse_store_url(std::string_view url) {
    constexpr std::string_view kScheme = "etcd://";
    if (url.substr(0, kScheme.size()) != kScheme)
        return Error{EINVAL, "cluster store \"" + std::string(url) +
                                 "\" does not start with etcd:// (e.g. etcd://198.18.0.1:2379)"};
    std::vector<std::string> endpoints;
    std::string_view rest = url.substr(kScheme.size());
    bool more = !rest.empty();
    while (more) {
        auto comma = rest.find(',');
        std::string endpoint(rest.substr(0, comma));
        more = comma != std::string_view::npos; // "a:1," names an empty endpoint: refused
        rest = more ? rest.substr(comma + 1) : std::string_view();
        auto colon = endpoint.rfind(':');
        if (endpoint.empty() || colon == std::string::npos || colon == 0 ||
            colon + 1 == endpoint.size() ||
            endpoint.find_first_not_of("0123456789", colon + 1) != std::string::npos)
            return Error{EINVAL, "cluster store endpoint \"" + endpoint +
                                     "\" is not HOST:PORT (e.g. 198.18.0.1:2379)"};
        endpoints.push_back(endpoint);
    }
    if (endpoints.empty())
        return Error{EINVAL, "cluster store \"" + std::string(url) + "\" names no endpoint"};
    return endpoints;
}

} // namespace flowwall::cluster
