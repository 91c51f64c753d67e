#include "stored_leaf.hpp"

#include <cstring>

namespace witness
{

SealedLeaf sealed_leaf(const uint8_t *stored, size_t len, const Hash *recomputed, bool prefix_allowed)
{
	SealedLeaf s;
	s.partial = len != s.leaf.size();
	s.hashed = recomputed != nullptr;
	if (len != s.leaf.size() && !(prefix_allowed && len == kStoredLeafPrefix))
		return s; // a length capture never writes: zeros, which no content matches
	s.matches = recomputed != nullptr && std::memcmp(recomputed->data(), stored, len) == 0;
	if (s.matches)
		s.leaf = *recomputed;
	else
		std::memcpy(s.leaf.data(), stored, len); // the rest stays zero
	return s;
}

} // namespace witness
