#include "pg/capture/capture_plan.hpp"

#include <cstring>

#include "core/key_order.hpp"
#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "utils/snapmgr.h"
}

namespace witness::pg
{
namespace
{

HTAB *plans = nullptr;
SPIPlanPtr plan_query = nullptr;

void on_relcache_invalidation(Datum, Oid relid)
{
	if (plans == nullptr)
		return;
	if (relid == InvalidOid) {
		HASH_SEQ_STATUS status;
		hash_seq_init(&status, plans);
		for (auto *p = (CapturePlan *)hash_seq_search(&status); p != nullptr;
		     p = (CapturePlan *)hash_seq_search(&status))
			p->valid = false;
		return;
	}
	auto *p = (CapturePlan *)hash_search(plans, &relid, HASH_FIND, nullptr);
	if (p != nullptr)
		p->valid = false;
}

ValueCategory category_of(Oid typoid)
{
	switch (getBaseType(typoid)) {
	case BOOLOID:
		return ValueCategory::Bool;
	case INT2OID:
		return ValueCategory::Int16;
	case INT4OID:
		return ValueCategory::Int32;
	case INT8OID:
		return ValueCategory::Int64;
	case CASHOID:
		return ValueCategory::Money;
	case NUMERICOID:
		return ValueCategory::Numeric;
	case FLOAT4OID:
		return ValueCategory::Float4;
	case FLOAT8OID:
		return ValueCategory::Float8;
	case JSONBOID:
		return ValueCategory::Jsonb;
	// Object references print according to search_path; these are captured by name from the catalog.
	case REGCLASSOID:
		return ValueCategory::RegClass;
	case REGTYPEOID:
		return ValueCategory::RegType;
	case REGPROCOID:
		return ValueCategory::RegProc;
	case REGPROCEDUREOID:
		return ValueCategory::RegProcedure;
	case REGOPEROID:
		return ValueCategory::RegOper;
	case REGOPERATOROID:
		return ValueCategory::RegOperator;
	case REGNAMESPACEOID:
		return ValueCategory::RegNamespace;
	case REGROLEOID:
		return ValueCategory::RegRole;
	case REGCONFIGOID:
		return ValueCategory::RegConfig;
	case REGDICTIONARYOID:
		return ValueCategory::RegDictionary;
	case REGCOLLATIONOID:
		return ValueCategory::RegCollation;
	case OIDOID:
		return ValueCategory::Oid;
	default:
		return ValueCategory::Text;
	}
}

bool is_object_reference(Oid typoid)
{
	switch (typoid) {
	case REGCLASSOID:
	case REGTYPEOID:
	case REGPROCOID:
	case REGPROCEDUREOID:
	case REGOPEROID:
	case REGOPERATOROID:
	case REGNAMESPACEOID:
	case REGROLEOID:
	case REGCONFIGOID:
	case REGDICTIONARYOID:
	case REGCOLLATIONOID:
		return true;
	default:
		return false;
	}
}

// True when a value of the type can hold an object reference inside it: an array, range or
// multirange of one, a composite with one among its attributes, a domain over any of these.
bool holds_object_reference(Oid typoid)
{
	check_stack_depth();
	Oid base = getBaseType(typoid);
	if (is_object_reference(base))
		return true;
	Oid elem = get_element_type(base);
	if (OidIsValid(elem))
		return holds_object_reference(elem);
	switch (get_typtype(base)) {
	case TYPTYPE_RANGE:
		return holds_object_reference(get_range_subtype(base));
	case TYPTYPE_MULTIRANGE:
		return holds_object_reference(get_range_subtype(get_multirange_range(base)));
	case TYPTYPE_COMPOSITE: {
		TupleDesc desc = lookup_rowtype_tupdesc(base, -1);
		bool found = false;
		for (int i = 0; i < desc->natts && !found; i++)
			found = !TupleDescAttr(desc, i)->attisdropped && holds_object_reference(TupleDescAttr(desc, i)->atttypid);
		ReleaseTupleDesc(desc);
		return found;
	}
	default:
		return false;
	}
}

// Whether values of the type hold a row of a composite type (itself, or as array elements or a
// domain's base). ALTER TYPE ... ADD ATTRIBUTE can give that composite an object reference later
// without invalidating the tables that use it, so such a column is printed under the fixed search
// path whatever it holds now (an attack review found the captured text following the session's
// search_path after such a change).
bool holds_composite(Oid typoid)
{
	const Oid base = getBaseType(typoid);
	const Oid elem = get_element_type(base);
	if (OidIsValid(elem))
		return holds_composite(elem);
	return get_typtype(base) == TYPTYPE_COMPOSITE;
}

int compare_columns(const void *a, const void *b)
{
	auto *x = (const ColumnPlan *)a;
	auto *y = (const ColumnPlan *)b;
	return compare_keys(x->name, x->name_len, y->name, y->name_len);
}

// Runs the plan query as the owner of pg_witness's configuration: the role whose change fired the
// trigger usually has no access to schema witness, and must not need any.
void run_as_config_owner(Datum *args)
{
	Oid save_userid;
	int save_sec;
	GetUserIdAndSecContext(&save_userid, &save_sec);
	Oid owner = relation_owner(tracked_table_relid());
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	volatile int rc = 0;
	PG_TRY();
	{
		if (plan_query == nullptr) {
			Oid argtypes[1] = {OIDOID};
			SPIPlanPtr p = SPI_prepare("SELECT * FROM witness._capture_plan($1)", 1, argtypes);
			if (p == nullptr)
				elog(ERROR, "pg_witness: could not prepare capture plan query: %s", SPI_result_code_string(SPI_result));
			SPI_keepplan(p);
			plan_query = p;
		}
		// The latest snapshot, not the transaction's: a REPEATABLE READ transaction that began before
		// witness.track() changed the table (to encrypt it, say) must capture by the new configuration.
		rc = SPI_execute_snapshot(plan_query, args, nullptr, GetLatestSnapshot(), InvalidSnapshot, true, false, 0);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: capture plan query failed");
}

// Reads witness._capture_plan() for rel into a new memory context and fills plan from it.
void build_plan(CapturePlan *plan, Relation rel)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_witness capture plan", ALLOCSET_SMALL_SIZES);
	TupleDesc desc = RelationGetDescr(rel);
	Oid relid = RelationGetRelid(rel);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	Datum args[1] = {ObjectIdGetDatum(relid)};
	run_as_config_owner(args);
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("table \"%s\" has a pg_witness capture trigger but is not tracked",
		                       RelationGetRelationName(rel)),
		                errhint("Call witness.track() on the table, or drop its witness_capture triggers.")));

