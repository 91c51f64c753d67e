// Export lines as PostgreSQL prints them (json_build_object, jsonb): fields, recomputed leaf hashes
// against the independent entry vectors, block lines against the block vectors, and malformed lines.
#include "export_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <fstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "block.hpp"
#include "copy_text.hpp"
#include "export_verifier.hpp"
#include "line_reader.hpp"
#include "sha256.hpp"

using namespace witness;
using namespace witness::tool;

namespace
{

// The entries of test/unit/vectors/make_entry_vectors.py and block 1 of make_block_vectors.py, as
// test/unit/export/make_export.py writes them (U+007F written as \u007f here to keep it visible).
const char *const kInsertLine =
    R"json({"type" : "entry", "id" : 1, "xid" : 750, "stmt_time_us" : 1700000000123456, "op" : "I",)json"
    R"json( "schema_name" : "public", "table_name" : "customers", "tags" : 5, "row_key" : {"id": 42)json"
    R"json(}, "subject" : "customer:42", "old_values" : null, "new_values" : {"id": 42, "city": "Zo)json"
    R"json(ë 日本 😀", "name": "O\"Brien \\ \n\t\u0001\u001f\u007f/", "email": "zoe@example.com", "pre)json"
    R"json(fs": {"lang":"fr","tags":["a","b"],"x":{"y":null}}, "active": true, "balance": 1234.50, )json"
    R"json("prénom": "Zoë", "nickname": null, "email_verified": false}, "session_user" : "app_login)json"
    R"json(", "current_user" : "app_owner", "application_name" : "billing-api", "client_addr" : "19)json"
    R"json(2.0.2.10", "client_port" : 54321, "backend_pid" : 4242, "actor" : "alice@example.com", ")json"
    R"json(reason" : "signup", "context" : null, "leaf_hash" : "130baa2f0af596f06c82b2a1e6c1dbeea7e)json"
    R"json(4283fcae44a9f6823134953c7521b", "format" : 1})json";
const char *const kUpdateLine =
    R"json({"type" : "entry", "id" : 2, "xid" : 751, "stmt_time_us" : 1700000001000000, "op" : "U",)json"
    R"json( "schema_name" : "public", "table_name" : "customers", "tags" : 5, "row_key" : {"id": 42)json"
    R"json(}, "subject" : "customer:42", "old_values" : {"email": "zoe@old.example", "status": "act)json"
    R"json(ive"}, "new_values" : {"email": "zoe@new.example", "status": "closed"}, "session_user" :)json"
    R"json( "app_login", "current_user" : "app_owner", "application_name" : "billing-api", "client_)json"
    R"json(addr" : "2001:db8::1", "client_port" : 443, "backend_pid" : 4243, "actor" : "bob", "reas)json"
    R"json(on" : "customer request #1234", "context" : null, "leaf_hash" : "732f8e4d2ed9be1fb16d6f1)json"
    R"json(d54c4d3043602461349e64f08259354107a685bce", "format" : 1})json";
const char *const kTruncateLine =
    R"json({"type" : "entry", "id" : 3, "xid" : 9007199254740993, "stmt_time_us" : -86400000000, "o)json"
    R"json(p" : "T", "schema_name" : "audit", "table_name" : "staging_imports", "tags" : 0, "row_ke)json"
    R"json(y" : null, "subject" : null, "old_values" : null, "new_values" : null, "session_user" : )json"
    R"json("postgres", "current_user" : "postgres", "application_name" : null, "client_addr" : null)json"
    R"json(, "client_port" : null, "backend_pid" : 7, "actor" : null, "reason" : null, "context" : )json"
    R"json(null, "leaf_hash" : "7cafb8de8f930d18d7a4f2f6abaf5a60f599153696f74be8cbd978c963af9180", )json"
    R"json("format" : 1})json";
const char *const kDeleteWithContextLine =
    R"json({"type" : "entry", "id" : 4, "xid" : 752, "stmt_time_us" : 1700000002500000, "op" : "D",)json"
    R"json( "schema_name" : "hr", "table_name" : "employees", "tags" : 11, "row_key" : {"emp_no": -)json"
    R"json(7}, "subject" : "employee:7", "old_values" : {"name": "Jürgen", "score": 1e+30, "emp_no")json"
    R"json(: -7, "salary": 5500.00}, "new_values" : null, "session_user" : "hr_admin", "current_use)json"
    R"json(r" : "hr_admin", "application_name" : "psql", "client_addr" : "10.1.2.3", "client_port" )json"
    R"json(: 50000, "backend_pid" : 999, "actor" : "carol", "reason" : "retention", "context" : {"n)json"
    R"json(": 3, "ip": "203.0.113.7", "mfa": true, "auth": "oidc", "roles": ["hr", "admin"], "sessi)json"
    R"json(on": "s-1"}, "leaf_hash" : "381f89815dc0d951af1aad0ef54d079b594bed229b53f9d3b7ff10ad3d3f)json"
    R"json(9335", "format" : 1})json";
