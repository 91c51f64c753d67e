// Recomputes an entry's canonical bytes and leaf hash from its stored row, as verification does.
#include "pg/common/pg_includes.hpp"

#include "core/sha256.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/master_keys.hpp"

#include "core/payload_cipher.hpp"
#include "pg/verify/entry_hash.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/access_check.hpp"

using namespace witness;
using namespace witness::pg;

namespace
{

struct StoredEntry {
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
};

TextField stored_text(const StoredEntry &e, int col)
{
	TextField f;
	if (!e.nulls[col - 1]) {
		text *t = DatumGetTextPP(e.values[col - 1]);
		f.present = true;
		f.ptr = VARDATA_ANY(t);
		f.len = VARSIZE_ANY_EXHDR(t);
	}
	return f;
}

// A 32-byte bytea column into *out; false (and *out zeroed) when it is NULL or not 32 bytes long.
bool stored_hash(const StoredEntry &e, int col, witness::Hash *out)
{
	out->fill(0);
	if (e.nulls[col - 1])
		return false;
	bytea *b = DatumGetByteaPP(e.values[col - 1]);
	if (VARSIZE_ANY_EXHDR(b) != out->size())
		return false;
	memcpy(out->data(), VARDATA_ANY(b), out->size());
	return true;
}

JsonDoc stored_json(const StoredEntry &e, int col)
{
	JsonDoc d;
	if (!e.nulls[col - 1]) {
		// The stored text (in UTF-8, see core_bridge.cpp) is what the leaf hash covers; altered text
		// fails to reproduce the hash.
		text *t = DatumGetTextPP(e.values[col - 1]);
		d.present = true;
		d.canonical = VARDATA_ANY(t);
		d.canonical_len = VARSIZE_ANY_EXHDR(t);
	}
	return d;
}

// Reads the composite witness.entry argument into an EntryView over palloc'd data. Raises ERROR when
// the argument is NULL or is not a complete entry.
void read_entry(FunctionCallInfo fcinfo, EntryView *v)
{
	require_nargs(fcinfo, 1);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	entry_row_from_arg(fcinfo, 0, values, nulls);
	entry_view_from_row(values, nulls, v);
}

// The leaf a block covers for the witness.entry argument of a one-argument function, read as stored.
SealedLeaf sealed_leaf_of_arg(FunctionCallInfo fcinfo)
{
	require_nargs(fcinfo, 1);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	entry_row_as_stored(fcinfo, 0, values, nulls);
	return row_sealed_leaf(values, nulls);
}

// A format-1 row: it stores all 32 bytes of its leaf hash, never a prefix (core/stored_leaf.hpp).
bool format_one(const bool *nulls, const Datum *values)
{
	return !nulls[EntryFormat - 1] && DatumGetInt16(values[EntryFormat - 1]) == kEntryFormatVersion;
}

} // namespace

namespace witness::pg
{

void entry_row_from_arg(FunctionCallInfo fcinfo, int arg, Datum *values, bool *nulls)
{
	entry_row_as_stored(fcinfo, arg, values, nulls);
	const char *missing = entry_null_required_column(nulls);
	if (missing != nullptr)
		ereport(ERROR,
		        (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("entry column \"%s\" must not be null", missing)));
}

void entry_row_as_stored(FunctionCallInfo fcinfo, int arg, Datum *values, bool *nulls)
{
	require_not_null(fcinfo, arg, "entry");
	HeapTupleHeader row = PG_GETARG_HEAPTUPLEHEADER(arg);
	TupleDesc desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(row), HeapTupleHeaderGetTypMod(row));
	HeapTupleData tuple;
	tuple.t_len = HeapTupleHeaderGetDatumLength(row);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = row;
	check_entry_layout(desc);
	memset(nulls, true, sizeof(bool) * EntryNatts); // a 0.1 entry has no format-2 columns
	heap_deform_tuple(&tuple, desc, values, nulls);
	ReleaseTupleDesc(desc);
}

