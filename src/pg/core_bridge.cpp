#include "pg/pg_includes.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "core/canonical_json.hpp"
#include "pg/core_bridge.hpp"

namespace witness::pg {
namespace {

char errbuf[512];
std::string scratch; // reused output buffer; static, so no destructor is skipped by a longjmp

// Runs fn, returning nullptr or the message of what it threw, copied into errbuf.
template <typename Fn> const char *run_core(Fn &&fn) noexcept
{
	try {
		fn();
		return nullptr;
	} catch (const std::exception &e) {
		std::snprintf(errbuf, sizeof(errbuf), "%s", e.what());
	} catch (...) {
		std::snprintf(errbuf, sizeof(errbuf), "unknown C++ exception");
	}
	return errbuf;
}

} // namespace

void leaf_hash(const EntryView &entry, uint8_t out[32])
{
	const char *err = run_core([&] {
		Hash h = entry_leaf_hash(entry);
		std::memcpy(out, h.data(), h.size());
	});
	if (err)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not hash pg_witness entry: %s", err)));
}

struct varlena *canonical_bytes(const EntryView &entry)
{
	const char *err = run_core([&] {
		scratch.clear();
		encode_entry(entry, scratch);
	});
	if (err)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not encode pg_witness entry: %s", err)));
	bytea *result = (bytea *)palloc(VARHDRSZ + scratch.size());
	SET_VARSIZE(result, VARHDRSZ + scratch.size());
	memcpy(VARDATA(result), scratch.data(), scratch.size());
	return result;
}

char *canonical_json(const char *json_text, size_t len, size_t *out_len)
{
	const char *err = run_core([&] {
		scratch.clear();
		witness::canonical_json(std::string_view(json_text, len), scratch);
	});
	if (err)
		ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), errmsg("invalid JSON in pg_witness entry: %s", err)));
	char *result = (char *)palloc(scratch.size() + 1);
	memcpy(result, scratch.data(), scratch.size());
	result[scratch.size()] = '\0';
	*out_len = scratch.size();
	return result;
}

} // namespace witness::pg
