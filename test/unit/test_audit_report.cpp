// The audit report builder: sections and counts from export lines, escaping of hostile names, and
// signatures that fail once a byte of the report changes.
#include "audit_report.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "signatures.hpp"

using namespace witness;

namespace
{

struct KeyPair {
	std::string private_pem, public_pem;
};

std::string bio_text(BIO *bio)
{
	char *data = nullptr;
	const long len = BIO_get_mem_data(bio, &data);
	return std::string(data, static_cast<size_t>(len));
}

KeyPair generate_key_pair()
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
	BIO *priv = BIO_new(BIO_s_mem());
	BIO *pub = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
	PEM_write_bio_PUBKEY(pub, key);
	KeyPair kp{bio_text(priv), bio_text(pub)};
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(key);
	return kp;
}

const char *const kHmacKey = "3f1c2b8e9a0d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b";
constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kT0 = 1764547200LL * 1000000; // 2025-12-01T00:00:00Z

std::string entry(int64_t id, int64_t t, const std::string &op, const std::string &schema, const std::string &table,
                  int tags, const std::string &actor_json, const std::string &user, const std::string &new_values)
{
	return "{\"type\":\"entry\",\"id\":" + std::to_string(id) + ",\"xid\":" + std::to_string(700 + id) +
	       ",\"stmt_time_us\":" + std::to_string(t) + ",\"op\":\"" + op + "\",\"schema_name\":\"" + schema +
	       "\",\"table_name\":\"" + table + "\",\"tags\":" + std::to_string(tags) +
	       ",\"row_key\":null,\"subject\":null,\"old_values\":null,\"new_values\":" + new_values +
	       ",\"session_user\":\"" + user + "\",\"current_user\":\"" + user + "\",\"application_name\":null," +
	       "\"client_addr\":null,\"client_port\":null,\"backend_pid\":1,\"actor\":" + actor_json +
	       ",\"reason\":null,\"context\":null,\"leaf_hash\":\"00\",\"format\":2}";
}

// A small trail: a header, two blocks, entries of an application table and of the record tables.
void feed(AuditReportBuilder &b)
{
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":2})");
	b.add_line(R"({"type":"block","block_no":1,"snapshot":"1:1:","entry_count":3,"first_entry_id":1,"last_entry_id":3,"merkle_root":"aa","prev_hash":"00","sealed_at_us":)" +
	           std::to_string(kT0 + 100) + R"(,"block_hash":"b1b1"})");
	b.add_line(R"({"type":"block","block_no":2,"snapshot":"2:2:","entry_count":4,"first_entry_id":4,"last_entry_id":7,"merkle_root":"bb","prev_hash":"b1b1","sealed_at_us":)" +
	           std::to_string(kT0 + 2 * kDay) + R"(,"block_hash":"c2c2"})");
	b.add_line(entry(1, kT0 - kDay, "I", "public", "orders", 2, "\"bob\"", "app", R"({"id":1})")); // before
	b.add_line(entry(2, kT0 + 10, "I", "public", "orders", 2, "\"alice@example.com\"", "app", R"({"id":2})"));
	b.add_line(entry(3, kT0 + 20, "U", "public", "orders", 2, "\"alice@example.com\"", "app", R"({"id":2})"));
	b.add_line(entry(4, kT0 + 30, "D", "public", "customers", 1, "null", "clerk", "null"));
	b.add_line(entry(5, kT0 + 40, "I", "witness", "erasure", 16, "null", "dpo",
	                 R"({"erasure_id":7,"entry_ids":[4,9],"reason":"Art. 17 request","role_name":"dpo","erased_at":"2025-12-01T00:00:00+00:00"})"));
	b.add_line(entry(6, kT0 + 50, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"denied","outcome":"denied","current_user_name":"app","sqlstate":"42501","object_name":"witness.entry","happened_at":"x"})"));
	b.add_line(entry(7, kT0 + 60, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"login","outcome":"failed","session_user_name":"mallory","client_addr":"192.0.2.9","message":"password authentication failed","happened_at":"y"})"));
}

} // namespace

