// The only door from PostgreSQL glue into the C++ core: every call catches every exception and turns
// it into ereport(ERROR) after the C++ frames are gone (docs/cpp-boundary.md, rules 2 and 3).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/entry_encoding.hpp"
#include "core/master_key.hpp"
#include "core/merkle.hpp"
#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Leaf hash of an entry; raises ERROR if the core rejects it.
void leaf_hash(const EntryView &entry, uint8_t out[32]);
// The same for a stored entry that may have been altered: false where the core cannot encode it (an
// operation letter it does not know, say), so that one bad row fails its own checks, not the reader.
bool try_leaf_hash(const EntryView &entry, uint8_t out[32]);

// Format 2 at capture: draws a fresh salt into salt (kept by the caller), points entry->salt at it
// and sets entry->commitment to the commitment to the entry's payload. With key (an encrypted
// table), also returns the sealed salt and payload (core/entry_payload_seal.hpp), palloc'd, from the
// same encoding of the payload; nullptr otherwise.
bytea *commit_payload(EntryView *entry, uint8_t salt[32], const MasterKey *key = nullptr);

// Format 2, encrypted tables: sets entry->has_pseudonym and entry->pseudonym from its subject (as
// UTF-8, whatever the database encoding).
void set_pseudonym(const MasterKey &key, EntryView *entry);

// A subject's bytes as capture hashes them: UTF-8, converted from the database encoding; a SQL_ASCII
// database's bytes as stored, unchecked. Every lookup by subject (pseudonyms, digests, bindings) must
// use these bytes: PostgreSQL's own conversion refuses a SQL_ASCII subject that is not UTF-8, which
// capture took, so that its entries could not be found, exported or erased (a robustness review).
const char *subject_utf8(const text *subject, size_t *len);

// The len bytes at s, text of the database encoding, in UTF-8: s itself when no conversion is needed
// (UTF8, SQL_ASCII, or all ASCII), else a palloc'd conversion. A SQL_ASCII database's bytes come back
// as stored, unchecked.
const char *to_utf8(const char *s, size_t len, size_t *out_len);


// Opens the sealed payload of entry (its id and pseudonym as stored) into *opened's payload fields and
// salt (palloc'd, text in the database's encoding). Returns nullptr, or why it could not (a palloc'd
// message: another master key, failed authentication, malformed bytes).
const char *open_payload(const MasterKey &key, const EntryView &entry, const char *sealed, size_t len,
                         EntryView *opened);

// Key rotation: the sealed payload of entry `id` (pseudonym: its 32-byte subject pseudonym, or
// nullptr) opened under `from` and sealed again under `to` (core/entry_payload_seal.hpp), palloc'd.
// Returns nullptr and sets *why (palloc'd) when it does not open under `from`.
bytea *reseal_payload(const MasterKey &from, const MasterKey &to, int64_t id, const uint8_t *pseudonym,
                      const char *sealed, size_t len, const char **why);

// A held entry given its id (core/entry_payload_seal.hpp, move_entry_payload): its payload sealed for
// from_id sealed again for to_id, palloc'd. Raises ERROR when it does not open.
bytea *move_payload(const MasterKey &key, int64_t from_id, int64_t to_id, const uint8_t *pseudonym, const char *sealed,
                    size_t len);

// The leaf hash of the entry whose canonical bytes (canonical_bytes()) are encoding, under another id.
void leaf_hash_with_id(const struct varlena *encoding, int64_t id, uint8_t out[32]);

// Format 2: sets entry->commitment and commitment_source from the stored commitment column (len bytes:
// all 32, or the prefix an entry in clear keeps, completed from its salt and payload as UTF-8).
void restore_stored_commitment(EntryView *entry, const uint8_t *bytes, size_t len);

// Format 2 at verification: whether the stored salt and payload reproduce the stored commitment.
bool payload_matches_commitment(const EntryView &entry);

