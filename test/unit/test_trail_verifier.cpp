// TrailVerifier on synthetic trails: valid chains, pending entries, ranges, and every problem kind.
#include "trail_verifier.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "merkle.hpp"
#include "sha256.hpp"
#include "entry_encoding.hpp"
#include "stored_leaf.hpp"

using namespace witness;

namespace
{

// A synthetic entry: its leaf hash is over id, xid and content, as a real leaf hash covers them.
struct Row {
	int64_t id;
	uint64_t xid;
	std::string content;
	Hash stored;
};

Hash leaf_of(int64_t id, uint64_t xid, const std::string &content)
{
	return merkle_leaf_hash(std::to_string(id) + "/" + std::to_string(xid) + "/" + content);
}

class Trail
{
  public:
	std::vector<Row> rows;
	std::vector<StoredBlock> blocks;
	std::vector<EraStart> eras;
	// Entries store the first 8 bytes of `stored` only (stored_leaf.hpp), as since version 0.2.
	bool partial_leaves = false;

	// A new era from entry id first_id on, starting with the next block (as the sealer starts one).
	void start_era(int64_t first_id) { eras.push_back(EraStart{first_id, static_cast<int64_t>(blocks.size()) + 1}); }

	void add(int64_t id, uint64_t xid)
	{
		const std::string content = "content of " + std::to_string(id);
		rows.push_back(Row{id, xid, content, leaf_of(id, xid, content)});
	}

	// Seals the rows visible in snapshot and not in the previous block's, as the sealer does.
	void seal(const std::string &snapshot_text)
	{
		const Snapshot snap = parse_snapshot(snapshot_text);
		std::vector<const Row *> members;
		const int64_t era_first_id = eras.empty() ? INT64_MIN : eras.back().first_entry_id;
		const bool era_starts = !eras.empty() && eras.back().first_block_no == static_cast<int64_t>(blocks.size()) + 1;
		for (const Row &r : rows) {
			const bool before = !blocks.empty() && !era_starts &&
			                    parse_snapshot(blocks.back().header.snapshot).visible(r.xid);
			// The closing block of an era (sealed before the next one starts) takes the era's rows only.
			const bool in_era = r.id >= era_first_id && (pending_era_first_id_ == 0 || r.id < pending_era_first_id_);
			if (in_era && snap.visible(r.xid) && !before)
				members.push_back(&r);
		}
		std::sort(members.begin(), members.end(), [](const Row *a, const Row *b) { return a->id < b->id; });
		std::vector<Hash> leaves;
		for (const Row *r : members) {
			// The sealer's rule when entries store 8 bytes (stored_leaf.hpp): the content's hash when it
			// begins with them, else those bytes padded.
			const Hash recomputed = leaf_of(r->id, r->xid, r->content);
			leaves.push_back(partial_leaves ? sealed_leaf(r->stored.data(), kStoredLeafPrefix, &recomputed).leaf
			                                : r->stored);
		}
		BlockHeader h;
		h.block_no = static_cast<int64_t>(blocks.size()) + 1;
		h.snapshot = snapshot_text;
		h.entry_count = static_cast<int64_t>(members.size());
		h.has_entry_ids = !members.empty();
		if (h.has_entry_ids) {
			h.first_entry_id = members.front()->id;
			h.last_entry_id = members.back()->id;
		}
		h.merkle_root = merkle_root(leaves);
		h.prev_hash = blocks.empty() ? Hash{} : blocks.back().stored_block_hash;
		h.sealed_at_us = 1700000000000000 + h.block_no * 1000000;
		blocks.push_back(StoredBlock{h, block_hash(h)});
	}

	// The closing block of the current era: what the sealer writes before an era from first_id on.
	void close_era(const std::string &snapshot_text, int64_t first_id)
	{
		pending_era_first_id_ = first_id;
		seal(snapshot_text);
		pending_era_first_id_ = 0;
		start_era(first_id);
	}
	int64_t pending_era_first_id_ = 0;
	// What witness.digest_file says of the newest block it names (0: nothing).
	int64_t logged_block_no = 0;
	Hash logged_hash{};

	Row &row(int64_t id)
	{
		for (Row &r : rows)
			if (r.id == id)
				return r;
		throw std::out_of_range("no row " + std::to_string(id));
	}

	void erase(int64_t id)
	{
		rows.erase(std::remove_if(rows.begin(), rows.end(), [id](const Row &r) { return r.id == id; }), rows.end());
	}

	// Re-hashes block i after a header change, as an attacker covering their tracks would.
	void rehash(size_t i) { blocks[i].stored_block_hash = block_hash(blocks[i].header); }

	VerifyReport verify(size_t from = 0, size_t to = SIZE_MAX, bool is_last = true, int64_t highest = 0,
	                    const TrailVerifier::Limits *limits = nullptr) const
	{
		to = std::min(to, blocks.size());
		const StoredBlock *previous = from > 0 ? &blocks[from - 1] : nullptr;
		// Every check runs three ways: members kept (witness.verify()), and streaming as witness-verify
		// does, with the rows in the order given and in id order (as an export lists them), a block at
		// a time. All three must report the same.
		const std::vector<StoredBlock> range(blocks.begin() + from, blocks.begin() + to);
		auto run = [&](bool streaming, const std::vector<const Row *> &order, int *passes) {
			TrailVerifier v(previous, range, is_last, highest);
			v.set_eras(eras);
			if (logged_block_no != 0)
				v.set_logged_digest(logged_block_no, logged_hash);
			if (limits)
				v.set_limits(*limits);
			if (streaming)
				v.stream(1);
			do {
				for (const Row *r : order) {
					const Hash recomputed = leaf_of(r->id, r->xid, r->content);
					if (partial_leaves) // what the glue passes for an entry that stores 8 bytes
						v.add_entry(r->id, r->xid, sealed_leaf(r->stored.data(), kStoredLeafPrefix, &recomputed).leaf,
						            recomputed, true);
					else
						v.add_entry(r->id, r->xid, r->stored, recomputed);
				}
			} while (v.next_pass());
			*passes = v.passes();
			return v.finish();
		};
		std::vector<const Row *> given, by_id;
		for (const Row &r : rows)
			given.push_back(&r);
		by_id = given;
		std::stable_sort(by_id.begin(), by_id.end(), [](const Row *a, const Row *b) { return a->id < b->id; });
		int passes = 0;
		const VerifyReport kept = run(false, given, &passes);
		EXPECT_EQ(passes, 1);
		const VerifyReport streamed = run(true, given, &passes);
		EXPECT_EQ(report_text(streamed), report_text(kept)) << "streaming, rows as given";
		const VerifyReport streamed_by_id = run(true, by_id, &passes);
		EXPECT_EQ(report_text(streamed_by_id), report_text(kept)) << "streaming, rows by id";
		if (kept.problems.empty()) {
			EXPECT_EQ(passes, 1) << "a valid trail listed by id settles in one pass";
		}
		return kept;
	}

