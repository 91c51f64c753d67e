// The entry ids a verification has met (entry_id_set.hpp).
#include "entry_id_set.hpp"

#include <algorithm>

namespace witness
{

EntryIdSet::Chunk &EntryIdSet::chunk_of(int64_t id)
{
	// An arithmetic shift: negative ids (which only tampering makes) get chunks of their own.
	const int64_t key = id >> kShift;
	if (last_ == nullptr || key != last_key_) {
		last_ = &chunks_[key]; // references to elements survive rehashing
		last_key_ = key;
	}
	return *last_;
}

bool EntryIdSet::insert_into(Chunk &c, uint16_t offset)
{
	if (c.bits) {
		uint64_t &word = (*c.bits)[offset / 64];
		const uint64_t bit = uint64_t{1} << (offset % 64);
		if (word & bit)
			return false;
		word |= bit;
		return true;
	}
	const auto at = std::lower_bound(c.list.begin(), c.list.end(), offset);
	if (at != c.list.end() && *at == offset)
		return false;
	if (c.list.size() < kListMax) {
		c.list.insert(at, offset);
		return true;
	}
	c.bits = std::make_unique<std::array<uint64_t, (1u << kShift) / 64>>();
	c.bits->fill(0);
	for (const uint16_t o : c.list)
		(*c.bits)[o / 64] |= uint64_t{1} << (o % 64);
	std::vector<uint16_t>().swap(c.list);
	return insert_into(c, offset);
}

bool EntryIdSet::insert(int64_t id)
{
	const auto offset = static_cast<uint16_t>(static_cast<uint64_t>(id) & ((1u << kShift) - 1));
	if (!insert_into(chunk_of(id), offset))
		return false;
	if (logging_)
		log_.push_back(id);
	return true;
}

void EntryIdSet::erase(int64_t id)
{
	const auto offset = static_cast<uint16_t>(static_cast<uint64_t>(id) & ((1u << kShift) - 1));
	Chunk &c = chunk_of(id);
	if (c.bits) {
		(*c.bits)[offset / 64] &= ~(uint64_t{1} << (offset % 64));
		return;
	}
	const auto at = std::lower_bound(c.list.begin(), c.list.end(), offset);
	if (at != c.list.end() && *at == offset)
		c.list.erase(at);
}

void EntryIdSet::mark()
{
	logging_ = true;
	log_.clear();
}

void EntryIdSet::rollback()
{
	for (const int64_t id : log_)
		erase(id);
	commit();
}

void EntryIdSet::commit()
{
	logging_ = false;
	std::vector<int64_t>().swap(log_);
}

} // namespace witness
