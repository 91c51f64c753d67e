#include "pg/common/master_keys.hpp"

#include "pg/common/core_bridge.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/setting_file.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/access_check.hpp"

#include "core/payload_cipher.hpp"
#include "core/subject_keys.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

namespace witness::pg
{
namespace
{

// A key as loaded from the file a setting names. Objects live for the backend (new/delete, never on a
// frame that ereport can leave).
struct LoadedKey {
	char *path = nullptr; // malloc'd copy of the setting the key was read for
	MasterKey *key = nullptr;
};

LoadedKey current_key;
LoadedKey previous_key;

void forget(LoadedKey *k)
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not drop a master key", [&] { delete k->key; });
	k->key = nullptr;
	free(k->path);
	k->path = nullptr;
}

// The key for the file the setting names now, read when it differs from the one read last.
const MasterKey *loaded(LoadedKey *k, const char *setting, const char *path)
{
	if (!is_set(path)) {
		if (k->path != nullptr)
			forget(k);
		return nullptr;
	}
	if (k->path != nullptr && strcmp(k->path, path) == 0)
		return k->key;
	if (k->path != nullptr)
		forget(k);
	check_secret_file_access(setting, path);
	char *text = read_setting_file(setting, path);
	const size_t len = strlen(text);
	MasterKey *key = nullptr;
	const char *err = run_guarded([&] {
		std::string master = master_key_from_file_text(std::string_view(text, len));
		key = new MasterKey(master);
		explicit_bzero(master.data(), master.size());
	});
	explicit_bzero(text, len);
	pfree(text);
	if (err != nullptr)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("invalid %s \"%s\": %s", setting, path, err),
		                errhint("Make one with: openssl rand -hex 32 > FILE && chmod 600 FILE")));
	char *copy = strdup(path);
	if (copy == nullptr) {
		run_core(ERRCODE_INTERNAL_ERROR, "could not drop a master key", [&] { delete key; });
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	k->path = copy;
	k->key = key;
	return key;
}

} // namespace

const MasterKey *current_master_key()
{
	return loaded(&current_key, "witness.master_key_file", setting_master_key_file);
}

const MasterKey *previous_master_key()
{
	return loaded(&previous_key, "witness.previous_master_key_file", setting_previous_master_key_file);
}

const MasterKey *require_master_key(const char *what)
{
	const MasterKey *key = current_master_key();
	if (key == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("%s: no master key is configured", what),
		                errdetail("witness.master_key_file is not set in this session."),
		                errhint("As the operating-system user that runs the server: openssl rand -hex 32 > "
		                        "/etc/postgresql/witness_master.key && chmod 600 /etc/postgresql/witness_master.key; "
		                        "then set witness.master_key_file to that file in postgresql.conf and reload.")));
	return key;
}

void sealed_key_id_hex(const char *sealed, char out[17])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < kMasterKeyIdSize; i++) {
		const unsigned char b = static_cast<unsigned char>(sealed[1 + i]);
		out[2 * i] = digits[b >> 4];
		out[2 * i + 1] = digits[b & 0xf];
	}
	out[2 * kMasterKeyIdSize] = '\0';
}

const MasterKey *master_key_for_sealed(const char *sealed, size_t len)
{
	if (len < kSealedPayloadOverhead || sealed[0] != kSealedPayloadVersion)
		return nullptr;
	for (const MasterKey *key : {current_master_key(), previous_master_key()}) {
		if (key == nullptr)
			continue;
		bool same = false;
		run_core(ERRCODE_INTERNAL_ERROR, "could not read a sealed payload's key id", [&] {
			same = sealed_payload_key_id(std::string_view(sealed, len)) == key->id_hex();
		});
		if (same)
			return key;
	}
	return nullptr;
}

} // namespace witness::pg

