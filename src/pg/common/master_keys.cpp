#include "pg/common/master_keys.hpp"

#include "pg/common/cpp_guard.hpp"
#include "pg/common/setting_file.hpp"
#include "pg/common/settings.hpp"

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

extern "C" {
PG_FUNCTION_INFO_V1(witness_master_key_id);
Datum witness_master_key_id(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_subject_pseudonyms);
Datum witness_subject_pseudonyms(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_pseudonym_key);
Datum witness_pseudonym_key(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_previous_master_key_id);
Datum witness_previous_master_key_id(PG_FUNCTION_ARGS);

// witness._pseudonym_key(pseudonym): its first 8 bytes as a bigint, the key of witness.entry_pseudonym.
// A pseudonym is an HMAC output, as uniform as a hash; an int8 key is smaller and compares faster
// than a bytea one.
Datum witness_pseudonym_key(PG_FUNCTION_ARGS)
{
	bytea *p = PG_GETARG_BYTEA_PP(0);
	const auto *b = (const unsigned char *)VARDATA_ANY(p);
	const int len = (int)VARSIZE_ANY_EXHDR(p);
	uint64 key = 0;
	for (int i = 0; i < 8; i++)
		key = (key << 8) | (i < len ? b[i] : 0);
	PG_RETURN_INT64((int64)key);
}

// witness.master_key_id(): the current key's id, NULL when none is configured.
Datum witness_master_key_id(PG_FUNCTION_ARGS)
{
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
	text *subject = PG_GETARG_TEXT_PP(0);
	const witness::MasterKey *keys[2] = {
	    witness::pg::require_master_key("cannot look up an encrypted subject"),
	    witness::pg::previous_master_key(),
	};
	const char *s = pg_server_to_any(VARDATA_ANY(subject), (int)VARSIZE_ANY_EXHDR(subject), PG_UTF8);
	const size_t len = s == VARDATA_ANY(subject) ? VARSIZE_ANY_EXHDR(subject) : strlen(s);
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
}