const char *const kFirstBlockLine =
    R"json({"type": "block", "block_no": 1, "snapshot": "750:753:751", "prev_hash": "00000000000000)json"
    R"json(00000000000000000000000000000000000000000000000000", "block_hash": "f601c611219677f4998e)json"
    R"json(a96c757b4c6fc0149081a798c7143c5e2d19ba255800", "entry_count": 3, "merkle_root": "e71349a)json"
    R"json(e33fe063f37e8c854c57ba6bbc9795138e2a2f7a56d9e32e33b254315", "sealed_at_us": 170000000500)json"
    R"json(0000, "last_entry_id": 4, "first_entry_id": 1})json";

// Leaf hashes printed by make_entry_vectors.py (also in test_entry_encoding.cpp).
const char *const kInsertLeafHash = "130baa2f0af596f06c82b2a1e6c1dbeea7e4283fcae44a9f6823134953c7521b";
const char *const kUpdateLeafHash = "732f8e4d2ed9be1fb16d6f1d54c4d3043602461349e64f08259354107a685bce";
const char *const kTruncateLeafHash = "7cafb8de8f930d18d7a4f2f6abaf5a60f599153696f74be8cbd978c963af9180";
const char *const kDeleteWithContextLeafHash = "381f89815dc0d951af1aad0ef54d079b594bed229b53f9d3b7ff10ad3d3f9335";
const char *const kFirstBlockHash = "f601c611219677f4998ea96c757b4c6fc0149081a798c7143c5e2d19ba255800";

const char *const kHeaderLine =
    R"({"type" : "header", "format" : 1, "database" : "7301234567890123456/shop", "highest_block_no" : 3})";

std::string replace(std::string s, const std::string &from, const std::string &to)
{
	const size_t at = s.find(from);
	if (at == std::string::npos)
		throw std::runtime_error("test setup: \"" + from + "\" not found");
	return s.replace(at, from.size(), to);
}

// The error message of parsing line, or "" when it parses.
std::string parse_error(const std::string &line)
{
	try {
		ExportParser p;
		p.parse(line);
		return "";
	} catch (const std::runtime_error &e) {
		return e.what();
	}
}

std::string temp_file(const std::string &name, const std::string &content)
{
	const std::string path = ::testing::TempDir() + "/" + name;
	std::ofstream(path, std::ios::binary) << content;
	return path;
}

} // namespace

TEST(ExportReader, EntriesRecomputeTheIndependentLeafHashes)
{
	const std::pair<const char *, const char *> cases[] = {{kInsertLine, kInsertLeafHash},
	                                                       {kUpdateLine, kUpdateLeafHash},
	                                                       {kTruncateLine, kTruncateLeafHash},
	                                                       {kDeleteWithContextLine, kDeleteWithContextLeafHash}};
	ExportParser p; // one parser for all lines, as witness-verify uses it
	for (const auto &c : cases) {
		ASSERT_EQ(p.parse(c.first), LineType::Entry);
		EXPECT_EQ(to_hex(p.entry().recomputed), c.second);
		EXPECT_EQ(p.entry().stored, p.entry().recomputed);
	}
	EXPECT_EQ(p.entry().id, 4);
	EXPECT_EQ(p.entry().xid, 752u);
	p.parse(kTruncateLine);
	EXPECT_EQ(p.entry().xid, 9007199254740993u);
}