	// Everything a report says, to compare reports.
	static std::string report_text(const VerifyReport &r)
	{
		std::string s = r.status + " blocks " + std::to_string(r.blocks_checked) + " entries " +
		                std::to_string(r.entries_checked) + " pending " + std::to_string(r.entries_pending) + "\n";
		for (const Problem &p : r.problems)
			s += std::string(problem_name(p.kind)) + "@" + std::to_string(p.block_no) + "/" +
			     std::to_string(p.entry_id) + ": " + p.detail + "\n";
		return s;
	}
};

// Block 1: xids 100-102 (ids 10-40). Block 2: xid 103 still running, 104-105 (ids 60-80).
// Block 3: 103 (id 50) and 106-107 (ids 90-110). Pending: xids 108-109 (ids 120, 130).
Trail standard_trail()
{
	Trail t;
	t.add(10, 100);
	t.add(20, 101);
	t.add(30, 101);
	t.add(40, 102);
	t.add(50, 103);
	t.add(60, 104);
	t.add(70, 105);
	t.add(80, 104);
	t.seal("100:103:");
	t.seal("103:106:103");
	t.add(90, 106);
	t.add(100, 107);
	t.add(110, 106);
	t.seal("106:108:");
	t.add(120, 108);
	t.add(130, 109);
	return t;
}

// "kind@block/entry" for each problem, in report order.
std::vector<std::string> summary(const VerifyReport &r)
{
	std::vector<std::string> out;
	for (const Problem &p : r.problems)
		out.push_back(std::string(problem_name(p.kind)) + "@" + std::to_string(p.block_no) + "/" +
		              std::to_string(p.entry_id));
	return out;
}

using Strings = std::vector<std::string>;

// Block 1 of a trail, sealed over leaves (ids first_id to last_id, in that order).
static StoredBlock first_block(const std::vector<Hash> &leaves, const char *snapshot, int64_t first_id, int64_t last_id)
{
	BlockHeader h;
	h.block_no = 1;
	h.snapshot = snapshot;
	h.entry_count = static_cast<int64_t>(leaves.size());
	h.has_entry_ids = true;
	h.first_entry_id = first_id;
	h.last_entry_id = last_id;
	h.merkle_root = merkle_root(leaves);
	h.sealed_at_us = 1700000001000000;
	return StoredBlock{h, block_hash(h)};
}

std::string details(const VerifyReport &r)
{
	std::string s;
	for (const Problem &p : r.problems)
		s += std::string(problem_name(p.kind)) + ": " + p.detail + "\n";
	return s;
}

} // namespace

TEST(TrailVerifier, ProblemNames)
{
	EXPECT_STREQ(problem_name(ProblemKind::ValueChanged), "value changed");
	EXPECT_STREQ(problem_name(ProblemKind::HashChanged), "hash changed");
	EXPECT_STREQ(problem_name(ProblemKind::EntryMissing), "entry missing");
	EXPECT_STREQ(problem_name(ProblemKind::EntryInserted), "entry inserted");
	EXPECT_STREQ(problem_name(ProblemKind::EntriesReordered), "entries reordered");
	EXPECT_STREQ(problem_name(ProblemKind::BlockAltered), "block altered");
	EXPECT_STREQ(problem_name(ProblemKind::ChainBroken), "chain broken");
	EXPECT_STREQ(problem_name(ProblemKind::BlockMissing), "block missing");
}

TEST(TrailVerifier, StandardTrailIsAsDescribed)
{
	const Trail t = standard_trail();
	ASSERT_EQ(t.blocks.size(), 3u);
	EXPECT_EQ(t.blocks[0].header.entry_count, 4);
	EXPECT_EQ(t.blocks[1].header.entry_count, 3);
	EXPECT_EQ(t.blocks[1].header.first_entry_id, 60);
	EXPECT_EQ(t.blocks[2].header.entry_count, 4);
	EXPECT_EQ(t.blocks[2].header.first_entry_id, 50);
}

TEST(TrailVerifier, ValidTrailWithPendingEntries)
{
	const VerifyReport r = standard_trail().verify(0, SIZE_MAX, true, 3);
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_TRUE(r.problems.empty());
	EXPECT_EQ(r.blocks_checked, 3);
	EXPECT_EQ(r.entries_checked, 11);
	EXPECT_EQ(r.entries_pending, 2);
}

TEST(TrailVerifier, EntriesInAnyOrder)
{
	Trail t = standard_trail();
	std::reverse(t.rows.begin(), t.rows.end());
	std::swap(t.rows[3], t.rows[9]);
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.entries_checked, 11);
}

TEST(TrailVerifier, EmptyTrail)
{
	Trail t;
	t.add(1, 500);
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "valid");
	EXPECT_EQ(r.blocks_checked, 0);
	EXPECT_EQ(r.entries_pending, 1);
}

TEST(TrailVerifier, RangeNotAtTheEndIgnoresLaterEntries)
{
	const VerifyReport r = standard_trail().verify(0, 2, false, 3);
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.blocks_checked, 2);
	EXPECT_EQ(r.entries_checked, 7);
	EXPECT_EQ(r.entries_pending, 0);
}

TEST(TrailVerifier, RangeAfterPreviousBlock)
{
	const Trail t = standard_trail();
	VerifyReport r = t.verify(1, SIZE_MAX, true, 3);
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.blocks_checked, 2);
	EXPECT_EQ(r.entries_checked, 7);
	EXPECT_EQ(r.entries_pending, 2);
	r = t.verify(1, 2, false, 0);
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.entries_checked, 3);
}

// A range that does not reach the newest block must still have every block it asks for: blocks
// deleted at its end (or all of them) are missing, not a valid range of fewer blocks.
TEST(TrailVerifier, RangeNotAtTheEndReportsBlocksMissingAtItsEnd)
{
	const Trail t = standard_trail();
	auto verify_range = [&t](size_t from, size_t to, int64_t range_end) {
		TrailVerifier v(from > 0 ? &t.blocks[from - 1] : nullptr,
		                std::vector<StoredBlock>(t.blocks.begin() + from, t.blocks.begin() + to), false, 0);
		v.set_range_end(range_end);
		for (const Row &r : t.rows)
			v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
		return v.finish();
	};
	// Blocks 1 and 2 asked for and present.
	EXPECT_EQ(verify_range(0, 2, 2).status, "valid");
	// Block 2 asked for, gone: only block 1 (the previous block) was found.
	VerifyReport r = verify_range(1, 1, 2);
	EXPECT_EQ(summary(r), Strings{"block missing@2/0"});
	EXPECT_EQ(r.problems[0].detail, "block 2 is missing: the range ends at block 2, and later blocks exist");
	EXPECT_EQ(r.blocks_checked, 0);
	// Blocks 1 to 2 asked for, block 2 gone.
	EXPECT_EQ(summary(verify_range(0, 1, 2)), Strings{"block missing@2/0"});
}

