// Verification of a range of the sealed chain: headers and chain links, block membership from
// snapshots, Merkle roots, and an explanation of every mismatch (docs/verification.md).
#include "trail_verifier.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "interrupt.hpp"
#include "merkle.hpp"
#include "merkle_search.hpp"
#include "sha256.hpp"
#include "stored_leaf.hpp"

namespace witness
{

namespace
{

const Hash kZeroHash{};

std::string plural(int64_t n, const char *one, const char *many)
{
	return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string range_text(int64_t first, int64_t last)
{
	return first == last ? std::to_string(first) : std::to_string(first) + " to " + std::to_string(last);
}

std::string missing_blocks_text(int64_t first, int64_t last)
{
	return first == last ? "block " + std::to_string(first) + " is missing"
	                     : "blocks " + range_text(first, last) + " are missing";
}

// True when every transaction visible in `earlier` is visible in `later`: the sealer takes its snapshots
// one after the other, so a block's snapshot sees at least what the previous block's saw.
bool sees_at_least(const Snapshot &later, const Snapshot &earlier)
{
	if (later.xmax < earlier.xmax) {
		// [later.xmax, earlier.xmax) is invisible in later, so all of it must be in progress in earlier.
		if (later.xmax < earlier.xmin)
			return false;
		const auto from = std::lower_bound(earlier.xip.begin(), earlier.xip.end(), later.xmax);
		if (static_cast<uint64_t>(earlier.xip.end() - from) != earlier.xmax - later.xmax)
			return false;
	}
	for (uint64_t xid : later.xip) {
		if (xid >= earlier.xmax)
			break;
		if (earlier.visible(xid))
			return false;
	}
	return true;
}

// Searches keep every node hash of a block's tree (64 bytes per leaf): not for larger blocks.
constexpr size_t kMaxTreeLeaves = size_t(1) << 20;

// Levels of a tree over n leaves: the hashes one changed leaf costs.
size_t tree_depth(size_t n)
{
	size_t d = 1;
	while ((size_t(1) << d) < n)
		d++;
	return d;
}

bool member_less(int64_t id_a, const Hash &a, int64_t id_b, const Hash &b)
{
	return id_a < id_b || (id_a == id_b && a < b);
}

// Block numbers and counts come from block rows or export lines anyone may have altered: arithmetic on
// them saturates rather than overflow.
int64_t plus_one(int64_t n)
{
	return n == INT64_MAX ? n : n + 1;
}

int64_t difference(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_sub_overflow(a, b, &r) ? (b < 0 ? INT64_MAX : INT64_MIN) : r;
}

} // namespace

const char *problem_name(ProblemKind kind) noexcept
{
	switch (kind) {
	case ProblemKind::ValueChanged:
		return "value changed";
	case ProblemKind::HashChanged:
		return "hash changed";
	case ProblemKind::EntryMissing:
		return "entry missing";
	case ProblemKind::EntryInserted:
		return "entry inserted";
	case ProblemKind::EntriesReordered:
		return "entries reordered";
	case ProblemKind::BlockAltered:
		return "block altered";
	case ProblemKind::ChainBroken:
		return "chain broken";
	case ProblemKind::BlockMissing:
		return "block missing";
	case ProblemKind::PayloadChanged:
		return "payload changed";
	case ProblemKind::PayloadRemoved:
		return "payload removed";
	}
	return "unknown problem";
}

TrailVerifier::TrailVerifier(const StoredBlock *previous, std::vector<StoredBlock> blocks, bool is_last,
                             int64_t highest_block_no_issued)
    : is_last_(is_last), highest_issued_(highest_block_no_issued)
{
	if (previous != nullptr) {
		previous_ = *previous;
		try {
			previous_snapshot_ = parse_snapshot(previous->header.snapshot);
		} catch (const std::invalid_argument &) {
			// Reported by finish(); its entries then fall into the range's first block.
		}
	}
	blocks_.reserve(blocks.size());
	int64_t prev_no = previous ? previous->header.block_no : 0;
	for (StoredBlock &b : blocks) {
		Block block{std::move(b), std::nullopt, false, {}, State::Collect, nullptr, 0, {}};
		block.gap_before = block.stored.header.block_no > plus_one(prev_no);
		prev_no = std::max(prev_no, block.stored.header.block_no);
		try {
			block.snapshot = parse_snapshot(block.stored.header.snapshot);
		} catch (const std::invalid_argument &) {
			// Reported by check_headers(); the block then gets no members.
		}
		block_index_.emplace(block.stored.header.block_no, blocks_.size()); // the first of a number
		blocks_.push_back(std::move(block));
	}
	// The membership chain: the snapshots in block order, the previous block's first.
	if (previous_snapshot_) {
		chain_.push_back(-1);
		chain_snapshots_.push_back(&*previous_snapshot_);
		chain_block_no_.push_back(previous_->header.block_no);
	}
	for (size_t i = 0; i < blocks_.size(); i++) {
		if (blocks_[i].snapshot) {
			chain_.push_back(static_cast<int>(i));
			chain_snapshots_.push_back(&*blocks_[i].snapshot);
			chain_block_no_.push_back(blocks_[i].stored.header.block_no);
		}
	}
	// A chain whose block numbers do not ascend (reported by check_headers) cannot be split into eras:
	// keep the block numbers ascending for the lookups, so that such blocks simply get no members.
	for (size_t i = 1; i < chain_block_no_.size(); i++)
		chain_block_no_[i] = std::max(chain_block_no_[i], chain_block_no_[i - 1]);
}

void TrailVerifier::set_eras(std::vector<EraStart> eras)
{
	std::sort(eras.begin(), eras.end(),
	          [](const EraStart &a, const EraStart &b) { return a.first_entry_id < b.first_entry_id; });
	eras_ = std::move(eras);
	last_hit_ = 0;
	era_first_blocks_.clear();
	for (const EraStart &e : eras_)
		era_first_blocks_.insert(e.first_block_no);
}

bool TrailVerifier::starts_era(int64_t block_no) const
{
	return era_first_blocks_.count(block_no) != 0;
}

TrailVerifier::~TrailVerifier() = default;

// Index in the chain of the first snapshot of the entry's era that sees xid; -1 when none does
// (pending, or after the range), kBefore when the era's blocks all lie before the range, kEraEnded
// when none does and the entry's era ended with a block of the range (no later block of its era will
// ever seal it: pending, as a verification of the whole trail counts it, even in a range that stops
// there, such as a part of a verification in parts). Visibility only grows along an era's blocks, so
// this is a binary search; consecutive entries usually hit the same block, tried first.
int TrailVerifier::locate(int64_t id, uint64_t xid)
{
	size_t lo = 0, hi = chain_snapshots_.size();
	bool era_ended = false;
	if (!eras_.empty()) {
		// The era of the entry: the last one starting at or below its id (none: the implicit first).
		const auto next = std::upper_bound(eras_.begin(), eras_.end(), id,
		                                   [](int64_t v, const EraStart &e) { return v < e.first_entry_id; });
		const int64_t first_block = next == eras_.begin() ? INT64_MIN : std::prev(next)->first_block_no;
		const int64_t end_block = next == eras_.end() ? INT64_MAX : next->first_block_no;
		lo = static_cast<size_t>(std::lower_bound(chain_block_no_.begin(), chain_block_no_.end(), first_block) -
		                         chain_block_no_.begin());
		hi = static_cast<size_t>(std::lower_bound(chain_block_no_.begin(), chain_block_no_.end(), end_block) -
		                         chain_block_no_.begin());
		if (lo >= hi) {
			const int64_t range_first = chain_block_no_.empty() ? INT64_MAX : chain_block_no_.front();
			return end_block <= range_first ? kBefore : -1;
		}
		era_ended = end_block != INT64_MAX && end_block - 1 <= chain_block_no_.back();
	}
	if (lo == hi)
		return -1;
	const size_t k = last_hit_;
	if (k >= lo && k < hi && chain_snapshots_[k]->visible(xid) && (k == lo || !chain_snapshots_[k - 1]->visible(xid)))
		return static_cast<int>(k);
	const size_t end = hi;
	while (lo < hi) {
		const size_t mid = lo + (hi - lo) / 2;
		if (chain_snapshots_[mid]->visible(xid))
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == end)
		return era_ended ? kEraEnded : -1;
	last_hit_ = lo;
	return static_cast<int>(lo);
}

void TrailVerifier::add_payload(int64_t id, uint64_t xid, PayloadState state, std::optional<int64_t> erasure_id)
{
	if (finished_)
		throw std::logic_error("TrailVerifier::add_payload after finish");
	if (pass_ != 0)
		return; // a later pass of streaming sees the same entries again
	const int at = locate(id, xid);
	int64_t block_no = 0; // pending
	if (at == kBefore)
		return; // sealed before the range
	if (at < 0 && at != kEraEnded) {
		if (!is_last_)
			return; // after the range
	} else if (at >= 0) {
		const int index = chain_[static_cast<size_t>(at)];
		if (index < 0)
			return; // sealed before the range
		block_no = blocks_[static_cast<size_t>(index)].stored.header.block_no;
	}
	payloads_.add(id, block_no, state, erasure_id);
}

// A record whose own entry no block seals, when only sealed records count (sealed_records_only()).
// Also, in the database, a record no seal can take (xids_assigned_below()).
bool TrailVerifier::unsealed(const std::optional<RecordEntry> &entry)
{
	if (!is_last_ || !entry || (!sealed_records_only_ && unassigned_from_ == 0))
		return false;
	const int at = locate(entry->id, entry->xid);
	const bool aside = sealed_records_only_ ? at == -1 || at == kEraEnded : unassigned(at, entry->id, entry->xid);
	if (aside)
		unsealed_records_++;
	return aside;
}

void TrailVerifier::add_erasure_record(int64_t erasure_id, std::vector<int64_t> entry_ids, std::vector<int64_t> tampered_ids,
                                       std::optional<RecordEntry> entry)
{
	if (pass_ != 0)
		return;
	if (unsealed(entry)) {
		payloads_.add_unsealed_erasure(erasure_id);
		return;
	}
	payloads_.add_erasure_record(erasure_id, std::move(entry_ids), std::move(tampered_ids));
}

void TrailVerifier::note_unchecked(int64_t id, uint64_t xid)
{
	if (collect_unchecked_ && pass_ == 0)
		unchecked_.push_back({id, xid});
}

void TrailVerifier::add_entry(int64_t id, uint64_t xid, const Hash &stored, const Hash &recomputed, bool partial,
                              std::string_view encoding)
{
	if (finished_)
		throw std::logic_error("TrailVerifier::add_entry after finish");
	const int at = locate(id, xid);
	if (at == kBefore) {
		// From the first block on, no era's blocks lie before the range: an era line that no block
		// begins placed the entry there, and it would be checked against nothing (a review's forged
		// era line and entry line verified valid).
		if (pass_ == 0 && !previous_ && !blocks_.empty() && blocks_.front().stored.header.block_no == 1)
			settled_problems_.push_back({ProblemKind::EntryInserted, 0, id,
			                             "its id lies in a transaction-id era that no block of the chain holds"});
		note_unchecked(id, xid);
		return;
	}
	if (at < 0) {
		if (unassigned(at, id, xid)) {
			if (pass_ == 0)
				settled_problems_.push_back({ProblemKind::EntryInserted, 0, id,
				                             "its transaction id " + std::to_string(xid) +
				                                 " has not been assigned in this cluster yet: no block can seal it"});
			return;
		}
		if ((is_last_ || at == kEraEnded) && pass_ == 0) {
			pending_++;
			note_unchecked(id, xid);
			check_unique(id, 0);
		}
		return;
	}
	const int index = chain_[static_cast<size_t>(at)];
	if (index < 0) {
		note_unchecked(id, xid);
		return; // sealed before the range
	}
	Block &block = blocks_[static_cast<size_t>(index)];
	if (pass_ == 0)
		check_unique(id, block.stored.header.block_no);
	if (block.state == State::Stream) {
		Stream &s = *block.stream;
		if (block.streamed == 0)
			s.first_id = id;
		else if (!member_less(s.last_id, s.last_hash, id, stored))
			s.ordered = false;
		s.last_id = id;
		s.last_hash = stored;
		if (stored != recomputed)
			s.mismatch = true;
		// Once a block cannot settle, its root is not needed: stop hashing for it.
		if (s.ordered && !s.mismatch)
			s.stored.append(stored);
		block.streamed++;
		return;
	}
	if (block.state != State::Collect)
		return; // settled already, or collected in a later pass
	if (block.members.capacity() == 0) {
		const int64_t expected = streaming_ ? block.streamed : block.stored.header.entry_count;
		block.members.reserve(static_cast<size_t>(std::clamp<int64_t>(expected, 1, int64_t(1) << 20)));
	}
	uint32_t alt = kSame;
	if (stored != recomputed) {
		if (alts_.size() >= kSame)
			throw std::length_error("TrailVerifier: too many entries that do not match their leaf hash");
		alt = static_cast<uint32_t>(alts_.size());
		alts_.push_back(recomputed);
	}
	uint32_t enc = kSame;
	if (partial && alt != kSame && !encoding.empty() && encoding_bytes_ + encoding.size() <= kMaxEncodingBytes) {
		enc = static_cast<uint32_t>(encodings_.size());
		encodings_.emplace_back(encoding);
		encoding_bytes_ += encoding.size();
	}
	block.members.push_back(Member{id, stored, alt, partial, enc});
}

// Ids come from one sequence: a second entry with an id met before was inserted (one of the two).
void TrailVerifier::check_unique(int64_t id, int64_t block_no)
{
	if (!ids_->insert(id))
		settled_problems_.push_back({ProblemKind::EntryInserted, block_no, id,
		                             "another entry of the trail has its id: ids are unique, so one of the two was "
		                             "inserted"});
}

void TrailVerifier::add_pruned(int64_t block_no, int64_t run_id, bool whole, std::vector<int64_t> ids,
                               std::vector<Hash> hashes)
{
	if (finished_)
		throw std::logic_error("TrailVerifier::add_pruned after finish");
	if (pass_ != 0)
		return; // a later pass of streaming reads the same rows again
	const auto found = block_index_.find(block_no);
	if (found == block_index_.end())
		return; // outside the range
	Block *it = &blocks_[found->second];
	if (it->state == State::Stream) {
		// Its root needs the kept hashes among the members: collected in a later pass.
		it->state = State::Deferred;
		it->stream.reset();
	}
	if (it->pruned.empty())
		pruned_blocks_.push_back(found->second);
	it->pruned.push_back(Block::PrunedRow{run_id, whole, std::move(ids), std::move(hashes)});
}

TrailVerifier::MissingRecords TrailVerifier::missing_records() const
{
	MissingRecords missing;
	missing.erasure_ids = payloads_.unrecorded_erasures();
	for (size_t index : pruned_blocks_) {
		const Block &block = blocks_[index];
		const int64_t block_no = block.stored.header.block_no;
		for (const Block::PrunedRow &row : block.pruned) {
			// Any record of the run naming the block will do here; finish() checks that it matches.
			const auto at = retention_records_.lower_bound(std::make_tuple(row.run_id, block_no, false, Hash{}));
			if (at == retention_records_.end() || std::get<0>(*at) != row.run_id || std::get<1>(*at) != block_no)
				missing.run_ids.push_back(row.run_id);
		}
	}
	std::sort(missing.run_ids.begin(), missing.run_ids.end());
	missing.run_ids.erase(std::unique(missing.run_ids.begin(), missing.run_ids.end()), missing.run_ids.end());
	return missing;
}

void TrailVerifier::add_retention_record(const RetentionRecord &record, std::optional<RecordEntry> entry)
{
	if (pass_ != 0 || unsealed(entry))
		return;
	for (const RetentionRecord::Block &b : record.blocks)
		retention_records_.emplace(record.run_id, b.block_no, b.whole, b.digest);
}

// Checks a block whose members were collected: the kept hashes of its pruned entries that a recorded
// retention run names take their places; a wholly pruned block expects no member at all.
void TrailVerifier::settle_collected(Block &block, std::vector<Problem> &problems, int64_t &entries_checked)
{
	const BlockHeader &h = block.stored.header;
	bool whole = false;
	std::vector<Member> kept;
	for (Block::PrunedRow &row : block.pruned) {
		const bool recorded =
		    row.ids.size() == row.hashes.size() &&
		    retention_records_.count(std::make_tuple(row.run_id, h.block_no, row.whole,
		                                             pruned_digest(h.block_no, row.whole, row.ids, row.hashes))) > 0;
		if (!recorded) {
			problems.push_back(
			    {ProblemKind::EntryMissing, h.block_no, 0,
			     row.whole ? std::string("the block is marked wholly pruned, but no retention run in the chain recorded it")
			               : "leaf hashes of " +
			                     plural(static_cast<int64_t>(row.ids.size()), "pruned entry", "pruned entries") +
			                     " are kept, but no retention run in the chain recorded them"});
			continue;
		}
		if (row.whole)
			whole = true;
		for (size_t i = 0; i < row.ids.size(); i++)
			kept.push_back(Member{row.ids[i], row.hashes[i], kSame});
	}
	std::vector<Block::PrunedRow>().swap(block.pruned);
	const int64_t present = static_cast<int64_t>(block.members.size());
	entries_checked += present;
	if (whole) {
		// Nothing per entry is kept: the header, its hash and the chain link are what remains to check.
		// An entry still there was not pruned, whatever the record says; rows kept by earlier, partial
		// runs are superseded.
		for (const Member &m : block.members)
			problems.push_back({ProblemKind::EntryInserted, h.block_no, m.id,
			                    "present, but a retention run recorded the block as wholly pruned"});
		if (block.members.empty())
			pruned_entries_ += h.entry_count;
	} else {
		pruned_entries_ += static_cast<int64_t>(kept.size());
		block.members.insert(block.members.end(), kept.begin(), kept.end());
		check_members(block, problems);
	}
	std::vector<Member>().swap(block.members); // free as we go: the next block may be as large
}

void TrailVerifier::stream(size_t max_collect_members)
{
	if (finished_ || pass_ != 0 || streaming_)
		throw std::logic_error("TrailVerifier::stream must be called once, before the first entry");
	streaming_ = true;
	max_collect_ = std::max<size_t>(max_collect_members, 1);
	for (Block &block : blocks_) {
		if (!block.snapshot) {
			block.state = State::Settled; // no members without a snapshot: check_headers reports it
			continue;
		}
		block.state = State::Stream;
		block.stream = std::make_unique<Stream>();
	}
}

bool TrailVerifier::stream_ordered() const
{
	for (const Block &block : blocks_)
		if (block.state == State::Stream && block.stream && !block.stream->ordered)
			return false;
	return true;
}

bool TrailVerifier::next_pass()
{
	if (!streaming_ || finished_)
		return false;
	for (Block &block : blocks_) {
		poll_interrupt();
		if (block.state == State::Stream) {
			const Stream &s = *block.stream;
			const BlockHeader &h = block.stored.header;
			if (s.ordered && !s.mismatch && s.stored.root() == h.merkle_root) {
				check_sealed_counts(h, block.streamed, s.first_id, s.last_id, settled_problems_);
				settled_entries_ += block.streamed;
				block.state = State::Settled;
			} else {
				block.state = State::Deferred;
			}
			block.stream.reset();
		} else if (block.state == State::Collect && pass_ > 0) {
			settle_collected(block, settled_problems_, settled_entries_);
			block.state = State::Settled;
		}
	}
	// The next blocks to collect, in block order, as many as fit (the first one always does).
	size_t taken = 0;
	bool any = false;
	for (Block &block : blocks_) {
		if (block.state != State::Deferred)
			continue;
		const size_t want = static_cast<size_t>(block.streamed);
		if (any && taken + want > max_collect_)
			continue;
		block.state = State::Collect;
		taken += want;
		any = true;
	}
	if (any)
		pass_++;
	return any;
}

Problem TrailVerifier::not_the_logged_hash(int64_t block_no, const Hash &stored) const
{
	return {ProblemKind::BlockAltered, block_no, 0,
	        "stored block hash " + to_hex(stored) + " is not the hash the digest file recorded for block " +
	            std::to_string(block_no) + ", " + to_hex(logged_hash_) +
	            ": the chain was sealed again from this block on (blocks deleted, or the trail rebuilt)"};
}

void TrailVerifier::check_headers(std::vector<Problem> &problems) const
{
	int64_t prev_no = 0;
	Hash prev_hash = kZeroHash;
	const Snapshot *prev_snapshot = nullptr;
	if (previous_) {
		prev_no = previous_->header.block_no;
		prev_hash = previous_->stored_block_hash;
		// The anchor of a range resumed from the block the digest file names (verification.md).
		if (logged_block_no_ != 0 && prev_no == logged_block_no_ && prev_hash != logged_hash_)
			problems.push_back(not_the_logged_hash(prev_no, prev_hash));
		if (previous_snapshot_)
			prev_snapshot = &*previous_snapshot_;
		else
			problems.push_back({ProblemKind::BlockAltered, prev_no, 0,
			                    "snapshot \"" + previous_->header.snapshot + "\" is not a valid pg_snapshot"});
	}
	for (const Block &block : blocks_) {
		const BlockHeader &h = block.stored.header;
		const Hash computed = block_hash(h);
		if (computed != block.stored.stored_block_hash)
			problems.push_back({ProblemKind::BlockAltered, h.block_no, 0,
			                    "stored block hash " + to_hex(block.stored.stored_block_hash) +
			                        " is not the hash of the header, " + to_hex(computed)});
		if (logged_block_no_ != 0 && h.block_no == logged_block_no_ && block.stored.stored_block_hash != logged_hash_)
			problems.push_back(not_the_logged_hash(h.block_no, block.stored.stored_block_hash));
		if (h.block_no <= prev_no) {
			problems.push_back({ProblemKind::ChainBroken, h.block_no, 0,
			                    "block " + std::to_string(h.block_no) + " follows block " + std::to_string(prev_no) +
			                        ": block numbers must ascend by one"});
		} else if (h.block_no > plus_one(prev_no)) {
			// The link cannot be checked across the gap: the gap itself is the finding.
			problems.push_back(
			    {ProblemKind::BlockMissing, plus_one(prev_no), 0, missing_blocks_text(plus_one(prev_no), h.block_no - 1)});
		} else if (h.prev_hash != prev_hash) {
			problems.push_back({ProblemKind::ChainBroken, h.block_no, 0,
			                    "prev_hash " + to_hex(h.prev_hash) + " is not the hash of " +
			                        (prev_no == 0 ? std::string("nothing (32 zero bytes for block 1)")
			                                      : "block " + std::to_string(prev_no) + ", " + to_hex(prev_hash))});
		}
		if (!block.snapshot) {
			problems.push_back({ProblemKind::BlockAltered, h.block_no, 0,
			                    "snapshot \"" + h.snapshot + "\" is not a valid pg_snapshot"});
		} else {
			// A new era starts from other transaction ids: its first block is not compared.
			if (prev_snapshot != nullptr && !starts_era(h.block_no) && !sees_at_least(*block.snapshot, *prev_snapshot))
				problems.push_back({ProblemKind::BlockAltered, h.block_no, 0,
				                    "snapshot \"" + h.snapshot +
				                        "\" does not see every transaction the previous block's snapshot saw"});
			prev_snapshot = &*block.snapshot;
		}
		prev_no = std::max(prev_no, h.block_no);
		prev_hash = block.stored.stored_block_hash;
	}
	if (is_last_ && highest_issued_ > prev_no)
		problems.push_back({ProblemKind::BlockMissing, plus_one(prev_no), 0,
		                    missing_blocks_text(plus_one(prev_no), highest_issued_) + ": the newest block is " +
		                        std::to_string(prev_no) + ", but block numbers up to " +
		                        std::to_string(highest_issued_) + " were issued"});
	if (!is_last_ && range_end_ > prev_no)
		problems.push_back({ProblemKind::BlockMissing, plus_one(prev_no), 0,
		                    missing_blocks_text(plus_one(prev_no), range_end_) + ": the range ends at block " +
		                        std::to_string(range_end_) + ", and later blocks exist"});
}

// The members are the sealed ones (their root matches, each matches its hash): only the header's own
// fields can disagree. n members, ids first_id to last_id in order.
void TrailVerifier::check_sealed_counts(const BlockHeader &h, int64_t n, int64_t first_id, int64_t last_id,
                                        std::vector<Problem> &problems)
{
	if (n != h.entry_count)
		problems.push_back({ProblemKind::BlockAltered, h.block_no, 0,
		                    "the header says " + plural(h.entry_count, "entry", "entries") + ", the block has " +
		                        std::to_string(n) + " whose Merkle root matches"});
	const bool ids_ok =
	    n == 0 ? !h.has_entry_ids : h.has_entry_ids && h.first_entry_id == first_id && h.last_entry_id == last_id;
	if (!ids_ok)
		problems.push_back({ProblemKind::BlockAltered, h.block_no, 0,
		                    "the header's entry ids " +
		                        (h.has_entry_ids ? range_text(h.first_entry_id, h.last_entry_id) : std::string("NULL")) +
		                        " do not match the block's entries " +
		                        (n ? range_text(first_id, last_id) : std::string("(none)"))});
}

void TrailVerifier::check_members(Block &block, std::vector<Problem> &problems)
{
	std::vector<Member> &m = block.members;
	auto less = [](const Member &a, const Member &b) { return member_less(a.id, a.stored, b.id, b.stored); };
	if (!std::is_sorted(m.begin(), m.end(), less))
		std::sort(m.begin(), m.end(), less);
	const BlockHeader &h = block.stored.header;
	const size_t n = m.size();
	std::vector<Hash> leaves(n);
	std::vector<size_t> mismatched;
	for (size_t i = 0; i < n; i++) {
		leaves[i] = m[i].stored;
		if (m[i].alt != kSame)
			mismatched.push_back(i);
	}
	const Hash root_s = merkle_root(leaves);
	const bool count_ok = static_cast<int64_t>(n) == h.entry_count;

	if (mismatched.empty() && root_s == h.merkle_root) {
		check_sealed_counts(h, static_cast<int64_t>(n), n ? m.front().id : 0, n ? m.back().id : 0, problems);
		return;
	}

	if (!mismatched.empty() && count_ok) {
		if (root_s == h.merkle_root) {
			for (size_t p : mismatched)
				problems.push_back({ProblemKind::ValueChanged, h.block_no, m[p].id,
				                    m[p].partial ? "content altered before sealing: it does not match the first bytes "
				                                   "of the leaf hash captured with it, which the block sealed in its place"
				                                 : "content altered after sealing: it no longer matches its leaf hash, "
				                                   "which the block's Merkle root still matches"});
			return;
		}
		std::vector<Hash> recomputed = leaves;
		for (size_t p : mismatched)
			recomputed[p] = alts_[m[p].alt];
		if (merkle_root(recomputed) == h.merkle_root) {
			for (size_t p : mismatched)
				problems.push_back({ProblemKind::HashChanged, h.block_no, m[p].id,
				                    "stored leaf hash altered: the content is intact (its hash matches the sealed "
				                    "Merkle root), the stored hash is not"});
			return;
		}
		if (mismatched.size() >= 2) {
			if (const auto pair = search_partial_swap(m, mismatched)) {
				report_partial_swap(block, leaves, mismatched, *pair, problems);
				return;
			}
			bool not_searched = false;
			const auto pair = search_swap(leaves, mismatched, h.merkle_root, &not_searched);
			if (pair) {
				const Member &a = m[pair->first], &b = m[pair->second];
				problems.push_back({ProblemKind::EntriesReordered, h.block_no, a.id,
				                    "entries " + std::to_string(a.id) + " and " + std::to_string(b.id) +
				                        " swapped places: each carries the other's sealed leaf hash"});
				for (size_t p : mismatched)
					if (p != pair->first && p != pair->second)
						problems.push_back({ProblemKind::ValueChanged, h.block_no, m[p].id,
						                    "content altered after sealing: it no longer matches its leaf hash"});
				return;
			}
		}
	}
	explain_structure(block, leaves, mismatched, problems);
}

// The Merkle root does not match and no per-entry explanation fits: compare the membership with what
// the header sealed (count and id range) and look for the inserted, missing or rewritten entries.
void TrailVerifier::explain_structure(const Block &block, const std::vector<Hash> &leaves,
                                      const std::vector<size_t> &mismatched, std::vector<Problem> &problems)
{
	const std::vector<Member> &m = block.members;
	const BlockHeader &h = block.stored.header;
	const int64_t sealed = h.entry_count;
	std::vector<bool> named(m.size(), false);

	// An id outside the sealed id range cannot belong to a sealed entry.
	// Entries of missing blocks before this one are visible first in its snapshot: say so once, not per entry.
	const char *gap_note = block.gap_before ? "; the missing block(s) before it probably held them" : "";
	std::vector<size_t> inner;
	inner.reserve(m.size());
	int64_t outside_count = 0;
	for (size_t i = 0; i < m.size(); i++) {
		const bool outside = h.has_entry_ids ? (m[i].id < h.first_entry_id || m[i].id > h.last_entry_id) : sealed == 0;
		if (!outside) {
			inner.push_back(i);
			continue;
		}
		named[i] = true;
		outside_count++;
		if (!block.gap_before)
			problems.push_back({ProblemKind::EntryInserted, h.block_no, m[i].id,
			                    h.has_entry_ids ? "not sealed: its id is outside the block's sealed ids " +
			                                          range_text(h.first_entry_id, h.last_entry_id)
			                                    : std::string("not sealed: the block was sealed without entries")});
	}
	if (block.gap_before && outside_count > 0)
		problems.push_back(
		    {ProblemKind::EntryInserted, h.block_no, 0,
		     plural(outside_count, "entry", "entries") + " with ids outside the block's sealed ids" + gap_note});
	std::vector<Hash> inner_leaves;
	inner_leaves.reserve(inner.size());
	for (size_t i : inner)
		inner_leaves.push_back(leaves[i]);
	const int64_t found = static_cast<int64_t>(inner.size());
	bool inner_root_matches = false;
	auto has_id = [&](int64_t id) {
		return std::any_of(inner.begin(), inner.end(), [&](size_t i) { return m[i].id == id; });
	};

	if (found < sealed) {
		int64_t named_missing = 0;
		if (h.has_entry_ids) {
			if (!has_id(h.first_entry_id)) {
				problems.push_back(
				    {ProblemKind::EntryMissing, h.block_no, h.first_entry_id,
				     "entry " + std::to_string(h.first_entry_id) + ", the first the block sealed, is gone"});
				named_missing++;
			}
			if (h.last_entry_id != h.first_entry_id && named_missing < sealed - found && !has_id(h.last_entry_id)) {
				problems.push_back(
				    {ProblemKind::EntryMissing, h.block_no, h.last_entry_id,
				     "entry " + std::to_string(h.last_entry_id) + ", the last the block sealed, is gone"});
				named_missing++;
			}
		}
		const int64_t unnamed = sealed - found - named_missing;
		if (unnamed > 0)
			problems.push_back({ProblemKind::EntryMissing, h.block_no, 0,
			                    plural(unnamed, "entry", "entries") + (named_missing ? " more" : "") +
			                        " missing: the block sealed " + std::to_string(sealed) + ", " +
			                        std::to_string(found) + " of them remain"});
	} else if (found > sealed) {
		std::optional<size_t> extra;
		const size_t n = inner.size();
		if (found == plus_one(sealed) && n <= limits_.max_removal_search_members && spend(2 * n + n * tree_depth(n)))
			extra = find_extra_leaf(inner_leaves, h.merkle_root);
		if (extra) {
			named[inner[*extra]] = true;
			problems.push_back({ProblemKind::EntryInserted, h.block_no, m[inner[*extra]].id,
			                    "not sealed: the block's Merkle root matches the other entries without it"});
		} else {
			problems.push_back(
			    {ProblemKind::EntryInserted, h.block_no, 0,
			     plural(difference(found, sealed), "entry", "entries") + " more than the " + std::to_string(sealed) +
			         " the block sealed" +
			         (block.gap_before ? std::string(gap_note) : "; which ones cannot be told from the Merkle root")});
		}
	} else if (inner.size() < m.size() && merkle_root(inner_leaves) == h.merkle_root) {
		inner_root_matches = true; // the entries outside the sealed ids were the whole story
	} else {
		// As many entries as sealed, yet a different root.
		if (mismatched.empty()) {
			std::vector<size_t> all(inner.size());
			for (size_t i = 0; i < all.size(); i++)
				all[i] = i;
			bool exhausted = false;
			const auto pair = search_swap(inner_leaves, all, h.merkle_root, &exhausted);
			if (pair) {
				const Member &a = m[inner[pair->first]], &b = m[inner[pair->second]];
				problems.push_back({ProblemKind::EntriesReordered, h.block_no, a.id,
				                    "entries " + std::to_string(a.id) + " and " + std::to_string(b.id) +
				                        " are in each other's place in the sealed order"});
			} else {
				problems.push_back(
				    {ProblemKind::ValueChanged, h.block_no, 0,
				     "an entry was rewritten together with its leaf hash: every entry matches its leaf hash, but "
				     "the Merkle root is not the sealed one" +
				         std::string(exhausted ? " (block too large to search for swapped entries)" : "")});
			}
		}
	}

	for (size_t p : mismatched) {
		if (named[p])
			continue;
		const char *why = m[p].partial
		                      ? "content altered: it no longer gives the leaf hash whose first bytes the entry stores; with "
		                        "only those stored, the block's Merkle root cannot tell whether another of its entries "
		                        "was rewritten together with its stored bytes"
		                  : inner_root_matches ? "content altered after sealing: it no longer matches its leaf hash"
		                  : found == sealed  ? "content does not match its leaf hash, and the block's Merkle root "
		                                       "matches neither the stored nor the recomputed leaf hashes"
		                                     : "content does not match its leaf hash";
		problems.push_back({ProblemKind::ValueChanged, h.block_no, m[p].id, why});
	}
}

// Takes hashes from the budget shared by all searches, so that heavy tampering cannot make
// verification run for hours; false (and nothing taken) when too little is left.
bool TrailVerifier::spend(size_t hashes)
{
	if (hashes > budget_left_)
		return false;
	budget_left_ -= hashes;
	return true;
}

// SHA-256 of an entry's canonical bytes, counted in 64-byte blocks against the search budget.
static size_t hash_cost(const std::string &encoding)
{
	return encoding.size() / 64 + 2;
}

// Two members that store the first bytes of their leaf hashes and traded ids: the content of each,
// hashed under the other's id, begins with the bytes it stores (two 8-byte matches by chance: about
// 2^-128). Those two hashes are then the leaves the block sealed at each other's places.
std::optional<std::pair<size_t, size_t>> TrailVerifier::search_partial_swap(const std::vector<Member> &m,
                                                                            const std::vector<size_t> &mismatched)
{
	std::vector<size_t> cand;
	for (size_t p : mismatched)
		if (m[p].partial && m[p].enc != kSame)
			cand.push_back(p);
	const size_t c = cand.size();
	if (c < 2 || c * (c - 1) / 2 > limits_.max_swap_pairs)
		return std::nullopt;
	auto gives_stored = [&](size_t p, int64_t id) {
		const Hash h = leaf_hash_under_id(encodings_[m[p].enc], id);
		return std::equal(h.begin(), h.begin() + kStoredLeafPrefix, m[p].stored.begin());
	};
	for (size_t i = 0; i < c; i++) {
		for (size_t j = i + 1; j < c; j++) {
			poll_interrupt();
			const size_t p = cand[i], q = cand[j];
			if (!spend(hash_cost(encodings_[m[p].enc])))
				return std::nullopt;
			if (!gives_stored(p, m[q].id))
				continue;
			if (!spend(hash_cost(encodings_[m[q].enc])))
				return std::nullopt;
			if (gives_stored(q, m[p].id))
				return std::make_pair(p, q);
		}
	}
	return std::nullopt;
}

// Reports two members found by search_partial_swap(). With their sealed leaves put back in place, the
// block's Merkle root says whether the swap is all that changed: when they were the only members that
// no longer match and the root still differs, another entry was rewritten together with its stored
// bytes; any other member that no longer matches is reported as altered, the root unable to say more.
// The root is rebuilt whatever the search budget holds, as every block's is: skipping it would let
// heavy tampering elsewhere hide a rewritten entry behind a swap.
void TrailVerifier::report_partial_swap(const Block &block, std::vector<Hash> leaves,
                                        const std::vector<size_t> &mismatched, std::pair<size_t, size_t> pair,
                                        std::vector<Problem> &problems)
{
	const std::vector<Member> &m = block.members;
	const BlockHeader &h = block.stored.header;
	const Member &a = m[pair.first], &b = m[pair.second];
	problems.push_back({ProblemKind::EntriesReordered, h.block_no, a.id,
	                    "entries " + std::to_string(a.id) + " and " + std::to_string(b.id) +
	                        " traded ids: the content of each, hashed under the other's id, gives the first bytes of "
	                        "the leaf hash it stores"});
	if (mismatched.size() == 2) {
		leaves[pair.second] = leaf_hash_under_id(encodings_[a.enc], b.id);
		leaves[pair.first] = leaf_hash_under_id(encodings_[b.enc], a.id);
		if (merkle_root(leaves) != h.merkle_root)
			problems.push_back({ProblemKind::ValueChanged, h.block_no, 0,
			                    "with entries " + std::to_string(a.id) + " and " + std::to_string(b.id) +
			                        " put back in their sealed places, the block's Merkle root is still not the "
			                        "sealed one: another entry was rewritten together with its stored bytes"});
		return;
	}
	for (size_t p : mismatched)
		if (p != pair.first && p != pair.second)
			problems.push_back({ProblemKind::ValueChanged, h.block_no, m[p].id,
			                    m[p].partial ? "content altered: it no longer gives the leaf hash whose first bytes the "
			                                   "entry stores; with only those stored, the block's Merkle root cannot "
			                                   "tell whether another of its entries was rewritten together with its "
			                                   "stored bytes"
			                                 : "content does not match its leaf hash"});
}

// Two of the candidate positions whose leaves, swapped, give root. A single pair is tried by plain
// recomputation; more pairs use a tree of all node hashes, for blocks of up to kMaxTreeLeaves.
std::optional<std::pair<size_t, size_t>> TrailVerifier::search_swap(const std::vector<Hash> &leaves,
                                                                    const std::vector<size_t> &candidates,
                                                                    const Hash &root, bool *not_searched)
{
	*not_searched = false;
	const size_t n = leaves.size(), c = candidates.size();
	if (c < 2)
		return std::nullopt;
	const size_t pairs = c * (c - 1) / 2;
	if (pairs == 1) {
		if (!spend(n)) {
			*not_searched = true;
			return std::nullopt;
		}
		std::vector<Hash> swapped = leaves;
		std::swap(swapped[candidates[0]], swapped[candidates[1]]);
		if (merkle_root(swapped) == root)
			return std::make_pair(candidates[0], candidates[1]);
		return std::nullopt;
	}
	if (pairs > limits_.max_swap_pairs || n > kMaxTreeLeaves || !spend(n + pairs * 2 * tree_depth(n))) {
		*not_searched = true;
		return std::nullopt;
	}
	const MerkleNodes tree(leaves.data(), n);
	return find_swapped_pair(tree, candidates, root, pairs, nullptr);
}

VerifyReport TrailVerifier::finish()
{
	if (finished_)
		throw std::logic_error("TrailVerifier::finish called twice");
	if (streaming_ && next_pass())
		throw std::logic_error("TrailVerifier::finish while blocks still wait for another pass");
	finished_ = true;
	VerifyReport report;
	check_headers(report.problems);
	report.problems.insert(report.problems.end(), settled_problems_.begin(), settled_problems_.end());
	report.entries_checked = settled_entries_;
	for (Block &block : blocks_) {
		poll_interrupt();
		if (!block.snapshot || block.state != State::Collect)
			continue; // no membership without a snapshot (check_headers reported it), or settled
		settle_collected(block, report.problems, report.entries_checked);
	}
	report.blocks_checked = static_cast<int64_t>(blocks_.size());
	report.entries_pending = pending_;
	report.entries_pruned = pruned_entries_;
	report.entries_erased = payloads_.finish(report.problems);
	report.entries_unchecked = payloads_.unchecked();
	std::stable_sort(report.problems.begin(), report.problems.end(), [](const Problem &a, const Problem &b) {
		return a.block_no < b.block_no || (a.block_no == b.block_no && a.entry_id < b.entry_id);
	});
	// An id met twice in one block is inserted by the block's check too: named once.
	report.problems.erase(std::unique(report.problems.begin(), report.problems.end(),
	                                  [](const Problem &a, const Problem &b) {
		                                  return a.kind == ProblemKind::EntryInserted && b.kind == a.kind &&
		                                         a.block_no == b.block_no && a.entry_id == b.entry_id;
	                                  }),
	                      report.problems.end());
	report.status = report.problems.empty() ? "valid" : "tampered";
	return report;
}

} // namespace witness
