// PostgreSQL pg_snapshot values ("xmin:xmax:xip1,xip2,...") and pg_visible_in_snapshot() semantics,
// which define block membership: block k holds the entries whose transaction is visible in
// snapshot k and not in snapshot k-1.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace witness
{

struct Snapshot {
	uint64_t xmin = 0;
	uint64_t xmax = 0;
	std::vector<uint64_t> xip; // sorted ascending, unique

	// pg_visible_in_snapshot(xid, this): xid < xmin, or xid < xmax and not in xip.
	bool visible(uint64_t xid) const noexcept;
};

// Parses pg_snapshot text output; throws std::invalid_argument on malformed text.
Snapshot parse_snapshot(std::string_view text);

// The text pg_snapshot prints for s.
std::string format_snapshot(const Snapshot &s);

// s with transaction id xid in progress too (below s.xmax it joins xip, and xmin goes down to it). A
// block sealed inside a transaction that has a transaction id stores this, with that transaction's
// id: PostgreSQL leaves it out of its own snapshots, and its entries, which commit after the block if
// at all, would look sealed by it (found by a review).
Snapshot with_in_progress(Snapshot s, uint64_t xid);

} // namespace witness
