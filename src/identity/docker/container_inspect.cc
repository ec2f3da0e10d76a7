// SPDX-License-Identifier: Apache-2.0
#include "src/identity/docker/container_inspect.h"

#include "src/identity/docker/gateway_bridge.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <optional>

#include <nlohmann/json.hpp>

namespace flowwall::identity::docker {

using nlohmann::json;

namespace {

// Container ids go into URL paths and workload keys: only what Docker generates (hex) and
// what a user may pass as a name-free id prefix gets through, so no '/', '?' or '%' can.
bool plausible_container_id(std::string_view id) {
    return !id.empty() && id.size() <= 128 &&
           std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c); });
}

// Reads fields out of one JSON document and names the failing field in the error, so a daemon
// that answers differently from what we expect is diagnosed from the log line alone.
class FieldReader {
public:
    explicit FieldReader(std::string what) : what_(std::move(what)) {}
    void set_what(std::string what) { what_ = std::move(what); }

    Error error(std::string_view field, std::string_view problem) const {
        return Error{0, what_ + ": " + std::string(field) + ": " + std::string(problem)};
    }
    Error wrong_type(std::string_view field, std::string_view expected, const json& got) const {
        return error(field, "expected " + std::string(expected) + ", got " + got.type_name());
    }

    // A member that must exist; nullptr with `err` set otherwise.
    const json* member(const json& parent, std::string_view field, const char* key,
                       std::optional<Error>& err) const {
        auto it = parent.find(key);
        if (it == parent.end()) {
            err = error(field, "missing");
            return nullptr;
        }
        return &*it;
    }

    Result<const json*> object(const json& parent, std::string_view field, const char* key) const {
        std::optional<Error> err;
        const json* value = member(parent, field, key, err);
        if (!value)
            return *err;
        if (!value->is_object())
            return wrong_type(field, "an object", *value);
        return value;
    }

    Result<std::string> string(const json& parent, std::string_view field, const char* key,
                               bool optional = false) const {
        auto it = parent.find(key);
        if (it == parent.end() || (optional && it->is_null())) {
            if (optional)
                return std::string();
            return error(field, "missing");
        }
        if (!it->is_string())
            return wrong_type(field, "a string", *it);
        return it->get<std::string>();
    }

    Result<bool> boolean(const json& parent, std::string_view field, const char* key) const {
        std::optional<Error> err;
        const json* value = member(parent, field, key, err);
        if (!value)
            return *err;
        if (!value->is_boolean())
            return wrong_type(field, "a boolean", *value);
        return value->get<bool>();
    }

