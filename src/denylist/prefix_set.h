// SPDX-License-Identifier: Apache-2.0
// Sets of prefixes as the deny lists keep them: sorted, without duplicates and without a
// prefix inside another of the same set (the kernel would match the shorter one anyway), so
// two versions of a list compare with one merge and a refresh becomes a small diff.
#pragma once

#include "src/common/ip_address.h"

#include <cstddef>
#include <vector>

namespace flowwall::denylist {

// By family, then address, then length (shorter first): a covering prefix sorts right before
// everything it covers.
bool prefix_less(const IpPrefix& a, const IpPrefix& b);

// Whether `outer` contains every address of `inner` (same family, not longer, same bits).
bool covers(const IpPrefix& outer, const IpPrefix& inner);

// `address` with the bits beyond `length` cleared.
IpAddress masked(const IpAddress& address, unsigned length);

struct FoldCounts {
    size_t duplicates = 0; // the same prefix again
    size_t covered = 0;    // inside another prefix of the set
};

// Sorts `prefixes`, then drops duplicates and prefixes covered by another one. O(n log n).
FoldCounts fold(std::vector<IpPrefix>& prefixes);

struct PrefixDiff {
    std::vector<IpPrefix> added;
    std::vector<IpPrefix> removed;
    bool empty() const { return added.empty() && removed.empty(); }
    size_t size() const { return added.size() + removed.size(); }
};

// What turns `before` into `after`; both folded (sorted by prefix_less). One merge, O(n).
PrefixDiff diff(const std::vector<IpPrefix>& before, const std::vector<IpPrefix>& after);

// The prefixes of `list` (folded) that contain an address of `protected_prefixes`, or lie
// inside one of them, each with the protected prefix it meets: what a list would cut off
// when the node's own addresses did not win.
struct Overlap {
    IpPrefix listed;
    IpPrefix protected_prefix;
};
std::vector<Overlap> overlaps(const std::vector<IpPrefix>& list,
                              const std::vector<IpPrefix>& protected_prefixes, size_t limit = 20);

} // namespace flowwall::denylist
