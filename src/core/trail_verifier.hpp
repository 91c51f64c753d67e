// The verification engine: rebuilds block membership from snapshots, Merkle roots from leaf hashes and
// the block chain from headers, and names what does not match. witness.verify() feeds it from heap
// scans and witness-verify from an export file; it knows nothing of where the data comes from.
// docs/verification.md explains the checks and the problem kinds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "block.hpp"
#include "entry_encoding.hpp"
#include "entry_id_set.hpp"
#include "merkle.hpp"
#include "payload_audit.hpp"
#include "problem.hpp"
#include "retention_record.hpp"
#include "snapshot.hpp"

namespace witness
{

struct StoredBlock {
	BlockHeader header;
	Hash stored_block_hash;
};

// Where a transaction-id era starts (docs/verification.md, "Transaction-id eras"): entries with an id
// at or above first_entry_id (up to the next era's) belong to blocks first_block_no and on (up to the
// next era's first block) and to no other. The first era, from entry 1 and block 1, is implicit.
struct EraStart {
	int64_t first_entry_id = 0;
	int64_t first_block_no = 0;
};

struct VerifyReport {
	std::string status; // "valid" or "tampered"
	int64_t blocks_checked = 0;
	int64_t entries_checked = 0;   // members of the checked blocks
	int64_t entries_pending = 0;   // entries in no block yet (only when the range ends at the newest block)
	int64_t entries_erased = 0;    // format-2 entries of the range whose payload an erasure removed
	int64_t entries_unchecked = 0; // sealed payloads of the range whose master key was not at hand
	int64_t entries_pruned = 0;    // sealed entries of the range that a recorded retention run removed
	std::vector<Problem> problems; // ordered by block_no, then entry_id (0 first)
};

// The entry that recorded an erasure or a retention run: where the record itself lies in the trail.
struct RecordEntry {
	int64_t id = 0;
	uint64_t xid = 0;
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

	// The eras after the first, in any order; call before the first add_entry. Without any, the
	// whole trail is one era.
	void set_eras(std::vector<EraStart> eras);

	// Every entry whose xid could belong to the range, in any order: the leaf hash its block sealed as
	// far as the entry stores it (stored_leaf.hpp's SealedLeaf::leaf) and the hash recomputed from its
	// stored content. partial: the entry stores only the first bytes of its leaf hash, so a mismatch
	// cannot be checked against the block's Merkle root (the messages say so). encoding: for a partial
	// entry whose content does not give its stored bytes, its canonical bytes (encode_entry), so that
	// two entries that traded ids can be named (leaf_hash_under_id); empty otherwise. Entries outside
	// the range are ignored.
	void add_entry(int64_t id, uint64_t xid, const Hash &stored, const Hash &recomputed, bool partial = false,
	               std::string_view encoding = {});

	// Format 2: what became of an entry's payload (docs/hashing.md); entries outside the range are
	// ignored. erasure_id: the erasure its row names (none: NULL), for an erased payload.
	void add_payload(int64_t id, uint64_t xid, PayloadState state, std::optional<int64_t> erasure_id);
	// An erasure as the chain recorded it (the INSERT entry of witness.erasure), wherever it lies.
	// entry: the record's own entry, for sealed_records_only().
	void add_erasure_record(int64_t erasure_id, std::vector<int64_t> entry_ids, std::vector<int64_t> tampered_ids = {},
	                        std::optional<RecordEntry> entry = std::nullopt);
	// For a trail read from a file (witness-verify): an erasure or retention record counts only when
	// no block leaves its own entry pending. A pending entry line is checked against nothing, so anyone
	// editing an export could add one to explain a payload removed or entries deleted. (In the database
	// the sealer seals every committed record, so witness.verify() takes pending ones.) Call before the
	// first add_entry; needs is_last.
	void sealed_records_only() { sealed_records_only_ = true; }
	// For the database's own trail: the cluster's next transaction id. A pending entry of the current
	// era whose xid is at or above it was written by no transaction of this cluster: no seal ever takes
	// it (an attack review forged an erasure record so, which stayed pending and explained a payload
	// removed by hand). It is reported (entry inserted), and a record in it is not evidence. Not for a
	// collector, whose entries carry another cluster's ids. Call before the first add_entry.
	void xids_assigned_below(uint64_t next_xid) { unassigned_from_ = next_xid; }
	// The ids met so far, shared with the verifiers of the other parts of one verification (the
	// caller keeps it alive until finish()); by default the verifier has its own. An id met twice, in a
	// block of the range or pending, is reported (entry inserted). Call before the first add_entry.
	void share_ids(EntryIdSet *ids) { ids_ = ids; }
	// For a report from a file: the entries this verification does not check (pending, or placed
	// before the range), as (id, xid), collected for unchecked_entries() (a review's forged pending
	// lines filled a signed report's sections).
	void collect_unchecked() { collect_unchecked_ = true; }
	const std::vector<std::pair<int64_t, uint64_t>> &unchecked_entries() const { return unchecked_; }