TEST(TrailVerifier, RangeDetectsBrokenLinkToPreviousBlock)
{
	Trail t = standard_trail();
	t.blocks[1].header.prev_hash[5] ^= 1;
	t.rehash(1);
	EXPECT_EQ(summary(t.verify(1, 2, false)), Strings{"chain broken@2/0"});
}

TEST(TrailVerifier, ValueChanged)
{
	Trail t = standard_trail();
	t.row(70).content = "salary: 1000000";
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "tampered");
	EXPECT_EQ(summary(r), Strings{"value changed@2/70"});
	EXPECT_NE(r.problems[0].detail.find("after sealing"), std::string::npos);
}

// Ids come from one sequence. An attack review sealed a copy of a sealed entry, with an xid of its
// own, into a later block: each block verified, and the trail was valid. The id met twice is named.
TEST(TrailVerifier, RepeatedIdIsInserted)
{
	Trail t;
	t.add(10, 100);
	t.add(20, 101);
	t.seal("100:103:");
	t.add(30, 103);
	t.add(20, 103); // the copy, sealed in block 2
	t.seal("104:104:");
	t.add(10, 104); // and one pending
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "tampered");
	EXPECT_EQ(summary(r), (Strings{"entry inserted@0/10", "entry inserted@2/20"})) << details(r);
	EXPECT_NE(r.problems[1].detail.find("another entry of the trail has its id"), std::string::npos);
	// Two verifiers of parts of one verification share what they met.
	EntryIdSet shared;
	TrailVerifier first(nullptr, {t.blocks[0]}, false, 0);
	first.share_ids(&shared);
	TrailVerifier second(&t.blocks[0], {t.blocks[1]}, true, 0);
	second.share_ids(&shared);
	for (TrailVerifier *v : {&first, &second})
		for (const Row &row : t.rows)
			v->add_entry(row.id, row.xid, row.stored, leaf_of(row.id, row.xid, row.content));
	EXPECT_EQ(first.finish().status, "valid");
	EXPECT_EQ(summary(second.finish()), (Strings{"entry inserted@0/10", "entry inserted@2/20"}));
}

TEST(TrailVerifier, PartialLeavesValid)
{
	Trail t = standard_trail();
	t.partial_leaves = true; // intact content: the sealer's rule gives the same leaves
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "valid") << details(r);
}

TEST(TrailVerifier, PartialLeafValueChangedAfterSealing)
{
	Trail t = standard_trail();
	t.partial_leaves = true;
	t.row(70).content = "salary: 1000000";
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"value changed@2/70"});
	EXPECT_NE(r.problems[0].detail.find("whose first bytes the entry stores"), std::string::npos) << details(r);
}

TEST(TrailVerifier, PartialLeafStoredBytesChanged)
{
	Trail t = standard_trail();
	t.partial_leaves = true;
	t.row(60).stored = sha256("forged");
	EXPECT_EQ(summary(t.verify()), Strings{"hash changed@2/60"});
}

TEST(TrailVerifier, PartialLeafValueChangedBeforeSealing)
{
	Trail t;
	t.partial_leaves = true;
	t.add(10, 100);
	t.add(20, 100);
	t.row(20).content = "altered before the seal";
	t.seal("101:101:");
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"value changed@1/20"});
	EXPECT_NE(r.problems[0].detail.find("before sealing"), std::string::npos) << details(r);
}

// Real entries (canonical bytes, as captured) that store 8 bytes of their leaf hashes: a block of ids
// 10, 20 and 30, sealed; then the rows are given as they are after `changes` (id -> the id whose content
// the row now holds), with their canonical bytes for those that no longer match, as the glue gives them.
// rewritten: an id whose content is replaced, its stored bytes recomputed to match (so it matches).
static VerifyReport verify_real_entries(const std::vector<std::pair<int64_t, int64_t>> &changes, bool with_encodings = true,
                                        int64_t rewritten = 0)
{
	auto entry = [](int64_t id, int64_t content_of) {
		static std::string values[64];
		std::string &v = values[content_of % 64];
		v = "{\"n\":" + std::to_string(content_of) + "}";
		EntryView e;
		e.format = kEntryFormatVersion;
		e.id = id;
		e.xid = 100;
		e.stmt_time_us = 1700000000000000;
		e.op = 'I';
		e.schema_name = TextField{true, "public", 6};
		e.table_name = TextField{true, "t", 1};
		e.session_user = TextField{true, "alice", 5};
		e.current_user = TextField{true, "alice", 5};
		e.new_values = JsonDoc{true, nullptr, 0, v.data(), v.size()};
		return e;
	};
	const std::vector<int64_t> ids = {10, 20, 30};
	std::vector<Hash> leaves;
	for (int64_t id : ids)
		leaves.push_back(entry_leaf_hash(entry(id, id)));
	TrailVerifier v(nullptr, {first_block(leaves, "101:101:", 10, 30)}, true, 0);
	for (size_t i = 0; i < ids.size(); i++) {
		int64_t content_of = ids[i];
		for (const auto &[id, of] : changes)
			if (id == ids[i])
				content_of = of;
		// The row keeps the 8 bytes captured with its content; its id is now ids[i].
		Hash stored = entry_leaf_hash(entry(content_of, content_of));
		if (ids[i] == rewritten) {
			content_of = 63;
			stored = entry_leaf_hash(entry(ids[i], content_of));
		}
		const EntryView now = entry(ids[i], content_of);
		const Hash recomputed = entry_leaf_hash(now);
		const SealedLeaf leaf = sealed_leaf(stored.data(), kStoredLeafPrefix, &recomputed);
		std::string encoding;
		if (with_encodings && !leaf.matches)
			encode_entry(now, encoding);
		v.add_entry(ids[i], 100, leaf.leaf, recomputed, true, encoding);
	}
	return v.finish();
}

TEST(TrailVerifier, PartialLeafEntriesTradedIds)
{
	EXPECT_EQ(summary(verify_real_entries({})), Strings{});
	const VerifyReport r = verify_real_entries({{10, 30}, {30, 10}});
	EXPECT_EQ(summary(r), Strings{"entries reordered@1/10"});
	EXPECT_NE(r.problems[0].detail.find("entries 10 and 30 traded ids"), std::string::npos) << details(r);
	// Without the canonical bytes, the swap is still caught, as two changed values.
	EXPECT_EQ(summary(verify_real_entries({{10, 30}, {30, 10}}, false)),
	          (Strings{"value changed@1/10", "value changed@1/30"}));
	// With a third entry rewritten together with its stored bytes, the swap is named, and the root (the
	// two sealed leaves put back) says that something else changed.
	const VerifyReport both = verify_real_entries({{10, 30}, {30, 10}}, true, 20);
	EXPECT_EQ(summary(both), (Strings{"value changed@1/0", "entries reordered@1/10"}));
	EXPECT_NE(both.problems[0].detail.find("another entry was rewritten together with its stored bytes"),
	          std::string::npos)
	    << details(both);
	// A copy is no swap: the entry that now holds another's content is changed.
	EXPECT_EQ(summary(verify_real_entries({{10, 30}})), (Strings{"value changed@1/10"}));
	EXPECT_EQ(summary(verify_real_entries({{10, 20}, {20, 30}, {30, 10}})),
	          (Strings{"value changed@1/10", "value changed@1/20", "value changed@1/30"}));
}

