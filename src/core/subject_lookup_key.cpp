#include "subject_lookup_key.hpp"

#include "sha256.hpp"

namespace witness
{

int64_t clear_subject_key(std::string_view subject)
{
	static constexpr char kContext[] = "pg_witness subject lookup key v1"; // followed by one 0x00
	Sha256 h;
	h.update(kContext, sizeof(kContext)); // the terminating NUL is the separator
	h.update(subject);
	const Hash digest = h.finish();
	uint64_t key = 0;
	for (int i = 0; i < 8; i++)
		key = (key << 8) | digest[static_cast<size_t>(i)];
	return static_cast<int64_t>(key >> 1);
}

} // namespace witness
