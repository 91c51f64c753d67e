#include "pg/common/pg_includes.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "core/block.hpp"
#include "core/merkle.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/cpp_guard.hpp"

namespace witness::pg
{
namespace
{

std::string scratch; // reused output buffer; static, so no destructor is skipped by a longjmp

} // namespace

void leaf_hash(const EntryView &entry, uint8_t out[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not hash pg_witness entry", [&] {
		Hash h = entry_leaf_hash(entry);
		std::memcpy(out, h.data(), h.size());
	});
}

Datum json_object(const JsonField *fields, size_t n, const char **chars, size_t *len)
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not encode pg_witness values", [&] {
		scratch.clear();
		write_fields_object(fields, n, scratch);
	});
	text *t = cstring_to_text_with_len(scratch.data(), (int)scratch.size());
	*chars = VARDATA(t);
	*len = scratch.size();
	return PointerGetDatum(t);
}

struct varlena *canonical_bytes(const EntryView &entry)
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not encode pg_witness entry", [&] {
		scratch.clear();
		encode_entry(entry, scratch);
	});
	bytea *result = (bytea *)palloc(VARHDRSZ + scratch.size());
	SET_VARSIZE(result, VARHDRSZ + scratch.size());
	memcpy(VARDATA(result), scratch.data(), scratch.size());
	return result;
}

bytea *hash_bytea(const uint8_t *hash)
{
	auto *b = (bytea *)palloc(VARHDRSZ + 32);
	SET_VARSIZE(b, VARHDRSZ + 32);
	memcpy(VARDATA(b), hash, 32);
	return b;
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

} // namespace witness::pg