TEST(AuditReport, CountsEntriesOfThePeriodOnly)
{
	AuditReportBuilder b(kT0, kT0 + kDay);
	feed(b);
	EXPECT_EQ(b.entries_in_period(), 6);
	EXPECT_EQ(b.count_for_table("public.orders"), 2);
	EXPECT_EQ(b.count_for_table("public.customers"), 1);
	EXPECT_EQ(b.count_for_actor("alice@example.com"), 2);
	EXPECT_EQ(b.count_for_actor("bob"), 0);   // his entry is before the period
	EXPECT_EQ(b.count_for_actor("clerk"), 1); // no actor: the session user
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("<td class=\"n\" id=\"entries\">6</td>"), std::string::npos);
	EXPECT_NE(html.find("entries outside the period</th><td class=\"n\">1<"), std::string::npos);
	// Block 1 was sealed in the period, block 2 after it; the newest block is 2, 7 entries sealed.
	EXPECT_NE(html.find("<td id=\"block-range\">1 (1 to 1)</td>"), std::string::npos);
	EXPECT_NE(html.find("<td id=\"newest-block\">2, sealed"), std::string::npos);
	EXPECT_NE(html.find("c2c2"), std::string::npos);
	EXPECT_NE(html.find("<td class=\"n\">7</td>"), std::string::npos);
	EXPECT_NE(html.find("42/shop"), std::string::npos);
	EXPECT_NE(html.find("Not verified."), std::string::npos);
}

TEST(AuditReport, SectionsComeFromRecordTableEntries)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	feed(b);
	ReportVerification v;
	v.status = "valid";
	v.method = "unit test";
	v.blocks_checked = 2;
	b.set_verification(v);
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("<td id=\"verification\" class=\"valid\">valid</td>"), std::string::npos);
	EXPECT_NE(html.find("<td>Art. 17 request</td>"), std::string::npos); // the erasure
	EXPECT_NE(html.find("<td>2</td><td>Art. 17 request"), std::string::npos); // 2 entries erased
	EXPECT_NE(html.find("<td>mallory</td><td>failed</td><td>192.0.2.9</td>"), std::string::npos);
	EXPECT_NE(html.find("<span id=\"denied\">1</span>"), std::string::npos);
	EXPECT_NE(html.find("<td>app</td><td>42501</td><td>witness.entry</td><td class=\"n\">1</td>"), std::string::npos);
	EXPECT_NE(html.find("No alerts."), std::string::npos);
	EXPECT_NE(html.find("No legal hold"), std::string::npos);
	EXPECT_NE(html.find("<td>financial</td><td class=\"n\">3</td>"), std::string::npos); // orders: 3 entries
	EXPECT_NE(html.find("<td>pii</td><td class=\"n\">1</td>"), std::string::npos);
}

// A report from a file leaves pending entries out: nothing checks them, and a review added an invented
// erasure as a pending line to an export.
TEST(AuditReport, LeavesUnsealedEntriesOut)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	// Entry ids 3 and 5 with their xids (700 + id), and id 2 under an xid no line has: a pending copy of
	// a sealed entry's id takes nothing out.
	b.leave_out_unchecked({{2, 9999}, {3, 703}, {5, 705}});
	feed(b);
	EXPECT_EQ(b.entries_in_period(), 5);
	EXPECT_EQ(b.count_for_table("public.orders"), 2);
	const std::string html = b.content(kT0, "test");
	EXPECT_EQ(html.find("Art. 17 request"), std::string::npos); // the erasure's entry is 5
	EXPECT_NE(html.find("<td id=\"unsealed-left-out\" class=\"n\">2</td>"), std::string::npos);
	// Without the list (the server), every entry counts and the row is not shown.
	AuditReportBuilder all(kReportNoBound, kReportNoEnd);
	feed(all);
	EXPECT_EQ(all.entries_in_period(), 7);
	EXPECT_EQ(all.content(kT0, "test").find("unsealed-left-out"), std::string::npos);
}

