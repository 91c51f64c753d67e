// The retention run as the chain records it, and the digest of a kept row: what verification
// compares (docs/retention.md, "What verification reports").
#include "retention_record.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

#include "json_reader.hpp"
#include "sha256.hpp"

using namespace witness;

TEST(RetentionRecord, ReadsTheRunsPrunedBlocks)
{
	const std::string digest(64, 'a');
	const RetentionRecord r = parse_retention_record(
	    R"({"held_kept":0,"pruned":[{"block_no":3,"digest":")" + digest +
	    R"(","entries":2,"first_id":5,"last_id":9,"whole":false},{"block_no":4,"digest":")" + digest +
	    R"(","entries":7,"first_id":10,"last_id":16,"whole":true}],"run_id":12,"run_by":"dba"})");
	EXPECT_EQ(r.run_id, 12);
	ASSERT_EQ(r.blocks.size(), 2u);
	EXPECT_EQ(r.blocks[0].block_no, 3);
	EXPECT_FALSE(r.blocks[0].whole);
	EXPECT_TRUE(r.blocks[1].whole);
	EXPECT_EQ(to_hex(r.blocks[1].digest), digest);
	EXPECT_TRUE(parse_retention_record(R"({"pruned":[],"run_id":1})").blocks.empty());
}

TEST(RetentionRecord, RefusesWhatIsNotOne)
{
	EXPECT_THROW(parse_retention_record(R"({"run_id":1})"), std::invalid_argument);
	EXPECT_THROW(parse_retention_record(R"({"pruned":"[]","run_id":1})"), std::invalid_argument);
	EXPECT_THROW(parse_retention_record(R"({"pruned":[{"block_no":1,"whole":"no","digest":"00"}],"run_id":1})"),
	             std::invalid_argument);
	EXPECT_THROW(parse_retention_record(R"({"pruned":[{"block_no":1,"whole":true,"digest":"00"}],"run_id":1})"),
	             std::invalid_argument);
	EXPECT_ANY_THROW(parse_retention_record("not json"));
}

TEST(RetentionRecord, DigestCoversEveryPart)
{
	Hash a;
	a.fill(1);
	const Hash base = pruned_digest(1, false, {2}, {a});
	EXPECT_NE(pruned_digest(2, false, {2}, {a}), base);
	EXPECT_NE(pruned_digest(1, true, {2}, {a}), base);
	EXPECT_NE(pruned_digest(1, false, {3}, {a}), base);
	Hash b = a;
	b[31] = 2;
	EXPECT_NE(pruned_digest(1, false, {2}, {b}), base);
	EXPECT_EQ(pruned_digest(1, false, {2}, {a}), base);
}

// A run that archived names each file with its SHA-256 (docs/retention.md, "Archive instead of delete").
TEST(RetentionRecord, ReadsTheRunsArchiveFiles)
{
	const std::string sha(64, 'c');
	const RetentionRecord r = parse_retention_record(
	    R"({"archives":[{"blocks":2,"entries":51,"file":"pg_witness-1_db-2026-11-run3.jsonl.gz","month":"2026-11","sha256":")" +
	    sha + R"("}],"pruned":[],"run_id":3})");
	ASSERT_EQ(r.archives.size(), 1u);
	EXPECT_EQ(r.archives[0].file, "pg_witness-1_db-2026-11-run3.jsonl.gz");
	EXPECT_EQ(r.archives[0].entries, 51);
	EXPECT_EQ(to_hex(r.archives[0].sha256), sha);
	EXPECT_TRUE(parse_retention_record(R"({"archives":[],"pruned":[],"run_id":1})").archives.empty());
	EXPECT_THROW(parse_retention_record(R"({"archives":[{"file":"f","entries":1,"sha256":"00"}],"pruned":[],"run_id":1})"),
	             std::invalid_argument);
	EXPECT_THROW(parse_retention_record(R"({"archives":[{"file":"f","sha256":")" + sha + R"("}],"pruned":[],"run_id":1})"),
	             std::invalid_argument);
}
