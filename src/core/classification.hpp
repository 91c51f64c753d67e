// The classification tags pg_witness knows, in the bit order of witness.entry.tags (bit k is the
// k-th name): the same list as the SQL function witness.classifications().
#pragma once

#include <cstddef>
#include <cstring>

namespace witness
{

inline constexpr const char *kClassificationNames[] = {"pii", "financial", "confidential", "restricted", "internal"};
inline constexpr size_t kClassificationCount = sizeof(kClassificationNames) / sizeof(kClassificationNames[0]);

// Whether name is one of the tags, exactly (tags are lower case).
inline bool is_classification(const char *name)
{
	for (const char *known : kClassificationNames)
		if (std::strcmp(known, name) == 0)
			return true;
	return false;
}

} // namespace witness
