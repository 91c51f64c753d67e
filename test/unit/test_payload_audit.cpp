// The payload checks of format 2: changed payloads and erasures without a record are problems.
#include "payload_audit.hpp"

#include <gtest/gtest.h>

using namespace witness;

TEST(PayloadAudit, IntactPayloadsAreNoProblem)
{
	PayloadAudit audit;
	audit.add(1, 1, PayloadState::Intact, std::nullopt);
	std::vector<Problem> problems;
	EXPECT_EQ(audit.finish(problems), 0);
	EXPECT_TRUE(problems.empty());
}

TEST(PayloadAudit, ErasedWithARecordCounts)
{
	PayloadAudit audit;
	audit.add(3, 1, PayloadState::Erased, 7);
	audit.add(5, 0, PayloadState::Erased, 7);
	audit.add_erasure_record(7, {5, 3, 6});
	std::vector<Problem> problems;
	EXPECT_EQ(audit.finish(problems), 2);
	EXPECT_TRUE(problems.empty());
}

TEST(PayloadAudit, ChangedPayloadIsReported)
{
	PayloadAudit audit;
	audit.add(4, 2, PayloadState::Changed, std::nullopt);
	std::vector<Problem> problems;
	EXPECT_EQ(audit.finish(problems), 0);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0].kind, ProblemKind::PayloadChanged);
	EXPECT_EQ(problems[0].block_no, 2);
	EXPECT_EQ(problems[0].entry_id, 4);
	EXPECT_STREQ(problem_name(problems[0].kind), "payload changed");
}

// A sealed payload that does not open, and one sealed under a key that is not configured: both are
// changed payloads, each saying which (a robustness review read "salt and content no longer match"
// for an intact payload under another key).
TEST(PayloadAudit, SealedPayloadsSayWhyTheyAreReported)
{
	PayloadAudit audit;
	audit.add(4, 2, PayloadState::Unopened, std::nullopt);
	audit.add(5, 2, PayloadState::ForeignKey, std::nullopt);
	std::vector<Problem> problems;
	audit.finish(problems);
	ASSERT_EQ(problems.size(), 2u);
	EXPECT_EQ(problems[0].kind, ProblemKind::PayloadChanged);
	EXPECT_EQ(problems[1].kind, ProblemKind::PayloadChanged);
	EXPECT_NE(problems[0].detail.find("does not open under the master key that sealed it"), std::string::npos);
	EXPECT_NE(problems[1].detail.find("under a master key that is not configured"), std::string::npos);
	EXPECT_EQ(audit.unchecked(), 0);
}

// Removed without naming an erasure, naming one that does not exist, or one that does not list it.
TEST(PayloadAudit, RemovedWithoutAMatchingRecordIsReported)
{
	PayloadAudit audit;
	audit.add(10, 1, PayloadState::Erased, std::nullopt);
	audit.add(11, 1, PayloadState::Erased, 99);
	audit.add(12, 1, PayloadState::Erased, 7);
	audit.add_erasure_record(7, {13});
	std::vector<Problem> problems;
	EXPECT_EQ(audit.finish(problems), 0);
	ASSERT_EQ(problems.size(), 3u);
	for (const Problem &p : problems)
		EXPECT_EQ(p.kind, ProblemKind::PayloadRemoved);
	EXPECT_STREQ(problem_name(ProblemKind::PayloadRemoved), "payload removed");
	EXPECT_NE(problems[1].detail.find("erasure 99"), std::string::npos);
}

#include "canonical_json.hpp"
#include "erasure_record.hpp"