TEST(TrailVerifier, HashChanged)
{
	Trail t = standard_trail();
	t.row(60).stored = sha256("forged");
	EXPECT_EQ(summary(t.verify()), Strings{"hash changed@2/60"});
}

TEST(TrailVerifier, ValueAndHashRewrittenTogether)
{
	Trail t = standard_trail();
	Row &r = t.row(30);
	r.content = "rewritten";
	r.stored = leaf_of(r.id, r.xid, r.content);
	const VerifyReport rep = t.verify();
	EXPECT_EQ(summary(rep), Strings{"value changed@1/0"});
	EXPECT_NE(rep.problems[0].detail.find("rewritten together with its leaf hash"), std::string::npos);
}

TEST(TrailVerifier, EntryMissingInTheMiddle)
{
	Trail t = standard_trail();
	t.erase(30);
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"entry missing@1/0"});
	EXPECT_NE(r.problems[0].detail.find("1 entry missing"), std::string::npos) << r.problems[0].detail;
}

TEST(TrailVerifier, EntryMissingFirstAndLast)
{
	Trail t = standard_trail();
	t.erase(10);
	EXPECT_EQ(summary(t.verify()), Strings{"entry missing@1/10"});
	t = standard_trail();
	t.erase(110);
	EXPECT_EQ(summary(t.verify()), Strings{"entry missing@3/110"});
	t = standard_trail();
	t.erase(60);
	t.erase(70);
	t.erase(80);
	EXPECT_EQ(summary(t.verify()), (Strings{"entry missing@2/0", "entry missing@2/60", "entry missing@2/80"}));
}

TEST(TrailVerifier, EntryInsertedWithinTheSealedIds)
{
	Trail t = standard_trail();
	t.add(25, 101);
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"entry inserted@1/25"});
	EXPECT_NE(r.problems[0].detail.find("matches the other entries without it"), std::string::npos);
}

TEST(TrailVerifier, EntryInsertedWithForgedHash)
{
	Trail t = standard_trail();
	t.add(75, 105);
	t.row(75).stored = sha256("whatever");
	EXPECT_EQ(summary(t.verify()), Strings{"entry inserted@2/75"});
}

TEST(TrailVerifier, EntryInsertedOutsideTheSealedIds)
{
	Trail t = standard_trail();
	t.add(5, 100);
	t.add(55, 104);
	EXPECT_EQ(summary(t.verify()), (Strings{"entry inserted@1/5", "entry inserted@2/55"}));
}

TEST(TrailVerifier, EntryInsertedUnnamedInLargeBlocks)
{
	Trail t = standard_trail();
	t.add(25, 101);
	TrailVerifier::Limits limits;
	limits.max_removal_search_members = 3;
	const VerifyReport r = t.verify(0, SIZE_MAX, true, 0, &limits);
	EXPECT_EQ(summary(r), Strings{"entry inserted@1/0"});
}

TEST(TrailVerifier, EntriesReorderedBySwappedIds)
{
	Trail t = standard_trail();
	std::swap(t.row(20).id, t.row(40).id); // each row now carries the other's id; the leaf hashes stay
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"entries reordered@1/20"});
	EXPECT_NE(r.problems[0].detail.find("entries 20 and 40"), std::string::npos);
}

TEST(TrailVerifier, EntriesReorderedWithConsistentHashes)
{
	// Two members whose leaves are each other's sealed leaves, each consistent with its content.
	std::vector<Hash> leaves;
	for (int i = 0; i < 6; i++)
		leaves.push_back(merkle_leaf_hash("e" + std::to_string(i)));
	TrailVerifier v(nullptr, {first_block(leaves, "10:10:", 1, 6)}, true, 1);
	for (int i = 0; i < 6; i++) {
		const Hash &leaf = leaves[static_cast<size_t>(i == 1 ? 4 : i == 4 ? 1 : i)];
		v.add_entry(i + 1, 5, leaf, leaf);
	}
	const VerifyReport r = v.finish();
	EXPECT_EQ(summary(r), Strings{"entries reordered@1/2"});
	EXPECT_NE(r.problems[0].detail.find("entries 2 and 5"), std::string::npos);
}

TEST(TrailVerifier, SeveralValuesChangedInOneBlock)
{
	Trail t = standard_trail();
	t.row(20).content = "x";
	t.row(40).content = "y";
	EXPECT_EQ(summary(t.verify()), (Strings{"value changed@1/20", "value changed@1/40"}));
}

TEST(TrailVerifier, ValueAndHashChangedInOneBlockMatchNeitherRoot)
{
	Trail t = standard_trail();
	t.row(20).content = "x";
	t.row(40).stored = sha256("y");
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), (Strings{"value changed@1/20", "value changed@1/40"}));
	EXPECT_NE(r.problems[0].detail.find("matches neither"), std::string::npos);
}

TEST(TrailVerifier, EntryMovedToAnotherBlockByItsXid)
{
	Trail t = standard_trail();
	t.row(30).xid = 104; // now in block 2; its hash covers the xid
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), (Strings{"entry missing@1/0", "entry inserted@2/30"})) << details(r);
}

TEST(TrailVerifier, EntryMovedOutOfTheChainIsPending)
{
	Trail t = standard_trail();
	t.row(110).xid = 500; // in no block: pending, and missing from block 3
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"entry missing@3/110"});
	EXPECT_EQ(r.entries_pending, 3);
}

TEST(TrailVerifier, BlockAltered)
{
	Trail t = standard_trail();
	t.blocks[1].header.sealed_at_us += 1;
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"block altered@2/0"});
	EXPECT_NE(r.problems[0].detail.find("is not the hash of the header"), std::string::npos);
}

TEST(TrailVerifier, BlockAlteredAndRehashedBreaksTheChain)
{
	Trail t = standard_trail();
	t.blocks[1].header.sealed_at_us += 1;
	t.rehash(1);
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"chain broken@3/0"});
	EXPECT_NE(r.problems[0].detail.find("is not the hash of block 2"), std::string::npos);
}

TEST(TrailVerifier, FirstBlockMustChainToZero)
{
	Trail t = standard_trail();
	t.blocks[0].header.prev_hash[0] = 1;
	t.rehash(0);
	EXPECT_EQ(summary(t.verify()), (Strings{"chain broken@1/0", "chain broken@2/0"}));
}

