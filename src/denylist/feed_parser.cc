// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/feed_parser.h"

#include <arpa/inet.h>

#include <charconv>

namespace flowwall::denylist {

namespace {

constexpr std::string_view kSpaces = " \t\r\v\f";

std::string_view trim(std::string_view text) {
    auto first = text.find_first_not_of(kSpaces);
    if (first == std::string_view::npos)
        return {};
    auto last = text.find_last_not_of(kSpaces);
    return text.substr(first, last - first + 1);
}

// The next whitespace-separated word of `text`, removed from it.
std::string_view next_word(std::string_view& text) {
    text = trim(text);
    auto end = text.find_first_of(kSpaces);
    std::string_view word = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
    return word;
}

// inet_pton without a std::string per line: the text is copied into a stack buffer.
bool parse_address(std::string_view text, IpAddress& address) {
    char buffer[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof(buffer))
        return false;
    text.copy(buffer, text.size());
    buffer[text.size()] = '\0';
    address = IpAddress{};
    if (text.find(':') == std::string_view::npos) {
        address.family = kFamilyIpv4;
        return inet_pton(AF_INET, buffer, address.bytes.data()) == 1;
    }
    address.family = kFamilyIpv6;
    return inet_pton(AF_INET6, buffer, address.bytes.data()) == 1;
}

enum class EntryProblem { none, not_an_address, bad_length, host_bits, whole_space };

const char* describe(EntryProblem problem) {
    switch (problem) {
    case EntryProblem::not_an_address:
        return "not an IPv4 or IPv6 address or prefix";
    case EntryProblem::bad_length:
        return "bad prefix length (IPv4 1-32, IPv6 1-128)";
    case EntryProblem::host_bits:
        return "host bits set beyond the prefix length";
    case EntryProblem::whole_space:
        return "a /0 would cover every address; refused";
    case EntryProblem::none:
        break;
    }
    return "";
}

// "198.51.100.0/24" or "2001:db8::1": the prefix, and whether host bits were cleared.
EntryProblem parse_entry(std::string_view text, bool normalise, IpPrefix& prefix,
                         bool& normalised) {
    auto slash = text.find('/');
    if (!parse_address(text.substr(0, slash), prefix.address))
        return EntryProblem::not_an_address;
    unsigned max_length = prefix.address.max_prefix_length();
    unsigned length = max_length;
    if (slash != std::string_view::npos) {
        auto digits = text.substr(slash + 1);
        auto [end, failure] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
        if (digits.empty() || failure != std::errc() || end != digits.data() + digits.size() ||
            length > max_length)
            return EntryProblem::bad_length;
    }
    if (length == 0)
        return EntryProblem::whole_space;
    prefix.length = static_cast<uint8_t>(length);
    IpAddress network = masked(prefix.address, length);
    normalised = network != prefix.address;
    if (normalised && !normalise)
        return EntryProblem::host_bits;
    prefix.address = network;
    return EntryProblem::none;
}

bool is_tor_keyword(std::string_view word) {
    return word == "ExitNode" || word == "ExitAddress" || word == "Published" ||
           word == "LastStatus";
}

class FeedReader {
public:
    FeedReader(const ParseOptions& options, ParsedFeed& feed) : options_(options), feed_(feed) {}