// Format 2 in clear, as the trail stores it: the commitment's first 8 bytes (16 hex digits), which salt
// and payload complete. The leaf hash and commitment are those of the v2 insert vector
// (test_entry_encoding.cpp): salt 0x11 x 16, pseudonym 0xa5 x 32.
TEST(ExportReader, CommitmentPrefixIsCompletedFromThePayload)
{
	std::string pseudonym;
	for (int i = 0; i < 32; i++)
		pseudonym += "a5";
	const std::string line = replace(replace(kInsertLine, R"("format" : 1})",
	                                         R"("format" : 2, "salt" : "11111111111111111111111111111111", )"
	                                         R"("commitment" : "f1b76f409174347f", "subject_pseudonym" : ")" +
	                                             pseudonym + R"(", "erasure_id" : null, "sealed_payload" : null})"),
	                                 "130baa2f0af596f06c82b2a1e6c1dbeea7e4283fcae44a9f6823134953c7521b",
	                                 "b592d1806dc9b2da378d22a15b1047e2c73759fb723bce6e68ae21bebaa65afe");
	ExportParser p;
	ASSERT_EQ(p.parse(line), LineType::Entry);
	EXPECT_EQ(to_hex(p.entry().recomputed), "b592d1806dc9b2da378d22a15b1047e2c73759fb723bce6e68ae21bebaa65afe");
	EXPECT_EQ(p.entry().stored, p.entry().recomputed);
	EXPECT_EQ(p.entry().payload, PayloadState::Intact);
	// The full 32 bytes read alike.
	ASSERT_EQ(p.parse(replace(line, R"("f1b76f409174347f")",
	                          R"("f1b76f409174347f23734acbe2704d498f86eabf836a4aebc32d11576363f82e")")),
	          LineType::Entry);
	EXPECT_EQ(p.entry().stored, p.entry().recomputed);
	EXPECT_EQ(p.entry().payload, PayloadState::Intact);
	// A changed payload does not reproduce the prefix: reported as changed, its leaf left as stored
	// (it cannot be recomputed without the full commitment).
	ASSERT_EQ(p.parse(replace(line, R"("actor" : "alice@example.com")", R"("actor" : "mallory")")), LineType::Entry);
	EXPECT_NE(p.entry().stored, p.entry().recomputed); // a changed header still fails its leaf
	EXPECT_EQ(p.entry().payload, PayloadState::Intact);
	ASSERT_EQ(p.parse(replace(line, R"("city": "Zo)", R"("city": "Xo)")), LineType::Entry);
	EXPECT_EQ(p.entry().payload, PayloadState::Changed);
	EXPECT_EQ(p.entry().stored, p.entry().recomputed);
	// Without payload and salt a prefix reproduces nothing, and the leaf fails: an erasure stores the
	// whole commitment, so this one was cut.
	std::string erased = replace(line, R"("salt" : "11111111111111111111111111111111")", R"("salt" : null)");
	erased = replace(erased, R"("subject" : "customer:42")", R"("subject" : null)");
	erased = replace(erased, R"("row_key" : {"id": 42})", R"("row_key" : null)");
	// new_values null; its old object stays behind under a member the reader ignores.
	erased = replace(erased, R"("old_values" : null, "new_values" : {)", R"("old_values" : null, "new_values" : null, "x" : {)");
	erased = replace(erased, R"("erasure_id" : null)", R"("erasure_id" : 1)");
	ASSERT_EQ(p.parse(erased), LineType::Entry) << erased;
	EXPECT_EQ(p.entry().payload, PayloadState::Erased);
	EXPECT_NE(p.entry().stored, p.entry().recomputed);
	// A sealed payload keeps its commitment in full: a prefix there is none, and the leaf fails (as in
	// witness.verify()).
	ASSERT_EQ(p.parse(replace(line, R"("sealed_payload" : null)", R"("sealed_payload" : "00")")), LineType::Entry);
	EXPECT_NE(p.entry().stored, p.entry().recomputed);
	// Payload columns in clear beside a sealed payload were put there afterwards: changed, as
	// witness.verify() reports it, not unchecked.
	const std::string full = replace(line, R"("f1b76f409174347f")",
	                                 R"("f1b76f409174347f23734acbe2704d498f86eabf836a4aebc32d11576363f82e")");
	ASSERT_EQ(p.parse(replace(full, R"("sealed_payload" : null)", R"("sealed_payload" : "00")")), LineType::Entry);
	EXPECT_EQ(p.entry().payload, PayloadState::Changed);
	// A removed payload passed off as sealed: only a hex string of the sealed format's version byte and
	// at least its 37 bytes of framing can be one; anything else is changed, not unchecked.
	std::string removed = replace(erased, R"("erasure_id" : 1)", R"("erasure_id" : null)");
	removed = replace(removed, R"("f1b76f409174347f")", R"("f1b76f409174347f23734acbe2704d498f86eabf836a4aebc32d11576363f82e")");
	const std::string framing = "01" + std::string(72, 'a');
	for (const std::string &bad : {std::string("true"), std::string("\"00\""), "\"" + framing.substr(0, 72) + "\"",
	                               "\"02" + framing.substr(2) + "\"", "\"" + framing + "zz\""}) {
		ASSERT_EQ(p.parse(replace(removed, R"("sealed_payload" : null)", R"("sealed_payload" : )" + bad)), LineType::Entry) << bad;
		EXPECT_EQ(p.entry().payload, PayloadState::Changed) << bad;
	}
	ASSERT_EQ(p.parse(replace(removed, R"("sealed_payload" : null)", R"("sealed_payload" : ")" + framing + "\"")), LineType::Entry);
	EXPECT_EQ(p.entry().payload, PayloadState::Unchecked);
	// A duplicate key cannot come from the trail, which stores canonical text: the line is refused.
	EXPECT_NE(parse_error(replace(line, R"("email": "zoe@example.com")",
	                              R"("email": "mallory@example.com", "email": "zoe@example.com")"))
	              .find("duplicate key"),
	          std::string::npos);
}