TEST(TrailVerifier, MerkleRootInHeaderAltered)
{
	Trail t = standard_trail();
	t.blocks[0].header.merkle_root[0] ^= 1;
	const VerifyReport r = t.verify();
	// The header no longer hashes to its stored hash, and the entries match no root the header names.
	ASSERT_FALSE(r.problems.empty());
	EXPECT_EQ(summary(r)[0], "block altered@1/0");
}

TEST(TrailVerifier, BlockMissingInTheMiddle)
{
	Trail t = standard_trail();
	t.blocks.erase(t.blocks.begin() + 1);
	const VerifyReport r = t.verify(0, SIZE_MAX, true, 3);
	// Block 2's entries are visible first in block 3's snapshot: they show up there as not sealed.
	EXPECT_EQ(summary(r), (Strings{"block missing@2/0", "entry inserted@3/0"})) << details(r);
	EXPECT_NE(r.problems[0].detail.find("block 2 is missing"), std::string::npos);
	EXPECT_NE(r.problems[1].detail.find("missing block"), std::string::npos) << r.problems[1].detail;
}

TEST(TrailVerifier, NewestBlocksDeleted)
{
	Trail t = standard_trail();
	t.blocks.pop_back();
	const VerifyReport r = t.verify(0, SIZE_MAX, true, 3);
	EXPECT_EQ(summary(r), Strings{"block missing@3/0"});
	EXPECT_EQ(r.entries_pending, 6);
	t.blocks.pop_back();
	const VerifyReport r2 = t.verify(0, SIZE_MAX, true, 3);
	EXPECT_EQ(summary(r2), Strings{"block missing@2/0"});
	EXPECT_NE(r2.problems[0].detail.find("blocks 2 to 3 are missing"), std::string::npos);
	// Without the sequence value the deletion of the newest blocks cannot be seen.
	EXPECT_EQ(t.verify(0, SIZE_MAX, true, 0).status, "valid");
}

// The newest block deleted and its entries sealed again under the same number, later: every number is
// there and the chain links, so only the digest file's hash of that block tells.
TEST(TrailVerifier, NewestBlockSealedAgain)
{
	Trail t = standard_trail();
	t.logged_block_no = 3;
	t.logged_hash = t.blocks[2].stored_block_hash;
	EXPECT_EQ(t.verify(0, SIZE_MAX, true, 3).status, "valid");
	EXPECT_EQ(t.verify(2, 3, false).status, "valid") << "a range holding the block";
	t.blocks[2].header.sealed_at_us += 5000000;
	t.rehash(2);
	t.logged_block_no = 0;
	EXPECT_EQ(t.verify(0, SIZE_MAX, true, 0).status, "valid") << "without the digest file nothing tells";
	t.logged_block_no = 3;
	const VerifyReport r = t.verify(0, SIZE_MAX, true, 3);
	EXPECT_EQ(summary(r), Strings{"block altered@3/0"}) << details(r);
	EXPECT_NE(r.problems[0].detail.find("is not the hash the digest file recorded for block 3"), std::string::npos)
	    << r.problems[0].detail;
	EXPECT_EQ(summary(t.verify(2, 3, false)), Strings{"block altered@3/0"});
	EXPECT_EQ(t.verify(0, 2, false).status, "valid") << "a range without the block";
	// A range resumed after the block (its anchor): verify(N + 1), the resume verification.md describes.
	t.logged_block_no = 2;
	t.logged_hash = t.blocks[1].stored_block_hash;
	EXPECT_EQ(t.verify(2, 3, false).status, "valid");
	t.logged_hash[0] ^= 1;
	EXPECT_EQ(summary(t.verify(2, 3, false)), Strings{"block altered@2/0"});
}

TEST(TrailVerifier, FirstBlockMissing)
{
	Trail t = standard_trail();
	t.blocks.erase(t.blocks.begin());
	const VerifyReport r = t.verify();
	ASSERT_FALSE(r.problems.empty());
	EXPECT_EQ(summary(r)[0], "block missing@1/0");
}

TEST(TrailVerifier, DuplicateBlockNumber)
{
	Trail t = standard_trail();
	t.blocks.insert(t.blocks.begin() + 2, t.blocks[1]);
	const VerifyReport r = t.verify();
	ASSERT_FALSE(r.problems.empty());
	EXPECT_EQ(summary(r)[0], "chain broken@2/0");
}

TEST(TrailVerifier, MalformedSnapshot)
{
	Trail t = standard_trail();
	t.blocks[2].header.snapshot = "106:108";
	t.rehash(2);
	const VerifyReport r = t.verify();
	EXPECT_EQ(summary(r), Strings{"block altered@3/0"});
	EXPECT_NE(r.problems[0].detail.find("not a valid pg_snapshot"), std::string::npos);
	EXPECT_EQ(r.entries_pending, 6); // block 3 has no membership left
}

TEST(TrailVerifier, SnapshotGoingBackwards)
{
	Trail t = standard_trail();
	t.blocks[2].header.snapshot = "104:108:104"; // 104 was visible in block 2's snapshot, not in block 3's
	t.rehash(2);
	const VerifyReport r = t.verify();
	const Strings s = summary(r);
	ASSERT_FALSE(s.empty());
	EXPECT_EQ(s[0], "block altered@3/0") << details(r);
	EXPECT_NE(r.problems[0].detail.find("does not see every transaction"), std::string::npos);
}

TEST(TrailVerifier, ProblemsSortedByBlockThenEntry)
{
	Trail t = standard_trail();
	t.row(100).content = "x";
	t.row(40).content = "y";
	t.row(10).stored = sha256("z");
	t.blocks[1].header.sealed_at_us += 1;
	EXPECT_EQ(summary(t.verify()),
	          (Strings{"value changed@1/10", "value changed@1/40", "block altered@2/0", "value changed@3/100"}));
}

TEST(TrailVerifier, FinishOnlyOnce)
{
	TrailVerifier v(nullptr, {}, true, 0);
	v.finish();
	EXPECT_THROW(v.finish(), std::logic_error);
	EXPECT_THROW(v.add_entry(1, 1, Hash{}, Hash{}), std::logic_error);
}

