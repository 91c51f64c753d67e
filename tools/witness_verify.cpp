// witness-verify: checks a pg_witness trail export without the database, and optionally a signed
// digest against it. Exit status 0 valid, 1 tampered, 2 usage or input error (docs/verification.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "archive_verifier.hpp"
#include "digest.hpp"
#include "digest_check.hpp"
#include "export_verifier.hpp"
#include "pg_source.hpp"
#include "report_command.hpp"
#include "sha256.hpp"
#include "signatures.hpp"
#include "trail_verifier.hpp"
#include "utc_time.hpp"

using namespace witness;
using namespace witness::tool;

namespace
{

constexpr int kExitValid = 0, kExitTampered = 1, kExitError = 2;

const char *const kUsage =
    "usage: witness-verify [options] EXPORT\n"
    "       witness-verify [options] --connect CONNINFO\n"
    "       witness-verify report [--from T] [--until T] --hmac-key F | --ed25519-key F EXPORT > report.html\n"
    "       witness-verify report-check REPORT --hmac-key F | --ed25519-key F\n"
    "       witness-verify archive [--export EXPORT] [--max-problems N] ARCHIVE\n"
    "\n"
    "Verifies a pg_witness trail: every entry's leaf hash is recomputed from its content, block\n"
    "membership from the snapshots, every Merkle root and the chain of block hashes. EXPORT is a file\n"
    "written by COPY (SELECT witness.export_trail()) TO STDOUT (or - for standard input); with\n"
    "--connect, witness-verify runs that COPY itself and verifies the trail as it arrives.\n"
    "\n"
    "witness-verify archive checks a retention archive file (ARCHIVE.jsonl.gz, written by\n"
    "witness.apply_retention() before it pruned) on its own: block hashes, leaf lists against the\n"
    "Merkle roots, chain links between its blocks, every entry's leaf hash. With --export, also that\n"
    "its blocks are those of a later export (itself verified) and that a retention run in the\n"
    "export's chain names the file's SHA-256 (then a database id that differs, after a restore into\n"
    "another database or cluster, is printed as a note).\n"
    "\n"
    "options:\n"
    "  --connect CONNINFO   read the trail from the database (a libpq connection string or URI;\n"
    "                       '' uses the PG* environment variables)\n"
    "  --digest FILE        also check a signed digest (witness.digest()) against the export\n"
    "  --hmac-key FILE      HMAC key file to check the digest's hmac_sha256 signature\n"
    "  --ed25519-key FILE   Ed25519 public (or private) key PEM to check the digest's ed25519 signature\n"
    "  --max-problems N     print at most N problems (default 100; 0 for all)\n"
    "  -j, --jobs N         threads that parse and hash entries (default: one per processor, at most 8;\n"
    "                       with --connect one fewer)\n"
    "  --stats              print timing and throughput to standard error\n"
    "  -h, --help           this text\n"
    "\n"
    "exit status: 0 valid, 1 tampered (or the digest does not match), 2 usage or input error\n";

struct Options {
	std::string export_path, digest_path, hmac_key_path, ed25519_key_path, conninfo;
	bool connect = false;
	size_t max_problems = 100;
	bool stats = false;
	unsigned jobs = 0; // 0: one per processor, at most 8
};

struct UsageError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

Options parse_args(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		auto value = [&](const char *name) -> std::string {
			if (i + 1 >= argc)
				throw UsageError(std::string(name) + " needs a value");
			return argv[++i];
		};
		if (a == "-h" || a == "--help") {
			std::fputs(kUsage, stdout);
			std::exit(kExitValid);
		} else if (a == "--connect") {
			o.conninfo = value("--connect");
			o.connect = true;
		} else if (a == "--digest") {
			o.digest_path = value("--digest");
		} else if (a == "--hmac-key") {
			o.hmac_key_path = value("--hmac-key");
		} else if (a == "--ed25519-key") {
			o.ed25519_key_path = value("--ed25519-key");
		} else if (a == "--max-problems") {
			const std::string v = value("--max-problems");
			char *end = nullptr;
			const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
			if (v.empty() || *end != '\0')
				throw UsageError("--max-problems needs a number");
			o.max_problems = n == 0 ? SIZE_MAX : static_cast<size_t>(n);
		} else if (a == "--jobs" || a == "-j") {
			const std::string v = value("--jobs");
			char *end = nullptr;
			const unsigned long n = std::strtoul(v.c_str(), &end, 10);
			if (v.empty() || *end != '\0' || n == 0 || n > 256)
				throw UsageError("--jobs needs a number from 1 to 256");
			o.jobs = static_cast<unsigned>(n);
		} else if (a == "--stats") {
			o.stats = true;
		} else if (a.size() > 1 && a[0] == '-') {
			throw UsageError("unknown option " + a);
		} else if (o.export_path.empty()) {
			o.export_path = a;
		} else {
			throw UsageError("more than one export file given");
		}
	}
	if (o.export_path.empty() && !o.connect)
		throw UsageError("no export file given (or --connect)");
	if (!o.export_path.empty() && o.connect)
		throw UsageError("give an export file or --connect, not both");
	// --connect: one processor fewer, for the thread that reads from the connection and, when the
	// database runs on this machine, for the backend that produces the export.
	if (o.jobs == 0) {
		const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
		o.jobs = std::min(8u, o.connect && cpus > 1 ? cpus - 1 : cpus);
	}
	if (o.digest_path.empty() && (!o.hmac_key_path.empty() || !o.ed25519_key_path.empty()))
		throw UsageError("--hmac-key and --ed25519-key check a digest: give --digest too");
	return o;
}

