// The signed audit report (docs/report.md): one builder, fed the lines of a trail export
// (docs/verification.md, "Export format") as JSON text, that counts the entries of a period and
// collects the entries of pg_witness's own record tables (erasures, holds, retention runs, alerts,
// subject access, activity, permission changes) into an HTML document that prints well. The same
// builder serves witness-verify report (from an export file) and witness.audit_report() (from the
// export stream inside the server); the signatures are made like a digest's, over the document's bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digest.hpp"

namespace witness
{

// The verification the report states: witness.verify() in the server, the export's own
// verification in witness-verify.
struct ReportVerification {
	std::string status; // "valid" or "tampered"
	std::string method; // how it was verified, in words
	int64_t blocks_checked = 0;
	int64_t entries_checked = 0;
	int64_t entries_pending = 0;
	int64_t entries_erased = 0;
	int64_t entries_pruned = 0;
	std::vector<std::string> problems; // one line each, at most the first 20 are shown
	int64_t problem_count = 0;
};

// Open bounds of a period.
constexpr int64_t kReportNoBound = INT64_MIN;
constexpr int64_t kReportNoEnd = INT64_MAX;

// The line that separates the signed content from the signatures (docs/report.md).
constexpr std::string_view kReportSignatureMarker = "<!-- witness-signature -->";

class AuditReportBuilder
{
  public:
	// The entries of [from_us, until_us) by stmt_time (microseconds since 1970 UTC).
	AuditReportBuilder(int64_t from_us, int64_t until_us);
	~AuditReportBuilder();
	AuditReportBuilder(const AuditReportBuilder &) = delete;
	AuditReportBuilder &operator=(const AuditReportBuilder &) = delete;

	// One line of the export, as JSON (COPY text already decoded). Throws std::invalid_argument on a
	// line that is not a JSON object or has no known type.
	void add_line(std::string_view line);
	void set_verification(ReportVerification v);
	// The reader of the trail could see only the entries of [since_us, till_us) (a period-restricted
	// auditor; kReportNoBound / kReportNoEnd for an open side): stated in the report's header, so that
	// a signed report of what it could see never passes for the whole trail's.
	void set_restriction(std::string role, int64_t since_us, int64_t till_us);
	// In the server: activity events of the period still queued in shared memory when the report was
	// made (no background sealer to wait for): stated in the summary, so that a report missing them
	// does not read as complete.
	void set_activity_queued(int64_t events);
	// For a report from an export file: the entry lines (id, xid; ascending) its verification did not
	// check (pending, which no block seals, or placed before the verified blocks); they are counted
	// apart and left out of every figure and section (a review added invented erasures and alerts as
	// pending lines to an export, and the signed report listed them). By id and xid, not id alone: a
	// pending copy of a sealed entry's id must not take the sealed one out. In the server, pending
	// entries are rows of the database and count.
	void leave_out_unchecked(std::vector<std::pair<int64_t, uint64_t>> entries);

	// The document up to and including the line before kReportSignatureMarker: what is signed.
	// producer: what made it ("witness.audit_report()" or "witness-verify report").
	std::string content(int64_t generated_us, std::string_view producer) const;

	// Figures the tests and callers look at.
	int64_t entries_in_period() const;
	int64_t count_for_table(std::string_view qualified) const;
	int64_t count_for_actor(std::string_view actor) const;

  private:
	struct State;
	std::unique_ptr<State> s_;
};

// The signatures of a report.
struct ReportSignatures {
	std::string hmac_sha256; // 64 hex digits or empty
	std::string ed25519;     // 128 hex digits or empty
	std::string ed25519_public_key;
};

// The whole document: content, the marker line and the signature block. hmac_key: the key as
// hmac_key_from_file_text returns it, or empty; ed25519_private_pem: a PEM private key or empty.
// Throws std::invalid_argument when both are empty or a key is invalid.
std::string sign_report(std::string_view content, std::string_view hmac_key, std::string_view ed25519_private_pem);

struct ReportCheck {
	bool well_formed = false; // content, marker and a signature block exactly as sign_report writes it
	std::string problem;      // why not well formed
	SignatureState hmac = SignatureState::Absent;
	SignatureState ed25519 = SignatureState::Absent;
	bool hmac_key_given = false, ed25519_key_given = false;
	// Well formed, at least one signature checked, and the signature of every key given present and valid.
	bool ok() const;
};

// Checks a signed report with the keys given (empty: not checked). ed25519_key: public key PEM,
// private key PEM or 64 hex digits; the key printed in the report is never used.
ReportCheck check_report(std::string_view document, std::string_view hmac_key, std::string_view ed25519_key);

// Text made safe for HTML element content and attribute values.
std::string html_escape(std::string_view text);

} // namespace witness
