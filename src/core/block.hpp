// Block headers of the sealed chain and their hash.
//
// block_hash = SHA-256(0x02 || header_bytes), header_bytes =
//     0x01 (format version), INT block_no, TEXT snapshot (pg_snapshot text), INT entry_count,
//     INT|NULL first_entry_id, INT|NULL last_entry_id, BYTES merkle_root, BYTES prev_hash,
//     INT sealed_at_us (microseconds since 1970-01-01 UTC)
// with the field encoding of entry_encoding.hpp plus BYTES = 0x04, 4-byte big-endian length, bytes.
// The 0x02 prefix keeps block hashes apart from Merkle leaf (0x00) and node (0x01) hashes.
// The first block's prev_hash is 32 zero bytes.
#pragma once

#include <cstdint>
#include <string>

#include "hash.hpp"

namespace witness
{

struct BlockHeader {
	int64_t block_no = 0;
	std::string snapshot;
	int64_t entry_count = 0;
	bool has_entry_ids = false; // false only for a block without entries
	int64_t first_entry_id = 0;
	int64_t last_entry_id = 0;
	Hash merkle_root{};
	Hash prev_hash{};
	int64_t sealed_at_us = 0;
};

void encode_block_header(const BlockHeader &header, std::string &out);
Hash block_hash(const BlockHeader &header);

} // namespace witness
