#include "retention_record.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "json_value.hpp"
#include "sha256.hpp"

namespace witness
{

RetentionRecord parse_retention_record(std::string_view new_values_json)
{
	const JsonValue doc = parse_json(new_values_json, record_value_budget(new_values_json));
	const JsonValue *id = doc.find("run_id");
	const JsonValue *pruned = doc.find("pruned");
	if (id == nullptr || id->type != JsonType::Number || pruned == nullptr || pruned->type != JsonType::Array)
		throw std::invalid_argument("retention record: run_id or pruned missing");
	RetentionRecord r;
	r.run_id = json_integer(id->text);
	for (const JsonValue &item : pruned->items) {
		const JsonValue *block_no = item.find("block_no");
		const JsonValue *whole = item.find("whole");
		const JsonValue *digest = item.find("digest");
		if (block_no == nullptr || block_no->type != JsonType::Number || whole == nullptr ||
		    whole->type != JsonType::Bool || digest == nullptr || digest->type != JsonType::String)
			throw std::invalid_argument("retention record: a pruned block lacks block_no, whole or digest");
		const std::string bytes = from_hex(digest->text);
		if (bytes.size() != 32)
			throw std::invalid_argument("retention record: a digest is not 32 bytes");
		RetentionRecord::Block b;
		b.block_no = json_integer(block_no->text);
		b.whole = whole->boolean;
		std::memcpy(b.digest.data(), bytes.data(), 32);
		r.blocks.push_back(b);
	}
	const JsonValue *archives = doc.find("archives");
	if (archives != nullptr && archives->type == JsonType::Array) {
		for (const JsonValue &item : archives->items) {
			const JsonValue *file = item.find("file");
			const JsonValue *sha = item.find("sha256");
			const JsonValue *entries = item.find("entries");
			if (file == nullptr || file->type != JsonType::String || sha == nullptr || sha->type != JsonType::String ||
			    entries == nullptr || entries->type != JsonType::Number)
				throw std::invalid_argument("retention record: an archive lacks file, sha256 or entries");
			const std::string bytes = from_hex(sha->text);
			if (bytes.size() != 32)
				throw std::invalid_argument("retention record: an archive's sha256 is not 32 bytes");
			RetentionRecord::Archive a;
			a.file = file->text;
			std::memcpy(a.sha256.data(), bytes.data(), 32);
			a.entries = json_integer(entries->text);
			r.archives.push_back(a);
		}
	}
	return r;
}

Hash pruned_digest(int64_t block_no, bool whole, const std::vector<int64_t> &ids, const std::vector<Hash> &hashes)
{
	auto big_endian = [](int64_t v, uint8_t out[8]) {
		const uint64_t u = static_cast<uint64_t>(v);
		for (int i = 0; i < 8; i++)
			out[i] = static_cast<uint8_t>(u >> (56 - 8 * i));
	};
	Sha256 h;
	uint8_t buf[8];
	big_endian(block_no, buf);
	h.update(buf, 8);
	const uint8_t flag = whole ? 1 : 0;
	h.update(&flag, 1);
	for (int64_t id : ids) {
		big_endian(id, buf);
		h.update(buf, 8);
	}
	for (const Hash &x : hashes)
		h.update(x.data(), x.size());
	return h.finish();
}

} // namespace witness