	MemoryContext old = MemoryContextSwitchTo(cxt);
	SPITupleTable *tt = SPI_tuptable;
	bool isnull;
	plan->schema_name = TextDatumGetCString(SPI_getbinval(tt->vals[0], tt->tupdesc, 2, &isnull));
	plan->table_name = TextDatumGetCString(SPI_getbinval(tt->vals[0], tt->tupdesc, 3, &isnull));
	plan->table_tags = DatumGetInt16(SPI_getbinval(tt->vals[0], tt->tupdesc, 4, &isnull));
	// Version 0.1's plan has no encrypt column: nothing was encrypted then.
	plan->encrypt = tt->tupdesc->natts >= 11 && DatumGetBool(SPI_getbinval(tt->vals[0], tt->tupdesc, 11, &isnull)) && !isnull;
	plan->partition_name = nullptr;
	plan->child_name = nullptr;
	if (DatumGetObjectId(SPI_getbinval(tt->vals[0], tt->tupdesc, 1, &isnull)) != relid) {
		plan->partition_name =
		    quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel));
		if (!rel->rd_rel->relispartition)
			plan->child_name = plan->partition_name;
	}
	plan->cols = (ColumnPlan *)palloc0(sizeof(ColumnPlan) * Max(SPI_processed, 1));
	plan->ncols = 0;
	for (uint64 i = 0; i < SPI_processed; i++) {
		HeapTuple row = tt->vals[i];
		Datum attnum = SPI_getbinval(row, tt->tupdesc, 5, &isnull);
		if (isnull) // a table with no columns
			continue;
		if (DatumGetBool(SPI_getbinval(row, tt->tupdesc, 7, &isnull)))
			continue; // excluded
		ColumnPlan *c = &plan->cols[plan->ncols++];
		c->attnum = DatumGetInt16(attnum);
		c->name = TextDatumGetCString(SPI_getbinval(row, tt->tupdesc, 6, &isnull));
		c->name_len = strlen(c->name);
		c->tags = DatumGetInt16(SPI_getbinval(row, tt->tupdesc, 8, &isnull));
		if (plan_column(c, TupleDescAttr(desc, c->attnum - 1)->atttypid, cxt))
			plan->fixed_search_path = true;
		// remember subject/key by attnum, resolved after sorting
		if (DatumGetBool(SPI_getbinval(row, tt->tupdesc, 9, &isnull)))
			plan->subject = c->attnum;
		if (DatumGetBool(SPI_getbinval(row, tt->tupdesc, 10, &isnull)))
			plan->nkeys++;
	}
	qsort(plan->cols, plan->ncols, sizeof(ColumnPlan), compare_columns);

	// Resolve key columns and the subject to indexes into the sorted column array.
	int subject_attnum = plan->subject;
	plan->subject = -1;
	plan->keys = (int *)palloc(sizeof(int) * Max(plan->nkeys, 1));
	plan->nkeys = 0;
	for (uint64 i = 0; i < SPI_processed; i++) {
		HeapTuple row = tt->vals[i];
		Datum attnum = SPI_getbinval(row, tt->tupdesc, 5, &isnull);
		if (isnull || !DatumGetBool(SPI_getbinval(row, tt->tupdesc, 10, &isnull)))
			continue;
		for (int j = 0; j < plan->ncols; j++)
			if (plan->cols[j].attnum == DatumGetInt16(attnum))
				plan->keys[plan->nkeys++] = j;
	}
	qsort(plan->keys, plan->nkeys, sizeof(int),
	      [](const void *a, const void *b) { return *(const int *)a - *(const int *)b; });
	for (int j = 0; j < plan->ncols; j++)
		if (plan->cols[j].attnum == subject_attnum)
			plan->subject = j;
	plan->key_subject_tags = plan->subject >= 0 ? plan->cols[plan->subject].tags : 0;
	for (int k = 0; k < plan->nkeys; k++)
		plan->key_subject_tags |= plan->cols[plan->keys[k]].tags;
	MemoryContextSwitchTo(old);
	SPI_finish();

	MemoryContextSetParent(cxt, CacheMemoryContext);
	plan->cxt = cxt;
}

