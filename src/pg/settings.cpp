#include "pg/pg_includes.hpp"

#include "core/canonical_json.hpp"
#include "pg/settings.hpp"
#include "pg/worker.hpp"

namespace witness::pg
{

char *setting_actor = nullptr;
char *setting_reason = nullptr;
char *setting_context = nullptr;
char *setting_hmac_key_file = nullptr;
char *setting_ed25519_key_file = nullptr;
char *setting_digest_file = nullptr;
int setting_digest_interval_ms = 60000;

namespace
{

// Rejects witness.context values that are not a JSON object at SET time, so a bad value never reaches
// a trigger (a bare JSON null would also be indistinguishable from no context in exports).
bool check_context(char **newval, void **, GucSource)
{
	if (*newval == nullptr || **newval == '\0')
		return true;
	const char *p = *newval;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '{' && json_is_valid(*newval))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("witness.context must be a JSON object");
	GUC_check_errhint("For example: SET LOCAL witness.context = '{\"session\": \"s-42\", \"ip\": \"203.0.113.7\"}'.");
	return false;
}

} // namespace

void define_settings()
{
	DefineCustomStringVariable("witness.actor", "Application-level user recorded with every captured change.",
	                           "Set it per transaction with SET LOCAL; it works under transaction-mode poolers.",
	                           &setting_actor, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.reason", "Reason recorded with every captured change.", nullptr,
	                           &setting_reason, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.context", "JSON context recorded with every captured change.",
	                           "For example session id, authentication method, client address behind a proxy.",
	                           &setting_context, "", PGC_USERSET, 0, check_context, nullptr, nullptr);
	DefineCustomIntVariable("witness.seal_interval", "How often the background sealer seals new entries.",
	                        "0 turns background sealing off. Needs pg_witness in shared_preload_libraries.",
	                        &seal_interval_ms, 1000, 0, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr,
	                        nullptr);
	// Keys live in files outside the database, never in tables: only superusers may name or see them.
	DefineCustomStringVariable("witness.hmac_key_file", "File holding the HMAC-SHA256 key that signs digests.",
	                           "Make one with: openssl rand -hex 32 > FILE", &setting_hmac_key_file, "", PGC_SUSET,
	                           GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.ed25519_key_file",
	                           "File holding the Ed25519 private key (PEM) that signs digests.",
	                           "Make one with: openssl genpkey -algorithm ed25519 -out FILE", &setting_ed25519_key_file,
	                           "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomStringVariable("witness.digest_file",
	                           "File outside the data directory to which the sealer appends signed digests.",
	                           "One JSON document per line; witness.verify() reads its last line.",
	                           &setting_digest_file, "", PGC_SUSET, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
	DefineCustomIntVariable("witness.digest_interval", "How often the sealer appends a digest to witness.digest_file.",
	                        "A digest is written after a seal when this much time has passed since the last one.",
	                        &setting_digest_interval_ms, 60000, 0, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS, nullptr,
	                        nullptr, nullptr);
	MarkGUCPrefixReserved("witness");
}

} // namespace witness::pg