std::string block_range(const std::vector<StoredBlock> &blocks)
{
	if (blocks.empty())
		return "";
	return " (" + std::to_string(blocks.front().header.block_no) + " to " +
	       std::to_string(blocks.back().header.block_no) + ")";
}

int run(const Options &o)
{
	const auto start = std::chrono::steady_clock::now();
	const std::clock_t cpu_start = std::clock();
	VerifyOptions options;
	options.jobs = o.jobs;
	std::unique_ptr<ExportInput> input;
	if (o.connect) {
		auto connection = std::make_unique<ConnectionInput>(o.conninfo);
		if (!connection->warning().empty())
			std::fprintf(stderr, "witness-verify: warning: %s\n", connection->warning().c_str());
		input = std::move(connection);
	} else {
		input = std::make_unique<FileInput>(o.export_path);
	}
	const ExportResult t = verify_export(*input, options);
	const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
	const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
	const VerifyReport &r = t.report;

	std::string out = "pg_witness trail of database \"" + t.header.database + "\"\n";
	out += "blocks checked:    " + std::to_string(r.blocks_checked) + block_range(t.blocks) + "\n";
	out += "entries checked:   " + std::to_string(r.entries_checked) + "\n";
	out += "entries pending:   " + std::to_string(r.entries_pending) + " (not sealed yet)\n";
	if (r.entries_erased > 0)
		out += "entries erased:    " + std::to_string(r.entries_erased) + " (payload removed by a recorded erasure)\n";
	if (r.entries_pruned > 0)
		out += "entries pruned:    " + std::to_string(r.entries_pruned) + " (deleted by a recorded retention run)\n";
	if (r.entries_unchecked > 0)
		out += "entries encrypted: " + std::to_string(r.entries_unchecked) +
		       " (payload sealed under the master key: header and commitment checked, payload not)\n";
	out += "status:            " + r.status + "\n";
	if (!r.problems.empty()) {
		out += "problems (" + std::to_string(r.problems.size()) + "):\n";
		size_t shown = 0;
		for (const Problem &p : r.problems) {
			if (shown++ == o.max_problems) {
				out += "  ... and " + std::to_string(r.problems.size() - o.max_problems) + " more\n";
				break;
			}
			std::string where = p.block_no ? "block " + std::to_string(p.block_no) : std::string();
			if (p.entry_id)
				where += (where.empty() ? "" : ", ") + std::string("entry ") + std::to_string(p.entry_id);
			out += "  " + where + ": " + problem_name(p.kind) + ": " + p.detail + "\n";
		}
	}
	std::vector<std::string> digest_failures;
	if (!o.digest_path.empty()) {
		DigestAgainstExport d = check_digest_file(o.digest_path, o.hmac_key_path, o.ed25519_key_path, t);
		out += d.text;
		digest_failures = std::move(d.failures);
		for (const std::string &f : digest_failures)
			out += "  DIGEST MISMATCH: " + f + "\n";
	}
	const bool ok = r.problems.empty() && digest_failures.empty();
	out += ok ? "result:            VALID\n" : "result:            TAMPERED\n";
	std::fputs(out.c_str(), stdout);
	if (o.stats)
		std::fprintf(stderr,
		             "witness-verify: %lld entries in %.3f s, %.3f s CPU (%.0f entries/s, %.0f per CPU second); "
		             "%s, %d pass%s\n",
		             static_cast<long long>(t.entries), seconds, cpu_seconds,
		             seconds > 0 ? static_cast<double>(t.entries) / seconds : 0.0,
		             cpu_seconds > 0 ? static_cast<double>(t.entries) / cpu_seconds : 0.0,
		             t.copy_text ? "COPY text" : "JSON lines", t.passes, t.passes == 1 ? "" : "es");
	return ok ? kExitValid : kExitTampered;
}

} // namespace