	// Retention (docs/retention.md, "Retention"): a row of witness.pruned_leaf, what retention run
	// run_id kept of block_no's pruned entries. whole: the run pruned the block's last entries, and
	// nothing per entry is kept; else the ids and leaf hashes of the pruned entries, which take their
	// places among the members. A row is used only when a retention run recorded in the chain
	// (add_retention_record) names it with its digest; otherwise it is reported, and the entries it
	// stands for are missing. Blocks outside the range are ignored. Streaming: call before next_pass()
	// (before or after the first pass's entries); a block with kept rows is then checked from its
	// collected members, in a later pass.
	void add_pruned(int64_t block_no, int64_t run_id, bool whole, std::vector<int64_t> ids, std::vector<Hash> hashes);
	// A retention run as the chain recorded it (the INSERT entry of witness.retention_run), wherever
	// it lies.
	void add_retention_record(const RetentionRecord &record, std::optional<RecordEntry> entry = std::nullopt);
	// The records a range's checks still lack: erasures that its erased entries name, and retention runs
	// that its pruned_leaf rows name, with no record added so far. A range that ends before the newest
	// block reads only the entries up to its end, and such a record may lie far after it; the caller
	// looks for these and adds them before finish(), or they are reported as missing.
	struct MissingRecords {
		std::vector<int64_t> erasure_ids; // ascending
		std::vector<int64_t> run_ids;     // ascending
		bool empty() const { return erasure_ids.empty() && run_ids.empty(); }
	};
	MissingRecords missing_records() const;
	// How many records sealed_records_only() set aside because their entry is pending.
	int64_t unsealed_records() const { return unsealed_records_; }

	// Runs the checks; call once, after the last add_entry (and, streaming, after next_pass() said
	// false).
	VerifyReport finish();

	// Bounded memory, for witness-verify: the entries are read in passes. In the first, each block
	// keeps a Merkle frontier over its members' stored hashes and a few counters, not the members. A
	// block whose members came in (id, stored hash) order, each matching its recomputed hash, with
	// the sealed root, is settled then. The others need their members to be explained: next_pass()
	// settles what the last pass collected, picks the next blocks to collect (at most
	// max_collect_members members in all, or a single larger block) and returns true when the caller
	// must feed the same entries once more (in any order: collected members are sorted). An export lists its entries by id,
	// so a valid trail needs one pass. Call before the first add_entry.
	void stream(size_t max_collect_members);
	bool next_pass();
	int passes() const { return pass_ + 1; }
	// After the first pass of streaming: whether every block still streamed got its members in
	// (id, stored hash) order. A caller that fed them in another order it can change (witness.verify()
	// reads the heap, and sorts only when that is not in id order) starts again in id order if not.
	bool stream_ordered() const;

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

	// The most canonical bytes add_entry keeps, over all entries: beyond it, entries that traded ids
	// are reported as changed values instead (a bound on memory when a trail is tampered with wholesale).
	static constexpr size_t kMaxEncodingBytes = size_t(64) << 20;

	// For a range that does not end at the newest block: the last block number it asks for, which
	// must exist with every number before it; absent ones are reported missing (0: not checked).
	void set_range_end(int64_t last_block_no) { range_end_ = last_block_no; }

	// The newest block a digest kept outside the trail names (witness.digest_file), with its hash: that
	// block, when the range holds it, must still have that hash. A trail whose newest blocks were
	// deleted and sealed again under the same numbers has every number and a valid chain; only the
	// hash tells (0: nothing recorded).
	void set_logged_digest(int64_t block_no, const Hash &block_hash)
	{
		logged_block_no_ = block_no;
		logged_hash_ = block_hash;
	}

  private:
	// The problem of a block whose stored hash is not the one set_logged_digest() gave.
	Problem not_the_logged_hash(int64_t block_no, const Hash &stored) const;

	struct Member {
		int64_t id;
		Hash stored;
		uint32_t alt;         // index into alts_ of the recomputed hash when it differs, else kSame
		bool partial = false; // the entry stores only a prefix of its leaf hash
		uint32_t enc = kSame;  // index into encodings_ of its canonical bytes, when add_entry got them
	};
	// Streaming: what the first pass keeps of a block's members.
	struct Stream {
		MerkleFrontier stored; // over the stored leaf hashes, in arrival order
		int64_t first_id = 0, last_id = 0;
		Hash last_hash{};
		bool ordered = true;   // every member came after the previous one in (id, stored hash) order
		bool mismatch = false; // a member's stored hash differs from its recomputed one
	};
	// Collect: members are kept (always, unless streaming). Stream: the first pass of streaming.
	// Deferred: streamed, but needs its members in a later pass. Settled: checked, problems recorded.
	enum class State { Collect, Stream, Deferred, Settled };
	struct Block {
		StoredBlock stored;
		std::optional<Snapshot> snapshot; // empty when the text does not parse
		bool gap_before = false;          // block numbers are missing just before this block
		std::vector<Member> members;
		State state = State::Collect;
		std::unique_ptr<Stream> stream;
		int64_t streamed = 0; // members seen in the first pass
		struct PrunedRow {
			int64_t run_id;
			bool whole;
			std::vector<int64_t> ids;
			std::vector<Hash> hashes;
		};
		std::vector<PrunedRow> pruned; // what retention kept of the block's pruned entries
	};
	static constexpr uint32_t kSame = UINT32_MAX;

