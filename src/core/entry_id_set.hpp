// The entry ids a verification has met, to find an id met twice: ids come from one sequence, so two
// entries with one id mean that one of them was inserted (an attack review sealed a copy of a sealed
// entry, with its own xid, into a later block, and both verifiers said valid).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace witness
{

// Ids in chunks of 32,768: a sorted list of offsets while it is short, a bitmap (4 KB) once it is
// not. A dense trail of 5 million ids takes about 600 KB.
class EntryIdSet
{
public:
	// Adds id; false when it was there already.
	bool insert(int64_t id);
	// Undo: from mark() on, the ids inserted are logged, so that rollback() can take them out again (a
	// verification attempt that is run again another way must not meet its own ids twice).
	void mark();
	void rollback();
	void commit(); // forget the log

private:
	static constexpr int kShift = 15;
	static constexpr size_t kListMax = 2048; // offsets, 4 KB: a bitmap is no larger
	struct Chunk {
		std::vector<uint16_t> list; // sorted, while bits is null
		std::unique_ptr<std::array<uint64_t, (1u << kShift) / 64>> bits;
	};
	Chunk &chunk_of(int64_t id);
	bool insert_into(Chunk &c, uint16_t offset);
	void erase(int64_t id);

	std::unordered_map<int64_t, Chunk> chunks_;
	int64_t last_key_ = 0;
	Chunk *last_ = nullptr;
	bool logging_ = false;
	std::vector<int64_t> log_;
};

} // namespace witness
