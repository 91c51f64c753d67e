// The settings (GUCs) pg_witness defines, and the checks that keep a value the capture would refuse
// from ever being set: a bad witness.context would otherwise make every tracked change fail.
#include "pg/common/pg_includes.hpp"

#include "core/canonical_json.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/settings.hpp"
#include "pg/seal/sealer_worker.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace witness::pg
{

char *setting_actor = nullptr;
char *setting_reason = nullptr;
char *setting_context = nullptr;
char *setting_hmac_key_file = nullptr;
char *setting_ed25519_key_file = nullptr;
char *setting_master_key_file = nullptr;
char *setting_previous_master_key_file = nullptr;
char *setting_digest_file = nullptr;
int setting_digest_interval_ms = 60000;
int setting_seal_interval_ms = 1000;
int setting_max_sealers = 2;
int setting_verify_interval_ms = 3600 * 1000;
int setting_full_verify_interval_s = 24 * 3600;
int setting_activity_queue_size = 4096;
int setting_activity_unclaimed_ms = 10 * 60 * 1000;
int setting_proof_chunk_size = 1024;
char *setting_retention_time = nullptr;
char *setting_archive_directory = nullptr;
int setting_record_activity = RecordActivityAll;

namespace
{

// A chunk is a node of the block's Merkle tree only when its size is a power of two.
bool check_proof_chunk_size(int *value, void **extra, GucSource source)
{
	if (*value == 0 || (*value >= 2 && (*value & (*value - 1)) == 0))
		return true;
	GUC_check_errdetail("witness.proof_chunk_size must be 0 or a power of two.");
	return false;
}

const char *const kContextExample =
    "For example: SET LOCAL witness.context = '{\"session\": \"s-42\", \"ip\": \"203.0.113.7\"}'.";

// Refuses a value longer than max bytes (checks must not raise ERROR: they report through GUC_check_*).
bool within_limit(const char *name, size_t len, int max)
{
	if (len <= (size_t)max)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("%s is too long", name);
	GUC_check_errdetail("The value has %zu bytes; at most %d are allowed.", len, max);
	GUC_check_errhint("Every entry the transaction writes repeats it: keep long texts elsewhere and put a reference "
	                  "(a ticket number, a URL) in %s.",
	                  name);
	return false;
}

// witness.retention_time: empty, or HH:MM with 00 <= HH <= 23 and 00 <= MM <= 59 (UTC).
bool check_retention_time(char **newval, void **, GucSource)
{
	const char *v = *newval;
	if (v == nullptr || v[0] == '\0')
		return true;
	auto digit = [](char c) { return c >= '0' && c <= '9'; };
	if (strlen(v) == 5 && digit(v[0]) && digit(v[1]) && v[2] == ':' && digit(v[3]) && digit(v[4]) &&
	    (v[0] - '0') * 10 + (v[1] - '0') < 24 && v[3] < '6')
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("witness.retention_time is a time of day in UTC as HH:MM, for example '03:00', or empty for "
	                    "no scheduled retention.");
	return false;
}

// witness.archive_directory: empty, or an absolute path (the server writes there, whatever its working
// directory).
bool check_archive_directory(char **newval, void **, GucSource)
{
	const char *v = *newval;
	if (v == nullptr || v[0] == '\0' || is_absolute_path(v))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("witness.archive_directory must be an absolute path, or empty.");
	return false;
}

// Whether p starts a character that breaks or reorders a line: a C0 control or DEL; in UTF-8 also
// NEL (U+0085), the line and paragraph separators (U+2028, U+2029) and the bidirectional embeddings,
// overrides and isolates (U+202A-U+202E, U+2066-U+2069), which many viewers show as a new line or
// use to make text read otherwise than it is stored.
bool breaks_a_line(const unsigned char *p, bool utf8)
{
	if (*p < 0x20 || *p == 0x7f)
		return true;
	if (!utf8)
		return false;
	if (p[0] == 0xc2 && p[1] == 0x85)
		return true;
	if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0xa8 && p[2] <= 0xae)
		return true;
	return p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9;
}

// witness.actor names who acts, on one line: the one-line text of an entry (witness.entry_text())
// shows it, and a line break in it would forge a line of its own there.
bool check_actor(char **newval, void **, GucSource)
{
	if (*newval == nullptr)
		return true;
	const bool utf8 = GetDatabaseEncoding() == PG_UTF8;
	for (const unsigned char *p = (const unsigned char *)*newval; *p; p++) {
		if (breaks_a_line(p, utf8)) {
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("witness.actor must not contain control characters (a line break, a tab, a line "
			                    "separator, a bidirectional override, ...).");
			return false;
		}
	}
	return within_limit("witness.actor", strlen(*newval), kMaxActorBytes);
}

bool check_reason(char **newval, void **, GucSource)
{
	return *newval == nullptr || within_limit("witness.reason", strlen(*newval), kMaxReasonBytes);
}

// Reports a refused witness.context; detail is a core message (lower case, no period) or nullptr.
bool refuse_context(const char *message, const char *detail, const char *hint)
{
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("%s", message);
	if (detail != nullptr)
		GUC_check_errdetail("%c%s.", pg_toupper((unsigned char)detail[0]), detail + 1);
	GUC_check_errhint("%s", hint);
	return false;
}

// Refuses at SET time every witness.context the capture would refuse, so a bad value never reaches a
// trigger: not a JSON object (a bare JSON null would also be indistinguishable from no context in
// exports), not what jsonb takes (a number beyond numeric's range made every tracked change fail with
// 22003), or too long as set or as stored.
bool check_context(char **newval, void **, GucSource)
{
	if (*newval == nullptr || **newval == '\0')
		return true;
	const size_t len = strlen(*newval);
	if (!within_limit("witness.context", len, kMaxContextBytes))
		return false;
	const char *p = *newval;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	// Escapes beyond ASCII need a UTF8 database; before a database is chosen, the value is not refused
	// for them (a backend checks it again in its database). In a database of another encoding the value
	// is text of that encoding, not UTF-8.
	JsonbInputRules rules;
	rules.unicode_escapes_beyond_ascii = !OidIsValid(MyDatabaseId) || GetDatabaseEncoding() == PG_UTF8;
	rules.strings_are_utf8 = !OidIsValid(MyDatabaseId) || GetDatabaseEncoding() == PG_UTF8;
	size_t stored = 0;
	const char *err = run_guarded([&] { stored = check_jsonb_input(*newval, rules); });
	const bool is_json = err == nullptr || json_is_valid(*newval);
	if (*p != '{' || !is_json)
		return refuse_context("witness.context must be a JSON object", is_json ? nullptr : err, kContextExample);
	if (err != nullptr)
		return refuse_context("witness.context cannot be stored through jsonb", err, "Write such values as strings.");
	if (stored > (size_t)kMaxContextBytes) {
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("witness.context is too long as stored");
		GUC_check_errdetail("Its numbers print in full, which takes up to %zu bytes; at most %d are allowed.", stored,
		                    kMaxContextBytes);
		GUC_check_errhint("Write large numbers as strings.");
		return false;
	}
	return true;
}

} // namespace

