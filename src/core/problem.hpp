// What verification reports: one problem per thing that does not match, named for the people who read
// it (docs/verification.md lists the kinds).
#pragma once

#include <cstdint>
#include <string>

namespace witness
{

enum class ProblemKind {
	ValueChanged,     // an entry's content differs from what was sealed
	HashChanged,      // an entry's stored leaf hash was altered, its content is intact
	EntryMissing,     // a sealed entry is gone
	EntryInserted,    // an entry that was not sealed appears in a block
	EntriesReordered, // two entries trade places (their ids were swapped)
	BlockAltered,     // a block header does not match its stored block hash, or is inconsistent
	ChainBroken,      // a block's prev_hash is not the previous block's hash
	BlockMissing,     // a block number of the chain is absent
	PayloadChanged,   // a format-2 payload no longer matches its commitment
	PayloadRemoved,   // a format-2 payload is gone, and no erasure recorded in the chain removed it
};

// "value changed", "hash changed", "entry missing", "entry inserted", "entries reordered",
// "block altered", "chain broken", "block missing", "payload changed", "payload removed".
const char *problem_name(ProblemKind kind) noexcept;

struct Problem {
	ProblemKind kind;
	int64_t block_no; // 0 = none
	int64_t entry_id; // 0 = none
	std::string detail;
};

} // namespace witness