// A schema renamed invalidates no relation's cache entry, but the qualified names a plan holds (a
// partition's, an inheritance child's in its row keys) include it: every plan is made again.
void on_namespace_invalidation(Datum, int, uint32)
{
	on_relcache_invalidation((Datum)0, InvalidOid);
}

} // namespace

bool plan_column(ColumnPlan *c, Oid typoid, MemoryContext cxt)
{
	get_typlenbyval(typoid, &c->typlen, &c->typbyval);
	c->category = category_of(typoid);
	Oid outfn;
	bool varlena;
	getTypeOutputInfo(typoid, &outfn, &varlena);
	fmgr_info_cxt(outfn, &c->output, cxt);
	return c->category == ValueCategory::Text && (holds_composite(typoid) || holds_object_reference(typoid));
}

void register_config_invalidation()
{
	CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, on_namespace_invalidation, (Datum)0);
}

const CapturePlan *capture_plan_for(Relation rel)
{
	Oid relid = RelationGetRelid(rel);
	if (plans == nullptr) {
		HASHCTL ctl;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CapturePlan);
		ctl.hcxt = CacheMemoryContext;
		plans = hash_create("pg_witness capture plans", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	bool found;
	auto *plan = (CapturePlan *)hash_search(plans, &relid, HASH_ENTER, &found);
	if (!found) {
		plan->valid = false;
		plan->cxt = nullptr;
	}
	// An invalidation that arrives while building (the query takes locks) sends us round again.
	for (int attempt = 0; !plan->valid && attempt < 5; attempt++) {
		if (plan->cxt != nullptr)
			MemoryContextDelete(plan->cxt);
		plan->cxt = nullptr;
		plan->ncols = plan->nkeys = 0;
		plan->subject = -1;
		plan->key_subject_tags = 0;
		plan->fixed_search_path = false;
		plan->valid = true;
		PG_TRY();
		{
			build_plan(plan, rel);
		}
		PG_CATCH();
		{
			plan->valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return plan;
}

} // namespace witness::pg
