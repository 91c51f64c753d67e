// Integers as bytes that compare (memcmp, bytea order) as the integers do: what the sealer's and the
// verifier's tuplesorts order their bytea keys by.
#pragma once

#include <cstdint>

namespace witness::pg
{

// An unsigned value (an xid): big-endian.
inline void put_sortable_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

inline uint64_t sortable_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

// A signed id: big-endian with the sign bit flipped.
inline void put_sortable_id(uint8_t *p, int64_t id)
{
	put_sortable_u64(p, (uint64_t)id ^ (UINT64_C(1) << 63));
}

inline int64_t sortable_id(const uint8_t *p)
{
	return (int64_t)(sortable_u64(p) ^ (UINT64_C(1) << 63));
}

} // namespace witness::pg
