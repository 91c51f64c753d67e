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

// s with the transaction ids xids in progress too: those below s.xmax join xip, and xmin goes down to
// the least of them; with previous (the previous block's snapshot), not those previous sees, since a
// block's snapshot sees at least what the previous one saw. A block sealed inside a transaction that
// has a transaction id stores this, with that transaction's id: PostgreSQL leaves it out of its own
// snapshots, and its entries, which commit after the block if at all, would look sealed by it (found
// by a review). previous sees it only in a cluster younger than the trail (a new transaction-id era),
// where the block is the era's closing one and ids, not snapshots, keep those entries out.
Snapshot with_in_progress(Snapshot s, const std::vector<uint64_t> &xids, const Snapshot *previous = nullptr);

} // namespace witness