TEST(TrailVerifier, ManyEntriesManyBlocks)
{
	// 400 blocks of 1000 entries; two transactions stay open across blocks; entries arrive by id.
	const int kBlocks = 400, kPerBlock = 1000;
	std::vector<StoredBlock> blocks;
	std::vector<std::pair<int64_t, uint64_t>> entries; // id, xid
	std::vector<Hash> leaves_of_id(1);
	Hash prev{};
	uint64_t xid = 1000;
	int64_t id = 0;
	const uint64_t long_running = 999;
	for (int b = 1; b <= kBlocks; b++) {
		std::vector<Hash> leaves;
		int64_t first = 0, last = 0;
		for (int i = 0; i < kPerBlock; i++, xid++) {
			entries.push_back({++id, xid});
			leaves_of_id.push_back(merkle_leaf_hash("e" + std::to_string(id)));
			leaves.push_back(leaves_of_id.back());
			first = first ? first : id;
			last = id;
		}
		BlockHeader h;
		h.block_no = b;
		h.snapshot = std::to_string(long_running) + ":" + std::to_string(xid) + ":" + std::to_string(long_running);
		h.entry_count = kPerBlock;
		h.has_entry_ids = true;
		h.first_entry_id = first;
		h.last_entry_id = last;
		h.merkle_root = merkle_root(leaves);
		h.prev_hash = prev;
		h.sealed_at_us = b;
		prev = block_hash(h);
		blocks.push_back(StoredBlock{h, prev});
	}
	entries.push_back({++id, long_running}); // still running: pending
	leaves_of_id.push_back(merkle_leaf_hash("pending"));
	for (const bool streaming : {false, true}) {
		const auto start = std::chrono::steady_clock::now();
		TrailVerifier v(nullptr, blocks, true, kBlocks);
		if (streaming)
			v.stream(1000);
		for (const auto &e : entries)
			v.add_entry(e.first, e.second, leaves_of_id[static_cast<size_t>(e.first)],
			            leaves_of_id[static_cast<size_t>(e.first)]);
		EXPECT_FALSE(v.next_pass()) << "entries by id: nothing to read again";
		const VerifyReport r = v.finish();
		const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
		EXPECT_EQ(r.status, "valid") << details(r);
		EXPECT_EQ(r.entries_checked, kBlocks * kPerBlock);
		EXPECT_EQ(r.entries_pending, 1);
		EXPECT_LT(seconds, 5.0);
		RecordProperty(streaming ? "streaming_entries_per_second" : "entries_per_second",
		               static_cast<int>(static_cast<double>(entries.size()) / seconds));
	}
}

// Streaming reads a tampered block again, and only that one; a pass collects at most the members
// asked for, or a single larger block.
TEST(TrailVerifier, StreamingCollectsOnlyTheBlocksThatNeedIt)
{
	Trail t;
	for (int b = 0; b < 6; b++) {
		for (int i = 1; i <= 4; i++)
			t.add(b * 10 + i, static_cast<uint64_t>(100 + b));
		t.seal(std::to_string(101 + b) + ":" + std::to_string(101 + b) + ":");
	}
	t.row(12).content = "altered";
	t.row(32).content = "altered";
	t.row(53).stored = sha256("forged");
	auto feed = [&t](TrailVerifier &v, int64_t *fed_of_block_3) {
		for (const Row &r : t.rows) {
			if (r.xid == 103)
				++*fed_of_block_3;
			v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
		}
	};
	TrailVerifier v(nullptr, t.blocks, true, 6);
	v.stream(8); // two blocks of four members per pass
	int64_t fed = 0;
	feed(v, &fed);
	int passes = 1;
	while (v.next_pass()) {
		feed(v, &fed);
		passes++;
	}
	EXPECT_EQ(passes, 3); // blocks 2 and 4 in the second, block 6 in the third
	EXPECT_EQ(v.passes(), 3);
	const VerifyReport r = v.finish();
	EXPECT_EQ(summary(r), (Strings{"value changed@2/12", "value changed@4/32", "hash changed@6/53"}));
	EXPECT_EQ(r.entries_checked, 24);
	EXPECT_EQ(r.blocks_checked, 6);

	TrailVerifier once(nullptr, t.blocks, true, 6);
	once.stream(1);
	feed(once, &fed);
	EXPECT_THROW(once.finish(), std::logic_error) << "finish() while blocks wait for their members";
}

TEST(TrailVerifier, SearchBudgetBoundsTheExplanations)
{
	TrailVerifier::Limits tight;
	tight.search_hash_budget = 3;
	Trail t = standard_trail();
	t.add(25, 101);
	EXPECT_EQ(summary(t.verify(0, SIZE_MAX, true, 0, &tight)), Strings{"entry inserted@1/0"});

	t = standard_trail();
	std::swap(t.row(20).id, t.row(40).id);
	EXPECT_EQ(summary(t.verify(0, SIZE_MAX, true, 0, &tight)), (Strings{"value changed@1/20", "value changed@1/40"}));

	TrailVerifier::Limits few_pairs;
	few_pairs.max_swap_pairs = 2;
	t = standard_trail();
	Row &r = t.row(30);
	r.content = "rewritten";
	r.stored = leaf_of(r.id, r.xid, r.content);
	const VerifyReport rep = t.verify(0, SIZE_MAX, true, 0, &few_pairs);
	EXPECT_EQ(summary(rep), Strings{"value changed@1/0"});
	EXPECT_NE(rep.problems[0].detail.find("too large to search"), std::string::npos);
}

// A trail restored into a cluster whose transaction ids are behind it (docs/verification.md,
// "Transaction-id eras"): era 1 is closed by a block that sees every one of its transactions, and era
// 2 starts at an entry id, with transaction ids below those of era 1.
static Trail two_era_trail()
{
	Trail t;
	t.add(1, 3000);
	t.add(2, 3001);
	t.add(3, 3005); // in progress at block 1, committed before the dump: pending when restored
	t.seal("3002:3006:3005");
	t.add(4, 3008); // also restored pending
	t.close_era("3009:3009:", 5);
	EXPECT_EQ(t.blocks.back().header.entry_count, 2);
	t.add(5, 740); // captured in the new cluster, below every old snapshot
	t.add(6, 741);
	t.add(7, 3005); // the new cluster's own transaction 3005, the number of a restored one
	t.seal("742:742:");
	t.add(8, 743);
	t.seal("744:744:");
	return t;
}

TEST(TrailVerifier, ErasKeepTransactionIdsApart)
{
	Trail t = two_era_trail();
	EXPECT_EQ(t.blocks[2].header.entry_count, 2);
	EXPECT_EQ(t.blocks[3].header.entry_count, 1);
	VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.entries_checked, 7);
	EXPECT_EQ(r.entries_pending, 1); // entry 7: its transaction is not in any snapshot of era 2 yet
	t.seal("3006:3006:");
	r = t.verify();
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.entries_pending, 0);
	// Ranges: within era 2, starting at its first block (the previous block is of era 1), and era 1 alone.
	EXPECT_EQ(t.verify(2).status, "valid") << details(t.verify(2));
	EXPECT_EQ(t.verify(3).status, "valid") << details(t.verify(3));
	EXPECT_EQ(t.verify(0, 2, false).status, "valid") << details(t.verify(0, 2, false));
	EXPECT_EQ(t.verify(1, 2, false).status, "valid") << details(t.verify(1, 2, false));
}

