// Signed digests: a short statement "block N of database D has hash H and seals E entries in all,
// as of time T", signed so that it can be kept outside the database and later prove that the
// chain up to block N was not rewritten. docs/verification.md describes the format.
//
// digest (canonical JSON, keys in this order):
//     {"block_hash":"<64
//     hex>","block_no":N,"database":"...","entries":E,"time":"YYYY-MM-DDTHH:MM:SS.ffffffZ","version":1}
// signed document (canonical JSON):
//     {"digest":{...},"ed25519":"<128 hex>","ed25519_public_key":"<64 hex>","hmac_sha256":"<64 hex>"}
// Both signatures are over the canonical text of the digest object; either may be left out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hash.hpp"

namespace witness
{

constexpr int64_t kDigestVersion = 1;

// Longest signed digest document accepted, in bytes of JSON text. A signed digest has less than 1 kB;
// the limit only keeps a huge document from being parsed at all (docs/verification.md).
constexpr size_t kMaxDigestBytes = 64 * 1024;

struct DigestFields {
	std::string database_id;
	int64_t block_no = 0;
	Hash block_hash{};
	int64_t entry_count = 0; // entries sealed in blocks 1 to block_no
	int64_t time_us = 0;     // microseconds since 1970-01-01 00:00:00 UTC
};

// The canonical JSON text of a digest. Throws std::invalid_argument for a time outside years 1-9999.
std::string make_digest_json(const DigestFields &fields);

// Signs a digest: digest_json is canonicalized, then signed with HMAC-SHA256 under hmac_key and with
// Ed25519 under ed25519_private_pem; an empty key leaves that signature out. Returns the signed
// document as canonical JSON. Throws std::invalid_argument on an invalid digest or key.
std::string sign_digest(std::string_view digest_json, std::string_view hmac_key, std::string_view ed25519_private_pem);

enum class SignatureState {
	Absent,     // the document has no such signature
	NotChecked, // present, but no key was given to check it with
	Valid,
	Invalid,
};

const char *signature_state_name(SignatureState state) noexcept; // "absent", "not checked", "valid", "invalid"

struct DigestCheck {
	DigestFields fields;
	std::string digest_json; // canonical text of the digest object: what the signatures cover
	SignatureState hmac = SignatureState::Absent;
	SignatureState ed25519 = SignatureState::Absent;
	std::string ed25519_public_key; // as embedded in the document (hex), untrusted; empty if absent
};

// Parses a signed digest document and checks its signatures with the keys given (empty: not
// checked). ed25519_key: public key PEM, private key PEM or 64 hex digits. The key embedded in the
// document is never used for checking. Throws std::invalid_argument on a malformed document or key,
// and on a document longer than kMaxDigestBytes.
DigestCheck check_digest_signatures(std::string_view signed_json, std::string_view hmac_key,
                                    std::string_view ed25519_key);

// Parses just a digest object (as make_digest_json writes it, in any key order or spacing); the same
// length limit applies.
DigestFields parse_digest_json(std::string_view digest_json);

} // namespace witness