TEST(AuditReport, AlertsSection)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":0})");
	b.add_line(entry(1, kT0, "I", "witness", "alert", 16, "null", "postgres",
	                 R"({"alert_id":1,"raised_at":"2025-12-01T00:00:00+00:00","rule":"mass_delete","severity":"critical","summary":"5000 rows of public.orders deleted by one statement","detail":{}})"));
	const std::string html = b.content(kT0, "test");
	EXPECT_EQ(html.find("No alerts."), std::string::npos);
	EXPECT_NE(html.find("<td>critical</td><td>mass_delete</td><td>5000 rows of public.orders deleted by one "
	                    "statement</td>"),
	          std::string::npos);
}

TEST(AuditReport, HoldsRetentionSubjectAccessReadsAndPermissionChanges)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":0})");
	b.add_line(entry(1, kT0, "I", "witness", "legal_hold", 16, "null", "admin",
	                 R"({"event":"held","name":"dispute-7","reason":"court order","recorded_by":"admin","recorded_at":"t1"})"));
	b.add_line(entry(2, kT0, "I", "witness", "retention_run", 16, "null", "postgres",
	                 R"({"run_id":3,"ran_at":"t2","run_by":"postgres","entries_pruned":120,"held_kept":4})"));
	b.add_line(entry(3, kT0, "I", "witness", "subject_access", 16, "null", "dpo",
	                 R"({"accessed_at":"t3","role_name":"dpo","format":"json","reason":"Art. 15 request"})"));
	b.add_line(entry(4, kT0, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"read","outcome":"success","current_user_name":"support","object_name":"public.customers","statement_count":3,"row_count":12})"));
	b.add_line(entry(5, kT0, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"read","outcome":"success","current_user_name":"support","object_name":"public.customers","statement_count":1,"row_count":1})"));
	b.add_line(entry(6, kT0, "I", "witness", "ddl_event", 16, "null", "postgres",
	                 R"({"command_tag":"ALTER ROLE","action":"role altered","role_name":"postgres","happened_at":"t4"})"));
	b.add_line(entry(7, kT0, "I", "witness", "ddl_event", 16, "null", "postgres",
	                 R"({"command_tag":"ALTER TABLE","action":"altered","role_name":"postgres","happened_at":"t5"})"));
	// An UPDATE of a record table (none are updated; a forged one) adds no row to a section.
	b.add_line(entry(8, kT0, "U", "witness", "legal_hold", 16, "null", "admin", R"({"event":"held","name":"forged"})"));
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("<td>t1</td><td>held</td><td>dispute-7</td><td>admin</td><td>court order</td>"), std::string::npos);
	EXPECT_EQ(html.find("forged"), std::string::npos);
	EXPECT_NE(html.find("<td>3</td><td>t2</td><td>postgres</td><td>120</td><td>4</td>"), std::string::npos);
	EXPECT_NE(html.find("<span id=\"subject-access\">1</span>"), std::string::npos);
	EXPECT_NE(html.find("<td>t3</td><td>dpo</td><td>json</td><td>Art. 15 request</td>"), std::string::npos);
	EXPECT_NE(html.find("<td>public.customers</td><td>support</td><td class=\"n\">4</td><td class=\"n\">13</td>"),
	          std::string::npos);
	EXPECT_NE(html.find("<td>t4</td><td>ALTER ROLE</td><td>role altered</td><td>postgres</td>"), std::string::npos);
	EXPECT_EQ(html.find("<td>ALTER TABLE</td>"), std::string::npos); // a schema change, not a permission change
	EXPECT_NE(html.find("No refused logins."), std::string::npos);
}

