#include "pg/capture/entry_writer.hpp"

#include "pg/capture/attribution.hpp"
#include "pg/capture/entry_ids.hpp"
#include "pg/capture/held_entries.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/master_keys.hpp"
#include "pg/common/subject_lookup_key.hpp"
#include "pg/capture/entry_store.hpp"
#include "pg/capture/capture_plan.hpp"
#include "pg/common/trail_catalog.hpp"
#include "core/stored_leaf.hpp"

extern "C" {
#include "utils/xid8.h"
}

namespace witness::pg
{
namespace
{

TextField text_field(const char *s)
{
	TextField f;
	if (s != nullptr) {
		f.present = true;
		f.ptr = s;
		f.len = strlen(s);
	}
	return f;
}

Datum text_datum(const TextField &f)
{
	return PointerGetDatum(cstring_to_text_with_len(f.ptr, (int)f.len));
}

// The lookup key of the subject an UPDATE moved the row from, as the entry would have it had the row
// kept that subject: its pseudonym's in an encrypted table, else the subject's (witness._subject_lookup_key()).
Datum old_subject_key(const TextField &old_subject, const MasterKey *key)
{
	if (key == nullptr)
		return Int64GetDatum(clear_subject_lookup_key(cstring_to_text_with_len(old_subject.ptr, (int)old_subject.len)));
	EntryView old;
	old.subject = old_subject;
	set_pseudonym(*key, &old);
	return Int64GetDatum(pseudonym_lookup_key(hash_bytea(old.pseudonym.data())));
}

} // namespace

void write_entry(ChangeRecord *change)
{
	EntryView &v = change->view;
	Attribution a;
	current_attribution(&a, change->acting_role);
	v.session_user = text_field(a.session_user);
	v.current_user = text_field(a.current_user);
	v.application_name = text_field(a.application_name);
	v.client_addr = text_field(a.client_addr);
	v.client_port.present = a.client_addr != nullptr;
	v.client_port.value = a.client_port;
	v.backend_pid = a.backend_pid;
	v.actor = text_field(a.actor);
	v.reason = text_field(a.reason);
	v.context.present = a.context_canonical != nullptr;
	v.context.canonical = a.context_canonical;
	v.context.canonical_len = a.context_len;

	FullTransactionId fxid = GetTopFullTransactionId();
	TimestampTz stmt_time = GetCurrentStatementStartTimestamp();
	v.xid = (int64)U64FromFullTransactionId(fxid);
	v.stmt_time_us = stmt_time + kUnixToPostgresEpochUs;
	v.id = change->hold ? 0 : next_entry_id(entry_seq_relid()); // a held entry's id comes when it is released

	// Format 2 once the trail has its columns; a 0.1 trail keeps format 1 until it is updated.
	const bool committed = store_layout() >= 2;
	// An encrypted table's change is refused rather than stored in clear when there is no key.
	const MasterKey *key = nullptr;
	if (committed && change->encrypt) {
		key = current_master_key();
		if (key == nullptr) // the message is formatted only when it is needed, not for every entry
			require_master_key(psprintf("cannot capture a change to encrypted table \"%s.%s\"", v.schema_name.ptr,
			                            v.table_name.ptr));
		set_pseudonym(*key, &v);
	}
	uint8_t salt[kCommitmentSaltSize] = {0};
	v.format = committed ? kEntryFormatCommitted : kEntryFormatVersion;
	bytea *sealed = committed ? commit_payload(&v, salt, key) : nullptr;
	uint8_t hash[32];
	leaf_hash(v, hash);

	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	memset(nulls, 0, sizeof(nulls));
	values[EntryId - 1] = Int64GetDatum(v.id);
	values[EntryXid - 1] = FullTransactionIdGetDatum(fxid);
	values[EntryStmtTime - 1] = TimestampTzGetDatum(stmt_time);
	values[EntryBackendPid - 1] = Int32GetDatum(v.backend_pid);
	values[EntryClientPort - 1] = Int32GetDatum(a.client_port);
	nulls[EntryClientPort - 1] = !v.client_port.present;
	values[EntryTags - 1] = Int16GetDatum((int16)v.tags);
	values[EntryFormat - 1] = Int16GetDatum(v.format);
	values[EntryOp - 1] = CharGetDatum(v.op);
	values[EntrySchemaName - 1] = text_datum(v.schema_name);
	values[EntryTableName - 1] = text_datum(v.table_name);
	values[EntryRowKey - 1] = change->row_key;
	nulls[EntryRowKey - 1] = !v.row_key.present;
	values[EntrySubject - 1] = v.subject.present ? text_datum(v.subject) : (Datum)0;
	nulls[EntrySubject - 1] = !v.subject.present;
	values[EntryOldValues - 1] = change->old_values;
	nulls[EntryOldValues - 1] = !v.old_values.present;
	values[EntryNewValues - 1] = change->new_values;
	nulls[EntryNewValues - 1] = !v.new_values.present;
	values[EntrySessionUser - 1] = text_datum(v.session_user);
	values[EntryCurrentUser - 1] = text_datum(v.current_user);
	values[EntryApplicationName - 1] = v.application_name.present ? text_datum(v.application_name) : (Datum)0;
	nulls[EntryApplicationName - 1] = !v.application_name.present;
	values[EntryClientAddr - 1] = a.client_inet;
	nulls[EntryClientAddr - 1] = !v.client_addr.present;
	values[EntryActor - 1] = v.actor.present ? text_datum(v.actor) : (Datum)0;
	nulls[EntryActor - 1] = !v.actor.present;
	values[EntryReason - 1] = v.reason.present ? text_datum(v.reason) : (Datum)0;
	nulls[EntryReason - 1] = !v.reason.present;
	values[EntryContext - 1] = a.context_json;
	nulls[EntryContext - 1] = !v.context.present;
	// Format 2 stores the leaf hash's first bytes: the content reproduces the rest (core/stored_leaf.hpp).
	values[EntryLeafHash - 1] = PointerGetDatum(bytes_bytea(hash, committed ? kStoredLeafPrefix : sizeof(hash)));
	values[EntrySalt - 1] = PointerGetDatum(bytes_bytea(salt, kCommitmentSaltSize));
	// In clear, the commitment's first bytes: salt and payload reproduce the rest (core/commitment.hpp).
	values[EntryCommitment - 1] = PointerGetDatum(
	    bytes_bytea(v.commitment.data(), sealed != nullptr ? v.commitment.size() : kStoredCommitmentPrefix));
	values[EntrySubjectPseudonym - 1] = v.has_pseudonym ? PointerGetDatum(hash_bytea(v.pseudonym.data())) : (Datum)0;
	nulls[EntrySubjectPseudonym - 1] = !v.has_pseudonym;
	nulls[EntryErasureId - 1] = true;
	nulls[EntrySealedPayload - 1] = true;
	nulls[EntryOldSubjectKey - 1] = !(committed && change->old_subject.present);
	if (!nulls[EntryOldSubjectKey - 1])
		values[EntryOldSubjectKey - 1] = old_subject_key(change->old_subject, key);
	if (sealed != nullptr) {
		// Sealed: the salt and payload travel inside the ciphertext, nothing of them in clear.
		values[EntrySealedPayload - 1] = PointerGetDatum(sealed);
		nulls[EntrySealedPayload - 1] = false;
		for (EntryColumn c : {EntryRowKey, EntrySubject, EntryOldValues, EntryNewValues, EntrySalt})
			nulls[c - 1] = true;
	}

	if (change->hold)
		hold_entry(values, nulls, canonical_bytes(v), change->command);
	else
		store_entry(values, nulls);
}

} // namespace witness::pg
