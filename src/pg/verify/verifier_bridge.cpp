#include "pg/verify/verifier_bridge.hpp"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include "core/entry_id_set.hpp"
#include "core/erasure_record.hpp"
#include "core/retention_record.hpp"
#include "core/trail_verifier.hpp"
#include "pg/common/cpp_guard.hpp"

namespace witness::pg
{

struct VerifierHandle {
	TrailVerifier *verifier;
	MemoryContextCallback callback;
};

namespace
{

void release(void *arg)
{
	auto *h = static_cast<VerifierHandle *>(arg);
	delete h->verifier;
	h->verifier = nullptr;
}

StoredBlock to_core(const StoredBlockFields &b)
{
	StoredBlock s;
	s.header.block_no = b.fields.block_no;
	s.header.snapshot = b.fields.snapshot;
	s.header.entry_count = b.fields.entry_count;
	s.header.has_entry_ids = b.fields.has_entry_ids;
	s.header.first_entry_id = b.fields.first_entry_id;
	s.header.last_entry_id = b.fields.last_entry_id;
	std::memcpy(s.header.merkle_root.data(), b.fields.merkle_root, 32);
	std::memcpy(s.header.prev_hash.data(), b.fields.prev_hash, 32);
	s.header.sealed_at_us = b.fields.sealed_at_us;
	std::memcpy(s.stored_block_hash.data(), b.stored_hash, 32);
	return s;
}

} // namespace

VerifierHandle *verifier_create(const StoredBlockFields *previous, const StoredBlockFields *blocks, int nblocks,
                                bool is_last, int64 highest_block_no_issued, int64 range_end)
{
	auto *h = (VerifierHandle *)palloc0(sizeof(VerifierHandle));
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to start", [&] {
		std::vector<StoredBlock> chain;
		chain.reserve((size_t)nblocks);
		for (int i = 0; i < nblocks; i++)
			chain.push_back(to_core(blocks[i]));
		if (previous != nullptr) {
			StoredBlock prev = to_core(*previous);
			h->verifier = new TrailVerifier(&prev, std::move(chain), is_last, highest_block_no_issued);
		} else {
			h->verifier = new TrailVerifier(nullptr, std::move(chain), is_last, highest_block_no_issued);
		}
		h->verifier->set_range_end(range_end);
	});
	h->callback.func = release;
	h->callback.arg = h;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &h->callback);
	return h;
}

struct IdSetHandle {
	EntryIdSet *ids;
	MemoryContextCallback callback;
};

namespace
{
void release_ids(void *arg)
{
	auto *h = static_cast<IdSetHandle *>(arg);
	delete h->ids;
	h->ids = nullptr;
}
} // namespace

IdSetHandle *id_set_create()
{
	auto *h = (IdSetHandle *)palloc0(sizeof(IdSetHandle));
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to start", [&] { h->ids = new EntryIdSet(); });
	h->callback.func = release_ids;
	h->callback.arg = h;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &h->callback);
	return h;
}

void verifier_share_ids(VerifierHandle *v, IdSetHandle *ids)
{
	v->verifier->share_ids(ids->ids);
}

void id_set_mark(IdSetHandle *ids)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed", [&] { ids->ids->mark(); });
}

void id_set_rollback(IdSetHandle *ids)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed", [&] { ids->ids->rollback(); });
}

void id_set_commit(IdSetHandle *ids)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed", [&] { ids->ids->commit(); });
}

void verifier_set_logged_digest(VerifierHandle *v, int64 block_no, const uint8_t hash[32])
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read the digest file", [&] {
		Hash h;
		std::memcpy(h.data(), hash, h.size());
		v->verifier->set_logged_digest(block_no, h);
	});
}

void verifier_set_eras(VerifierHandle *v, const int64 *first_entry_ids, const int64 *first_block_nos, int n)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read the eras", [&] {
		std::vector<EraStart> eras;
		eras.reserve((size_t)n);
		for (int i = 0; i < n; i++)
			eras.push_back(EraStart{first_entry_ids[i], first_block_nos[i]});
		v->verifier->set_eras(std::move(eras));
	});
}

void verifier_add_entry(VerifierHandle *v, int64 id, uint64 xid, const uint8_t *stored, const uint8_t *recomputed,
                        bool partial, const char *encoding, size_t encoding_len)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read an entry", [&] {
		Hash s, r;
		std::memcpy(s.data(), stored, 32);
		std::memcpy(r.data(), recomputed, 32);
		v->verifier->add_entry(id, xid, s, r, partial, std::string_view(encoding != nullptr ? encoding : "", encoding_len));
	});
}

size_t verifier_encoding_limit()
{
	return TrailVerifier::kMaxEncodingBytes;
}

void verifier_add_payload(VerifierHandle *v, int64 id, uint64 xid, PayloadCheck state, bool names_erasure,
                          int64 erasure_id)
{
	const PayloadState core_state = state == PayloadIntact       ? PayloadState::Intact
	                                : state == PayloadChanged    ? PayloadState::Changed
	                                : state == PayloadErased     ? PayloadState::Erased
	                                : state == PayloadUnopened   ? PayloadState::Unopened
	                                : state == PayloadForeignKey ? PayloadState::ForeignKey
	                                                             : PayloadState::Unchecked;
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read a payload",
	         [&] {
		         v->verifier->add_payload(id, xid, core_state,
		                                  names_erasure ? std::optional<int64_t>(erasure_id) : std::nullopt);
	         });
}

