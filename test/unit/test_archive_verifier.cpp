// witness-verify archive --export (tools/archive_verifier.cpp, docs/retention.md, "Archive instead of
// delete"): which database an archive was written in is no proof once a dump is restored elsewhere; the
// retention run of the export's verified chain that names the file's SHA-256 is. The archives here hold
// a header only: what is tested is the comparison with the export, not the blocks and entries.
#include "archive_verifier.hpp"

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sha256.hpp"

using namespace witness;
using namespace witness::tool;

namespace
{

const char *const kArchive =
    R"({"type" : "archive", "format" : 1, "database" : "7301234567890123456/shop", "run_id" : 4, "month" : "2026-11", "entries" : 0})"
    "\n";

// An archive file written to a temporary path, removed again.
class ArchiveFile
{
  public:
	explicit ArchiveFile(const std::string &text)
	{
		char name[] = "/tmp/witness_archive_XXXXXX";
		const int fd = mkstemp(name);
		EXPECT_GE(fd, 0);
		close(fd);
		path_ = name;
		std::ofstream(path_, std::ios::binary) << text;
	}
	~ArchiveFile() { std::remove(path_.c_str()); }
	ArchiveFile(const ArchiveFile &) = delete;
	ArchiveFile &operator=(const ArchiveFile &) = delete;
	const std::string &path() const { return path_; }

  private:
	std::string path_;
};

// A verified export of database `database` whose chain holds retention run `run_id` naming an
// archive file of `entries` entries with SHA-256 `file_hash`.
ExportResult export_recording(const std::string &database, int64_t run_id, const Hash &file_hash, int64_t entries = 0)
{
	ExportResult e;
	e.header.database = database;
	RetentionRecord run;
	run.run_id = run_id;
	run.archives.push_back(RetentionRecord::Archive{"archive_2026-11_run4.jsonl.gz", file_hash, entries});
	e.retentions.push_back(run);
	return e;
}

bool has_problem(const ArchiveResult &r, const std::string &name)
{
	for (const ArchiveProblem &p : r.problems)
		if (p.name == name)
			return true;
	return false;
}

} // namespace

TEST(ArchiveVerifier, SameDatabaseRecordedIsValidWithoutNote)
{
	ArchiveFile f(kArchive);
	const ExportResult later = export_recording("7301234567890123456/shop", 4, sha256(kArchive));
	const ArchiveResult r = verify_archive(f.path(), &later);
	EXPECT_TRUE(r.against_export);
	EXPECT_EQ(r.sha256, sha256(kArchive));
	EXPECT_TRUE(r.problems.empty());
	EXPECT_TRUE(r.notes.empty());
}

// Restored into another database (or a new cluster, or renamed): the chain records the file, so the
// differing database id is a note naming both, not a problem.
TEST(ArchiveVerifier, OtherDatabaseRecordedIsANote)
{
	ArchiveFile f(kArchive);
	const ExportResult later = export_recording("7309999999999999999/shop_restored", 4, sha256(kArchive));
	const ArchiveResult r = verify_archive(f.path(), &later);
	EXPECT_TRUE(r.problems.empty()) << r.problems.front().detail;
	ASSERT_EQ(r.notes.size(), 1u);
	EXPECT_NE(r.notes[0].find("\"7301234567890123456/shop\""), std::string::npos) << r.notes[0];
	EXPECT_NE(r.notes[0].find("\"7309999999999999999/shop_restored\""), std::string::npos) << r.notes[0];
	EXPECT_NE(r.notes[0].find("retention run 4"), std::string::npos) << r.notes[0];
}

// Not recorded: another database stays a problem, and so does the unrecorded SHA-256.
TEST(ArchiveVerifier, OtherDatabaseNotRecordedStaysAProblem)
{
	ArchiveFile f(kArchive);
	const ExportResult later = export_recording("7309999999999999999/shop_restored", 4, sha256("another file"));
	const ArchiveResult r = verify_archive(f.path(), &later);
	ASSERT_EQ(r.problems.size(), 2u);
	EXPECT_EQ(r.problems[0].name, "archive not recorded");
	EXPECT_NE(r.problems[0].detail.find("\"7309999999999999999/shop_restored\""), std::string::npos);
	EXPECT_EQ(r.problems[1].name, "archive not recorded");
	EXPECT_NE(r.problems[1].detail.find(to_hex(sha256(kArchive))), std::string::npos) << r.problems[1].detail;
	EXPECT_TRUE(r.notes.empty());
}

// The SHA-256 named by another run, or with another entry count, does not record this file.
TEST(ArchiveVerifier, RecordedOnlyByItsOwnRunAndCount)
{
	ArchiveFile f(kArchive);
	const ExportResult other_run = export_recording("7309999999999999999/shop_restored", 5, sha256(kArchive));
	EXPECT_TRUE(has_problem(verify_archive(f.path(), &other_run), "archive not recorded"));
	EXPECT_TRUE(verify_archive(f.path(), &other_run).notes.empty());
	const ExportResult other_count = export_recording("7301234567890123456/shop", 4, sha256(kArchive), 3);
	EXPECT_TRUE(has_problem(verify_archive(f.path(), &other_count), "archive not recorded"));
}

// Checked on its own, nothing is compared: no problem and no note about databases.
TEST(ArchiveVerifier, OnItsOwnComparesNoDatabase)
{
	ArchiveFile f(kArchive);
	const ArchiveResult r = verify_archive(f.path(), nullptr);
	EXPECT_FALSE(r.against_export);
	EXPECT_TRUE(r.problems.empty());
	EXPECT_TRUE(r.notes.empty());
	EXPECT_EQ(r.header.database, "7301234567890123456/shop");
}
