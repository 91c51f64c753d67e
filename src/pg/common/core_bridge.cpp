#include "pg/common/pg_includes.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/block.hpp"
#include "core/canonical_json.hpp"
#include "core/merkle.hpp"
#include "core/merkle_chunks.hpp"
#include "core/merkle_search.hpp"
#include "core/entry_payload_seal.hpp"
#include "core/random_bytes.hpp"
#include "core/snapshot.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/cpp_guard.hpp"

extern "C" {
#include "catalog/pg_conversion.h"
#include "catalog/pg_namespace.h"
#include "mb/pg_wchar.h"
}

namespace witness::pg
{
namespace
{

std::string scratch; // reused output buffer; static, so no destructor is skipped by a longjmp

// A large buffer is given back once copied: a backend that captured one 200 MB value kept 256 MB.
void release_large_scratch()
{
	if (scratch.capacity() > (size_t(1) << 20))
		std::string().swap(scratch);
}

// The scratch buffer's bytes as a palloc'd bytea; wipe: zero the buffer once copied (sealed payloads).
bytea *scratch_bytea(bool wipe = false)
{
	bytea *result = (bytea *)palloc(VARHDRSZ + scratch.size());
	SET_VARSIZE(result, VARHDRSZ + scratch.size());
	memcpy(VARDATA(result), scratch.data(), scratch.size());
	if (wipe)
		explicit_bzero(scratch.data(), scratch.size());
	release_large_scratch();
	return result;
}

// ---- Text is hashed as UTF-8, whatever the database encoding (docs/hashing.md, "Text is UTF-8") ----

// The conversion from the database encoding to UTF-8: pg_catalog's default one, looked up once and
// never through the search_path (where CREATE DEFAULT CONVERSION could put another one first).
FmgrInfo to_utf8_fn;
bool to_utf8_ready = false;

bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] & 0x80)
			return false;
	return true;
}

} // namespace

// The len bytes at s, text of the database encoding, in UTF-8: s itself when they are ASCII (every
// server encoding is a superset of ASCII), else a palloc'd conversion. SQL_ASCII has no conversion:
// its bytes are hashed as stored.
const char *to_utf8(const char *s, size_t len, size_t *out_len)
{
	*out_len = len;
	int encoding = GetDatabaseEncoding();
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII || is_ascii(s, len))
		return s;
	if (!to_utf8_ready) {
		Oid proc = FindDefaultConversion(PG_CATALOG_NAMESPACE, encoding, PG_UTF8);
		if (!OidIsValid(proc))
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("pg_witness cannot convert text of encoding %s to UTF8 for hashing",
			                       GetDatabaseEncodingName()),
			                errdetail("pg_catalog has no default conversion from %s to UTF8.",
			                          GetDatabaseEncodingName())));
		fmgr_info_cxt(proc, &to_utf8_fn, TopMemoryContext);
		to_utf8_ready = true;
	}
	if (len > MaxAllocSize)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("text of %zu bytes is too long to convert to UTF8 for hashing", len)));
	auto *dst = (char *)MemoryContextAllocHuge(CurrentMemoryContext, len * MAX_CONVERSION_GROWTH + 1);
	FunctionCall6(&to_utf8_fn, Int32GetDatum(encoding), Int32GetDatum(PG_UTF8), CStringGetDatum(s),
	              CStringGetDatum(dst), Int32GetDatum((int)len), BoolGetDatum(false));
	*out_len = strlen(dst);
	return dst;
}