void entry_view_from_row(const Datum *values, const bool *nulls, EntryView *v)
{
	StoredEntry e;
	memcpy(e.values, values, sizeof(e.values));
	memcpy(e.nulls, nulls, sizeof(e.nulls));
	int16 format = DatumGetInt16(e.values[EntryFormat - 1]);
	if (format != kEntryFormatVersion && format != kEntryFormatCommitted)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("entry %lld uses canonical format %d, which this pg_witness does not know",
		                       (long long)DatumGetInt64(e.values[EntryId - 1]), format)));
	v->id = DatumGetInt64(e.values[EntryId - 1]);
	v->xid = DatumGetInt64(e.values[EntryXid - 1]);
	v->stmt_time_us = unix_us_as_hashed(DatumGetTimestampTz(e.values[EntryStmtTime - 1]));
	v->op = DatumGetChar(e.values[EntryOp - 1]);
	v->schema_name = stored_text(e, EntrySchemaName);
	v->table_name = stored_text(e, EntryTableName);
	v->tags = DatumGetInt16(e.values[EntryTags - 1]);
	v->row_key = stored_json(e, EntryRowKey);
	v->subject = stored_text(e, EntrySubject);
	v->old_values = stored_json(e, EntryOldValues);
	v->new_values = stored_json(e, EntryNewValues);
	v->session_user = stored_text(e, EntrySessionUser);
	v->current_user = stored_text(e, EntryCurrentUser);
	v->application_name = stored_text(e, EntryApplicationName);
	if (!e.nulls[EntryClientAddr - 1]) {
		char *addr = DatumGetCString(DirectFunctionCall1(inet_out, e.values[EntryClientAddr - 1]));
		v->client_addr.present = true;
		v->client_addr.ptr = addr;
		v->client_addr.len = strlen(addr);
	}
	v->client_port.present = !e.nulls[EntryClientPort - 1];
	v->client_port.value = v->client_port.present ? DatumGetInt32(e.values[EntryClientPort - 1]) : 0;
	v->backend_pid = DatumGetInt32(e.values[EntryBackendPid - 1]);
	v->actor = stored_text(e, EntryActor);
	v->reason = stored_text(e, EntryReason);
	v->context = stored_json(e, EntryContext);
	v->format = (uint8_t)format;
	if (format == kEntryFormatCommitted) {
		v->has_pseudonym = stored_hash(e, EntrySubjectPseudonym, &v->pseudonym);
		// A pseudonym of another length is no absent one: read as NULL, one set on an entry sealed
		// without any verified (an attack review). It is hashed as present, as the SHA-256 of a label and
		// all its bytes, which no 32-byte pseudonym an entry was sealed with can equal (a near-copy of its
		// first 32 bytes could be made to: the review of the fix).
		if (!v->has_pseudonym && !e.nulls[EntrySubjectPseudonym - 1]) {
			bytea *p = DatumGetByteaPP(e.values[EntrySubjectPseudonym - 1]);
			static const char kLabel[] = "pg_witness: pseudonym of a wrong length:";
			const size_t len = sizeof(kLabel) - 1 + VARSIZE_ANY_EXHDR(p);
			char *labelled = (char *)palloc(len);
			memcpy(labelled, kLabel, sizeof(kLabel) - 1);
			memcpy(labelled + sizeof(kLabel) - 1, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p));
			run_core(ERRCODE_INTERNAL_ERROR, "could not hash a stored pseudonym",
			         [&] { v->pseudonym = witness::sha256(std::string_view(labelled, len)); });
			v->has_pseudonym = true;
		}
		// A salt of another length cannot reproduce the commitment: the payload then fails its check.
		if (!e.nulls[EntrySalt - 1]) {
			bytea *salt = DatumGetByteaPP(e.values[EntrySalt - 1]);
			auto *copy = (uint8_t *)palloc0(kCommitmentSaltSize);
			memcpy(copy, VARDATA_ANY(salt), Min(VARSIZE_ANY_EXHDR(salt), kCommitmentSaltSize));
			v->salt = copy;
			if (VARSIZE_ANY_EXHDR(salt) != kCommitmentSaltSize)
				copy[0] ^= 0xff;
		}
		// The commitment: in full, or (a payload in clear) its first bytes, completed from salt and
		// payload. A missing or malformed one is hashed as zeros: the leaf then fails to reproduce.
		v->commitment.fill(0);
		v->commitment_source = CommitmentSource::Stored;
		if (!e.nulls[EntryCommitment - 1]) {
			bytea *c = DatumGetByteaPP(e.values[EntryCommitment - 1]);
			const size_t len = VARSIZE_ANY_EXHDR(c);
			if (len == sizeof(v->commitment) || e.nulls[EntrySealedPayload - 1])
				restore_stored_commitment(v, (const uint8_t *)VARDATA_ANY(c), len);
		}
	}
}

