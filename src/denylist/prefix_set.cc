// SPDX-License-Identifier: Apache-2.0
#include "src/denylist/prefix_set.h"

#include <algorithm>

namespace flowwall::denylist {

bool prefix_less(const IpPrefix& a, const IpPrefix& b) {
    if (a.address != b.address)
        return a.address < b.address;
    return a.length < b.length;
}

IpAddress masked(const IpAddress& address, unsigned length) {
    IpAddress result = address;
    for (unsigned byte = 0; byte < result.bytes.size(); ++byte) {
        unsigned first_bit = byte * 8;
        if (first_bit >= length)
            result.bytes[byte] = 0;
        else if (first_bit + 8 > length)
            result.bytes[byte] &= static_cast<uint8_t>(0xff << (8 - (length - first_bit)));
    }
    return result;
}

bool covers(const IpPrefix& outer, const IpPrefix& inner) {
    return outer.address.family == inner.address.family && outer.length <= inner.length &&
           masked(inner.address, outer.length) == outer.address;
}

FoldCounts fold(std::vector<IpPrefix>& prefixes) {
    std::sort(prefixes.begin(), prefixes.end(), prefix_less);
    FoldCounts counts;
    size_t kept = 0;
    for (size_t i = 0; i < prefixes.size(); ++i) {
        // Equal prefixes sort next to each other (the one before may have been dropped as
        // covered, so compare with the input, not with what was kept).
        if (i > 0 && prefixes[i] == prefixes[i - 1]) {
            ++counts.duplicates;
            continue;
        }
        if (kept > 0) {
            // Kept prefixes are disjoint and sorted, so only the last one can contain this
            // one: any earlier one that did would also contain the last (prefixes nest).
            if (covers(prefixes[kept - 1], prefixes[i])) {
                ++counts.covered;
                continue;
            }
        }
        prefixes[kept++] = prefixes[i];
    }
    prefixes.resize(kept);
    return counts;
}

PrefixDiff diff(const std::vector<IpPrefix>& before, const std::vector<IpPrefix>& after) {
    PrefixDiff result;
    size_t i = 0, j = 0;
    while (i < before.size() || j < after.size()) {
        if (j == after.size() || (i < before.size() && prefix_less(before[i], after[j]))) {
            result.removed.push_back(before[i++]);
        } else if (i == before.size() || prefix_less(after[j], before[i])) {
            result.added.push_back(after[j++]);
        } else {
            ++i;
            ++j;
        }
    }
    return result;
}

std::vector<Overlap> overlaps(const std::vector<IpPrefix>& list,
                              const std::vector<IpPrefix>& protected_prefixes, size_t limit) {
    std::vector<Overlap> found;
    for (const auto& guarded : protected_prefixes) {
        // A listed prefix containing `guarded` sorts at or before it; since the list is
        // folded, at most one does, and it is the last one not after it.
        auto it = std::upper_bound(list.begin(), list.end(), guarded, prefix_less);
        if (it != list.begin() && covers(*std::prev(it), guarded)) {
            found.push_back({*std::prev(it), guarded});
        }
        // Listed prefixes inside `guarded` follow it in order.
        for (; it != list.end() && covers(guarded, *it); ++it)
            found.push_back({*it, guarded});
        if (found.size() >= limit) {
            found.resize(limit);
            break;
        }
    }
    return found;
}

} // namespace flowwall::denylist