// An entry of era 1 that no block of era 1 sees (forged after the era was closed) is pending in a
// verification of the whole trail, and also in a range that ends with era 1's last block: no later
// block of its era can ever seal it (a verification in parts checks era 1 as such a range).
TEST(TrailVerifier, EntryNoBlockOfItsEndedEraSeesIsPending)
{
	Trail t = two_era_trail();
	t.seal("3006:3006:"); // entry 7 sealed: nothing pending
	t.add(0, 5000); // era 1 by its id (below era 2's first), above every snapshot of era 1
	EXPECT_EQ(t.verify().entries_pending, 1) << details(t.verify());
	const VerifyReport era1 = t.verify(0, 2, false);
	EXPECT_EQ(era1.entries_pending, 1) << details(era1);
	// A range that stops before the era's last block does not know yet: the entry may be later's.
	EXPECT_EQ(t.verify(0, 1, false).entries_pending, 0);
}

TEST(TrailVerifier, DeletedEraIsTampering)
{
	Trail t = two_era_trail();
	t.eras.clear();
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "tampered");
	const std::string text = details(r);
	// The new cluster's entries fall into block 1, whose snapshot sees them; block 3 loses them, and
	// its snapshot no longer follows block 2's.
	EXPECT_NE(text.find("entry inserted"), std::string::npos) << text;
	EXPECT_NE(text.find("block altered"), std::string::npos) << text;
}

TEST(TrailVerifier, MovedEraBoundaryIsTampering)
{
	for (int64_t first_id : {4, 6}) {
		Trail t = two_era_trail();
		t.eras[0].first_entry_id = first_id;
		const VerifyReport r = t.verify();
		EXPECT_EQ(r.status, "tampered") << first_id;
	}
	Trail t = two_era_trail();
	t.eras[0].first_block_no = 4; // block 3 counted in era 1
	EXPECT_EQ(t.verify().status, "tampered");
}

// Nothing was pending when the trail was dumped: the block that closes era 1 holds no entry.
TEST(TrailVerifier, EmptyClosingBlock)
{
	Trail t;
	t.add(1, 3000);
	t.add(2, 3001);
	t.seal("3002:3002:");
	t.close_era("3002:3002:", 3);
	EXPECT_EQ(t.blocks.back().header.entry_count, 0);
	EXPECT_FALSE(t.blocks.back().header.has_entry_ids);
	t.add(3, 740);
	t.seal("741:741:");
	const VerifyReport r = t.verify();
	EXPECT_EQ(r.status, "valid") << details(r);
	EXPECT_EQ(r.entries_checked, 3);
	EXPECT_EQ(r.entries_pending, 0);
}

// Retention: the kept leaf hashes of pruned entries take their place in the root; a wholly pruned
// block keeps nothing per entry. What a record does not account for is still tampering.
namespace
{

struct Pruned {
	int64_t block_no;
	bool whole;
	std::vector<int64_t> ids;
	std::vector<Hash> hashes;
	bool recorded;
};

// Verifies with the kept rows (run 1; the recorded ones named by run 1's record), kept and streamed
// as witness-verify streams an export: both must say the same.
VerifyReport verify_pruned(const Trail &t, const std::vector<Pruned> &pruned)
{
	RetentionRecord record;
	record.run_id = 1;
	for (const Pruned &p : pruned)
		if (p.recorded)
			record.blocks.push_back({p.block_no, p.whole, pruned_digest(p.block_no, p.whole, p.ids, p.hashes)});
	auto run = [&](bool streaming) {
		TrailVerifier v(nullptr, t.blocks, true, 0);
		if (streaming)
			v.stream(1);
		for (const Pruned &p : pruned)
			v.add_pruned(p.block_no, 1, p.whole, p.ids, p.hashes);
		do {
			v.add_retention_record(record);
			for (const Row &r : t.rows)
				v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
		} while (v.next_pass());
		return v.finish();
	};
	const VerifyReport kept = run(false);
	const VerifyReport streamed = run(true);
	EXPECT_EQ(Trail::report_text(streamed), Trail::report_text(kept)) << "streaming";
	EXPECT_EQ(streamed.entries_pruned, kept.entries_pruned) << "streaming";
	return kept;
}

// Block 1: entries 1-4 (xids 10-13); block 2: entries 5-6 (xids 14-15).
Trail two_blocks()
{
	Trail t;
	for (int64_t i = 1; i <= 6; i++)
		t.add(i, 9 + static_cast<uint64_t>(i));
	t.seal("14:14:");
	t.seal("16:16:");
	return t;
}

} // namespace

TEST(TrailVerifierRetention, PartlyAndWhollyPrunedBlocksVerify)
{
	Trail t = two_blocks();
	const Hash h1 = t.row(1).stored, h3 = t.row(3).stored;
	t.erase(1);
	t.erase(3);
	t.erase(5);
	t.erase(6);
	const VerifyReport r = verify_pruned(t, {{1, false, {1, 3}, {h1, h3}, true}, {2, true, {}, {}, true}});
	EXPECT_EQ(r.status, "valid") << Trail::report_text(r);
	EXPECT_EQ(r.entries_checked, 2);
	EXPECT_EQ(r.entries_pruned, 4);
}

TEST(TrailVerifierRetention, DigestMatchesSql)
{
	// SELECT encode(witness._pruned_digest(7, false, '{3,5}', '\\x' || repeat('ab', 32) || repeat('cd', 32)), 'hex')
	Hash a, c;
	a.fill(0xab);
	c.fill(0xcd);
	EXPECT_EQ(to_hex(pruned_digest(7, false, {3, 5}, {a, c})), "51e75b28bee705f55a35ff61edcb2792d813961cfb01ee3bbc1a3aa8f8e7f0cf");
}

TEST(TrailVerifierRetention, DeletionWithoutRecordIsMissing)
{
	Trail t = two_blocks();
	const Hash h1 = t.row(1).stored;
	t.erase(1);
	t.erase(2); // deleted by hand, no kept hash
	const VerifyReport r = verify_pruned(t, {{1, false, {1}, {h1}, true}});
	ASSERT_EQ(r.status, "tampered");
	EXPECT_EQ(problem_name(r.problems.at(0).kind), std::string("entry missing"));
}

TEST(TrailVerifierRetention, UnrecordedPruningIsMissing)
{
	Trail t = two_blocks();
	const Hash h1 = t.row(1).stored;
	t.erase(1);
	const VerifyReport r = verify_pruned(t, {{1, false, {1}, {h1}, false}});
	ASSERT_EQ(r.status, "tampered");
	for (const Problem &p : r.problems)
		EXPECT_EQ(problem_name(p.kind), std::string("entry missing"));
}

TEST(TrailVerifierRetention, TamperedKeptHashOrPresentEntryIsReported)
{
	Trail t = two_blocks();
	Hash h1 = t.row(1).stored;
	t.erase(1);
	h1[0] ^= 1;
	EXPECT_EQ(verify_pruned(t, {{1, false, {1}, {h1}, true}}).status, "tampered");
	// A record naming an entry that is still there does not hide it.
	Trail u = two_blocks();
	EXPECT_EQ(verify_pruned(u, {{1, false, {2}, {u.row(2).stored}, true}}).status, "tampered");
	const VerifyReport w = verify_pruned(u, {{2, true, {}, {}, true}});
	ASSERT_EQ(w.status, "tampered");
	EXPECT_EQ(problem_name(w.problems.at(0).kind), std::string("entry inserted"));
}