namespace
{

void text_to_utf8(TextField *f)
{
	if (f->present)
		f->ptr = to_utf8(f->ptr, f->len, &f->len);
}

// A JSON field's canonical text in UTF-8. Converted text is canonicalized again: the members were
// sorted by the bytes of the database encoding, and UTF-8 may order them differently (WIN1252's
// 0x80, U+20AC, sorts before 0xE9, U+00E9; their UTF-8 bytes the other way round). Stored text that
// does not parse (only a tampered row) is hashed as converted, and then fails to reproduce its hash.
void json_to_utf8(JsonDoc *d)
{
	if (!d->present || d->canonical == nullptr)
		return;
	size_t len;
	const char *utf8 = to_utf8(d->canonical, d->canonical_len, &len);
	if (utf8 == d->canonical)
		return;
	bool parsed = false;
	run_core(ERRCODE_INTERNAL_ERROR, "could not canonicalize pg_witness JSON", [&] {
		scratch.clear();
		try {
			canonical_json(std::string_view(utf8, len), scratch);
			parsed = true;
		} catch (const JsonError &) {
		}
	});
	if (!parsed) {
		d->canonical = utf8;
		d->canonical_len = len;
		return;
	}
	auto *copy = (char *)MemoryContextAllocHuge(CurrentMemoryContext, scratch.size() + 1);
	memcpy(copy, scratch.data(), scratch.size());
	copy[scratch.size()] = '\0';
	d->canonical = copy;
	d->canonical_len = scratch.size();
	release_large_scratch();
}

// A text of an opened payload (UTF-8) in the database's encoding.
void text_from_utf8(const char **ptr, size_t *len)
{
	char *converted = pg_any_to_server(*ptr, (int)*len, PG_UTF8);
	if (converted != *ptr) {
		*ptr = converted;
		*len = strlen(converted);
	}
}

// The payload fields of an opened payload in the database's encoding, as the other readers see them.
void payload_from_utf8(EntryView *v)
{
	int encoding = GetDatabaseEncoding();
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return;
	if (v->subject.present)
		text_from_utf8(&v->subject.ptr, &v->subject.len);
	for (JsonDoc *d : {&v->row_key, &v->old_values, &v->new_values})
		if (d->present)
			text_from_utf8(&d->canonical, &d->canonical_len);
}

// The entry as the hash sees it: entry itself in a UTF8 (or SQL_ASCII) database, else *copy with
// every text and JSON field in UTF-8.
const EntryView &hashed_view(const EntryView &entry, EntryView *copy)
{
	int encoding = GetDatabaseEncoding();
	if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII)
		return entry;
	*copy = entry;
	text_to_utf8(&copy->schema_name);
	text_to_utf8(&copy->table_name);
	json_to_utf8(&copy->row_key);
	text_to_utf8(&copy->subject);
	json_to_utf8(&copy->old_values);
	json_to_utf8(&copy->new_values);
	text_to_utf8(&copy->session_user);
	text_to_utf8(&copy->current_user);
	text_to_utf8(&copy->application_name);
	text_to_utf8(&copy->client_addr);
	text_to_utf8(&copy->actor);
	text_to_utf8(&copy->reason);
	json_to_utf8(&copy->context);
	return *copy;
}

} // namespace

const char *subject_utf8(const text *subject, size_t *len)
{
	return to_utf8(VARDATA_ANY(subject), VARSIZE_ANY_EXHDR(subject), len);
}

bytea *commit_payload(EntryView *stored, uint8_t salt[32], const MasterKey *key)
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not draw a salt for a pg_witness entry",
	         [&] { random_fill_pooled(salt, kCommitmentSaltSize); });
	stored->salt = salt;
	EntryView copy;
	const EntryView &entry = hashed_view(*stored, &copy);
	witness::Hash commitment;
	if (key == nullptr) {
		run_core(ERRCODE_INTERNAL_ERROR, "could not commit to a pg_witness payload",
		         [&] { commitment = entry_payload_commitment(entry); });
		stored->commitment = commitment;
		return nullptr;
	}
	// Sealed and committed to from one encoding of the payload.
	run_core(ERRCODE_INTERNAL_ERROR, "could not encrypt a pg_witness payload",
	         [&] { scratch = seal_entry_payload(*key, entry, &commitment); });
	stored->commitment = commitment;
	return scratch_bytea(true);
}

void set_pseudonym(const MasterKey &key, EntryView *stored)
{
	// An empty subject names nobody: like a NULL one, it gets no pseudonym and the empty key context.
	stored->has_pseudonym = stored->subject.present && stored->subject.len > 0;
	if (!stored->has_pseudonym)
		return;
	EntryView copy;
	const EntryView &entry = hashed_view(*stored, &copy);
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute a subject pseudonym", [&] {
		const std::string p = key.pseudonym(std::string_view(entry.subject.ptr, entry.subject.len));
		memcpy(stored->pseudonym.data(), p.data(), p.size());
	});
}

