// Per-purpose keys derived from the master key with HKDF-SHA256 (subject_keys.hpp lists the info strings).
#include "subject_keys.hpp"

#include <cctype>
#include <stdexcept>

#include "hkdf.hpp"
#include "hmac.hpp"
#include "sha256.hpp"

namespace witness
{

namespace
{

void check_master(std::string_view master)
{
	if (master.size() != kMasterKeySize)
		throw std::invalid_argument("the master key must be 32 bytes");
}

void check_subject(std::string_view subject)
{
	if (subject.empty())
		throw std::invalid_argument("the data subject is empty");
}

std::string derive(std::string_view master, std::string_view info, size_t length)
{
	check_master(master);
	return hkdf_sha256(master, std::string_view(), info, length);
}

} // namespace

std::string master_key_from_file_text(std::string_view file_text)
{
	while (!file_text.empty() && std::isspace(static_cast<unsigned char>(file_text.back())))
		file_text.remove_suffix(1);
	if (file_text.size() != 2 * kMasterKeySize)
		throw std::invalid_argument("master key file must hold 64 hex digits (as `openssl rand -hex 32` writes), "
		                            "found " +
		                            std::to_string(file_text.size()) + " characters");
	for (size_t i = 0; i < file_text.size(); i++)
		if (!std::isxdigit(static_cast<unsigned char>(file_text[i])))
			throw std::invalid_argument("master key file must hold 64 hex digits (as `openssl rand -hex 32` "
			                            "writes), character " +
			                            std::to_string(i + 1) + " is not a hex digit");
	return from_hex(file_text);
}

std::string subject_encryption_key(std::string_view master, std::string_view subject)
{
	std::string info(kSubjectEncryptionKeyInfo);
	info += '\0';
	info += subject;
	return derive(master, info, 32);
}

std::string pseudonym_key(std::string_view master)
{
	return derive(master, kPseudonymKeyInfo, 32);
}

std::string subject_pseudonym(std::string_view key, std::string_view subject)
{
	if (key.size() != 32)
		throw std::invalid_argument("the pseudonym key must be 32 bytes");
	check_subject(subject);
	return hmac_sha256(key, subject);
}

std::string master_key_id(std::string_view master)
{
	const std::string id = derive(master, kMasterKeyIdInfo, kMasterKeyIdSize);
	return to_hex(reinterpret_cast<const uint8_t *>(id.data()), id.size());
}

} // namespace witness
