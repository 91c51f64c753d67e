#include "payload_audit.hpp"

#include <algorithm>
#include <string>

#include "interrupt.hpp"

namespace witness
{

void PayloadAudit::add(int64_t id, int64_t block_no, PayloadState state, std::optional<int64_t> erasure_id)
{
	const bool named = erasure_id.has_value();
	const int64_t named_id = erasure_id.value_or(0);
	if (state == PayloadState::Changed || state == PayloadState::Unopened || state == PayloadState::ForeignKey)
		changed_.push_back(Entry{id, block_no, named_id, state, named});
	else if (state == PayloadState::Erased)
		erased_.push_back(Entry{id, block_no, named_id, state, named});
	else if (state == PayloadState::Unchecked)
		unchecked_++;
	// An entry names an erasure only once one removed its payload. Naming one while the payload is
	// there is a stored column rewritten (the leaf hash does not cover it), and it would make later
	// erasures pass the entry over.
	if ((state == PayloadState::Intact || state == PayloadState::Unchecked) && named)
		misnamed_.push_back(Entry{id, block_no, named_id, state, named});
}

void PayloadAudit::add_erasure_record(int64_t erasure_id, std::vector<int64_t> entry_ids, std::vector<int64_t> tampered_ids)
{
	// Sorted once, in finish(): many records with one id (only forged ones make that) must not cost a
	// sort each. An entry either lists counts.
	std::vector<int64_t> &bad = tampered_[erasure_id];
	bad.insert(bad.end(), tampered_ids.begin(), tampered_ids.end());
	std::vector<int64_t> &ids = records_[erasure_id];
	ids.insert(ids.end(), entry_ids.begin(), entry_ids.end());
}

std::vector<int64_t> PayloadAudit::unrecorded_erasures() const
{
	std::vector<int64_t> ids;
	for (const Entry &e : erased_)
		if (e.named && records_.count(e.erasure_id) == 0 && unsealed_.count(e.erasure_id) == 0)
			ids.push_back(e.erasure_id);
	std::sort(ids.begin(), ids.end());
	ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
	return ids;
}

int64_t PayloadAudit::finish(std::vector<Problem> &problems)
{
	for (const Entry &e : changed_)
		problems.push_back(Problem{
		    ProblemKind::PayloadChanged, e.block_no, e.id,
		    e.state == PayloadState::Unopened
		        ? "sealed payload altered: it does not open under the master key that sealed it (its bytes changed, "
		          "or it was moved from another entry)"
		    : e.state == PayloadState::ForeignKey
		        ? "sealed payload under a master key that is not configured, so it cannot be checked: configure that "
		          "key (witness.previous_master_key_file, for instance); a payload altered to name another key reads "
		          "the same"
		        : "payload altered: its salt and content no longer match the commitment the leaf hash covers"});
	for (const Entry &e : misnamed_)
		problems.push_back(Problem{ProblemKind::ValueChanged, e.block_no, e.id,
		                           "the entry names erasure " + std::to_string(e.erasure_id) +
		                               " although its payload and salt are still there"});
	for (auto *lists : {&records_, &tampered_})
		for (auto &[id, list] : *lists) {
			poll_interrupt();
			std::sort(list.begin(), list.end());
		}
	int64_t erased = 0;
	for (const Entry &e : erased_) {
		poll_interrupt();
		const auto record = records_.find(e.erasure_id);
		const bool listed = e.named && record != records_.end() &&
		                    std::binary_search(record->second.begin(), record->second.end(), e.id);
		if (listed) {
			const auto bad = tampered_.find(e.erasure_id);
			if (bad != tampered_.end() && std::binary_search(bad->second.begin(), bad->second.end(), e.id)) {
				problems.push_back(Problem{ProblemKind::PayloadChanged, e.block_no, e.id,
				                           "payload altered before erasure " + std::to_string(e.erasure_id) +
				                               " removed it: it did not match the commitment the leaf hash covers"});
				continue;
			}
			erased++;
			continue;
		}
		const bool unsealed = e.named && unsealed_.count(e.erasure_id) != 0;
		problems.push_back(Problem{
		    ProblemKind::PayloadRemoved, e.block_no, e.id,
		    !e.named ? std::string("payload and salt removed, and the entry names no erasure")
		    : unsealed        ? "payload and salt removed by erasure " + std::to_string(e.erasure_id) +
		                    ", whose record no block seals yet: a pending record is not evidence (seal, export again "
		                    "and verify)"
		                      : "payload and salt removed, but no erasure recorded in the chain as erasure " +
		                            std::to_string(e.erasure_id) + " lists this entry"});
	}
	return erased;
}

} // namespace witness