const char *open_payload(const MasterKey &key, const EntryView &entry, const char *sealed, size_t len,
                         EntryView *opened)
{
	const std::string_view pseudonym =
	    entry.has_pseudonym ? std::string_view(reinterpret_cast<const char *>(entry.pseudonym.data()), 32)
	                        : std::string_view();
	char *plain = nullptr;
	size_t plain_len = 0;
	const char *err = run_guarded([&] {
		std::string p = open_entry_payload(key, entry.id, pseudonym, std::string_view(sealed, len));
		scratch.assign(p);
		explicit_bzero(p.data(), p.size());
	});
	if (err != nullptr)
		return pstrdup(err);
	plain_len = scratch.size();
	plain = (char *)MemoryContextAllocHuge(CurrentMemoryContext, plain_len + 1);
	memcpy(plain, scratch.data(), plain_len);
	plain[plain_len] = '\0';
	explicit_bzero(scratch.data(), scratch.size());
	release_large_scratch();
	err = run_guarded([&] { decode_payload(std::string_view(plain + kCommitmentSaltSize, plain_len - kCommitmentSaltSize), opened); });
	if (err != nullptr)
		return pstrdup(err);
	opened->salt = reinterpret_cast<const uint8_t *>(plain);
	// The payload is UTF-8, as hashed; the rest of the glue reads text in the database's encoding.
	payload_from_utf8(opened);
	return nullptr;
}

bytea *reseal_payload(const MasterKey &from, const MasterKey &to, int64_t id, const uint8_t *pseudonym,
                      const char *sealed, size_t len, const char **why)
{
	const std::string_view context =
	    pseudonym != nullptr ? std::string_view(reinterpret_cast<const char *>(pseudonym), 32) : std::string_view();
	const char *err = run_guarded([&] { scratch = reseal_entry_payload(from, to, id, context, std::string_view(sealed, len)); });
	if (err != nullptr) {
		*why = pstrdup(err);
		return nullptr;
	}
	*why = nullptr;
	return scratch_bytea();
}

bytea *move_payload(const MasterKey &key, int64_t from_id, int64_t to_id, const uint8_t *pseudonym, const char *sealed,
                    size_t len)
{
	const std::string_view context =
	    pseudonym != nullptr ? std::string_view(reinterpret_cast<const char *>(pseudonym), 32) : std::string_view();
	run_core(ERRCODE_DATA_CORRUPTED, "could not seal a held pg_witness entry under its id",
	         [&] { scratch = move_entry_payload(key, from_id, to_id, context, std::string_view(sealed, len)); });
	return scratch_bytea();
}

char *snapshot_with_in_progress(const char *snapshot, uint64_t xid)
{
	// Room for the id and a new xmin, at most 20 digits and a comma each: the core allocates,
	// PostgreSQL does not.
	const size_t room = strlen(snapshot) + 2 * 21 + 1;
	char *out = (char *)palloc(room);
	run_core(ERRCODE_INTERNAL_ERROR, "could not adjust a block's snapshot", [&] {
		const std::string text = format_snapshot(with_in_progress(parse_snapshot(snapshot), xid));
		if (text.size() >= room)
			throw std::length_error("snapshot text longer than its room");
		std::memcpy(out, text.c_str(), text.size() + 1);
	});
	return out;
}

void leaf_hash_with_id(const struct varlena *encoding, int64_t id, uint8_t out[32])
{
	const std::string_view bytes(VARDATA_ANY(encoding), VARSIZE_ANY_EXHDR(encoding));
	run_core(ERRCODE_INTERNAL_ERROR, "could not hash pg_witness entry", [&] {
		Hash h = leaf_hash_under_id(bytes, id);
		std::memcpy(out, h.data(), h.size());
	});
}

bool payload_matches_commitment(const EntryView &stored)
{
	// A prefix that salt and payload reproduced matched already; one they did not, never will.
	if (stored.commitment_source != CommitmentSource::Stored)
		return stored.commitment_source == CommitmentSource::Reproduced;
	EntryView copy;
	const EntryView &entry = hashed_view(stored, &copy);
	bool matches = false;
	run_core(ERRCODE_INTERNAL_ERROR, "could not check a pg_witness payload",
	         [&] { matches = entry_payload_commitment(entry) == entry.commitment; });
	return matches;
}

void restore_stored_commitment(EntryView *stored, const uint8_t *bytes, size_t len)
{
	EntryView copy;
	EntryView work = hashed_view(*stored, &copy);
	run_core(ERRCODE_INTERNAL_ERROR, "could not check a pg_witness commitment",
	         [&] { restore_commitment(&work, bytes, len); });
	stored->commitment = work.commitment;
	stored->commitment_source = work.commitment_source;
}

