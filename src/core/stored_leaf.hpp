// How an entry stores its leaf hash, and what a block's Merkle root covers for it (docs/hashing.md,
// "How entries store their leaf hash").
//
// An entry captured by pg_witness 0.2 stores the first 8 bytes of its leaf hash: its content
// reproduces the rest. Entries of format 1 (and any entry that stores all 32 bytes) keep them. The
// sealer and every reader of a block's leaves take, for each member, the leaf hash recomputed from its
// content when that begins with what the entry stores, and otherwise the stored bytes padded with
// zeros to 32: the same leaf at sealing and at verification, whether or not the content can be hashed.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hash.hpp"

namespace witness
{

// 8 bytes still point to the entry whose content changed: matching them by chance, or by searching
// for content that does, takes about 2^64 tries. The block's Merkle root over the full hashes is what
// proves the content; the stored bytes only say which entry no longer matches.
constexpr size_t kStoredLeafPrefix = 8;

struct SealedLeaf {
	Hash leaf{};          // what the block's Merkle root covers for the entry
	bool matches = false; // the content's hash begins with the stored bytes (at least 8 of them)
	bool partial = false; // the entry stores fewer than 32 bytes of its leaf hash
	bool hashed = false;  // the content could be hashed (recomputed was given)
};

// stored/len: the entry's stored leaf hash (len 0 when NULL); recomputed: the hash of its content, or
// nullptr when the content cannot be hashed (an unknown format, a payload in clear that no longer
// reproduces its commitment). prefix_allowed: the entry may store the first 8 bytes (format 2; a
// format-1 entry always stored all 32). Stored bytes of any other length never match, and the leaf is
// then 32 zero bytes: a cut or lengthened column is reported, never taken for the hash it holds.
SealedLeaf sealed_leaf(const uint8_t *stored, size_t len, const Hash *recomputed, bool prefix_allowed = true);

} // namespace witness
