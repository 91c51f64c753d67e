// Inclusion proofs: the audit path of one leaf in its block's Merkle tree.
#include "pg/pg_includes.hpp"

#include "pg/core_bridge.hpp"

extern "C" {
#include "utils/array.h"

PG_FUNCTION_INFO_V1(witness_merkle_audit_path);
Datum witness_merkle_audit_path(PG_FUNCTION_ARGS);

// witness._merkle_audit_path(leaves bytea[], index int): audit path from the leaf up, as bytea[].
Datum witness_merkle_audit_path(PG_FUNCTION_ARGS)
{
	ArrayType *arr = PG_GETARG_ARRAYTYPE_P(0);
	int32 index = PG_GETARG_INT32(1);
	Datum *elems;
	bool *nulls;
	int n;
	deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (index < 0 || index >= n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		                errmsg("leaf index %d is outside a tree of %d leaves", index, n)));
	auto *leaves = (uint8_t *)palloc_extended((Size)32 * Max(n, 1), MCXT_ALLOC_HUGE);
	for (int i = 0; i < n; i++) {
		bytea *b = nulls[i] ? nullptr : DatumGetByteaPP(elems[i]);
		if (b == nullptr || VARSIZE_ANY_EXHDR(b) != 32)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("leaf %d is not a 32-byte hash", i)));
		memcpy(leaves + 32 * i, VARDATA_ANY(b), 32);
	}
	size_t len;
	uint8_t *path = witness::pg::merkle_audit_path(leaves, (size_t)n, (size_t)index, &len);
	auto *out = (Datum *)palloc(sizeof(Datum) * Max(len, 1));
	for (size_t i = 0; i < len; i++) {
		out[i] = PointerGetDatum(witness::pg::hash_bytea(path + 32 * i));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(out, (int)len, BYTEAOID, -1, false, TYPALIGN_INT));
}
}
