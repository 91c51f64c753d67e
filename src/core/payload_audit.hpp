// The payload half of verifying format-2 entries (docs/hashing.md, "format 2"): a payload must match
// its commitment while it is there, and once it is gone, an erasure recorded in the chain must name
// the entry. Anything else is tampering: a payload changed under its commitment, or removed without
// an erasure record (or with a record that does not list it).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "problem.hpp"

namespace witness
{

enum class PayloadState {
	Intact,  // salt and payload reproduce the stored commitment
	Changed, // they do not
	Erased,  // payload and salt are gone
	// Sealed (an encrypted table's entry) under a master key the verifier does not hold: only its
	// header and commitment were checked, through the leaf hash.
	Unchecked,
	// Sealed, and does not open under the master key that sealed it: altered, or moved from another
	// entry. Reported as changed.
	Unopened,
	// Sealed under a master key other than the ones the verifier was given, while it was given some.
	// Reported as changed, saying so (a robustness review read "salt and content no longer match"
	// for an intact payload under a key that was not configured).
	ForeignKey,
};

class PayloadAudit
{
  public:
	// One format-2 entry (block_no 0: pending) and the erasure its row names, if any (every value of
	// the column names one: a review stored 0, which used to mean none, and hid an entry from erasures).
	// Only changed and erased ones are kept.
	void add(int64_t id, int64_t block_no, PayloadState state, std::optional<int64_t> erasure_id);
	// An erasure as the chain recorded it, listing the entries it erased and, of those, the ones whose
	// payload no longer matched its commitment when it did (reported as changed, not as erased).
	void add_erasure_record(int64_t erasure_id, std::vector<int64_t> entry_ids, std::vector<int64_t> tampered_ids = {});
	// An erasure whose record is not sealed yet, and so not taken as evidence: the entries naming it are
	// still reported, with a message that says so.
	void add_unsealed_erasure(int64_t erasure_id) { unsealed_.insert(erasure_id); }
	// Appends the problems found; returns how many entries were erased with a matching record.
	int64_t finish(std::vector<Problem> &problems);
	// How many entries were added as Unchecked.
	int64_t unchecked() const { return unchecked_; }
	// The erasures that erased entries name and no record added so far lists (pending ones aside),
	// ascending: what a verification of a range that ends before the newest block still has to find.
	std::vector<int64_t> unrecorded_erasures() const;

  private:
	struct Entry {
		int64_t id, block_no, erasure_id;
		PayloadState state = PayloadState::Changed;
		bool named = false; // the row names erasure erasure_id
	};
	std::vector<Entry> changed_;
	std::vector<Entry> erased_;
	std::vector<Entry> misnamed_; // payload there, yet an erasure named
	std::unordered_set<int64_t> unsealed_; // erasure ids of records not sealed yet
	int64_t unchecked_ = 0;
	std::unordered_map<int64_t, std::vector<int64_t>> records_;  // erasure id -> sorted entry ids
	std::unordered_map<int64_t, std::vector<int64_t>> tampered_; // erasure id -> sorted tampered ids
};

} // namespace witness
