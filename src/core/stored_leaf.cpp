#include "stored_leaf.hpp"

#include <algorithm>
#include <cstring>

namespace witness
{

SealedLeaf sealed_leaf(const uint8_t *stored, size_t len, const Hash *recomputed)
{
	SealedLeaf s;
	const size_t kept = std::min(len, s.leaf.size());
	s.partial = len < s.leaf.size();
	s.matches = recomputed != nullptr && kept >= kStoredLeafPrefix && len <= s.leaf.size() &&
	            std::memcmp(recomputed->data(), stored, kept) == 0;
	if (s.matches)
		s.leaf = *recomputed;
	else if (kept > 0)
		std::memcpy(s.leaf.data(), stored, kept); // the rest stays zero
	return s;
}

} // namespace witness