namespace
{

// The leaf hash into out, or what the core said when it could not encode the entry.
const char *leaf_hash_or_error(const EntryView &stored, uint8_t out[32])
{
	EntryView copy;
	const EntryView &entry = hashed_view(stored, &copy);
	return run_guarded([&] {
		Hash h = entry_leaf_hash(entry);
		std::memcpy(out, h.data(), h.size());
	});
}

} // namespace

// An entry the encoder refuses has a field no capture writes (a row made up, or changed by hand, and
// given to witness.entry_leaf_hash() or entry_canonical_bytes()): a bad argument, not an internal error.
void leaf_hash(const EntryView &stored, uint8_t out[32])
{
	const char *err = leaf_hash_or_error(stored, out);
	if (err != nullptr)
		raise_core_error(ERRCODE_INVALID_PARAMETER_VALUE, "could not hash pg_witness entry", err, nullptr);
}

bool try_leaf_hash(const EntryView &stored, uint8_t out[32])
{
	return leaf_hash_or_error(stored, out) == nullptr;
}

Datum json_object(const JsonField *fields, size_t n, const char **chars, size_t *len)
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not encode pg_witness values", [&] {
		scratch.clear();
		write_fields_object(fields, n, scratch);
	});
	// Escaping can make the JSON several times as long as the values (a control character takes six
	// bytes): past PostgreSQL's 1 GB limit on a value, say so instead of a failed allocation (XX000).
	if (scratch.size() > MaxAllocSize - VARHDRSZ)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("values too large to capture: %zu bytes as JSON, more than a value may hold", scratch.size()),
		                errdetail("pg_witness stores a row's values as canonical JSON, at most 1 GB per entry column."),
		                errhint("Store such values outside the tracked table, or exclude the column with witness.track(..., exclude_columns => ...).")));
	text *t = cstring_to_text_with_len(scratch.data(), (int)scratch.size());
	*chars = VARDATA(t);
	*len = scratch.size();
	release_large_scratch();
	return PointerGetDatum(t);
}

namespace
{

// The entry's canonical bytes into scratch, or what the core said when it could not encode them.
const char *encode_or_error(const EntryView &stored)
{
	EntryView copy;
	const EntryView &entry = hashed_view(stored, &copy);
	return run_guarded([&] {
		scratch.clear();
		encode_entry(entry, scratch);
	});
}

} // namespace

struct varlena *canonical_bytes(const EntryView &stored)
{
	const char *err = encode_or_error(stored);
	if (err != nullptr)
		raise_core_error(ERRCODE_INVALID_PARAMETER_VALUE, "could not encode pg_witness entry", err, nullptr);
	return scratch_bytea();
}

struct varlena *canonical_bytes_at_most(const EntryView &stored, size_t max_len)
{
	const char *err = encode_or_error(stored);
	bytea *result = err == nullptr && scratch.size() <= max_len ? scratch_bytea() : nullptr;
	release_large_scratch();
	return result;
}

struct varlena *payload_bytes(const EntryView &stored)
{
	EntryView copy;
	const EntryView &entry = hashed_view(stored, &copy);
	run_core(ERRCODE_INTERNAL_ERROR, "could not encode pg_witness payload", [&] {
		scratch.clear();
		encode_payload(entry, scratch);
	});
	return scratch_bytea();
}

bytea *bytes_bytea(const uint8_t *bytes, size_t len)
{
	auto *b = (bytea *)palloc(VARHDRSZ + len);
	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), bytes, len);
	return b;
}

bytea *hash_bytea(const uint8_t *hash)
{
	return bytes_bytea(hash, 32);
}

void merkle_root(const uint8_t *leaves, size_t n, uint8_t out[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute Merkle root", [&] {
		std::vector<Hash> hashes(n);
		for (size_t i = 0; i < n; i++)
			std::memcpy(hashes[i].data(), leaves + 32 * i, 32);
		Hash root = witness::merkle_root(hashes);
		std::memcpy(out, root.data(), 32);
	});
}

void merkle_frontier_append(MerkleFrontier *frontier, const uint8_t leaf[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute Merkle root", [&] {
		Hash h;
		std::memcpy(h.data(), leaf, 32);
		frontier->append(h);
	});
}

void merkle_frontier_root(const MerkleFrontier &frontier, uint8_t out[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute Merkle root", [&] {
		Hash root = frontier.root();
		std::memcpy(out, root.data(), 32);
	});
}