TEST(ErasureRecord, ReadsTheCapturedRow)
{
	const ErasureRecord r = parse_erasure_record(
	    R"({"entry_ids":"{3,5,6}","erased_at":"2026-12-01 03:03:16.922274+00","erasure_id":1,"reason":"r","role_name":"postgres"})");
	EXPECT_EQ(r.erasure_id, 1);
	EXPECT_EQ(r.entry_ids, (std::vector<int64_t>{3, 5, 6}));
	EXPECT_TRUE(parse_erasure_record(R"({"entry_ids":"{}","erasure_id":2})").entry_ids.empty());
	EXPECT_THROW(parse_erasure_record(R"({"entry_ids":"3,5","erasure_id":2})"), std::invalid_argument);
	EXPECT_THROW(parse_erasure_record(R"({"entry_ids":"{3,x}","erasure_id":2})"), std::exception);
	EXPECT_THROW(parse_erasure_record(R"({"erasure_id":2})"), std::invalid_argument);
	EXPECT_TRUE(r.tampered_entry_ids.empty());
	EXPECT_EQ(parse_erasure_record(R"({"entry_ids":"{3,5}","erasure_id":2,"tampered_entry_ids":"{5}"})").tampered_entry_ids,
	          (std::vector<int64_t>{5}));
	EXPECT_THROW(parse_erasure_record(R"({"entry_ids":"{3,5}","erasure_id":2,"tampered_entry_ids":5})"),
	             std::invalid_argument);
}

// An erasure that removed a payload which no longer matched its commitment names it: the entry stays
// a problem (payload changed) instead of counting as erased, so the erasure does not hide tampering.
TEST(PayloadAudit, TamperedBeforeErasureStaysAProblem)
{
	PayloadAudit audit;
	audit.add(3, 1, PayloadState::Erased, 7);
	audit.add(5, 1, PayloadState::Erased, 7);
	audit.add_erasure_record(7, {3, 5}, {5});
	std::vector<Problem> problems;
	EXPECT_EQ(audit.finish(problems), 1);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0].kind, ProblemKind::PayloadChanged);
	EXPECT_EQ(problems[0].entry_id, 5);
	EXPECT_NE(problems[0].detail.find("before erasure 7"), std::string::npos);
}

// An entry whose payload is still there but that names an erasure was rewritten: erase_subject()
// passes over entries that name one, so such a rewrite would keep a subject's data from erasure.
TEST(PayloadAudit, PayloadThereButAnErasureNamedIsReported)
{
	witness::PayloadAudit audit;
	audit.add(7, 2, witness::PayloadState::Intact, -1);
	audit.add(8, 2, witness::PayloadState::Unchecked, 3);
	audit.add(9, 2, witness::PayloadState::Intact, std::nullopt);
	// 0 names erasure 0: it used to mean none, and an attack review stored it to hide an entry.
	audit.add(10, 2, witness::PayloadState::Intact, 0);
	std::vector<witness::Problem> problems;
	EXPECT_EQ(audit.finish(problems), 0);
	ASSERT_EQ(problems.size(), 3u);
	EXPECT_EQ(problems[0].kind, witness::ProblemKind::ValueChanged);
	EXPECT_EQ(problems[0].entry_id, 7);
	EXPECT_EQ(problems[0].detail, "the entry names erasure -1 although its payload and salt are still there");
	EXPECT_EQ(problems[1].entry_id, 8);
	EXPECT_EQ(problems[1].block_no, 2);
	EXPECT_EQ(problems[2].entry_id, 10);
	EXPECT_EQ(problems[2].detail, "the entry names erasure 0 although its payload and salt are still there");
}

// A payload removed by an entry naming erasure 0, with a record of erasure 0 that lists it, counts
// as erased; without one it is removed without a record, as any other.
TEST(PayloadAudit, ErasureZeroIsAnErasureLikeAnyOther)
{
	PayloadAudit audit;
	audit.add(3, 1, PayloadState::Erased, 0);
	audit.add(4, 1, PayloadState::Erased, 0);
	audit.add_erasure_record(0, {3});
	std::vector<Problem> problems;
	EXPECT_EQ(audit.finish(problems), 1);
	ASSERT_EQ(problems.size(), 1u);
	EXPECT_EQ(problems[0].entry_id, 4);
	EXPECT_EQ(problems[0].kind, ProblemKind::PayloadRemoved);
}

TEST(ErasureRecord, RefusesATextOfManyTinyValues)
{
	// An export's erasure line with 20 MB of small numbers once made witness-verify build a tree of
	// about 3 GB; it is refused instead, for want of the room the tree would take.
	std::string crafted = R"({"entry_ids":"{1}","erasure_id":2,"junk":[)";
	for (int i = 0; i < 100000; i++)
		crafted += i == 0 ? "1" : ",1";
	crafted += "]}";
	EXPECT_THROW(parse_erasure_record(crafted), JsonError);
}