// witness-verify archive [--export EXPORT] [--max-problems N] ARCHIVE (docs/retention.md).
int run_archive(int argc, char **argv)
{
	std::string archive_path, export_path;
	size_t max_problems = 100;
	for (int i = 2; i < argc; i++) {
		const std::string a = argv[i];
		if (a == "--export" || a == "--max-problems") {
			if (i + 1 >= argc)
				throw UsageError(a + " needs a value");
			const std::string v = argv[++i];
			if (a == "--export") {
				export_path = v;
			} else {
				char *end = nullptr;
				const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
				if (v.empty() || *end != '\0')
					throw UsageError("--max-problems needs a number");
				max_problems = n == 0 ? SIZE_MAX : static_cast<size_t>(n);
			}
		} else if (a.size() > 1 && a[0] == '-') {
			throw UsageError("unknown option " + a + " for archive");
		} else if (archive_path.empty()) {
			archive_path = a;
		} else {
			throw UsageError("more than one archive file given");
		}
	}
	if (archive_path.empty())
		throw UsageError("no archive file given");
	std::string out;
	bool export_ok = true;
	ExportResult later;
	if (!export_path.empty()) {
		later = verify_export(export_path, 1);
		export_ok = later.report.problems.empty();
		out += "export:            " + export_path + ": " + later.report.status + "\n";
	}
	const ArchiveResult r = verify_archive(archive_path, export_path.empty() ? nullptr : &later);
	out = "pg_witness retention archive of database \"" + r.header.database + "\", month " + r.header.month +
	      ", retention run " + std::to_string(r.header.run_id) + "\n" + out;
	out += "sha256:            " + to_hex(r.sha256) + "\n";
	out += "blocks checked:    " + std::to_string(r.blocks) + "\n";
	out += "entries checked:   " + std::to_string(r.entries) + "\n";
	if (r.erased > 0)
		out += "entries erased:    " + std::to_string(r.erased) + " (payload removed by an erasure)\n";
	if (r.encrypted > 0)
		out += "entries encrypted: " + std::to_string(r.encrypted) + " (header and commitment checked, payload not)\n";
	if (!r.problems.empty()) {
		out += "problems (" + std::to_string(r.problems.size()) + "):\n";
		size_t shown = 0;
		for (const ArchiveProblem &p : r.problems) {
			if (shown++ == max_problems) {
				out += "  ... and " + std::to_string(r.problems.size() - max_problems) + " more\n";
				break;
			}
			std::string where = p.block_no ? "block " + std::to_string(p.block_no) : std::string();
			if (p.entry_id)
				where += (where.empty() ? "" : ", ") + std::string("entry ") + std::to_string(p.entry_id);
			out += "  " + (where.empty() ? std::string("archive") : where) + ": " + p.name + ": " + p.detail + "\n";
		}
	}
	for (const std::string &note : r.notes)
		out += "note:              " + note + "\n";
	if (!r.against_export)
		out += "note:              checked on its own; compare with a later export (--export) to prove its "
		       "blocks are the chain's\n";
	const bool ok = r.problems.empty() && export_ok;
	out += ok ? "result:            VALID\n" : "result:            TAMPERED\n";
	std::fputs(out.c_str(), stdout);
	return ok ? kExitValid : kExitTampered;
}

int main(int argc, char **argv)
{
	try {
		if (argc > 1 && (std::strcmp(argv[1], "report") == 0 || std::strcmp(argv[1], "report-check") == 0))
			return report_command(argc, argv);
		if (argc > 1 && std::strcmp(argv[1], "archive") == 0)
			return run_archive(argc, argv);
		return run(parse_args(argc, argv));
	} catch (const UsageError &e) {
		std::fprintf(stderr, "witness-verify: %s\n\n%s", e.what(), kUsage);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "witness-verify: %s\n", e.what());
	}
	return kExitError;
}