    Result<int64_t> integer(const json& parent, std::string_view field, const char* key) const {
        std::optional<Error> err;
        const json* value = member(parent, field, key, err);
        if (!value)
            return *err;
        if (value->is_number_unsigned()) {
            if (value->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
                return error(field, "out of range");
            return int64_t(value->get<uint64_t>());
        }
        if (!value->is_number_integer())
            return wrong_type(field, "an integer", *value);
        return value->get<int64_t>();
    }

private:
    std::string what_;
};

#define FW_TRY_ASSIGN(lhs, expr)             \
    do {                                     \
        auto fw_result_ = (expr);            \
        if (!fw_result_.ok())                \
            return fw_result_.error();       \
        lhs = std::move(fw_result_).value(); \
    } while (0)

Result<std::map<std::string, std::string>> read_labels(const FieldReader& reader,
                                                       const json& config) {
    std::map<std::string, std::string> labels;
    auto it = config.find("Labels");
    // Docker sends null (older daemons) or {} for a container without labels.
    if (it == config.end() || it->is_null())
        return labels;
    if (!it->is_object())
        return reader.wrong_type("Config.Labels", "an object", *it);
    for (const auto& [key, value] : it->items()) {
        if (!value.is_string())
            return reader.wrong_type("Config.Labels." + key, "a string", value);
        labels.emplace(key, value.get<std::string>());
    }
    return labels;
}

Result<std::vector<IpAddress>> read_addresses(const FieldReader& reader,
                                              const json& network_settings) {
    std::vector<IpAddress> addresses;
    auto networks = network_settings.find("Networks");
    if (networks == network_settings.end() || networks->is_null())
        return addresses;
    if (!networks->is_object())
        return reader.wrong_type("NetworkSettings.Networks", "an object", *networks);
    for (const auto& [name, network] : networks->items()) {
        const std::string field = "NetworkSettings.Networks." + name;
        if (!network.is_object())
            return reader.wrong_type(field, "an object", network);
        for (const char* key : {"IPAddress", "GlobalIPv6Address"}) {
            const std::string address_field = field + "." + key;
            std::string text;
            FW_TRY_ASSIGN(text, reader.string(network, address_field, key, true));
            if (text.empty())
                continue;
            auto address = IpAddress::parse(text);
            if (!address)
                return reader.error(address_field, address.error().message);
            if (std::find(addresses.begin(), addresses.end(), address.value()) == addresses.end())
                addresses.push_back(address.value());
        }
    }
    return addresses;
}

// Fixed-width decimal digits at text[pos, pos + n).
std::optional<int> digits(std::string_view text, size_t pos, size_t n) {
    if (pos + n > text.size())
        return std::nullopt;
    int value = 0;
    for (size_t i = pos; i < pos + n; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return std::nullopt;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = unsigned(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + int64_t(doe) - 719468;
}

bool leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

} // namespace

Result<int64_t> parse_docker_time(std::string_view text) {
    if (text == "0001-01-01T00:00:00Z")
        return int64_t{0};
    const Error bad{0, "'" + std::string(text) +
                           "' is not an RFC 3339 time (2006-01-02T15:04:05.999999999Z07:00)"};
    // YYYY-MM-DDTHH:MM:SS
    auto year = digits(text, 0, 4), month = digits(text, 5, 2), day = digits(text, 8, 2);
    auto hour = digits(text, 11, 2), minute = digits(text, 14, 2), second = digits(text, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' ||
        text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':')
        return bad;
    static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*month < 1 || *month > 12 || *day < 1 ||
        *day > kDays[*month - 1] + (*month == 2 && leap(*year)) || *hour > 23 || *minute > 59 ||
        *second > 60)
        return bad;
    size_t pos = 19;
    int64_t nanos = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        size_t n = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (++n > 9)
                return bad;
            nanos = nanos * 10 + (text[pos++] - '0');
        }
        if (n == 0)
            return bad;
        for (; n < 9; ++n)
            nanos *= 10;
    }
    int64_t offset_seconds = 0;
    if (pos + 1 == text.size() && text[pos] == 'Z') {
        pos += 1;
    } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
               text[pos + 3] == ':') {
        auto oh = digits(text, pos + 1, 2), om = digits(text, pos + 4, 2);
        if (!oh || !om || *oh > 23 || *om > 59)
            return bad;
        offset_seconds = (text[pos] == '+' ? 1 : -1) * (int64_t(*oh) * 3600 + *om * 60);
        pos += 6;
    } else {
        return bad;
    }
    const int64_t seconds = days_from_civil(*year, unsigned(*month), unsigned(*day)) * 86400 +
                            int64_t(*hour) * 3600 + *minute * 60 + *second - offset_seconds;
    int64_t ns = 0;
    if (__builtin_mul_overflow(seconds, int64_t{1'000'000'000}, &ns) ||
        __builtin_add_overflow(ns, nanos, &ns))
        return Error{0, "'" + std::string(text) + "' is outside 1678..2262, the range of " +
                            "nanoseconds since 1970 in 64 bits"};
    return ns;
}

Result<ContainerInfo> parse_container_inspect(const json& inspect) {
    FieldReader reader("container inspect");
    if (!inspect.is_object())
        return reader.wrong_type("(document)", "an object", inspect);
    ContainerInfo info;
    FW_TRY_ASSIGN(info.id, reader.string(inspect, "Id", "Id"));
    if (!plausible_container_id(info.id))
        return reader.error("Id", "'" + info.id + "' is not a container id");
    reader.set_what("container " + info.id.substr(0, 12) + " inspect");

    FW_TRY_ASSIGN(info.name, reader.string(inspect, "Name", "Name"));
    if (!info.name.empty() && info.name.front() == '/')
        info.name.erase(0, 1);

    const json* state = nullptr;
    FW_TRY_ASSIGN(state, reader.object(inspect, "State", "State"));
    FW_TRY_ASSIGN(info.running, reader.boolean(*state, "State.Running", "Running"));
    // Optional: a daemon that does not send it has no restart state to report.
    if (auto it = state->find("Restarting"); it != state->end() && !it->is_null()) {
        if (!it->is_boolean())
            return reader.wrong_type("State.Restarting", "a boolean", *it);
        info.restarting = it->get<bool>();
    }
    FW_TRY_ASSIGN(info.pid, reader.integer(*state, "State.Pid", "Pid"));
    if (info.pid < 0)
        return reader.error("State.Pid", "negative");
    std::string started_at;
    FW_TRY_ASSIGN(started_at, reader.string(*state, "State.StartedAt", "StartedAt"));
    auto started = parse_docker_time(started_at);
    if (!started)
        return reader.error("State.StartedAt", started.error().message);
    info.started_ns = started.value();

    const json* config = nullptr;
    FW_TRY_ASSIGN(config, reader.object(inspect, "Config", "Config"));
    FW_TRY_ASSIGN(info.image, reader.string(*config, "Config.Image", "Image"));
    FW_TRY_ASSIGN(info.labels, read_labels(reader, *config));

    const json* host_config = nullptr;
    FW_TRY_ASSIGN(host_config, reader.object(inspect, "HostConfig", "HostConfig"));
    FW_TRY_ASSIGN(info.network_mode,
                  reader.string(*host_config, "HostConfig.NetworkMode", "NetworkMode"));

    const json* network_settings = nullptr;
    FW_TRY_ASSIGN(network_settings, reader.object(inspect, "NetworkSettings", "NetworkSettings"));
    FW_TRY_ASSIGN(info.sandbox_key,
                  reader.string(*network_settings, "NetworkSettings.SandboxKey", "SandboxKey"));
    FW_TRY_ASSIGN(info.addresses, read_addresses(reader, *network_settings));
    info.on_swarm_network = on_swarm_scope_network(inspect);
    return info;
}

Result<ContainerInfo> parse_container_inspect(std::string_view text) {
    json document;
    try {
        document = json::parse(text);
    } catch (const json::exception& e) {
        return Error{0, std::string("container inspect: not JSON: ") + e.what()};
    }
    return parse_container_inspect(document);
}

Result<std::vector<std::string>> parse_container_list(const json& list) {
    FieldReader reader("container list");
    if (!list.is_array())
        return reader.wrong_type("(document)", "an array", list);
    std::vector<std::string> ids;
    ids.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
        const std::string field = "[" + std::to_string(i) + "].Id";
        if (!list[i].is_object())
            return reader.wrong_type("[" + std::to_string(i) + "]", "an object", list[i]);
        std::string id;
        FW_TRY_ASSIGN(id, reader.string(list[i], field, "Id"));
        if (!plausible_container_id(id))
            return reader.error(field, "'" + id + "' is not a container id");
        ids.push_back(std::move(id));
    }
    return ids;
}

