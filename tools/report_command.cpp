// witness-verify report / report-check (report_command.hpp).
#include "report_command.hpp"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <chrono>

#include "audit_report.hpp"
#include "copy_text.hpp"
#include "digest_check.hpp"
#include "file_text.hpp"
#include "export_verifier.hpp"
#include "line_reader.hpp"
#include "signatures.hpp"
#include "utc_time.hpp"

namespace witness::tool
{

namespace
{

const char *const kReportUsage =
    "usage: witness-verify report [--from T] [--until T] [--hmac-key FILE] [--ed25519-key FILE]\n"
    "                             [--digest FILE [--digest-hmac-key FILE] [--digest-ed25519-key FILE]] EXPORT > report.html\n"
    "       witness-verify report-check REPORT [--hmac-key FILE] [--ed25519-key FILE]\n"
    "\n"
    "report: verifies the export, then writes the signed audit report of the entries captured from --from\n"
    "(default: the beginning) until --until (default: now, excluded) as HTML to standard output. T is\n"
    "YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC). The report is signed with the\n"
    "HMAC key file and/or the Ed25519 private key PEM given (at least one). --digest also checks a signed\n"
    "digest (witness.digest()) against the export, with its own keys, as witness-verify --digest does: the\n"
    "report then states that its trail reaches at least that block, or reports it tampered.\n"
    "report-check: checks a signed report's signatures with the HMAC key file and/or the Ed25519 public\n"
    "key PEM given.\n"
    "\n"
    "exit status: 0 valid, 1 the export is tampered (the report says so) or the report does not check,\n"
    "2 usage or input error\n";

struct ReportUsageError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// A time of --from/--until as microseconds since 1970 UTC.
int64_t parse_time(const std::string &text)
{
	std::string t = text;
	if (t.size() == 10)
		t += "T00:00:00.000000Z";
	else if (t.size() == 20 && t.back() == 'Z')
		t = t.substr(0, 19) + ".000000Z";
	try {
		return parse_utc_us(t);
	} catch (const std::exception &) {
		throw ReportUsageError("cannot read the time \"" + text + "\" (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)");
	}
}

// The export file, each read of it hashed: the report reads it at least twice (its verification, then
// the figures), and every read must have seen the same bytes.
class HashedFileInput : public ExportInput
{
  public:
	explicit HashedFileInput(std::string path) : path_(std::move(path)) {}
	std::unique_ptr<ByteSource> open() override
	{
		return std::make_unique<DigestingSource>(std::make_unique<FileSource>(path_),
		                                         [this](const Hash &h) { digests_.push_back(h); });
	}
	bool reopens() const override { return true; }
	// Throws std::runtime_error when fewer than reads were complete, or two of them differed.
	void check_same(size_t reads) const
	{
		if (digests_.size() < reads)
			throw std::runtime_error(path_ + ": the export was not read to its end");
		for (const Hash &h : digests_)
			if (h != digests_.front())
				throw std::runtime_error(path_ + ": the export changed while the report read it (a file rewritten, "
				                                 "or a pipe that gave other bytes on another read)");
	}

  private:
	std::string path_;
	std::vector<Hash> digests_;
};

int64_t now_us()
{
	return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
	    .count();
}

int report(int argc, char **argv)
{
	std::string path, hmac_path, ed_path, digest_path, digest_hmac_path, digest_ed_path;
	int64_t from = kReportNoBound, until = kReportNoEnd;
	for (int i = 2; i < argc; i++) {
		const std::string a = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc)
				throw ReportUsageError(a + " needs a value");
			return argv[++i];
		};
		if (a == "--from")
			from = parse_time(value());
		else if (a == "--until")
			until = parse_time(value());
		else if (a == "--hmac-key")
			hmac_path = value();
		else if (a == "--ed25519-key")
			ed_path = value();
		else if (a == "--digest")
			digest_path = value();
		else if (a == "--digest-hmac-key")
			digest_hmac_path = value();
		else if (a == "--digest-ed25519-key")
			digest_ed_path = value();
		else if (a == "-h" || a == "--help") {
			std::fputs(kReportUsage, stdout);
			return 0;
		} else if (a.size() > 1 && a[0] == '-')
			throw ReportUsageError("unknown option " + a);
		else if (path.empty())
			path = a;
		else
			throw ReportUsageError("more than one export file given");
	}
	if (path.empty() || path == "-")
		throw ReportUsageError("give the export file (the report reads it twice: not standard input)");
	if (hmac_path.empty() && ed_path.empty())
		throw ReportUsageError("a report is signed: give --hmac-key or --ed25519-key (the private key)");
	if (digest_path.empty() && (!digest_hmac_path.empty() || !digest_ed_path.empty()))
		throw ReportUsageError("--digest-hmac-key and --digest-ed25519-key check a digest: give --digest too");
	if (until <= from)
		throw ReportUsageError("--until must be after --from");
	// A period that is not over would read as complete (as witness.audit_report() refuses it).
	if (from >= now_us())
		throw ReportUsageError("the period has not begun yet (--from is in the future)");
	if (until != kReportNoEnd && until > now_us())
		throw ReportUsageError("the period has not ended yet (--until is in the future): leave --until out for a "
		                       "report up to now, or wait until the period is over");
	const std::string hmac_key =
	    hmac_path.empty() ? "" : hmac_key_from_file_text(read_file_text(hmac_path, "HMAC key", kSmallFileBytes));
	const std::string ed_key = ed_path.empty() ? "" : read_file_text(ed_path, "Ed25519 key", kSmallFileBytes);

