// Inclusion proofs: the audit path of one leaf in its block's Merkle tree.
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

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_merkle_audit_path);
Datum witness_merkle_audit_path(PG_FUNCTION_ARGS);

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
}