bool row_leaf_hash(const Datum *values, const bool *nulls, uint8_t *recomputed, EntryView *view)
{
	memset(recomputed, 0xff, 32);
	const int16 format = nulls[EntryFormat - 1] ? 0 : DatumGetInt16(values[EntryFormat - 1]);
	if ((format != kEntryFormatVersion && format != kEntryFormatCommitted) || entry_null_required_column(nulls) != nullptr)
		return false;
	EntryView local;
	EntryView *v = view != nullptr ? view : &local;
	entry_view_from_row(values, nulls, v);
	if (!leaf_checkable(*v) || !try_leaf_hash(*v, recomputed)) {
		memset(recomputed, 0xff, 32);
		return false;
	}
	return true;
}

SealedLeaf row_sealed_leaf(const Datum *values, const bool *nulls, Hash *recomputed_out, EntryView *view)
{
	Hash local;
	Hash &recomputed = recomputed_out != nullptr ? *recomputed_out : local;
	const bool hashed = row_leaf_hash(values, nulls, recomputed.data(), view);
	const uint8_t *stored = nullptr;
	size_t len = 0;
	if (!nulls[EntryLeafHash - 1]) {
		bytea *b = DatumGetByteaPP(values[EntryLeafHash - 1]);
		stored = (const uint8_t *)VARDATA_ANY(b);
		len = VARSIZE_ANY_EXHDR(b);
	}
	return sealed_leaf(stored, len, hashed ? &recomputed : nullptr, !format_one(nulls, values));
}

StoredPayload open_stored_payload(const Datum *values, const bool *nulls, EntryView *v, const char **why)
{
	*why = nullptr;
	if (v->format != kEntryFormatCommitted || nulls[EntrySealedPayload - 1])
		return StoredPayload::Clear;
	// A sealed entry holds its payload in the sealed bytes only: anything in the clear columns was put
	// there afterwards, and would be shown by witness.log and matched by lookups.
	for (EntryColumn c : {EntryRowKey, EntrySubject, EntryOldValues, EntryNewValues, EntrySalt})
		if (!nulls[c - 1]) {
			*why = "The entry holds payload columns in clear beside its sealed payload.";
			return StoredPayload::Unreadable;
		}
	bytea *sealed = DatumGetByteaPP(values[EntrySealedPayload - 1]);
	const char *bytes = VARDATA_ANY(sealed);
	const size_t len = VARSIZE_ANY_EXHDR(sealed);
	if (len < kSealedPayloadOverhead || bytes[0] != kSealedPayloadVersion) {
		*why = "The sealed payload is not in the sealed format (too short, or of an unknown version).";
		return StoredPayload::Unreadable;
	}
	const MasterKey *key = master_key_for_sealed(bytes, len);
	if (key == nullptr) {
		if (current_master_key() == nullptr)
			return StoredPayload::NoKey;
		// The key to configure, named in the message (or an altered header).
		char id[2 * kMasterKeyIdSize + 1];
		sealed_key_id_hex(bytes, id);
		*why = psprintf("It is sealed under master key %s, which neither witness.master_key_file nor "
		                "witness.previous_master_key_file holds, or its header was altered.",
		                id);
		return StoredPayload::ForeignKey;
	}
	const char *err = open_payload(*key, *v, bytes, len, v);
	if (err != nullptr)
		*why = psprintf("The sealed payload does not open: %s.", err);
	return err == nullptr ? StoredPayload::Opened : StoredPayload::Unreadable;
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_entry_leaf_hash);
PG_FUNCTION_INFO_V1(witness_entry_canonical_bytes);
PG_FUNCTION_INFO_V1(witness_invalidate);
Datum witness_entry_leaf_hash(PG_FUNCTION_ARGS);
Datum witness_entry_canonical_bytes(PG_FUNCTION_ARGS);
Datum witness_invalidate(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_entry_payload_bytes);
Datum witness_entry_payload_bytes(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_sealed_leaf);
Datum witness_sealed_leaf(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_matching_leaf);
Datum witness_matching_leaf(PG_FUNCTION_ARGS);

