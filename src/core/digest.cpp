// Digest documents: canonical text, signing, parsing and signature checks.
#include "digest.hpp"

#include <stdexcept>

#include "canonical_json.hpp"
#include "json_value.hpp"
#include "sha256.hpp"
#include "signatures.hpp"
#include "utc_time.hpp"

namespace witness
{

namespace
{

[[noreturn]] void malformed(const std::string &what)
{
	throw std::invalid_argument("malformed signed digest: " + what);
}

const JsonValue &require(const JsonValue &obj, const char *key, JsonType type, const char *type_name)
{
	const JsonValue *v = obj.find(key);
	if (v == nullptr)
		malformed(std::string("missing \"") + key + "\"");
	if (v->type != type)
		malformed(std::string("\"") + key + "\" must be " + type_name);
	return *v;
}

int64_t require_integer(const JsonValue &obj, const char *key)
{
	const JsonValue &v = require(obj, key, JsonType::Number, "an integer");
	try {
		return json_integer(v.text);
	} catch (const JsonError &) {
		malformed(std::string("\"") + key + "\" must be an integer, not " + v.text);
	}
}

std::string require_hex(const JsonValue &obj, const char *key, size_t bytes)
{
	const std::string &text = require(obj, key, JsonType::String, "a string").text;
	try {
		if (text.size() == 2 * bytes)
			return from_hex(text);
	} catch (const std::invalid_argument &) {
	}
	malformed(std::string("\"") + key + "\" must be " + std::to_string(2 * bytes) + " hex digits");
}

void only_keys(const JsonValue &obj, std::initializer_list<const char *> allowed, const char *what)
{
	for (const auto &m : obj.members) {
		bool ok = false;
		for (const char *a : allowed)
			ok = ok || m.first == a;
		if (!ok)
			malformed(std::string("unexpected member \"") + m.first.substr(0, 64) + "\" in " + what);
	}
}

// Lower-case hex of a hex member known to be well formed.
std::string require_hex_text(const JsonValue &obj, const char *key, size_t bytes)
{
	const std::string raw = require_hex(obj, key, bytes);
	return to_hex(reinterpret_cast<const uint8_t *>(raw.data()), raw.size());
}

DigestFields fields_of(const JsonValue &d)
{
	if (d.type != JsonType::Object)
		malformed("the digest must be a JSON object");
	only_keys(d, {"block_hash", "block_no", "database", "entries", "time", "version"}, "the digest");
	const int64_t version = require_integer(d, "version");
	if (version != kDigestVersion)
		malformed("unsupported digest version " + std::to_string(version));
	DigestFields f;
	f.database_id = require(d, "database", JsonType::String, "a string").text;
	f.block_no = require_integer(d, "block_no");
	const std::string hash = require_hex(d, "block_hash", 32);
	std::copy(hash.begin(), hash.end(), f.block_hash.begin());
	f.entry_count = require_integer(d, "entries");
	f.time_us = parse_utc_us(require(d, "time", JsonType::String, "a string").text);
	if (f.block_no < 1)
		malformed("\"block_no\" must be at least 1");
	if (f.entry_count < 0)
		malformed("\"entries\" must not be negative");
	return f;
}

JsonValue parse_document(std::string_view text)
{
	if (text.size() > kMaxDigestBytes)
		throw std::invalid_argument("signed digest too large: " + std::to_string(text.size()) + " bytes, at most " +
		                            std::to_string(kMaxDigestBytes) + " are accepted");
	try {
		return parse_json(text);
	} catch (const JsonError &e) {
		malformed(e.what());
	}
}

} // namespace

std::string make_digest_json(const DigestFields &f)
{
	std::string out = "{\"block_hash\":\"" + to_hex(f.block_hash) + "\",\"block_no\":" + std::to_string(f.block_no) +
	                  ",\"database\":";
	append_json_string(f.database_id, out);
	out += ",\"entries\":" + std::to_string(f.entry_count) + ",\"time\":\"" + format_utc_us(f.time_us) +
	       "\",\"version\":" + std::to_string(kDigestVersion) + "}";
	return out;
}

DigestFields parse_digest_json(std::string_view digest_json)
{
	return fields_of(parse_document(digest_json));
}

std::string sign_digest(std::string_view digest_json, std::string_view hmac_key, std::string_view ed25519_private_pem)
{
	parse_digest_json(digest_json); // refuse to sign anything but a well-formed digest
	std::string canonical;
	canonical_json(digest_json, canonical);
	// Members in canonical order: digest, ed25519, ed25519_public_key, hmac_sha256.
	std::string out = "{\"digest\":" + canonical;
	if (!ed25519_private_pem.empty()) {
		out += ",\"ed25519\":\"" + ed25519_sign_hex(ed25519_private_pem, canonical) + "\"";
		out += ",\"ed25519_public_key\":\"" + ed25519_public_key_hex(ed25519_private_pem) + "\"";
	}
	if (!hmac_key.empty())
		out += ",\"hmac_sha256\":\"" + hmac_sha256_hex(hmac_key, canonical) + "\"";
	out += "}";
	return out;
}

const char *signature_state_name(SignatureState state) noexcept
{
	switch (state) {
	case SignatureState::Absent:
		return "absent";
	case SignatureState::NotChecked:
		return "not checked";
	case SignatureState::Valid:
		return "valid";
	case SignatureState::Invalid:
		return "invalid";
	}
	return "unknown";
}

DigestCheck check_digest_signatures(std::string_view signed_json, std::string_view hmac_key,
                                    std::string_view ed25519_key)
{
	const JsonValue doc = parse_document(signed_json);
	if (doc.type != JsonType::Object)
		malformed("the document must be a JSON object");
	only_keys(doc, {"digest", "ed25519", "ed25519_public_key", "hmac_sha256"}, "the signed digest");
	const JsonValue *digest = doc.find("digest");
	if (digest == nullptr)
		malformed("missing \"digest\"");
	DigestCheck check;
	check.fields = fields_of(*digest);
	canonical_json(digest->source(signed_json), check.digest_json);

	if (doc.find("hmac_sha256") != nullptr) {
		const std::string mac = require_hex_text(doc, "hmac_sha256", 32);
		if (hmac_key.empty())
			check.hmac = SignatureState::NotChecked;
		else
			check.hmac = equal_constant_time(mac, hmac_sha256_hex(hmac_key, check.digest_json))
			                 ? SignatureState::Valid
			                 : SignatureState::Invalid;
	}
	if (doc.find("ed25519_public_key") != nullptr)
		check.ed25519_public_key = require_hex_text(doc, "ed25519_public_key", 32);
	if (doc.find("ed25519") != nullptr) {
		const std::string sig = require_hex_text(doc, "ed25519", 64);
		if (ed25519_key.empty())
			check.ed25519 = SignatureState::NotChecked;
		else
			check.ed25519 = ed25519_verify_hex(ed25519_key, check.digest_json, sig) ? SignatureState::Valid
			                                                                        : SignatureState::Invalid;
	}
	return check;
}

} // namespace witness