TEST(ExportReader, NumbersStayVerbatim)
{
	ExportParser p;
	p.parse(replace(kDeleteWithContextLine, "5500.00", "5500.0"));
	EXPECT_NE(to_hex(p.entry().recomputed), kDeleteWithContextLeafHash);
	EXPECT_EQ(to_hex(p.entry().stored), kDeleteWithContextLeafHash);
	p.parse(replace(kDeleteWithContextLine, "1e+30", "1E+30"));
	EXPECT_NE(to_hex(p.entry().recomputed), kDeleteWithContextLeafHash);
}

TEST(ExportReader, MemberOrderAndSpacingDoNotMatter)
{
	ExportParser p;
	std::string line = kUpdateLine;
	line = replace(line, R"("type" : "entry", )", "");
	line = replace(line, R"("format" : 1})", R"("format":1,"type":"entry" , "future_field" : {"x": [1, "]"]}})");
	line = replace(line, R"({"email": "zoe@old.example", "status": "active"})",
	               "{ \"status\" :\"active\",\n\t\"email\":\"zoe@old.example\" }");
	ASSERT_EQ(p.parse(line), LineType::Entry);
	EXPECT_EQ(to_hex(p.entry().recomputed), kUpdateLeafHash);
}

TEST(ExportReader, HeaderLine)
{
	ExportParser p;
	ASSERT_EQ(p.parse(kHeaderLine), LineType::Header);
	EXPECT_EQ(p.header().format, 1);
	EXPECT_EQ(p.header().database, "7301234567890123456/shop");
	EXPECT_EQ(p.header().highest_block_no, 3);
	ASSERT_EQ(p.parse(replace(kHeaderLine, "3}", "null}")), LineType::Header);
	EXPECT_EQ(p.header().highest_block_no, 0);
	EXPECT_NE(parse_error(replace(kHeaderLine, "\"format\" : 1", "\"format\" : 2")).find("export format 1"),
	          std::string::npos);
}

// A transaction-id era after the first (docs/verification.md, "Transaction-id eras").
TEST(ExportReader, EraLine)
{
	ExportParser p;
	ASSERT_EQ(p.parse(R"({"type":"era","era_no":2,"first_entry_id":63,"first_block_no":4})"), LineType::Era);
	EXPECT_EQ(p.era().first_entry_id, 63);
	EXPECT_EQ(p.era().first_block_no, 4);
}

TEST(ExportReader, BlockLineHashesLikeTheIndependentVector)
{
	ExportParser p;
	ASSERT_EQ(p.parse(kFirstBlockLine), LineType::Block);
	const StoredBlock &b = p.block();
	EXPECT_EQ(b.header.block_no, 1);
	EXPECT_EQ(b.header.snapshot, "750:753:751");
	EXPECT_EQ(b.header.entry_count, 3);
	EXPECT_TRUE(b.header.has_entry_ids);
	EXPECT_EQ(b.header.first_entry_id, 1);
	EXPECT_EQ(b.header.last_entry_id, 4);
	EXPECT_EQ(b.header.sealed_at_us, 1700000005000000);
	EXPECT_EQ(to_hex(b.stored_block_hash), kFirstBlockHash);
	EXPECT_EQ(block_hash(b.header), b.stored_block_hash);
	std::string empty = replace(replace(kFirstBlockLine, "\"last_entry_id\": 4", "\"last_entry_id\": null"),
	                            "\"first_entry_id\": 1", "\"first_entry_id\": null");
	ASSERT_EQ(p.parse(empty), LineType::Block);
	EXPECT_FALSE(p.block().header.has_entry_ids);
}

