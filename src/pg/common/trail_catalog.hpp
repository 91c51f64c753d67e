// The trail's catalog, in one place: the layouts of witness.entry and witness.block with their checks,
// the Oids of the trail's relations (cached per backend, dropped on relcache invalidation), and the
// constants every flow shares. Capture, sealing, digests and verification all ask here.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Layout of witness.entry, in attribute order.
enum EntryColumn {
	EntryId = 1,
	EntryXid,
	EntryStmtTime,
	EntryBackendPid,
	EntryClientPort,
	EntryTags,
	EntryFormat,
	EntryOp,
	EntrySchemaName,
	EntryTableName,
	EntryRowKey,
	EntrySubject,
	EntryOldValues,
	EntryNewValues,
	EntrySessionUser,
	EntryCurrentUser,
	EntryApplicationName,
	EntryClientAddr,
	EntryActor,
	EntryReason,
	EntryContext,
	EntryLeafHash,
	// Added by version 0.2 (format 2: docs/hashing.md, docs/personal-data.md).
	EntrySalt,
	EntryCommitment,
	EntrySubjectPseudonym,
	EntryErasureId,
	EntrySealedPayload,
	// Not covered by the leaf hash: where the subject an UPDATE moved the row from finds the entry.
	EntryOldSubjectKey,
	EntryNatts = EntryOldSubjectKey
};

// Layout of witness.block, in attribute order.
enum BlockColumn {
	BlockNo = 1,
	BlockSnapshot,
	BlockEntryCount,
	BlockFirstEntryId,
	BlockLastEntryId,
	BlockMerkleRoot,
	BlockPrevHash,
	BlockSealedAt,
	BlockHash,
	BlockNatts = BlockHash
};

// Raise ERROR unless desc is witness.entry / witness.block as this library version knows it. An
// entry table of version 0.1 (before ALTER EXTENSION pg_witness UPDATE) has only the columns up to
// leaf_hash: check_entry_layout returns 1 for it, 2 for the layout of version 0.2.
int check_entry_layout(TupleDesc desc);
void check_block_layout(TupleDesc desc);
constexpr int kEntryNattsV1 = EntryLeafHash;

// The name of the first column that witness.entry declares NOT NULL and the canonical bytes need, but
// which is NULL in a deformed row; nullptr when there is none.
const char *entry_null_required_column(const bool *nulls);

// The relation `name` in schema witness: raises ERROR (42P01) when it does not exist.
Oid witness_relation(const char *name);
// The same, InvalidOid when it (or the schema) does not exist.
Oid witness_relation_if_exists(const char *name);
// For a background worker's transaction, before it touches a witness relation: holds pg_witness's
// extension object in share mode until the transaction ends, so that DROP EXTENSION, which locks it
// first, waits for the pass instead of deadlocking with it. False when pg_witness is not installed,
// or was dropped while this waited.
bool hold_witness_extension();

// Cached Oids of the trail's relations, looked up again after the extension is dropped or recreated.
Oid entry_relid();
Oid entry_seq_relid();
Oid block_relid();
Oid tracked_table_relid();

// The owner of a relation (pg_witness's tables and sequence are owned by the role that created the
// extension): the role pg_witness acts as where the role whose change is captured has no rights.
Oid relation_owner(Oid relid);

// Whether relid carries pg_witness's capture trigger: a tracked table, or one of its partitions or
// inheritance children (every one gets the trigger, a name no other trigger may take).
bool has_capture_trigger(Oid relid);

// Registers the relcache callback that forgets the cached Oids.
void register_catalog_invalidation();

// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
constexpr int64 kUnixToPostgresEpochUs =
    (int64)(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;

// A stored time as the microseconds since 1970 that hashing covers. An infinite time, which
// neither capture nor the sealer writes, wraps around 64 bits instead of failing, so that both
// verifiers and every export agree on it and report the entry or block that holds it as altered.
inline int64 unix_us_as_hashed(TimestampTz t)
{
	return (int64)((uint64)t + (uint64)kUnixToPostgresEpochUs);
}

} // namespace witness::pg