// Activity counts by when each event happened, not by its entry's time: the drain writes a row after
// its events, and groups a session's statements into one row (statement_times, as capture stores an
// array: PostgreSQL's text of it). A review found a group counted at its first event's time.
TEST(AuditReport, ActivityCountsByTheTimeOfEachEvent)
{
	// The period is 2025-12-01 00:00:00 to 00:00:01; the drain wrote both rows a second after it.
	AuditReportBuilder b(kT0, kT0 + 1000000);
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":0})");
	b.add_line(entry(1, kT0 + 2000000, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"denied","outcome":"denied","current_user_name":"app","sqlstate":"42501","object_name":"public.t","happened_at":"2025-12-01 00:00:00.5+00","statement_count":3,"statement_times":"{\"2025-12-01 00:00:00.5+00\",\"2025-12-01 00:00:00.9+00\",\"2025-12-01 00:00:01.2+00\"}"})"));
	b.add_line(entry(2, kT0 + 2000000, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"login","outcome":"failed","session_user_name":"mallory","client_addr":"192.0.2.9","message":"password authentication failed","happened_at":"2025-12-01 00:00:00.1+00","statement_count":2,"statement_times":"{\"2025-12-01 00:00:00.1+00\",\"2025-12-01 00:00:00.2+00\"}"})"));
	b.add_line(entry(3, kT0 + 2000000, "I", "witness", "activity", 4, "null", "postgres",
	                 R"({"kind":"read","outcome":"success","current_user_name":"support","object_name":"public.customers","happened_at":"2025-11-30 23:59:59+00","statement_count":2,"statement_times":"{\"2025-11-30 23:59:59+00\",\"2025-12-01 00:00:00+00\"}","statement_rows":"{5,7}","row_count":12})"));
	const std::string html = b.content(kT0 + 3000000, "test");
	EXPECT_NE(html.find("<span id=\"denied\">2</span>"), std::string::npos) << html;
	EXPECT_NE(html.find("<td>app</td><td>42501</td><td>public.t</td><td class=\"n\">2</td>"), std::string::npos);
	EXPECT_NE(html.find("<span id=\"logins-refused\">2</span>"), std::string::npos);
	EXPECT_NE(html.find("<td>2025-12-01 00:00:00.1+00</td><td>mallory</td><td>failed</td><td>192.0.2.9</td>"
	                    "<td>password authentication failed</td><td class=\"n\">2</td>"),
	          std::string::npos);
	EXPECT_NE(html.find("<td>public.customers</td><td>support</td><td class=\"n\">1</td><td class=\"n\">7</td>"),
	          std::string::npos);
	// The next second holds the third refusal only, and none of the logins.
	AuditReportBuilder next(kT0 + 1000000, kT0 + 2000000);
	next.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":0})");
	next.add_line(entry(1, kT0 + 2000000, "I", "witness", "activity", 4, "null", "postgres",
	                    R"({"kind":"denied","outcome":"denied","current_user_name":"app","sqlstate":"42501","object_name":"public.t","happened_at":"2025-12-01 00:00:00.5+00","statement_count":3,"statement_times":"{\"2025-12-01 00:00:00.5+00\",\"2025-12-01 00:00:00.9+00\",\"2025-12-01 00:00:01.2+00\"}"})"));
	const std::string later = next.content(kT0 + 3000000, "test");
	EXPECT_NE(later.find("<span id=\"denied\">1</span>"), std::string::npos);
	EXPECT_NE(later.find("No refused logins."), std::string::npos);
}

