#include "entry_payload_seal.hpp"

#include <stdexcept>

#include <openssl/crypto.h>

#include "commitment.hpp"

namespace witness
{

std::string entry_payload_aad(int64_t id)
{
	std::string aad(8, '\0');
	const uint64_t v = static_cast<uint64_t>(id);
	for (int i = 0; i < 8; i++)
		aad[i] = static_cast<char>(v >> (56 - 8 * i));
	return aad;
}

std::string seal_entry_payload(const MasterKey &key, const EntryView &entry, Hash *commitment)
{
	if (entry.salt == nullptr)
		throw std::invalid_argument("an entry payload is sealed with its salt");
	// Built in a buffer the thread keeps (one allocation less per captured entry), wiped however this ends.
	thread_local std::string plain;
	struct Wipe {
		~Wipe()
		{
			OPENSSL_cleanse(plain.data(), plain.size());
			plain.clear();
		}
	} wipe;
	plain.assign(reinterpret_cast<const char *>(entry.salt), kCommitmentSaltSize);
	encode_payload(entry, plain);
	if (commitment != nullptr) {
		const std::string_view p(plain);
		*commitment = payload_commitment(p.substr(0, kCommitmentSaltSize), p.substr(kCommitmentSaltSize));
	}
	const std::string_view context =
	    entry.has_pseudonym ? std::string_view(reinterpret_cast<const char *>(entry.pseudonym.data()), entry.pseudonym.size())
	                        : std::string_view();
	return key.seal(context, plain, entry_payload_aad(entry.id));
}

std::string open_entry_payload(const MasterKey &key, int64_t id, std::string_view pseudonym, std::string_view sealed)
{
	std::string plain = key.open(pseudonym, sealed, entry_payload_aad(id));
	if (plain.size() < kCommitmentSaltSize)
		throw std::invalid_argument("a sealed entry payload is shorter than its salt");
	return plain;
}

namespace
{

// Opens the payload sealed under `from` for entry from_id and seals it under `to` for entry to_id.
std::string reseal(const MasterKey &from, int64_t from_id, const MasterKey &to, int64_t to_id,
                   std::string_view pseudonym, std::string_view sealed)
{
	std::string plain = open_entry_payload(from, from_id, pseudonym, sealed);
	std::string resealed = to.seal(pseudonym, plain, entry_payload_aad(to_id));
	OPENSSL_cleanse(plain.data(), plain.size());
	return resealed;
}

} // namespace

std::string reseal_entry_payload(const MasterKey &from, const MasterKey &to, int64_t id, std::string_view pseudonym,
                                 std::string_view sealed)
{
	return reseal(from, id, to, id, pseudonym, sealed);
}

std::string move_entry_payload(const MasterKey &key, int64_t from_id, int64_t to_id, std::string_view pseudonym,
                               std::string_view sealed)
{
	return reseal(key, from_id, key, to_id, pseudonym, sealed);
}

} // namespace witness