TEST(ExportReader, MalformedLinesSayWhatIsWrong)
{
	const std::string entry = kUpdateLine;
	const std::pair<std::string, const char *> cases[] = {
	    {"", "invalid JSON"},
	    {"[1]", "expected an object"},
	    {"{\"type\": \"entry\"", "invalid JSON"},
	    {entry + " x", "unexpected data"},
	    {R"({"type": "other"})", "must be header, era, block, pruned, entry, archive or leaves"},
	    {R"({"type": "era", "first_entry_id": 5})", "\"first_block_no\" is missing"},
	    {R"({"type":"pruned","block_no":1,"run_id":1,"whole":false,"entry_ids":[1],"leaf_hashes":"abc"})",
	     "\"leaf_hashes\" must be 64 hex digits per hash"},
	    {R"({"type":"pruned","block_no":1,"run_id":1,"whole":"no","entry_ids":[],"leaf_hashes":""})",
	     "\"whole\" must be true or false"},
	    {R"({"type":"pruned","block_no":1,"run_id":1,"whole":true,"entry_ids":["1"],"leaf_hashes":""})",
	     "\"entry_ids\" must be an array of integers"},
	    {R"({"type":"pruned","block_no":1,"whole":true,"entry_ids":[],"leaf_hashes":""})", "\"run_id\" is missing"},
	    {R"({"format": 1})", "\"type\" is missing"},
	    {replace(entry, R"("id" : 2, )", ""), "\"id\" is missing"},
	    {replace(entry, R"("id" : 2)", R"("id" : "2")"), "\"id\" must be an integer"},
	    {replace(entry, R"("id" : 2)", R"("id" : 2.0)"), "\"id\" must be a 64-bit integer"},
	    {replace(entry, R"("id" : 2)", R"("id" : 99999999999999999999)"), "\"id\" must be a 64-bit integer"},
	    {replace(entry, R"("xid" : 751)", R"("xid" : -751)"), "\"xid\" must not be negative"},
	    {replace(entry, R"("op" : "U")", R"("op" : "X")"), "\"op\" must be one of"},
	    {replace(entry, R"("op" : "U")", R"("op" : "UPDATE")"), "\"op\" must be one of"},
	    {replace(entry, R"("session_user" : "app_login")", R"("session_user" : null)"), "must be a string"},
	    {replace(entry, R"("leaf_hash" : "732f)", R"("leaf_hash" : "zz2f)"), "\"leaf_hash\" must be 64 hex digits"},
	    // Other lengths are read as they are (the verifier reports them); an odd one is no hex at all.
	    {replace(entry, R"("leaf_hash" : "732f)", R"("leaf_hash" : "7732f)"), "\"leaf_hash\" must be at most 66 hex digits"},
	    {replace(entry, R"("format" : 1)", R"("format" : 3)"), "entry formats 1 and 2"},
	    {replace(entry, R"("format" : 1)", R"("format" : 2)"), "\"commitment\" is missing"},
	    {replace(entry, R"("format" : 1)", R"("format" : 1, "id" : 3)"), "\"id\" appears twice"},
	    {replace(entry, R"("status": "active"})", R"("status": "active",})"), "\"old_values\" is not valid JSON"},
	    {replace(entry, R"("tags" : 5)", R"("tags" : 5x)"), "invalid JSON"},
	    {replace(kFirstBlockLine, "\"last_entry_id\": 4", "\"last_entry_id\": null"), "must both be null or both"},
	};
	for (const auto &c : cases) {
		const std::string err = parse_error(c.first);
		EXPECT_NE(err.find(c.second), std::string::npos) << "line: " << c.first << "\nerror: " << err;
	}
}