// Canonical JSON text of an object given as sorted fields, as a palloc'd json datum; *chars/*len
// point at its characters (what the leaf hash covers).
Datum json_object(const JsonField *fields, size_t n, const char **chars, size_t *len);

// pg_snapshot text with transaction id xid in progress too (core/snapshot.hpp, with_in_progress),
// palloc'd.
char *snapshot_with_in_progress(const char *snapshot, uint64_t xid);

// Canonical bytes of an entry as a palloc'd bytea.
struct varlena *canonical_bytes(const EntryView &entry);
// The same bytes when they can be encoded and take at most max_len bytes; nullptr otherwise, and
// never an error (verification names two entries that traded ids from them, and reports an entry
// either way).
struct varlena *canonical_bytes_at_most(const EntryView &entry, size_t max_len);

// Format 2: the canonical payload bytes of an entry (what its commitment covers) as a palloc'd bytea.
struct varlena *payload_bytes(const EntryView &entry);

// A 32-byte hash, or len bytes, as a palloc'd bytea.
bytea *hash_bytea(const uint8_t *hash);
bytea *bytes_bytea(const uint8_t *bytes, size_t len);

// Merkle root (RFC 9162) over n leaf hashes stored back to back.
void merkle_root(const uint8_t *leaves, size_t n, uint8_t out[32]);

// A Merkle root built as the leaf hashes arrive in order (core MerkleFrontier, which has no
// destructor): the sealer streams a block's sorted leaves through it, in memory independent of their number.
void merkle_frontier_append(MerkleFrontier *frontier, const uint8_t leaf[32]);
void merkle_frontier_root(const MerkleFrontier &frontier, uint8_t out[32]);

// The audit path of leaf index_in_chunk of chunk chunk_no, from the chunk's chunk_len leaves and the
// stored roots of all nchunks chunks, only when it checks against root (core/merkle_chunks.hpp):
// returns false otherwise. On true, *leaf_index and a palloc'd path of *path_len hashes.
bool merkle_chunked_proof(const uint8_t *chunk_leaves, size_t chunk_len, size_t index_in_chunk,
                          const uint8_t *stored_roots, size_t nchunks, size_t chunk_no, size_t chunk_size, size_t n,
                          const uint8_t root[32], size_t *leaf_index, uint8_t **path, size_t *path_len);

// The fields of a block header, borrowed; see core/block.hpp.
struct BlockFields {
	int64_t block_no;
	const char *snapshot;
	int64_t entry_count;
	bool has_entry_ids;
	int64_t first_entry_id;
	int64_t last_entry_id;
	const uint8_t *merkle_root; // 32 bytes
	const uint8_t *prev_hash;   // 32 bytes
	int64_t sealed_at_us;
};

void block_hash(const BlockFields &block, uint8_t out[32]);

// Audit path (RFC 9162) for leaf `index` among n leaves: writes *path_len hashes to a palloc'd buffer.
uint8_t *merkle_audit_path(const uint8_t *leaves, size_t n, size_t index, size_t *path_len);

// 32 fresh random bytes from OpenSSL's generator (for salts).
void draw_salt(uint8_t out[32]);

// The 2n - 1 node hashes of the Merkle tree over n >= 1 leaf hashes stored back to back, written to
// nodes (32 bytes each) in the pre-order of core/merkle_search.hpp.
void merkle_tree_nodes(const uint8_t *leaves, size_t n, uint8_t *nodes);

// Audit path of leaf `index` (< n) read from such nodes in O(log n): writes *path_len hashes to a
// palloc'd buffer.
uint8_t *merkle_tree_audit_path(const uint8_t *nodes, size_t n, size_t index, size_t *path_len);

// Whether the audit path (path_len hashes) leads from leaf, at index in a tree of tree_size leaves,
// to root (RFC 9162 2.1.3.2).
bool merkle_path_leads_to(const uint8_t *leaf, size_t index, size_t tree_size, const uint8_t *path, size_t path_len,
                          const uint8_t *root);

} // namespace witness::pg