// Entries of the period pruned by a later retention run are named: an attack review had an admin prune
// a month's refused attempts, and that month's signed report read "No refused attempts." with no sign.
TEST(AuditReport, NamesEntriesOfThePeriodPrunedLater)
{
	AuditReportBuilder b(kT0, kT0 + kDay);
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":3})");
	auto block = [&](int no, int64_t sealed, int count) {
		b.add_line("{\"type\":\"block\",\"block_no\":" + std::to_string(no) + ",\"snapshot\":\"1:1:\",\"entry_count\":" +
		           std::to_string(count) + ",\"first_entry_id\":1,\"last_entry_id\":9,\"merkle_root\":\"aa\"," +
		           "\"prev_hash\":\"00\",\"sealed_at_us\":" + std::to_string(sealed) + ",\"block_hash\":\"bb\"}");
	};
	block(1, kT0 - 2 * kDay, 4); // sealed before the period: none of its entries can be of it
	block(2, kT0 + 100, 5);      // sealed in it
	block(3, kT0 + 3 * kDay, 3); // sealed after it: may hold entries of it
	b.add_line(R"({"type":"pruned","block_no":1,"run_id":7,"whole":true,"entry_ids":[],"leaf_hashes":""})");
	b.add_line(R"({"type":"pruned","block_no":2,"run_id":5,"whole":false,"entry_ids":[4,5],"leaf_hashes":"aabb"})");
	b.add_line(R"({"type":"pruned","block_no":3,"run_id":6,"whole":true,"entry_ids":[],"leaf_hashes":""})");
	for (int run = 5; run <= 7; run++)
		b.add_line(entry(20 + run, kT0 + 10 * kDay, "I", "witness", "retention_run", 16, "null", "admin",
		                 "{\"run_id\":" + std::to_string(run) +
		                     R"(,"ran_at":"later","run_by":"admin","entries_pruned":9,"held_kept":0,"rules":{"confidential":"00:00:00.000001","pii":null}})"));
	b.add_line(entry(30, kT0 + 5, "I", "witness", "retention_rule", 16, "null", "admin",
	                 R"({"classification":"confidential","keep":"00:00:00.000001","set_by":"admin","set_at":"t9","archive":false})"));
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("<td class=\"n tampered\" id=\"pruned-in-period\">5</td>"), std::string::npos);
	EXPECT_NE(html.find("<td>5</td><td>later</td><td>admin</td><td>9</td><td>0</td><td>2</td><td>confidential "
	                    "00:00:00.000001, pii forever</td>"),
	          std::string::npos);
	EXPECT_NE(html.find("<td>6</td><td>later</td><td>admin</td><td>9</td><td>0</td><td>3</td>"), std::string::npos);
	EXPECT_EQ(html.find("<td>7</td><td>later</td>"), std::string::npos); // pruned only a block sealed before
	EXPECT_NE(html.find("<td>t9</td><td>confidential</td><td>00:00:00.000001</td><td>deleted</td><td>admin</td>"),
	          std::string::npos);
	// Nothing pruned: the row says 0, without alarm.
	AuditReportBuilder none(kT0, kT0 + kDay);
	feed(none);
	EXPECT_NE(none.content(kT0, "test").find("<td class=\"n\" id=\"pruned-in-period\">0</td>"), std::string::npos);
}

// A run's record says when the entries it pruned from each block were captured: only those of the
// period count (a review's report counted 1,000 entries captured after the period and pruned by a
// routine rule). A block partly pruned by one run and emptied by a later one credits each run its own
// (the review found the later run credited with the whole block).
TEST(AuditReport, CountsPrunedEntriesByTheirTimesAndRuns)
{
	AuditReportBuilder b(kT0, kT0 + kDay);
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":5})");
	b.add_line(R"({"type":"block","block_no":5,"snapshot":"1:1:","entry_count":51,"first_entry_id":1,"last_entry_id":51,"merkle_root":"aa","prev_hash":"00","sealed_at_us":)" +
	           std::to_string(kT0 + 100) + R"(,"block_hash":"bb"})");
	b.add_line(R"({"type":"pruned","block_no":5,"run_id":1,"whole":false,"entry_ids":[1,2],"leaf_hashes":"aabb"})");
	b.add_line(R"({"type":"pruned","block_no":5,"run_id":2,"whole":true,"entry_ids":[],"leaf_hashes":""})");
	// Runs 1 and 2 without a record here (a restricted reader): by their lines, 2 and 51 - 2.
	// Run 3's record: 7 entries of block 8 captured in the period, 9 of block 9 after it.
	b.add_line(entry(60, kT0 + 10 * kDay, "I", "witness", "retention_run", 16, "null", "admin",
	                 "{\"run_id\":3,\"ran_at\":\"later\",\"run_by\":\"admin\",\"entries_pruned\":16,\"held_kept\":0,"
	                 "\"rules\":{\"internal\":\"1 day\"},\"archives\":[{\"file\":\"a.jsonl.gz\"}],\"pruned\":["
	                 "{\"block_no\":8,\"whole\":true,\"entries\":7,\"first_time_us\":" + std::to_string(kT0 + 5) +
	                 ",\"last_time_us\":" + std::to_string(kT0 + 50) + "},"
	                 "{\"block_no\":9,\"whole\":true,\"entries\":9,\"first_time_us\":" + std::to_string(kT0 + 2 * kDay) +
	                 ",\"last_time_us\":" + std::to_string(kT0 + 3 * kDay) + "}]}"));
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("id=\"pruned-in-period\">58</td>"), std::string::npos); // 2 + 49 + 7
	EXPECT_NE(html.find("<td>1</td><td>(its record is not in what this report read"), std::string::npos);
	EXPECT_NE(html.find("period)</td><td></td><td></td><td></td><td>49</td>"), std::string::npos); // run 2
	EXPECT_NE(html.find("<td>3</td><td>later</td><td>admin</td><td>16</td><td>0</td><td>7</td><td>internal 1 day</td><td>a.jsonl.gz</td>"),
	          std::string::npos);
}