TEST(LineReader, LinesAndChunks)
{
	std::string content;
	for (int i = 0; i < 2000; i++)
		content += "line " + std::to_string(i) + (i % 7 == 0 ? "\r\n" : "\n");
	content += std::string(10000, 'x') + "\n" + "last line without newline";
	const std::string path = temp_file("lines.txt", content);

	LineReader lines(path);
	std::string_view line;
	int n = 0;
	while (lines.next(line)) {
		if (n < 2000) {
			ASSERT_EQ(line, "line " + std::to_string(n));
		}
		n++;
	}
	EXPECT_EQ(n, 2002);
	EXPECT_EQ(line, "last line without newline");
	EXPECT_EQ(lines.line_number(), 2002);

	// Chunks of whole lines that add up to the file, after a few lines read one by one.
	LineReader chunks(path);
	std::string joined;
	for (int i = 0; i < 3; i++) {
		ASSERT_TRUE(chunks.next(line));
		joined += std::string(line) + (i == 0 ? "\r\n" : "\n");
	}
	std::string chunk;
	while (chunks.next_chunk(chunk, 1000)) {
		EXPECT_TRUE(chunk.back() == '\n' || chunk.size() >= 25) << chunk.size();
		joined += chunk;
	}
	EXPECT_EQ(joined, content);
	EXPECT_THROW(LineReader(::testing::TempDir() + "/no/such/file"), std::runtime_error);
}

// A source whose reads come in odd sizes, and which fails after `fail_after` bytes when asked to.
class TrickleSource : public ByteSource
{
  public:
	TrickleSource(std::string text, size_t fail_after) : text_(std::move(text)), fail_after_(fail_after) {}
	size_t read(char *buf, size_t n) override
	{
		if (pos_ >= fail_after_)
			throw std::runtime_error("the connection broke");
		const size_t take = std::min({n, size_t(7777), text_.size() - pos_, fail_after_ - pos_});
		std::memcpy(buf, text_.data() + pos_, take);
		pos_ += take;
		return take;
	}

  private:
	std::string text_;
	size_t pos_ = 0, fail_after_;
};

TEST(LineReader, PrefetchSourceReadsAheadAndPassesErrorsOn)
{
	std::string content;
	for (int i = 0; i < 300000; i++)
		content += "line " + std::to_string(i) + "\n";
	ASSERT_GT(content.size(), size_t(3) << 20); // more than the prefetch capacity below
	LineReader lines(std::make_unique<PrefetchSource>(std::make_unique<TrickleSource>(content, SIZE_MAX), 1 << 20));
	std::string joined, chunk;
	std::string_view line;
	ASSERT_TRUE(lines.next(line));
	joined += std::string(line) + "\n";
	while (lines.next_chunk(chunk, 100000))
		joined += chunk;
	EXPECT_EQ(joined, content);

	LineReader broken(std::make_unique<PrefetchSource>(std::make_unique<TrickleSource>(content, 2500000), 1 << 20));
	try {
		while (broken.next_chunk(chunk, 100000)) {
		}
		ADD_FAILURE() << "the error of the source was lost";
	} catch (const std::runtime_error &e) {
		EXPECT_EQ(std::string(e.what()), "the connection broke");
	}
	// Stopped early: the reading thread is stopped and joined, not left behind.
	{
		LineReader early(std::make_unique<PrefetchSource>(std::make_unique<TrickleSource>(content, SIZE_MAX), 1 << 20));
		ASSERT_TRUE(early.next(line));
	}
}

TEST(ExportVerifier, SmallExportWithEveryJobCount)
{
	std::string text = std::string(kHeaderLine) + "\n";
	text = replace(text, "\"highest_block_no\" : 3", "\"highest_block_no\" : 0");
	for (const char *l : {kInsertLine, kUpdateLine, kTruncateLine, kDeleteWithContextLine})
		text += std::string(l) + "\n";
	const std::string path = temp_file("pending_only.jsonl", text + "\n");
	for (unsigned jobs : {1u, 2u, 4u}) {
		const ExportResult r = verify_export(path, jobs);
		EXPECT_EQ(r.report.status, "valid");
		EXPECT_EQ(r.entries, 4);
		EXPECT_EQ(r.report.entries_pending, 4);
		EXPECT_EQ(r.header.database, "7301234567890123456/shop");
	}
}