    void line(size_t number, std::string_view raw) {
        std::string_view text = raw;
        if (auto comment = text.find_first_of("#;"); comment != std::string_view::npos)
            text = text.substr(0, comment);
        std::string_view rest = text;
        std::string_view first = next_word(rest);
        if (first.empty())
            return;
        if (feed_.format == FeedFormat::automatic)
            feed_.format = is_tor_keyword(first) ? FeedFormat::tor_exits : FeedFormat::prefix_lines;
        if (feed_.format == FeedFormat::tor_exits) {
            if (first != "ExitAddress") {
                if (!is_tor_keyword(first))
                    bad(number, raw, "not a line of the Tor exit list format");
                return;
            }
            // "ExitAddress <ip> <date> <time>": the date is the list's business.
            std::string_view address = next_word(rest);
            entry(number, raw, address, /*single_address=*/true);
            return;
        }
        if (!trim(rest).empty()) {
            bad(number, raw, "more than one word (one address or prefix per line)");
            return;
        }
        entry(number, raw, first, /*single_address=*/false);
    }

private:
    void entry(size_t number, std::string_view raw, std::string_view text, bool single_address) {
        IpPrefix prefix;
        bool normalised = false;
        if (single_address && text.find('/') != std::string_view::npos) {
            bad(number, raw, "an ExitAddress names one address, not a prefix");
            return;
        }
        auto problem = parse_entry(text, options_.normalise_host_bits, prefix, normalised);
        if (problem != EntryProblem::none) {
            bad(number, raw, describe(problem));
            return;
        }
        ++feed_.entries;
        feed_.normalised += normalised ? 1 : 0;
        feed_.prefixes.push_back(prefix);
    }

    void bad(size_t number, std::string_view raw, std::string reason) {
        ++feed_.bad_lines;
        if (feed_.first_bad_lines.size() < options_.reported_bad_lines) {
            std::string shown(trim(raw).substr(0, 80));
            for (char& c : shown)
                if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
                    c = '?'; // a binary feed must not garble a terminal or a log
            feed_.first_bad_lines.push_back({number, std::move(shown), std::move(reason)});
        }
    }

    const ParseOptions& options_;
    ParsedFeed& feed_;
};

} // namespace

Result<FeedFormat> parse_feed_format(std::string_view text) {
    if (text == "auto" || text.empty())
        return FeedFormat::automatic;
    if (text == "lines")
        return FeedFormat::prefix_lines;
    if (text == "tor")
        return FeedFormat::tor_exits;
    return Error{EINVAL, "unknown feed format '" + std::string(text) +
                             "': want auto, lines (one address or prefix per line) or tor "
                             "(the Tor exit list)"};
}

const char* feed_format_name(FeedFormat format) {
    switch (format) {
    case FeedFormat::automatic:
        return "auto";
    case FeedFormat::prefix_lines:
        return "lines";
    case FeedFormat::tor_exits:
        return "tor";
    }
    return "auto";
}

std::string ParsedFeed::bad_lines_summary() const {
    if (bad_lines == 0)
        return "";
    std::string text = std::to_string(bad_lines) + (bad_lines == 1 ? " bad line" : " bad lines");
    for (size_t i = 0; i < first_bad_lines.size(); ++i) {
        const auto& bad = first_bad_lines[i];
        text += (i == 0 ? " (" : "; ");
        text += "line " + std::to_string(bad.line) + " '" + bad.text + "': " + bad.reason;
    }
    if (!first_bad_lines.empty())
        text += bad_lines > first_bad_lines.size() ? "; ...)" : ")";
    return text;
}

ParsedFeed parse_feed(std::string_view text, const ParseOptions& options) {
    ParsedFeed feed;
    feed.format = options.format;
    FeedReader reader(options, feed);
    size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        ++feed.lines;
        reader.line(feed.lines, text.substr(start, end - start));
        start = end + 1;
    }
    if (feed.format == FeedFormat::automatic)
        feed.format = FeedFormat::prefix_lines;
    feed.folded = fold(feed.prefixes);
    return feed;
}

Result<IpPrefix> parse_listed_prefix(std::string_view text) {
    IpPrefix prefix;
    bool normalised = false;
    auto problem = parse_entry(trim(text), /*normalise=*/false, prefix, normalised);
    if (problem == EntryProblem::none)
        return prefix;
    std::string message = "'" + std::string(text) + "': " + describe(problem);
    if (problem == EntryProblem::host_bits)
        message += ": did you mean " + masked(prefix.address, prefix.length).to_string() + "/" +
                   std::to_string(prefix.length) + "?";
    return Error{EINVAL, message};
}

} // namespace flowwall::denylist
