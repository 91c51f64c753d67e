// The verification engine: rebuilds block membership from snapshots, Merkle roots from leaf hashes and
// the block chain from headers, and names what does not match. witness.verify() feeds it from heap
// scans and witness-verify from an export file; it knows nothing of where the data comes from.
// docs/verification.md explains the checks and the problem kinds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "block.hpp"
#include "entry_encoding.hpp"
#include "snapshot.hpp"

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
};

// "value changed", "hash changed", "entry missing", "entry inserted", "entries reordered",
// "block altered", "chain broken", "block missing".
const char *problem_name(ProblemKind kind) noexcept;

struct Problem {
	ProblemKind kind;
	int64_t block_no; // 0 = none
	int64_t entry_id; // 0 = none
	std::string detail;
};

struct StoredBlock {
	BlockHeader header;
	Hash stored_block_hash;
};

struct VerifyReport {
	std::string status; // "valid" or "tampered"
	int64_t blocks_checked = 0;
	int64_t entries_checked = 0;   // members of the checked blocks
	int64_t entries_pending = 0;   // entries in no block yet (only when the range ends at the newest block)
	std::vector<Problem> problems; // ordered by block_no, then entry_id (0 first)
};

class TrailVerifier
{
  public:
	// Blocks to check, in ascending block_no. previous: the block just before the range (nullptr when
	// the range starts at the first block). is_last: the range ends at the newest block, so entries
	// after it are pending and block numbers up to highest_block_no_issued (0 = unknown) must exist.
	TrailVerifier(const StoredBlock *previous, std::vector<StoredBlock> blocks, bool is_last,
	              int64_t highest_block_no_issued);
	~TrailVerifier();
	TrailVerifier(const TrailVerifier &) = delete;
	TrailVerifier &operator=(const TrailVerifier &) = delete;

	// Every entry whose xid could belong to the range, in any order: its stored leaf hash and the hash
	// recomputed from its stored content. Entries outside the range are ignored.
	void add_entry(int64_t id, uint64_t xid, const Hash &stored, const Hash &recomputed);

	// Runs the checks; call once, after the last add_entry.
	VerifyReport finish();

	// Tuning for the searches that name inserted and reordered entries (tests lower them).
	struct Limits {
		size_t max_removal_search_members = 100000; // blocks larger than this name no inserted entry
		size_t max_swap_pairs = 200000;             // blocks with more candidate pairs are not searched
		size_t search_hash_budget = 40000000;       // SHA-256 runs all searches together may spend
	};
	void set_limits(const Limits &limits)
	{
		limits_ = limits;
		budget_left_ = limits.search_hash_budget;
	}

	// For a range that does not end at the newest block: the last block number it asks for, which
	// must exist with every number before it; absent ones are reported missing (0: not checked).
	void set_range_end(int64_t last_block_no) { range_end_ = last_block_no; }

  private:
	struct Member {
		int64_t id;
		Hash stored;
		uint32_t alt; // index into alts_ of the recomputed hash when it differs, else kSame
	};
	struct Block {
		StoredBlock stored;
		std::optional<Snapshot> snapshot; // empty when the text does not parse
		bool gap_before = false;          // block numbers are missing just before this block
		std::vector<Member> members;
	};
	static constexpr uint32_t kSame = UINT32_MAX;

	int locate(uint64_t xid);
	void check_headers(std::vector<Problem> &problems) const;
	void check_members(Block &block, std::vector<Problem> &problems);
	void explain_structure(const Block &block, const std::vector<Hash> &leaves, const std::vector<size_t> &mismatched,
	                       std::vector<Problem> &problems);
	std::optional<std::pair<size_t, size_t>> search_swap(const std::vector<Hash> &leaves,
	                                                     const std::vector<size_t> &candidates, const Hash &root,
	                                                     bool *not_searched);
	bool spend(size_t hashes);

	std::optional<StoredBlock> previous_;
	std::optional<Snapshot> previous_snapshot_;
	std::vector<Block> blocks_;
	std::vector<int> chain_; // indexes into blocks_ of the parsed snapshots, -1 = previous_
	std::vector<const Snapshot *> chain_snapshots_;
	bool is_last_;
	int64_t highest_issued_;
	int64_t range_end_ = 0;
	int64_t pending_ = 0;
	size_t last_hit_ = 0; // chain index of the last located entry: neighbours tend to share a block
	std::vector<Hash> alts_;
	Limits limits_;
	size_t budget_left_ = Limits().search_hash_budget;
	bool finished_ = false;
};

} // namespace witness