TEST(ExportVerifier, ErrorsNameTheLine)
{
	auto error_of = [](const std::string &name, const std::string &text) {
		try {
			verify_export(temp_file(name, text), 2);
			return std::string();
		} catch (const std::runtime_error &e) {
			return std::string(e.what());
		}
	};
	const std::string header = std::string(kHeaderLine) + "\n";
	EXPECT_EQ(error_of("empty.jsonl", "\n\n"), "the export is empty: no header line");
	EXPECT_EQ(error_of("noheader.jsonl", std::string(kFirstBlockLine) + "\n"),
	          "line 1: the first line must be the header");
	EXPECT_EQ(error_of("twoheaders.jsonl", header + header), "line 2: a second header line");
	EXPECT_EQ(error_of("late_block.jsonl", header + kUpdateLine + "\n\n" + kFirstBlockLine + "\n"),
	          "line 4: header, block and pruned lines must come before the entry lines");
	EXPECT_NE(error_of("bad_entry.jsonl", header + kUpdateLine + "\n" + kTruncateLine + "\n{\n").find("line 4: "),
	          std::string::npos);
}

// What COPY ... TO writes for a text value (PostgreSQL's CopyAttributeOutText): the escapes of the
// text format. JSON lines contain no raw control character, so of these only \\ shows up in exports.
std::string copy_escape(const std::string &value)
{
	std::string out;
	for (char c : value) {
		switch (c) {
		case '\\':
			out += "\\\\";
			break;
		case '\b':
			out += "\\b";
			break;
		case '\f':
			out += "\\f";
			break;
		case '\n':
			out += "\\n";
			break;
		case '\r':
			out += "\\r";
			break;
		case '\t':
			out += "\\t";
			break;
		case '\v':
			out += "\\v";
			break;
		default:
			out += c;
		}
	}
	return out;
}

std::string decoded(const std::string &line)
{
	std::string scratch;
	std::string_view value;
	if (decode_copy_text(line, scratch, value) == CopyRow::EndOfData)
		return "<end>";
	return std::string(value);
}

std::string decode_error(const std::string &line)
{
	try {
		decoded(line);
		return "";
	} catch (const std::runtime_error &e) {
		return e.what();
	}
}

TEST(CopyText, DecodesEveryEscapeOfTheTextFormat)
{
	EXPECT_EQ(decoded("plain, no escape"), "plain, no escape");
	EXPECT_EQ(decoded(R"(a\\b\tc\nd\re\bf\fg\vh)"), "a\\b\tc\nd\re\bf\fg\vh");
	// Octal (one to three digits, modulo 256) and hex (one or two digits) escapes, as COPY FROM reads them.
	EXPECT_EQ(decoded(R"(\101\60\7x\0101)"), std::string("A0\7x\b1"));
	EXPECT_EQ(decoded(R"(\x41\x4g\xz)"), "A\4gxz");
	EXPECT_EQ(decoded(R"(\777)"), std::string(1, static_cast<char>(0777 & 0377)));
	// Any other escaped character is itself, \N too when it is not the whole line.
	EXPECT_EQ(decoded(R"(\"\N\a)"), "\"Na");
	EXPECT_EQ(decoded(""), "");
	EXPECT_EQ(decoded(R"(\.)"), "<end>");
	// Round trip of what COPY writes, bytes 1 to 255 and noncharacters included.
	std::string all;
	for (int c = 1; c < 256; c++)
		all += static_cast<char>(c);
	all += "\xef\xbf\xbf\xf0\x9f\xbf\xbe\xf4\x8f\xbf\xbf"; // U+FFFF, U+1FFFE, U+10FFFF
	EXPECT_EQ(decoded(copy_escape(all)), all);
}

TEST(CopyText, RefusesWhatIsNotOneTextValue)
{
	EXPECT_NE(decode_error("\\N").find("NULL row"), std::string::npos);
	EXPECT_NE(decode_error("a\tb").find("unescaped tab"), std::string::npos);
	EXPECT_NE(decode_error("abc\\").find("backslash at the end"), std::string::npos);
	EXPECT_NE(decode_error("a\\.b").find("end-of-data marker"), std::string::npos);
}

