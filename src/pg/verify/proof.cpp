// Inclusion proofs: the audit path of one leaf in its block's Merkle tree. witness.prove() and the
// subject export build a block's tree once (witness._merkle_tree) and read each proof from it
// (witness._merkle_tree_proof) in O(log n); witness._merkle_audit_path recomputes one path from the
// leaves; witness._merkle_chunk_proof assembles one from a single chunk of a large block and the
// block's stored chunk roots (witness.block_chunk).
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"

extern "C" {
#include "utils/array.h"
}

using namespace witness::pg;

namespace
{

// The leaves as 32-byte hashes back to back (palloc'd); *n gets their number. Raises ERROR for
// anything but a one-dimensional bytea array of 32-byte hashes without NULLs.
uint8_t *read_leaves(ArrayType *arr, int *n)
{
	if (ARR_ELEMTYPE(arr) != BYTEAOID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("leaves must be an array of bytea")));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("leaves must be a one-dimensional array")));
	Datum *elems;
	bool *nulls;
	deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, n);
	auto *leaves = (uint8_t *)palloc_extended((Size)32 * Max(*n, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < *n; i++) {
		CHECK_FOR_INTERRUPTS();
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("leaf %d must not be null", i)));
		bytea *b = DatumGetByteaPP(elems[i]);
		if (VARSIZE_ANY_EXHDR(b) != 32)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("leaf %d is not a 32-byte hash", i)));
		memcpy(leaves + 32 * i, VARDATA_ANY(b), 32);
	}
	return leaves;
}

// A block's tree as witness._merkle_tree returns it (a bytea that lives only in memory, never stored):
// the number of leaves n, their entry ids in ascending order, then the 2n - 1 node hashes in the
// pre-order of core/merkle_search.hpp (leaves included). Native byte order.
struct TreeHeader {
	int64 n;
};

Size tree_size_for(int64 n)
{
	return sizeof(TreeHeader) + sizeof(int64) * (Size)n + 32 * (Size)(2 * n - 1);
}

// The largest tree a bytea can hold.
constexpr int64 kMaxTreeLeaves = (int64)((MaxAllocSize - VARHDRSZ - sizeof(TreeHeader)) / (sizeof(int64) + 64));

// A 32-byte hash argument, or ERROR.
const uint8_t *hash_argument(bytea *b, const char *name)
{
	if (VARSIZE_ANY_EXHDR(b) != 32)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s must be a 32-byte hash", name)));
	return (const uint8_t *)VARDATA_ANY(b);
}

// The ids of a one-dimensional bigint array without NULLs (palloc'd); *n gets their number.
int64 *read_ids(ArrayType *arr, int *n)
{
	if (ARR_ELEMTYPE(arr) != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("ids must be an array of bigint")));
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("ids must be a one-dimensional array")));
	Datum *elems;
	bool *nulls;
	deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, n);
	auto *ids = (int64 *)palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++) {
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("id %d must not be null", i)));
		ids[i] = DatumGetInt64(elems[i]);
	}
	return ids;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_merkle_audit_path);
PG_FUNCTION_INFO_V1(witness_merkle_tree);
PG_FUNCTION_INFO_V1(witness_merkle_tree_proof);
PG_FUNCTION_INFO_V1(witness_merkle_chunk_proof);
PG_FUNCTION_INFO_V1(witness_ascending_positions);
PG_FUNCTION_INFO_V1(witness_proof_checks);
Datum witness_proof_checks(PG_FUNCTION_ARGS);
Datum witness_merkle_audit_path(PG_FUNCTION_ARGS);
Datum witness_merkle_tree(PG_FUNCTION_ARGS);
Datum witness_merkle_tree_proof(PG_FUNCTION_ARGS);
Datum witness_merkle_chunk_proof(PG_FUNCTION_ARGS);
Datum witness_ascending_positions(PG_FUNCTION_ARGS);