// witness._sealed_leaf(e): the leaf hash e's block covers for it (core/stored_leaf.hpp). Never NULL
// and never an error for a row that cannot be hashed: proofs, chunks and retention list every member
// of a block.
Datum witness_sealed_leaf(PG_FUNCTION_ARGS)
{
	check_access();
	const SealedLeaf s = sealed_leaf_of_arg(fcinfo);
	PG_RETURN_BYTEA_P(hash_bytea(s.leaf.data()));
}

// witness._matching_leaf(e): that leaf when e's content reproduces what e stores of it, else NULL.
Datum witness_matching_leaf(PG_FUNCTION_ARGS)
{
	check_access();
	const SealedLeaf s = sealed_leaf_of_arg(fcinfo);
	if (!s.matches)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(hash_bytea(s.leaf.data()));
}

// Format 2: the payload bytes the commitment covers (docs/hashing.md); NULL for format 1, whose
// payload is in the canonical bytes, and for an erased payload.
Datum witness_entry_payload_bytes(PG_FUNCTION_ARGS)
{
	check_access();
	require_nargs(fcinfo, 1);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	entry_row_from_arg(fcinfo, 0, values, nulls);
	EntryView v;
	entry_view_from_row(values, nulls, &v);
	const char *why;
	switch (open_stored_payload(values, nulls, &v, &why)) {
	case StoredPayload::NoKey:
		require_master_key(psprintf("cannot read the encrypted payload of entry %lld", (long long)v.id));
		break;
	case StoredPayload::ForeignKey:
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot read the encrypted payload of entry %lld", (long long)v.id), errdetail("%s", why),
		                errhint("Set witness.previous_master_key_file to that key's file.")));
	case StoredPayload::Unreadable:
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("cannot open the encrypted payload of entry %lld", (long long)v.id), errdetail("%s", why)));
	default:
		break;
	}
	if (v.format != witness::kEntryFormatCommitted || v.salt == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(payload_bytes(v));
}

// NULL, for these two, where the commitment cannot be restored: an entry in clear stores only its first
// bytes, and its payload no longer reproduces them.
Datum witness_entry_leaf_hash(PG_FUNCTION_ARGS)
{
	check_access();
	EntryView v;
	read_entry(fcinfo, &v);
	if (v.commitment_source == CommitmentSource::Lost)
		PG_RETURN_NULL();
	uint8_t hash[32];
	leaf_hash(v, hash);
	PG_RETURN_BYTEA_P(hash_bytea(hash));
}

Datum witness_entry_canonical_bytes(PG_FUNCTION_ARGS)
{
	check_access();
	EntryView v;
	read_entry(fcinfo, &v);
	if (v.commitment_source == CommitmentSource::Lost)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(canonical_bytes(v));
}

// Sends a relcache invalidation for a table and its partitions, so every backend reloads its capture plan.
Datum witness_invalidate(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 1);
	require_not_null(fcinfo, 0, "target");
	Oid relid = PG_GETARG_OID(0);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
	List *rels = find_all_inheritors(relid, NoLock, nullptr);
	ListCell *lc;
	foreach (lc, rels)
		CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
	PG_RETURN_VOID();
}
}