namespace
{
std::optional<RecordEntry> record_entry(int64 entry_id, uint64 xid)
{
	if (entry_id == 0)
		return std::nullopt;
	return RecordEntry{entry_id, xid};
}
} // namespace

void verifier_xids_assigned_below(VerifierHandle *v, uint64 next_xid)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to start",
	         [&] { v->verifier->xids_assigned_below(next_xid); });
}

int64 verifier_add_erasure_record(VerifierHandle *v, int64 entry_id, uint64 xid, const char *new_values, size_t len)
{
	int64 id = 0;
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read an erasure", [&] {
		ErasureRecord record;
		try {
			record = parse_erasure_record(std::string_view(new_values, len));
		} catch (const std::exception &) {
			return; // not an erasure record: it erases nothing
		}
		id = record.erasure_id;
		v->verifier->add_erasure_record(record.erasure_id, std::move(record.entry_ids), std::move(record.tampered_entry_ids),
		                                record_entry(entry_id, xid));
	});
	return id;
}

void verifier_add_pruned(VerifierHandle *v, int64 block_no, int64 run_id, bool whole, const int64 *ids, int n,
                         const uint8_t *hashes, int nhashes)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read pruned entries", [&] {
		std::vector<int64_t> id_list(ids, ids + n);
		std::vector<Hash> hash_list((size_t)nhashes);
		for (int i = 0; i < nhashes; i++)
			std::memcpy(hash_list[(size_t)i].data(), hashes + 32 * i, 32);
		v->verifier->add_pruned(block_no, run_id, whole, std::move(id_list), std::move(hash_list));
	});
}

int64 verifier_add_retention_record(VerifierHandle *v, int64 entry_id, uint64 xid, const char *new_values, size_t len)
{
	int64 id = 0;
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to read a retention run", [&] {
		RetentionRecord record;
		try {
			record = parse_retention_record(std::string_view(new_values, len));
		} catch (const std::exception &) {
			return; // not a retention record: it names nothing
		}
		id = record.run_id;
		v->verifier->add_retention_record(record, record_entry(entry_id, xid));
	});
	return id;
}

bool verifier_missing_records(VerifierHandle *v, int64 **erasure_ids, int *n_erasures, int64 **run_ids, int *n_runs)
{
	static TrailVerifier::MissingRecords missing; // static: no destructor is skipped if an ERROR follows
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to list missing records",
	         [&] { missing = v->verifier->missing_records(); });
	auto copy = [](const std::vector<int64_t> &from, int64 **to, int *n) {
		*n = (int)from.size();
		*to = (int64 *)palloc(sizeof(int64) * Max(*n, 1));
		for (int i = 0; i < *n; i++)
			(*to)[i] = from[(size_t)i];
	};
	copy(missing.erasure_ids, erasure_ids, n_erasures);
	copy(missing.run_ids, run_ids, n_runs);
	std::vector<int64_t>().swap(missing.erasure_ids); // the static holds nothing between calls
	std::vector<int64_t>().swap(missing.run_ids);
	return *n_erasures > 0 || *n_runs > 0;
}

void verifier_stream(VerifierHandle *v, size_t max_collect_members)
{
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to start streaming",
	         [&] { v->verifier->stream(max_collect_members); });
}

bool verifier_next_pass(VerifierHandle *v)
{
	bool more = false;
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to start a pass",
	         [&] { more = v->verifier->next_pass(); });
	return more;
}

bool verifier_stream_ordered(VerifierHandle *v)
{
	bool ordered = false;
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to check its order",
	         [&] { ordered = v->verifier->stream_ordered(); });
	return ordered;
}

void verifier_finish(VerifierHandle *v, VerifyResult *result)
{
	static VerifyReport report; // static: no destructor is skipped if an ERROR follows
	run_core(ERRCODE_INTERNAL_ERROR, "pg_witness verification failed to finish",
	         [&] { report = v->verifier->finish(); });
	result->status = pstrdup(report.status.c_str());
	result->blocks_checked = report.blocks_checked;
	result->entries_checked = report.entries_checked;
	result->entries_pending = report.entries_pending;
	result->entries_erased = report.entries_erased;
	result->entries_unchecked = report.entries_unchecked;
	result->entries_pruned = report.entries_pruned;
	result->nproblems = (int)report.problems.size();
	result->problems = (VerifyProblem *)palloc0(sizeof(VerifyProblem) * Max(result->nproblems, 1));
	for (int i = 0; i < result->nproblems; i++) {
		const Problem &p = report.problems[(size_t)i];
		result->problems[i].kind = problem_name(p.kind);
		result->problems[i].block_no = p.block_no;
		result->problems[i].entry_id = p.entry_id;
		result->problems[i].detail = pstrdup(p.detail.c_str());
	}
	report = VerifyReport();
}

} // namespace witness::pg