// witness._merkle_audit_path(leaves bytea[], leaf_index int): audit path from the leaf up, as bytea[].
// Leaves are counted from 0, whatever the array's lower bound.
Datum witness_merkle_audit_path(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "leaves");
	require_not_null(fcinfo, 1, "leaf_index");
	int32 index = PG_GETARG_INT32(1);
	int n;
	uint8_t *leaves = read_leaves(PG_GETARG_ARRAYTYPE_P(0), &n);
	if (index < 0 || index >= n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		                errmsg("leaf index %d is outside a tree of %d leaves", index, n)));
	size_t len;
	uint8_t *path = merkle_audit_path(leaves, (size_t)n, (size_t)index, &len);
	auto *out = (Datum *)palloc(sizeof(Datum) * Max(len, 1));
	for (size_t i = 0; i < len; i++) {
		out[i] = PointerGetDatum(hash_bytea(path + 32 * i));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, (int)len, BYTEAOID, -1, false, TYPALIGN_INT));
}

// witness._proof_checks(leaf bytea, leaf_index integer, tree_size integer, audit_path bytea[],
// merkle_root bytea): whether the audit path leads from the leaf to the root. A block whose members no
// longer give its sealed root (one of them altered) yields paths that do not: prove() refuses those
// rather than hand out a proof that fails.
Datum witness_proof_checks(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"leaf", "leaf_index", "tree_size", "audit_path", "merkle_root"};
	require_nargs(fcinfo, 5);
	for (int i = 0; i < 5; i++)
		require_not_null(fcinfo, i, names[i]);
	const uint8_t *leaf = hash_argument(PG_GETARG_BYTEA_PP(0), "leaf");
	const int32 index = PG_GETARG_INT32(1), size = PG_GETARG_INT32(2);
	int n;
	uint8_t *path = read_leaves(PG_GETARG_ARRAYTYPE_P(3), &n);
	const uint8_t *root = hash_argument(PG_GETARG_BYTEA_PP(4), "merkle_root");
	if (index < 0 || size < 1 || index >= size)
		PG_RETURN_BOOL(false);
	const bool checks = merkle_path_leads_to(leaf, (size_t)index, (size_t)size, path, (size_t)n, root);
	PG_RETURN_BOOL(checks);
}

// witness._merkle_tree(ids bigint[], leaves bytea[]): the Merkle tree of a block whose members, in
// ascending id order, have these ids and leaf hashes; see TreeHeader.
Datum witness_merkle_tree(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "ids");
	require_not_null(fcinfo, 1, "leaves");
	ArrayType *id_array = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_ELEMTYPE(id_array) != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("ids must be an array of bigint")));
	if (ARR_NDIM(id_array) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR), errmsg("ids must be a one-dimensional array")));
	Datum *ids;
	bool *id_nulls;
	int nids;
	deconstruct_array(id_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	int n;
	uint8_t *leaves = read_leaves(PG_GETARG_ARRAYTYPE_P(1), &n);
	if (n != nids)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ids and leaves must have the same length")));
	if (n == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("a Merkle tree needs at least one leaf")));
	if (n > kMaxTreeLeaves)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("a block of %d entries is too large to build its Merkle tree in memory", n),
		                errdetail("At most %lld entries fit.", (long long)kMaxTreeLeaves)));
	Size size = tree_size_for(n);
	auto *tree = (bytea *)palloc_extended(VARHDRSZ + size, MCXT_ALLOC_HUGE);
	SET_VARSIZE(tree, VARHDRSZ + size);
	char *p = VARDATA(tree);
	TreeHeader header = {n};
	memcpy(p, &header, sizeof(header));
	auto *tree_ids = (int64 *)(p + sizeof(TreeHeader));
	for (int i = 0; i < n; i++) {
		CHECK_FOR_INTERRUPTS();
		if (id_nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("id %d must not be null", i)));
		int64 id = DatumGetInt64(ids[i]);
		if (i > 0 && id < tree_ids[i - 1])
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ids must be in ascending order")));
		memcpy(&tree_ids[i], &id, sizeof(id));
	}
	merkle_tree_nodes(leaves, (size_t)n, (uint8_t *)(tree_ids + n));
	pfree(leaves);
	PG_RETURN_BYTEA_P(tree);
}