// An export as COPY (SELECT witness.export_trail()) TO STDOUT writes it: the header's "backslash"
// member says so. The values with quotes, backslashes and control characters verify as in JSON lines.
TEST(ExportVerifier, CopyTextExport)
{
	std::string header = replace(kHeaderLine, "\"highest_block_no\" : 3", "\"highest_block_no\" : 0");
	header = replace(header, "}", R"(, "backslash" : "\\"})");
	std::string jsonl = header + "\n", copy = copy_escape(header) + "\n";
	for (const char *l : {kInsertLine, kUpdateLine, kTruncateLine, kDeleteWithContextLine}) {
		jsonl += std::string(l) + "\n";
		copy += copy_escape(l) + "\n";
	}
	ASSERT_NE(copy, jsonl) << "the insert line has backslashes";
	for (unsigned jobs : {1u, 2u}) {
		const ExportResult j = verify_export(temp_file("copy_test.jsonl", jsonl), jobs);
		EXPECT_FALSE(j.copy_text);
		const ExportResult c = verify_export(temp_file("copy_test.copy", copy + "\\.\n"), jobs);
		EXPECT_TRUE(c.copy_text);
		EXPECT_EQ(c.report.status, "valid");
		EXPECT_EQ(c.entries, 4);
		EXPECT_EQ(c.report.entries_pending, 4);
		EXPECT_EQ(c.header.database, j.header.database);
	}
	// COPY text read as JSON lines: the doubled backslashes break the JSON of the insert's values.
	const std::string as_jsonl = replace(copy, R"("backslash" : "\\\\")", R"("backslash" : "\\")");
	EXPECT_THROW(verify_export(temp_file("copy_as_jsonl.jsonl", as_jsonl), 1), std::runtime_error);
	const std::string wrong = replace(copy, R"("backslash" : "\\\\")", R"("backslash" : "/")");
	try {
		verify_export(temp_file("wrong_marker.copy", wrong), 1);
		ADD_FAILURE() << "a header with another \"backslash\" was accepted";
	} catch (const std::runtime_error &e) {
		EXPECT_EQ(std::string(e.what()), "line 1: \"backslash\" must be one backslash (two in COPY text)");
	}
}

// The kept leaf hashes of pruned entries, as export_trail() writes them (docs/verification.md).
TEST(ExportReader, PrunedLine)
{
	ExportParser parser;
	const std::string hashes = std::string(64, 'a') + std::string(64, 'B');
	ASSERT_EQ(parser.parse(R"({"type":"pruned","block_no":7,"run_id":3,"whole":false,"entry_ids":[11,12],"leaf_hashes":")" +
	                       hashes + "\"}"),
	          LineType::Pruned);
	EXPECT_EQ(parser.pruned().block_no, 7);
	EXPECT_EQ(parser.pruned().run_id, 3);
	EXPECT_FALSE(parser.pruned().whole);
	EXPECT_EQ(parser.pruned().ids, (std::vector<int64_t>{11, 12}));
	ASSERT_EQ(parser.pruned().hashes.size(), 2u);
	EXPECT_EQ(parser.pruned().hashes[0][0], 0xaa);
	EXPECT_EQ(parser.pruned().hashes[1][31], 0xbb);
	ASSERT_EQ(parser.parse(R"({"type":"pruned","block_no":8,"run_id":3,"whole":true,"entry_ids":[],"leaf_hashes":""})"),
	          LineType::Pruned);
	EXPECT_TRUE(parser.pruned().whole);
	EXPECT_TRUE(parser.pruned().ids.empty());
	EXPECT_TRUE(parser.pruned().hashes.empty());
}

// A retention archive file's header and leaf list lines (docs/retention.md, "Archive instead of delete").
TEST(ExportReader, ArchiveAndLeavesLines)
{
	ExportParser parser;
	ASSERT_EQ(parser.parse(R"({"type" : "archive", "format" : 1, "database" : "7/shop", "run_id" : 4, "month" : "2026-11", "entries" : 3})"),
	          LineType::Archive);
	EXPECT_EQ(parser.archive().database, "7/shop");
	EXPECT_EQ(parser.archive().run_id, 4);
	EXPECT_EQ(parser.archive().month, "2026-11");
	EXPECT_EQ(parser.archive().entries, 3);
	EXPECT_THROW(parser.parse(R"({"type":"archive","format":2,"database":"d","run_id":1,"month":"m","entries":0})"),
	             std::runtime_error);
	const std::string hashes = std::string(64, 'a') + std::string(64, 'b');
	ASSERT_EQ(parser.parse(R"({"type":"leaves","block_no":9,"entry_ids":[1,2],"leaf_hashes":")" + hashes + "\"}"),
	          LineType::Leaves);
	EXPECT_EQ(parser.pruned().block_no, 9);
	EXPECT_EQ(parser.pruned().ids, (std::vector<int64_t>{1, 2}));
	ASSERT_EQ(parser.pruned().hashes.size(), 2u);
	EXPECT_EQ(parser.pruned().hashes[1][0], 0xbb);
}