	// First the verification, as witness-verify alone does it.
	HashedFileInput input(path);
	VerifyOptions options;
	options.unchecked = true;
	const ExportResult t = verify_export(input, options);
	ReportVerification v;
	v.status = t.report.status;
	v.method = "witness-verify report: every leaf hash, Merkle root and block hash recomputed from the export";
	v.blocks_checked = t.report.blocks_checked;
	v.entries_checked = t.report.entries_checked;
	v.entries_pending = t.report.entries_pending;
	v.entries_erased = t.report.entries_erased;
	v.entries_pruned = t.report.entries_pruned;
	v.problem_count = static_cast<int64_t>(t.report.problems.size());
	for (const Problem &p : t.report.problems) {
		if (v.problems.size() == 20)
			break;
		v.problems.push_back("block " + std::to_string(p.block_no) + ", entry " + std::to_string(p.entry_id) + ": " +
		                     problem_name(p.kind) + ": " + p.detail);
	}
	// Only a digest tells an export whose newest blocks were removed from a whole one (a review's
	// report of a cut export read "valid").
	bool digest_failed = false;
	if (digest_path.empty()) {
		v.method += "; no signed digest given, so blocks removed from the end of the export would not be noticed";
	} else {
		const DigestAgainstExport d = check_digest_file(digest_path, digest_hmac_path, digest_ed_path, t);
		digest_failed = !d.failures.empty();
		v.method += "; checked against the signed digest of block " + std::to_string(d.block_no) +
		            (d.signature_checked ? " (signature valid)" : " (no key given for its signature)");
		for (const std::string &f : d.failures) {
			v.problem_count++;
			if (v.problems.size() < 20)
				v.problems.push_back("digest: " + f);
		}
		if (digest_failed)
			v.status = "tampered";
	}

	// Then the report's figures, from the same lines.
	AuditReportBuilder builder(from, until);
	builder.set_verification(std::move(v));
	builder.leave_out_unchecked(t.unchecked);
	LineReader lines(input.open());
	std::string_view line;
	std::string scratch;
	while (lines.next(line)) {
		std::string_view value = line;
		if (t.copy_text && decode_copy_text(line, scratch, value) == CopyRow::EndOfData)
			break;
		try {
			builder.add_line(value);
		} catch (const std::exception &e) {
			throw std::runtime_error(path + ", line " + std::to_string(lines.line_number()) + ": " + e.what());
		}
	}
	while (lines.next(line)) {
		// to the end, so that this read's bytes are hashed whole (the verification read past the marker too)
	}
	input.check_same(static_cast<size_t>(t.passes) + 1);
	const std::string doc = sign_report(builder.content(now_us(), "witness-verify report"), hmac_key, ed_key);
	if (std::fwrite(doc.data(), 1, doc.size(), stdout) != doc.size() || std::fflush(stdout) != 0)
		throw std::runtime_error("cannot write the report");
	return t.report.problems.empty() && !digest_failed ? 0 : 1;
}

int report_check(int argc, char **argv)
{
	std::string path, hmac_path, ed_path;
	for (int i = 2; i < argc; i++) {
		const std::string a = argv[i];
		auto value = [&]() -> std::string {
			if (i + 1 >= argc)
				throw ReportUsageError(a + " needs a value");
			return argv[++i];
		};
		if (a == "--hmac-key")
			hmac_path = value();
		else if (a == "--ed25519-key")
			ed_path = value();
		else if (a == "-h" || a == "--help") {
			std::fputs(kReportUsage, stdout);
			return 0;
		} else if (a.size() > 1 && a[0] == '-')
			throw ReportUsageError("unknown option " + a);
		else if (path.empty())
			path = a;
		else
			throw ReportUsageError("more than one report given");
	}
	if (path.empty())
		throw ReportUsageError("no report given");
	if (hmac_path.empty() && ed_path.empty())
		throw ReportUsageError("give --hmac-key and/or --ed25519-key to check the signatures with");
	const std::string doc = read_file_text(path, "report", size_t(1) << 30);
	const std::string hmac_key =
	    hmac_path.empty() ? "" : hmac_key_from_file_text(read_file_text(hmac_path, "HMAC key", kSmallFileBytes));
	const std::string ed_key = ed_path.empty() ? "" : read_file_text(ed_path, "Ed25519 key", kSmallFileBytes);
	const ReportCheck c = check_report(doc, hmac_key, ed_key);
	std::string out = "report:            " + path + "\n";
	if (!c.well_formed) {
		out += "  problem:         " + c.problem + "\n";
	} else {
		out += std::string("  hmac_sha256:     ") + signature_state_name(c.hmac) + "\n";
		out += std::string("  ed25519:         ") + signature_state_name(c.ed25519) + "\n";
	}
	out += c.ok() ? "result:            VALID\n" : "result:            INVALID\n";
	std::fputs(out.c_str(), stdout);
	return c.ok() ? 0 : 1;
}

} // namespace

int report_command(int argc, char **argv)
{
	try {
		return std::strcmp(argv[1], "report") == 0 ? report(argc, argv) : report_check(argc, argv);
	} catch (const ReportUsageError &e) {
		std::fprintf(stderr, "witness-verify: %s\n\n%s", e.what(), kReportUsage);
		return 2;
	}
}

} // namespace witness::tool