// witness._merkle_tree_proof(tree bytea, entry_id bigint, OUT leaf_index integer, OUT tree_size
// integer, OUT audit_path bytea[]): where the entry is among the tree's leaves (the first of equal
// ids) and its audit path; leaf_index and audit_path NULL when the tree has no such entry.
Datum witness_merkle_tree_proof(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "tree");
	require_not_null(fcinfo, 1, "entry_id");
	bytea *tree = PG_GETARG_BYTEA_PP(0);
	int64 entry_id = PG_GETARG_INT64(1);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts != 3)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._merkle_tree_proof must return (leaf_index, tree_size, audit_path)")));
	const char *p = VARDATA_ANY(tree);
	Size len = VARSIZE_ANY_EXHDR(tree);
	TreeHeader header;
	if (len < sizeof(header))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("not a tree of witness._merkle_tree")));
	memcpy(&header, p, sizeof(header));
	if (header.n < 1 || header.n > kMaxTreeLeaves || len != tree_size_for(header.n))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("not a tree of witness._merkle_tree")));
	const char *id_bytes = p + sizeof(TreeHeader);
	// Binary search for the first id >= entry_id (the ids ascend).
	int64 lo = 0, hi = header.n;
	while (lo < hi) {
		int64 mid = lo + (hi - lo) / 2;
		int64 id;
		memcpy(&id, id_bytes + sizeof(int64) * mid, sizeof(id));
		if (id < entry_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	int64 found = -1;
	if (lo < header.n)
		memcpy(&found, id_bytes + sizeof(int64) * lo, sizeof(found));
	desc = BlessTupleDesc(desc);
	if (lo >= header.n || found != entry_id) {
		Datum values[3] = {(Datum)0, Int32GetDatum((int32)header.n), (Datum)0};
		bool nulls[3] = {true, false, true};
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
	}
	const auto *nodes = (const uint8_t *)(id_bytes + sizeof(int64) * header.n);
	size_t path_len;
	uint8_t *path = merkle_tree_audit_path(nodes, (size_t)header.n, (size_t)lo, &path_len);
	auto *elems = (Datum *)palloc(sizeof(Datum) * Max(path_len, 1));
	for (size_t i = 0; i < path_len; i++)
		elems[i] = PointerGetDatum(hash_bytea(path + 32 * i));
	Datum values[3] = {Int32GetDatum((int32)lo), Int32GetDatum((int32)header.n),
	                   PointerGetDatum(construct_array(elems, (int)path_len, BYTEAOID, -1, false, TYPALIGN_INT))};
	bool nulls[3] = {false, false, false};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

// witness._merkle_chunk_proof(merkle_root bytea, entry_count bigint, chunk_no integer, chunk_size integer,
// chunk_roots bytea[], ids bigint[], leaves bytea[], entry_id bigint, leaf_hash bytea, OUT leaf_index
// integer, OUT tree_size integer, OUT audit_path bytea[]): the proof of entry_id (whose leaf hash is
// leaf_hash) in a block of entry_count members with this Merkle root, from the members of chunk
// chunk_no (ids ascending, and their leaves) and the stored roots of all chunks in order. The stored
// roots are not trusted: the proof is returned only when it checks against merkle_root; otherwise
// (or when the chunk does not hold the entry) leaf_index and audit_path are NULL.
Datum witness_merkle_chunk_proof(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 9);
	static const char *const names[9] = {"merkle_root", "entry_count", "chunk_no", "chunk_size", "chunk_roots",
	                                     "ids",         "leaves",      "entry_id", "leaf_hash"};
	for (int i = 0; i < 9; i++)
		require_not_null(fcinfo, i, names[i]);
	const uint8_t *root = hash_argument(PG_GETARG_BYTEA_PP(0), "merkle_root");
	int64 entry_count = PG_GETARG_INT64(1);
	int32 chunk_no = PG_GETARG_INT32(2);
	int32 chunk_size = PG_GETARG_INT32(3);
	int nroots, nids, n;
	uint8_t *roots = read_leaves(PG_GETARG_ARRAYTYPE_P(4), &nroots);
	int64 *ids = read_ids(PG_GETARG_ARRAYTYPE_P(5), &nids);
	uint8_t *leaves = read_leaves(PG_GETARG_ARRAYTYPE_P(6), &n);
	int64 entry_id = PG_GETARG_INT64(7);
	const uint8_t *leaf_hash = hash_argument(PG_GETARG_BYTEA_PP(8), "leaf_hash");
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts != 3)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._merkle_chunk_proof must return (leaf_index, tree_size, audit_path)")));
	desc = BlessTupleDesc(desc);
	if (n != nids)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ids and leaves must have the same length")));
	int position = -1;
	for (int i = 0; i < n; i++) {
		if (ids[i] == entry_id && memcmp(leaves + 32 * i, leaf_hash, 32) == 0) {
			position = i;
			break;
		}
	}
	size_t leaf_index = 0, path_len = 0;
	uint8_t *path = nullptr;
	bool proved = position >= 0 && entry_count > 0 && entry_count <= PG_INT32_MAX && chunk_no >= 0 && chunk_size > 0 &&
	              merkle_chunked_proof(leaves, (size_t)n, (size_t)position, roots, (size_t)nroots, (size_t)chunk_no,
	                                   (size_t)chunk_size, (size_t)entry_count, root, &leaf_index, &path, &path_len);
	if (!proved) {
		Datum values[3] = {(Datum)0, Int32GetDatum((int32)Min(entry_count, PG_INT32_MAX)), (Datum)0};
		bool nulls[3] = {true, false, true};
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
	}
	auto *elems = (Datum *)palloc(sizeof(Datum) * Max(path_len, 1));
	for (size_t i = 0; i < path_len; i++)
		elems[i] = PointerGetDatum(hash_bytea(path + 32 * i));
	Datum values[3] = {Int32GetDatum((int32)leaf_index), Int32GetDatum((int32)entry_count),
	                   PointerGetDatum(construct_array(elems, (int)path_len, BYTEAOID, -1, false, TYPALIGN_INT))};
	bool nulls[3] = {false, false, false};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

// witness._ascending_positions(ids bigint[], from_id bigint, to_id bigint) RETURNS integer[]: {first,
// last}, the 1-based ordinals of the first and last of ids within [from_id, to_id] when ids ascend
// (binary search: a chunk's pruned members among a block's hundreds of thousands); the whole array
// {1, n} when they do not, so that the caller's own filter decides as before. last < first: none.
Datum witness_ascending_positions(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 3);
	require_not_null(fcinfo, 0, "ids");
	require_not_null(fcinfo, 1, "from_id");
	require_not_null(fcinfo, 2, "to_id");
	int n;
	int64 *ids = read_ids(PG_GETARG_ARRAYTYPE_P(0), &n);
	int64 from_id = PG_GETARG_INT64(1), to_id = PG_GETARG_INT64(2);
	bool ascending = true;
	for (int i = 1; i < n && ascending; i++)
		ascending = ids[i - 1] <= ids[i];
	int first = 0, last = n - 1; // 0-based
	if (ascending) {
		int lo = 0, hi = n; // first index with ids[i] >= from_id
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			if (ids[mid] < from_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		first = lo;
		lo = first, hi = n; // first index with ids[i] > to_id
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2;
			if (ids[mid] <= to_id)
				lo = mid + 1;
			else
				hi = mid;
		}
		last = lo - 1;
	}
	Datum bounds[2] = {Int32GetDatum(first + 1), Int32GetDatum(last + 1)};
	PG_RETURN_ARRAYTYPE_P(construct_array(bounds, 2, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}
}
