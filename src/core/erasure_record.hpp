// An erasure as the chain records it: the new_values of the INSERT entry of witness.erasure, whose
// entry_ids column is captured as the text of a bigint[] ("{3,5,6}"). Verification takes the list
// of erased entries from there, where the leaf hash protects it, never from the table.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace witness
{

struct ErasureRecord {
	int64_t erasure_id = 0;
	std::vector<int64_t> entry_ids;
	// Entries whose payload did not match its commitment when the erasure removed it: the evidence of
	// tampering that the erasure would otherwise have taken away (absent in records of before 0.2's
	// final version: none).
	std::vector<int64_t> tampered_entry_ids;
};

// Reads the canonical new_values JSON of an erasure entry. Throws std::invalid_argument (or
// JsonError) when it is not one.
ErasureRecord parse_erasure_record(std::string_view new_values_json);

} // namespace witness