namespace
{

// A retired master key's pseudonym key is kept sealed under the current master key, with this key
// context (not 32 bytes long, so never a pseudonym) and the retired key's id as associated data.
constexpr std::string_view kRetiredPseudonymKeyContext = "pg_witness retired pseudonym key v1";

std::string sealed_scratch; // static: no destructor is skipped by a longjmp

// sealed_scratch as a palloc'd bytea (it holds ciphertext only).
bytea *scratch_bytea()
{
	bytea *out = (bytea *)palloc(VARHDRSZ + sealed_scratch.size());
	SET_VARSIZE(out, VARHDRSZ + sealed_scratch.size());
	memcpy(VARDATA(out), sealed_scratch.data(), sealed_scratch.size());
	return out;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_master_key_id);
Datum witness_master_key_id(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_subject_pseudonyms);
Datum witness_subject_pseudonyms(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_previous_master_key_id);
Datum witness_previous_master_key_id(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_wrap_previous_pseudonym_key);
Datum witness_wrap_previous_pseudonym_key(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_rewrap_pseudonym_key);
Datum witness_rewrap_pseudonym_key(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_retired_pseudonym);
Datum witness_retired_pseudonym(PG_FUNCTION_ARGS);

// witness.master_key_id(): the current key's id, NULL when none is configured.
Datum witness_master_key_id(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	const witness::MasterKey *key = witness::pg::current_master_key();
	if (key == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(key->id_hex().c_str()));
}

// witness._previous_master_key_id(): the id of the key named by witness.previous_master_key_file, NULL
// when none is configured.
Datum witness_previous_master_key_id(PG_FUNCTION_ARGS)
{
	const witness::MasterKey *key = witness::pg::previous_master_key();
	if (key == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(key->id_hex().c_str()));
}

// witness._subject_pseudonyms(subject): the keyed pseudonyms under which encrypted entries may record
// the subject: under the current master key and, when one is configured, the previous one (a
// pseudonym is covered by its entry's leaf hash, so a rotation cannot change it). The subject is
// hashed as UTF-8, whatever the database encoding, as the capture hashes it.
Datum witness_subject_pseudonyms(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 1);
	witness::pg::require_not_null(fcinfo, 0, "subject");
	text *subject = PG_GETARG_TEXT_PP(0);
	const witness::MasterKey *keys[2] = {
	    witness::pg::require_master_key("cannot look up an encrypted subject"),
	    witness::pg::previous_master_key(),
	};
	size_t len;
	const char *s = witness::pg::subject_utf8(subject, &len);
	Datum out[2];
	int n = 0;
	for (const witness::MasterKey *key : keys) {
		if (key == nullptr || (n == 1 && key->id_hex() == keys[0]->id_hex()))
			continue;
		bytea *p = (bytea *)palloc(VARHDRSZ + 32);
		SET_VARSIZE(p, VARHDRSZ + 32);
		witness::pg::run_core(ERRCODE_INVALID_PARAMETER_VALUE, "cannot compute the subject's pseudonym", [&] {
			const std::string h = key->pseudonym(std::string_view(s, len));
			memcpy(VARDATA(p), h.data(), 32);
		});
		out[n++] = PointerGetDatum(p);
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, BYTEAOID, -1, false, TYPALIGN_INT));
}