bool merkle_chunked_proof(const uint8_t *chunk_leaves, size_t chunk_len, size_t index_in_chunk,
                          const uint8_t *stored_roots, size_t nchunks, size_t chunk_no, size_t chunk_size, size_t n,
                          const uint8_t root[32], size_t *leaf_index, uint8_t **path, size_t *path_len)
{
	static std::optional<ChunkedProof> proof;
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute audit path", [&] {
		std::vector<Hash> roots(nchunks);
		for (size_t i = 0; i < nchunks; i++)
			std::memcpy(roots[i].data(), stored_roots + 32 * i, 32);
		Hash expected;
		std::memcpy(expected.data(), root, 32);
		proof = witness::merkle_chunked_proof(reinterpret_cast<const Hash *>(chunk_leaves), chunk_len, index_in_chunk,
		                                      roots, chunk_no, chunk_size, n, expected);
	});
	if (!proof)
		return false;
	*leaf_index = proof->leaf_index;
	*path_len = proof->audit_path.size();
	*path = (uint8_t *)palloc(32 * Max(*path_len, 1));
	for (size_t i = 0; i < *path_len; i++)
		memcpy(*path + 32 * i, proof->audit_path[i].data(), 32);
	proof.reset();
	return true;
}

void block_hash(const BlockFields &b, uint8_t out[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not hash pg_witness block", [&] {
		BlockHeader h;
		h.block_no = b.block_no;
		h.snapshot = b.snapshot;
		h.entry_count = b.entry_count;
		h.has_entry_ids = b.has_entry_ids;
		h.first_entry_id = b.first_entry_id;
		h.last_entry_id = b.last_entry_id;
		std::memcpy(h.merkle_root.data(), b.merkle_root, 32);
		std::memcpy(h.prev_hash.data(), b.prev_hash, 32);
		h.sealed_at_us = b.sealed_at_us;
		Hash hash = witness::block_hash(h);
		std::memcpy(out, hash.data(), 32);
	});
}

uint8_t *merkle_audit_path(const uint8_t *leaves, size_t n, size_t index, size_t *path_len)
{
	static std::vector<Hash> path;
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute audit path", [&] {
		std::vector<Hash> hashes(n);
		for (size_t i = 0; i < n; i++)
			std::memcpy(hashes[i].data(), leaves + 32 * i, 32);
		path = merkle_inclusion_proof(hashes, index);
	});
	auto *out = (uint8_t *)palloc(32 * Max(path.size(), 1));
	for (size_t i = 0; i < path.size(); i++)
		memcpy(out + 32 * i, path[i].data(), 32);
	*path_len = path.size();
	return out;
}

// A palloc'd buffer of hashes seen as the core's Hash values: a Hash is 32 bytes with no padding.
static_assert(sizeof(Hash) == 32 && alignof(Hash) == 1, "a Hash is 32 plain bytes");

void draw_salt(uint8_t out[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not draw a salt", [&] {
		const std::string drawn = random_bytes(32);
		std::memcpy(out, drawn.data(), 32);
	});
}

void merkle_tree_nodes(const uint8_t *leaves, size_t n, uint8_t *nodes)
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute Merkle tree", [&] {
		merkle_nodes_build(reinterpret_cast<const Hash *>(leaves), n, reinterpret_cast<Hash *>(nodes));
	});
}

bool merkle_path_leads_to(const uint8_t *leaf, size_t index, size_t tree_size, const uint8_t *path, size_t path_len,
                          const uint8_t *root)
{
	bool leads = false;
	run_core(ERRCODE_INTERNAL_ERROR, "could not check a pg_witness proof", [&] {
		std::vector<Hash> p(path_len);
		for (size_t i = 0; i < path_len; i++)
			memcpy(p[i].data(), path + 32 * i, 32);
		Hash l, r;
		memcpy(l.data(), leaf, 32);
		memcpy(r.data(), root, 32);
		leads = merkle_verify_inclusion(l, index, tree_size, p, r);
	});
	return leads;
}

uint8_t *merkle_tree_audit_path(const uint8_t *nodes, size_t n, size_t index, size_t *path_len)
{
	static std::vector<Hash> path;
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute audit path", [&] {
		path = merkle_nodes_audit_path(reinterpret_cast<const Hash *>(nodes), n, index);
	});
	auto *out = (uint8_t *)palloc(32 * Max(path.size(), 1));
	for (size_t i = 0; i < path.size(); i++)
		memcpy(out + 32 * i, path[i].data(), 32);
	*path_len = path.size();
	return out;
}

} // namespace witness::pg