void define_settings()
{
	DefineCustomStringVariable("witness.actor", "Application-level user recorded with every captured change.",
	                           "Set it per transaction with SET LOCAL; it works under transaction-mode poolers.",
	                           &setting_actor, "", PGC_USERSET, 0, check_actor, nullptr, nullptr);
	DefineCustomStringVariable("witness.reason", "Reason recorded with every captured change.",
	                           "At most 1024 bytes; set it per transaction with SET LOCAL.",
	                           &setting_reason, "", PGC_USERSET, 0, check_reason, nullptr, nullptr);
	DefineCustomStringVariable("witness.context", "JSON context recorded with every captured change.",
	                           "For example session id, authentication method, client address behind a proxy.",
	                           &setting_context, "", PGC_USERSET, 0, check_context, nullptr, nullptr);
	DefineCustomIntVariable("witness.seal_interval", "How often the background sealer seals new entries.",
	                        "0 turns background sealing off. Needs pg_witness in shared_preload_libraries.",
	                        &setting_seal_interval_ms, 1000, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
	                        nullptr);
	DefineCustomIntVariable("witness.max_sealers", "How many background sealer workers may run at once.",
	                        "Each seals one database and exits; the databases take turns, the one whose entries "
	                        "have waited longest first. Takes background worker slots (max_worker_processes).",
	                        &setting_max_sealers, 2, 1, kMaxSealersLimit, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("witness.verify_interval", "How often the background sealer verifies the trail.",
	                        "From the newest checkpoint on, the whole trail every witness.full_verify_interval. 0 "
	                        "turns scheduled verification off. Runs in the sealer worker after its seal pass, so "
	                        "it needs witness.seal_interval > 0 and pg_witness in shared_preload_libraries.",
	                        &setting_verify_interval_ms, 3600 * 1000, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	                        nullptr, nullptr);
	DefineCustomIntVariable("witness.full_verify_interval",
	                        "How often the background sealer's scheduled verification checks the whole trail.",
	                        "In between, it checks only the blocks after the newest checkpoint. 0 makes every "
	                        "scheduled verification a full one, -1 none (but the first, without a checkpoint).",
	                        &setting_full_verify_interval_s, 24 * 3600, -1, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, nullptr,
	                        nullptr, nullptr);
	DefineCustomStringVariable("witness.retention_time",
	                           "Time of day (HH:MM, UTC) at which the background sealer applies retention.",
	                           "Empty turns scheduled retention off. Each database's sealer runs "
	                           "witness.apply_retention() with its first seal pass after that time unless a run "
	                           "happened since; it needs witness.seal_interval > 0.",
	                           &setting_retention_time, "", PGC_SIGHUP, 0, check_retention_time, nullptr, nullptr);
	// The server writes archive files there: only superusers may point it elsewhere (docs/retention.md).
	DefineCustomStringVariable("witness.archive_directory",
	                           "Directory into which witness.apply_retention() writes the archive files of rules "
	                           "that archive.",
	                           "An absolute path the server can write. While a rule archives and this is empty, "
	                           "witness.apply_retention() refuses to run.",
	                           &setting_archive_directory, "", PGC_SUSET, 0, check_archive_directory, nullptr,
	                           nullptr);
	// Keys live in files outside the database, never in tables: only superusers may name or see them.
	DefineCustomStringVariable("witness.hmac_key_file", "File holding the HMAC-SHA256 key that signs digests.",
	                           "Make one with: openssl rand -hex 32 > FILE", &setting_hmac_key_file, "", PGC_SUSET,
	                           GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.ed25519_key_file",
	                           "File holding the Ed25519 private key (PEM) that signs digests.",
	                           "Make one with: openssl genpkey -algorithm ed25519 -out FILE", &setting_ed25519_key_file,
	                           "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.master_key_file",
	                           "File holding the master key from which the keys of encrypted payloads derive.",
	                           "Make one with: openssl rand -hex 32 > FILE && chmod 600 FILE",
	                           &setting_master_key_file, "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.previous_master_key_file",
	                           "File holding the master key being rotated away from.",
	                           "Set it to the old key's file, and witness.master_key_file to the new one, while "
	                           "witness.rotate_master_key() re-encrypts payloads; both keys can then be read.",
	                           &setting_previous_master_key_file, "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr,
	                           nullptr);
	DefineCustomStringVariable("witness.digest_file",
	                           "File outside the data directory to which the sealer appends signed digests.",
	                           "One JSON document per line; witness.verify() reads its last line.",
	                           &setting_digest_file, "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("witness.digest_interval", "How often the sealer appends a digest to witness.digest_file.",
	                        "A digest is written after a seal when this much time has passed since the last one.",
	                        &setting_digest_interval_ms, 60000, 0, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	                        nullptr, nullptr);
	DefineCustomIntVariable("witness.activity_queue_size",
	                        "How many activity events (reads, logins, refusals, calls) shared memory holds until "
	                        "the sealer writes them into witness.activity.",
	                        "Each takes about 2 kB. A statement that must be recorded waits for a free slot, and is "
	                        "refused when none frees within 10 s.",
	                        &setting_activity_queue_size, 4096, 64, 1024 * 1024, PGC_POSTMASTER, 0, nullptr, nullptr,
	                        nullptr);
	DefineCustomIntVariable("witness.activity_unclaimed_timeout",
	                        "How long a login, refusal, call or trail read of a database where no sealer takes it "
	                        "stays in the activity queue before it is dropped and counted as lost.",
	                        "Reads of tables tracked with capture_reads, capture control and catalog writes are "
	                        "never dropped while their database has pg_witness.",
	                        &setting_activity_unclaimed_ms, 10 * 60 * 1000, 1000, INT_MAX, PGC_SIGHUP, GUC_UNIT_MS,
	                        nullptr, nullptr, nullptr);
	DefineCustomIntVariable("witness.proof_chunk_size",
	                        "How many entries of a block the sealer groups under one stored subtree root, so that "
	                        "witness.prove() reads one group instead of the whole block.",
	                        "A power of two; blocks with at most this many entries store none. 0 stores none.",
	                        &setting_proof_chunk_size, 1024, 0, 1 << 20, PGC_SUSET, 0, check_proof_chunk_size,
	                        nullptr, nullptr);
	static const struct config_enum_entry record_activity_options[] = {
	    {"all", RecordActivityAll, false}, {"reads", RecordActivityReads, false}, {nullptr, 0, false}};
	DefineCustomEnumVariable("witness.record_activity",
	                         "What pg_witness records as activity: all (reads of tables tracked with capture_reads, "
	                         "reads of the trail, logins, refused attempts, calls of its functions) or reads (only "
	                         "the first).",
	                         "Changing it with ALTER SYSTEM is recorded.", &setting_record_activity, RecordActivityAll,
	                         record_activity_options, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
	MarkGUCPrefixReserved("witness");
}

} // namespace witness::pg