// witness._wrap_previous_pseudonym_key(): the pseudonym key of the key named by
// witness.previous_master_key_file, sealed under the current key, so that a subject's entries captured
// under it stay findable once that key is retired.
Datum witness_wrap_previous_pseudonym_key(PG_FUNCTION_ARGS)
{
	const witness::MasterKey *current = witness::pg::require_master_key("cannot keep a retired pseudonym key");
	const witness::MasterKey *previous = witness::pg::previous_master_key();
	if (previous == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot keep a retired pseudonym key: witness.previous_master_key_file is not set")));
	witness::pg::run_core(ERRCODE_INTERNAL_ERROR, "could not seal a retired pseudonym key", [&] {
		sealed_scratch = current->seal(kRetiredPseudonymKeyContext, previous->pseudonym_key(), previous->id_hex());
	});
	PG_RETURN_BYTEA_P(scratch_bytea());
}

// The pseudonym key a retired key's row holds (32 bytes, palloc'd), opened with the configured key
// that sealed it; raises when none did.
static char *open_retired_pseudonym_key(text *key_id, bytea *wrapped)
{
	const char *bytes = VARDATA_ANY(wrapped);
	const size_t len = VARSIZE_ANY_EXHDR(wrapped);
	char *id = text_to_cstring(key_id);
	const witness::MasterKey *key = witness::pg::master_key_for_sealed(bytes, len);
	if (key == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot open the kept pseudonym key of retired master key %s", id),
		                errdetail("It is sealed under a master key that neither witness.master_key_file nor "
		                          "witness.previous_master_key_file holds.")));
	char *out = (char *)palloc(32);
	witness::pg::run_core(ERRCODE_DATA_CORRUPTED, psprintf("cannot open the kept pseudonym key of retired master key %s", id),
	                      [&] {
		                      std::string pk = key->open(kRetiredPseudonymKeyContext, std::string_view(bytes, len), id);
		                      const bool ok = pk.size() == 32;
		                      if (ok)
			                      memcpy(out, pk.data(), 32);
		                      explicit_bzero(pk.data(), pk.size());
		                      if (!ok)
			                      throw std::invalid_argument("a kept pseudonym key is not 32 bytes");
	                      });
	return out;
}

// witness._rewrap_pseudonym_key(key_id, wrapped): a kept pseudonym key sealed under the current key
// (as it is, when it already is).
Datum witness_rewrap_pseudonym_key(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 2);
	witness::pg::require_not_null(fcinfo, 0, "key_id");
	witness::pg::require_not_null(fcinfo, 1, "wrapped");
	text *key_id = PG_GETARG_TEXT_PP(0);
	bytea *wrapped = PG_GETARG_BYTEA_PP(1);
	const witness::MasterKey *current = witness::pg::require_master_key("cannot keep a retired pseudonym key");
	if (witness::pg::master_key_for_sealed(VARDATA_ANY(wrapped), VARSIZE_ANY_EXHDR(wrapped)) == current)
		PG_RETURN_BYTEA_P(wrapped);
	char *pk = open_retired_pseudonym_key(key_id, wrapped);
	char *id = text_to_cstring(key_id);
	witness::pg::run_core(ERRCODE_INTERNAL_ERROR, "could not seal a retired pseudonym key", [&] {
		sealed_scratch = current->seal(kRetiredPseudonymKeyContext, std::string_view(pk, 32), id);
	});
	explicit_bzero(pk, 32);
	PG_RETURN_BYTEA_P(scratch_bytea());
}

// witness._retired_pseudonym(subject, key_id, wrapped): the subject's pseudonym under a retired
// master key, from its kept pseudonym key (the subject hashed as UTF-8, as capture hashes it).
Datum witness_retired_pseudonym(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 3);
	witness::pg::require_not_null(fcinfo, 0, "subject");
	witness::pg::require_not_null(fcinfo, 1, "key_id");
	witness::pg::require_not_null(fcinfo, 2, "wrapped");
	text *subject = PG_GETARG_TEXT_PP(0);
	char *pk = open_retired_pseudonym_key(PG_GETARG_TEXT_PP(1), PG_GETARG_BYTEA_PP(2));
	size_t len;
	const char *s = witness::pg::subject_utf8(subject, &len);
	bytea *out = (bytea *)palloc(VARHDRSZ + 32);
	SET_VARSIZE(out, VARHDRSZ + 32);
	witness::pg::run_core(ERRCODE_INVALID_PARAMETER_VALUE, "cannot compute the subject's pseudonym", [&] {
		const std::string h = witness::subject_pseudonym(std::string_view(pk, 32), std::string_view(s, len));
		memcpy(VARDATA(out), h.data(), 32);
	});
	explicit_bzero(pk, 32);
	PG_RETURN_BYTEA_P(out);
}
}