std::optional<Workload> to_workload(const ContainerInfo& info, const IdentityNaming& naming) {
    if (!info.running || info.restarting)
        return std::nullopt;
    if (info.network_mode == "host" || info.network_mode.starts_with("container:"))
        return std::nullopt;
    Workload workload;
    if (!info.sandbox_key.empty())
        workload.netns_path = info.sandbox_key;
    else if (info.pid > 0)
        workload.netns_path = "/proc/" + std::to_string(info.pid) + "/ns/net";
    else
        return std::nullopt;
    workload.key = "docker/" + info.id;
    workload.source = "docker";
    workload.name = info.name;
    workload.identity = naming.name_for(info.image, info.labels);
    workload.image = info.image;
    workload.addresses = info.addresses;
    workload.started_ns = info.started_ns;
    return workload;
}

const std::vector<std::string>& relevant_event_actions() {
    // Every action after which the container's running state, name, namespace or addresses
    // may differ. "kill" and "pause" change nothing by themselves but cost one inspect; they
    // are kept so that a daemon that skips "die" in some version still gets the container
    // re-read.
    static const std::vector<std::string> actions = {"start",  "restart", "unpause",   "pause",
                                                     "die",    "stop",    "kill",      "destroy",
                                                     "rename", "connect", "disconnect"};
    return actions;
}

Result<std::optional<ContainerEvent>> parse_event_line(std::string_view line) {
    json event;
    try {
        event = json::parse(line);
    } catch (const json::exception& e) {
        return Error{0, std::string("docker event: not JSON: ") + e.what()};
    }
    FieldReader reader("docker event");
    if (!event.is_object())
        return reader.wrong_type("(document)", "an object", event);
    ContainerEvent out;
    FW_TRY_ASSIGN(out.type, reader.string(event, "Type", "Type"));
    FW_TRY_ASSIGN(out.action, reader.string(event, "Action", "Action"));
    const auto& actions = relevant_event_actions();
    if (std::find(actions.begin(), actions.end(), out.action) == actions.end())
        return std::optional<ContainerEvent>();
    const json* actor = nullptr;
    if (out.type == "container") {
        FW_TRY_ASSIGN(actor, reader.object(event, "Actor", "Actor"));
        FW_TRY_ASSIGN(out.container_id, reader.string(*actor, "Actor.ID", "ID"));
    } else if (out.type == "network" && (out.action == "connect" || out.action == "disconnect")) {
        FW_TRY_ASSIGN(actor, reader.object(event, "Actor", "Actor"));
        const json* attributes = nullptr;
        FW_TRY_ASSIGN(attributes, reader.object(*actor, "Actor.Attributes", "Attributes"));
        FW_TRY_ASSIGN(out.container_id,
                      reader.string(*attributes, "Actor.Attributes.container", "container"));
    } else {
        return std::optional<ContainerEvent>();
    }
    if (!plausible_container_id(out.container_id))
        return reader.error(out.type == "container" ? "Actor.ID" : "Actor.Attributes.container",
                            "'" + out.container_id + "' is not a container id");
    return std::optional<ContainerEvent>(std::move(out));
}

#undef FW_TRY_ASSIGN

} // namespace flowwall::identity::docker
