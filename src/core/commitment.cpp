// Payload commitments: SHA-256 with its own domain prefix byte.
#include "commitment.hpp"

#include <stdexcept>

#include "sha256.hpp"

namespace witness
{

Hash payload_commitment(std::string_view salt, std::string_view canonical_payload)
{
	return payload_commitment(salt, &canonical_payload, 1);
}

Hash payload_commitment(std::string_view salt, const std::string_view *pieces, size_t n)
{
	if (salt.size() != kCommitmentSaltSize)
		throw std::invalid_argument("a payload commitment salt must be 16 bytes");
	// One hasher per thread, as sha256() keeps: a context allocation per entry is measurable.
	thread_local Sha256 hasher;
	hasher.update(&kCommitmentPrefix, 1);
	hasher.update(salt);
	for (size_t i = 0; i < n; i++)
		hasher.update(pieces[i]);
	return hasher.finish();
}

} // namespace witness