// An erasure or retention record read from a file counts only when a block seals its own entry
// (sealed_records_only(), what witness-verify asks for): a pending entry line is checked against
// nothing, so anyone editing an export could add one to explain a payload they removed. Without it
// (witness.verify(), where the sealer seals every committed record) a pending record counts.
TEST(TrailVerifier, PendingRecordsAreNoEvidenceForAFile)
{
	const Trail t = standard_trail();
	auto run = [&](bool sealed_only, RecordEntry record) {
		TrailVerifier v(nullptr, t.blocks, true, 3);
		if (sealed_only)
			v.sealed_records_only();
		v.add_erasure_record(7, {20}, {}, record);
		for (const Row &r : t.rows) {
			v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
			v.add_payload(r.id, r.xid, r.id == 20 ? PayloadState::Erased : PayloadState::Intact,
			              r.id == 20 ? std::optional<int64_t>(7) : std::nullopt);
		}
		const VerifyReport report = v.finish();
		return std::make_pair(report, v.unsealed_records());
	};
	// The record is entry 120 (xid 108, pending) or entry 90 (xid 106, sealed in block 3).
	const auto [file_pending, set_aside] = run(true, RecordEntry{120, 108});
	EXPECT_EQ(file_pending.status, "tampered");
	ASSERT_EQ(file_pending.problems.size(), 1u) << details(file_pending);
	EXPECT_EQ(file_pending.problems[0].kind, ProblemKind::PayloadRemoved);
	EXPECT_EQ(file_pending.problems[0].entry_id, 20);
	EXPECT_NE(file_pending.problems[0].detail.find("whose record no block seals yet"), std::string::npos);
	EXPECT_EQ(set_aside, 1);
	const auto [file_sealed, none_aside] = run(true, RecordEntry{90, 106});
	EXPECT_EQ(file_sealed.status, "valid") << details(file_sealed);
	EXPECT_EQ(file_sealed.entries_erased, 1);
	EXPECT_EQ(none_aside, 0);
	const auto [database, kept] = run(false, RecordEntry{120, 108});
	EXPECT_EQ(database.status, "valid") << details(database);
	EXPECT_EQ(database.entries_erased, 1);
}

// In the database, a pending record whose transaction id the cluster has not reached is no seal's to
// take (an attack review's forged record stayed pending for good and explained a payload removed by
// hand): its entry is reported as inserted, and it is no evidence.
TEST(TrailVerifier, PendingRecordsOfUnassignedXidsAreNoEvidence)
{
	const Trail t = standard_trail();
	auto run = [&](uint64_t next_xid) {
		TrailVerifier v(nullptr, t.blocks, true, 3);
		v.xids_assigned_below(next_xid);
		v.add_erasure_record(7, {20}, {}, RecordEntry{120, 108});
		for (const Row &r : t.rows) {
			v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
			v.add_payload(r.id, r.xid, r.id == 20 ? PayloadState::Erased : PayloadState::Intact,
			              r.id == 20 ? std::optional<int64_t>(7) : std::nullopt);
		}
		return v.finish();
	};
	const VerifyReport assigned = run(110);
	EXPECT_EQ(assigned.status, "valid") << details(assigned);
	EXPECT_EQ(assigned.entries_erased, 1);
	const VerifyReport unassigned = run(108);
	EXPECT_EQ(unassigned.status, "tampered");
	bool inserted = false, removed = false;
	for (const Problem &p : unassigned.problems) {
		inserted |= p.kind == ProblemKind::EntryInserted && p.entry_id == 120 &&
		            p.detail.find("has not been assigned") != std::string::npos;
		removed |= p.kind == ProblemKind::PayloadRemoved && p.entry_id == 20;
	}
	EXPECT_TRUE(inserted) << details(unassigned);
	EXPECT_TRUE(removed) << details(unassigned);
}

// A range that ends before the newest block reads only its own entries, and the records of an erasure
// or a retention run lie after it: missing_records() names what the range's erased and pruned entries
// still lack (never an erasure or run already added, nor one outside the range), so that
// witness.verify() can look for them before finish().
TEST(TrailVerifier, MissingRecordsNameWhatTheRangeLacks)
{
	Trail t = two_blocks();
	const Hash h3 = t.row(3).stored;
	t.erase(3);
	TrailVerifier v(nullptr, {t.blocks.at(0)}, false, 0);
	v.set_range_end(1);
	EXPECT_TRUE(v.missing_records().empty());
	v.add_pruned(1, 4, false, {3}, {h3});
	v.add_pruned(2, 5, true, {}, {}); // outside the range: ignored
	for (const Row &r : t.rows) {
		v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
		v.add_payload(r.id, r.xid, r.id == 2 ? PayloadState::Erased : r.id == 4 ? PayloadState::Erased : PayloadState::Intact,
		              r.id == 2 ? std::optional<int64_t>(9) : r.id == 4 ? std::optional<int64_t>(8) : std::nullopt);
	}
	TrailVerifier::MissingRecords m = v.missing_records();
	EXPECT_EQ(m.erasure_ids, (std::vector<int64_t>{8, 9}));
	EXPECT_EQ(m.run_ids, (std::vector<int64_t>{4}));
	v.add_erasure_record(9, {2});
	RetentionRecord run;
	run.run_id = 4;
	run.blocks.push_back({1, false, pruned_digest(1, false, {3}, {h3})});
	v.add_retention_record(run);
	m = v.missing_records();
	EXPECT_EQ(m.erasure_ids, (std::vector<int64_t>{8}));
	EXPECT_TRUE(m.run_ids.empty());
	v.add_erasure_record(8, {4});
	EXPECT_TRUE(v.missing_records().empty());
	const VerifyReport r = v.finish();
	EXPECT_EQ(r.status, "valid") << Trail::report_text(r);
	EXPECT_EQ(r.entries_erased, 2);
	EXPECT_EQ(r.entries_pruned, 1);
}

// witness.verify() streams a large block in the heap's order and sorts it only when stream_ordered()
// says that order was not id order: then, and only then, it starts again. Members out of order are
// not an error (the block is explained from its collected members), but they ask for the sort.
TEST(TrailVerifier, StreamOrderedSaysWhetherMembersCameInIdOrder)
{
	const Trail t = two_blocks();
	auto first_pass = [&](bool reversed) {
		TrailVerifier v(nullptr, t.blocks, true, 0);
		v.stream(100);
		std::vector<Row> rows = t.rows;
		if (reversed)
			std::reverse(rows.begin(), rows.end());
		for (const Row &r : rows)
			v.add_entry(r.id, r.xid, r.stored, leaf_of(r.id, r.xid, r.content));
		return v.stream_ordered();
	};
	EXPECT_TRUE(first_pass(false));
	EXPECT_FALSE(first_pass(true));
}