// A retention run line the verification did not check (pending, forged into an export) counts
// nowhere, also outside the period: the review of the count forged one dated after the period whose
// times hid the run's pruned entries.
TEST(AuditReport, UncheckedRunLinesCountNowhere)
{
	AuditReportBuilder b(kT0, kT0 + kDay);
	b.leave_out_unchecked({{99, 799}});
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":5})");
	b.add_line(R"({"type":"block","block_no":5,"snapshot":"1:1:","entry_count":9,"first_entry_id":1,"last_entry_id":9,"merkle_root":"aa","prev_hash":"00","sealed_at_us":)" +
	           std::to_string(kT0 + 100) + R"(,"block_hash":"bb"})");
	b.add_line(R"({"type":"pruned","block_no":5,"run_id":1,"whole":false,"entry_ids":[1,2],"leaf_hashes":"aabb"})");
	b.add_line(entry(99, kT0 + 100 * kDay, "I", "witness", "retention_run", 16, "null", "admin",
	                 "{\"run_id\":1,\"ran_at\":\"forged\",\"run_by\":\"admin\",\"entries_pruned\":2,\"held_kept\":0,"
	                 "\"rules\":{},\"pruned\":[{\"block_no\":5,\"whole\":false,\"entries\":2,\"first_time_us\":" +
	                 std::to_string(kT0 + 90 * kDay) + ",\"last_time_us\":" + std::to_string(kT0 + 90 * kDay) + "}]}"));
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("id=\"pruned-in-period\">2</td>"), std::string::npos);
	EXPECT_EQ(html.find("forged"), std::string::npos);
}

// Attacker: an actor, a table and a reason chosen to inject markup, or a line posing as a signature.
TEST(AuditReport, HostileNamesAreEscaped)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	b.add_line(R"({"type":"header","format":1,"database":"42/<b>shop</b>","highest_block_no":0})");
	b.add_line(entry(1, kT0, "I", "public", "<img src=x onerror=alert(1)>", 0,
	                 R"("<script>alert(\"x\")</script>")", "app", "null"));
	b.add_line(entry(2, kT0, "I", "witness", "erasure", 16, "null", "dpo",
	                 R"({"erasure_id":1,"entry_ids":[],"reason":"x\ned25519 00\n<!-- witness-signature -->","role_name":"dpo"})"));
	const std::string html = b.content(kT0, "test");
	EXPECT_EQ(html.find("<script"), std::string::npos);
	EXPECT_EQ(html.find("<img"), std::string::npos);
	EXPECT_EQ(html.find("<b>shop"), std::string::npos);
	EXPECT_NE(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), std::string::npos);
	EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
	EXPECT_EQ(html.find("\ned25519 "), std::string::npos);
	EXPECT_EQ(html.find("\n<!-- witness-signature -->"), std::string::npos);
	EXPECT_NE(html.find("x\\x0aed25519 00\\x0a&lt;!-- witness-signature --&gt;"), std::string::npos);
	EXPECT_EQ(html_escape("a\xef\xbf\xbe\xf0\x9f\xbf\xbf\xef\xb7\x90\xc3\xa9"), "a&#xFFFE;&#x1FFFF;&#xFDD0;\xc3\xa9");
	// Signed, the hostile text does not confuse the check.
	const std::string doc = sign_report(html, kHmacKey, "");
	EXPECT_TRUE(check_report(doc, kHmacKey, "").ok());
}

// A report made by a reader who could not see the whole trail says so in its header (an attack
// review got a signed, valid report of a period-restricted auditor that did not).
TEST(AuditReport, StatesTheReadersRestriction)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	b.add_line(R"({"type":"header","format":1,"database":"42/shop","highest_block_no":0})");
	EXPECT_EQ(b.content(kT0, "test").find("id=\"restriction\""), std::string::npos);
	b.set_restriction("<aud>", 0, kReportNoEnd);
	const std::string html = b.content(kT0, "test");
	EXPECT_NE(html.find("<th>restricted to</th><td id=\"restriction\" class=\"tampered\">role &lt;aud&gt; may see only the "
	                    "entries captured from 1970-01-01T00:00:00.000000Z until now: entries, activity and records "
	                    "outside that period are left out of this report"),
	          std::string::npos);
}

