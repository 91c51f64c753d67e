// Payload commitments: SHA-256 with its own domain prefix byte.
#include "commitment.hpp"

#include <stdexcept>

#include "sha256.hpp"

namespace witness
{

Hash payload_commitment(std::string_view salt, std::string_view canonical_payload)
{
	if (salt.size() != kCommitmentSaltSize)
		throw std::invalid_argument("a payload commitment salt must be 32 bytes");
	// One hasher per thread, as sha256() keeps: a context allocation per entry is measurable.
	thread_local Sha256 hasher;
	hasher.update(&kCommitmentPrefix, 1);
	hasher.update(salt);
	hasher.update(canonical_payload);
	return hasher.finish();
}

} // namespace witness