	static constexpr int kBefore = -2; // locate(): sealed in a block before the range
	static constexpr int kEraEnded = -3; // locate(): its era ended in the range, and no block of it sees it
	int locate(int64_t id, uint64_t xid);
	bool starts_era(int64_t block_no) const;
	void check_headers(std::vector<Problem> &problems) const;
	void check_members(Block &block, std::vector<Problem> &problems);
	static void check_sealed_counts(const BlockHeader &h, int64_t n, int64_t first_id, int64_t last_id,
	                                std::vector<Problem> &problems);
	void explain_structure(const Block &block, const std::vector<Hash> &leaves, const std::vector<size_t> &mismatched,
	                       std::vector<Problem> &problems);
	std::optional<std::pair<size_t, size_t>> search_swap(const std::vector<Hash> &leaves,
	                                                     const std::vector<size_t> &candidates, const Hash &root,
	                                                     bool *not_searched);
	std::optional<std::pair<size_t, size_t>> search_partial_swap(const std::vector<Member> &m,
	                                                             const std::vector<size_t> &mismatched);
	void report_partial_swap(const Block &block, std::vector<Hash> leaves, const std::vector<size_t> &mismatched,
	                         std::pair<size_t, size_t> pair, std::vector<Problem> &problems);
	bool spend(size_t hashes);

	std::optional<StoredBlock> previous_;
	std::optional<Snapshot> previous_snapshot_;
	std::vector<Block> blocks_;
	std::vector<int> chain_; // indexes into blocks_ of the parsed snapshots, -1 = previous_
	std::vector<const Snapshot *> chain_snapshots_;
	std::vector<int64_t> chain_block_no_; // block number of each chain position, ascending
	std::vector<EraStart> eras_;          // sorted by first_entry_id
	// Indexes for lines that name a block: a block number's first place in blocks_, and the blocks that
	// start an era. Searched per line, a file of many such lines took seconds per thousand blocks.
	std::unordered_map<int64_t, size_t> block_index_;
	std::unordered_set<int64_t> era_first_blocks_;
	bool is_last_;
	int64_t highest_issued_;
	int64_t range_end_ = 0;
	int64_t logged_block_no_ = 0;
	Hash logged_hash_{};
	int64_t pending_ = 0;
	size_t last_hit_ = 0; // chain index of the last located entry: neighbours tend to share a block
	std::vector<Hash> alts_;
	// Canonical bytes of partial entries that do not match, up to kMaxEncodingBytes in all.
	std::vector<std::string> encodings_;
	size_t encoding_bytes_ = 0;
	Limits limits_;
	size_t budget_left_ = Limits().search_hash_budget;
	bool finished_ = false;
	bool sealed_records_only_ = false;
	uint64_t unassigned_from_ = 0; // xids_assigned_below(); 0: not known
	EntryIdSet own_ids_;
	EntryIdSet *ids_ = &own_ids_;
	void check_unique(int64_t id, int64_t block_no);
	// Only in the last era: before a due era starts (a trail restored into a cluster whose ids are
	// behind), the restored entries pending in the era before it carry the source cluster's ids.
	bool unassigned(int at, int64_t id, uint64_t xid) const
	{
		return unassigned_from_ != 0 && is_last_ && at == -1 && xid >= unassigned_from_ &&
		       (eras_.empty() || id >= eras_.back().first_entry_id);
	}
	bool collect_unchecked_ = false;
	std::vector<std::pair<int64_t, uint64_t>> unchecked_;
	void note_unchecked(int64_t id, uint64_t xid); // an entry this verification does not check
	int64_t unsealed_records_ = 0;
	bool unsealed(const std::optional<RecordEntry> &entry);
	bool streaming_ = false;
	size_t max_collect_ = 0;
	int pass_ = 0;
	std::vector<Problem> settled_problems_; // of blocks settled by next_pass()
	PayloadAudit payloads_;
	int64_t settled_entries_ = 0;
	int64_t pruned_entries_ = 0;
	std::set<std::tuple<int64_t, int64_t, bool, Hash>> retention_records_; // run, block, whole, digest
	std::vector<size_t> pruned_blocks_; // indexes into blocks_ of the blocks add_pruned() gave rows
	void settle_collected(Block &block, std::vector<Problem> &problems, int64_t &entries_checked);
};

} // namespace witness