TEST(AuditReport, RejectsLinesThatAreNotExportLines)
{
	AuditReportBuilder b(kReportNoBound, kReportNoEnd);
	EXPECT_THROW(b.add_line("[1,2]"), std::invalid_argument);
	EXPECT_THROW(b.add_line(R"({"type":"nonsense"})"), std::invalid_argument);
	EXPECT_THROW(b.add_line("{not json"), std::exception);
}

TEST(AuditReport, SignedReportChecksAndAnyChangeFails)
{
	const KeyPair kp = generate_key_pair();
	AuditReportBuilder b(kT0, kT0 + kDay);
	feed(b);
	const std::string content = b.content(kT0, "test");
	const std::string doc = sign_report(content, kHmacKey, kp.private_pem);
	ReportCheck c = check_report(doc, kHmacKey, kp.public_pem);
	EXPECT_TRUE(c.well_formed) << c.problem;
	EXPECT_EQ(c.hmac, SignatureState::Valid);
	EXPECT_EQ(c.ed25519, SignatureState::Valid);
	EXPECT_TRUE(c.ok());
	// The public key alone, or the HMAC key alone, suffices.
	EXPECT_TRUE(check_report(doc, "", kp.public_pem).ok());
	EXPECT_TRUE(check_report(doc, kHmacKey, "").ok());
	// No key: nothing checked, not ok.
	c = check_report(doc, "", "");
	EXPECT_EQ(c.hmac, SignatureState::NotChecked);
	EXPECT_FALSE(c.ok());

	// A count changed.
	std::string forged = doc;
	const size_t at = forged.find("id=\"entries\">6<");
	ASSERT_NE(at, std::string::npos);
	forged[at + 13] = '9';
	c = check_report(forged, kHmacKey, kp.public_pem);
	EXPECT_TRUE(c.well_formed);
	EXPECT_EQ(c.hmac, SignatureState::Invalid);
	EXPECT_EQ(c.ed25519, SignatureState::Invalid);
	EXPECT_FALSE(c.ok());

	// A line end psql adds is no change; text appended after the signatures, or a signature line
	// removed while its key is given, is.
	EXPECT_TRUE(check_report(doc + "\n", kHmacKey, kp.public_pem).ok());
	EXPECT_FALSE(check_report(doc + "<p>all fine</p>\n", kHmacKey, kp.public_pem).ok());
	std::string stripped = doc;
	const size_t h = stripped.find("\nhmac_sha256 ") + 1;
	stripped.erase(h, stripped.find('\n', h) - h + 1);
	EXPECT_TRUE(check_report(stripped, "", kp.public_pem).ok());
	EXPECT_FALSE(check_report(stripped, kHmacKey, kp.public_pem).ok());
	// Another key.
	EXPECT_FALSE(check_report(doc, "0000000000000000000000000000000000000000000000000000000000000000", "").ok());
	EXPECT_FALSE(check_report(doc, "", generate_key_pair().public_pem).ok());
	// The printed public key replaced by another: the signature still verifies under the key given,
	// but a reader trusting the printed key would be misled (an attack review).
	std::string other_key = doc;
	const size_t pk = other_key.find("\ned25519_public_key ") + 20;
	ASSERT_NE(pk, std::string::npos + 20);
	other_key.replace(pk, 64, ed25519_public_key_hex(generate_key_pair().private_pem));
	EXPECT_TRUE(check_report(other_key, "", "").well_formed);
	EXPECT_EQ(check_report(other_key, "", kp.public_pem).ed25519, SignatureState::Invalid);
	EXPECT_TRUE(check_report(other_key, kHmacKey, "").ok());
	// No signature block at all.
	EXPECT_FALSE(check_report(content, kHmacKey, kp.public_pem).well_formed);
	EXPECT_THROW(sign_report(content, "", ""), std::invalid_argument);
}
