#include "pg/capture/entry_store.hpp"

#include "pg/capture/column_rename_guard.hpp"
#include "pg/capture/held_entries.hpp"
#include "pg/capture/statement_levels.hpp"
#include "pg/capture/permission_events.hpp"

#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_brin.hpp"
#include "pg/common/trail_partitions.hpp"
#include "pg/activity/activity_hooks.hpp"
#include "pg/activity/capture_control.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "executor/executor.h"
#include "nodes/primnodes.h"
#include "tcop/utility.h"
#include "utils/resowner.h"
}

namespace witness::pg
{
namespace
{

// A statement's entries are written together once this many are queued (or this many bytes).
constexpr int kBatchEntries = 1000;
constexpr Size kBatchBytes = 8 * 1024 * 1024;

// Entries only ever go to a backend's current page or a new one, never back into the free-space map's
// leftovers in older pages: those would land in page ranges the sealer has already summarized in the
// BRIN indexes (trail_brin.cpp), widening a summary under an exclusive lock and making the sealer
// re-read the range. The space given up is the tail of each page that an entry did not fit into.
constexpr int kInsertOptions = TABLE_INSERT_SKIP_FSM;

// A relation entries are written to: witness.entry's partition for a range of stmt_time (witness.entry
// itself when it is not partitioned) with its indexes, opened once per transaction: opening them for
// every row was a tenth of the capture cost. Held by the top transaction's resource owner, closed
// before commit and forgotten on abort (the resource owner closes it then); the rest lives in
// TopTransactionContext.
struct Target {
	Relation rel = nullptr;
	CatalogIndexState indexes = nullptr;
	int nindexes = 0;
	// The BRIN indexes on xid and id, which then come last in indexes. Only the first and the last entry
	// of a batch in each page range go into them: a batch's entries share their xid and have rising ids,
	// so the smallest and largest values cover the rest (trail_brin.cpp).
	TrailBrins brins;
	// Partial indexes whose predicate is "column IS NOT NULL" (entry_erasure, and any a DBA adds of
	// that form): the column each needs, 0 for other indexes. Most entries have no erasure, and
	// evaluating such predicates per entry was a measurable share of the capture's cost; such an index
	// is left out for an entry whose column is NULL, which is what its predicate would decide.
	AttrNumber *needs_not_null = nullptr;
	int npartial = 0;
	// The index list handed to the executor for one entry, when some are left out.
	ResultRelInfo subset;
	// For batches of more than one entry: PostgreSQL's bulk-write strategy, as COPY uses it. A large
	// statement's entries cycle through a 16 MB ring of buffers instead of pushing the application's
	// pages out of shared_buffers, and the ring's buffers are already mapped in this backend.
	BulkInsertState bulk = nullptr;
};

// witness.entry, the partitions written to in this transaction (normally one: a statement's entries
// share their stmt_time) and an executor state for index insertion. The partition of the last entry
// and the range of stmt_time it serves are remembered: routing costs an entry two comparisons. The
// partitions are looked up again in every transaction, so that one made or attached since is used.
struct OpenStore {
	Relation rel = nullptr;
	EState *estate = nullptr;
	Target *targets = nullptr;
	int ntargets = 0;
	int maxtargets = 0;
	EntryRoute route;
	int route_target = -1;
};

// Queued entries: slots[0, count) in capture order. Each subtransaction that queued entries owns one
// run of them, [levels[i].start, next level's start); runs nest the way subtransactions do.
struct Level {
	SubTransactionId subxid;
	int start;
	Size bytes;
};

// The slots, their descriptor (a private copy, so that they pin nothing) and the level stack live for
// the session: building them in every transaction cost short transactions more than batching saved.
// The tuples live in tuple_cxt (freed as their slots are cleared; reset whenever nothing is queued).
struct Batch {
	MemoryContext cxt = nullptr;
	MemoryContext tuple_cxt = nullptr;
	MemoryContext flush_cxt = nullptr;
	Oid relid = InvalidOid; // the witness.entry the slots were made for
	TupleDesc desc = nullptr;
	TupleTableSlot **slots = nullptr;
	int nslots = 0; // slots created
	int count = 0;  // slots holding a queued entry
	Level *levels = nullptr;
	int nlevels = 0;
	int maxlevels = 0;
	int layout = 0; // of witness.entry: 1 before ALTER EXTENSION pg_witness UPDATE to 0.2, else 2
	// Per queued entry: bit k set when the column of the k-th "IS NOT NULL" partial index of its
	// partition is not NULL, and that partition (an index into store.targets).
	uint32 *not_null = nullptr;
	int16 *target = nullptr;
};

OpenStore store;
Batch batch;

ExecutorStart_hook_type prev_executor_start = nullptr;
ExecutorFinish_hook_type prev_executor_finish = nullptr;
ExecutorEnd_hook_type prev_executor_end = nullptr;
ProcessUtility_hook_type prev_process_utility = nullptr;

// (Re)builds the session's batch for the witness.entry now open, once its layout is checked: the
// extension may have been recreated since.
void prepare_batch(Relation rel)
{
	// The same table, unless the extension was recreated or updated (columns added) since.
	if (batch.relid == RelationGetRelid(rel) && batch.desc->natts == RelationGetDescr(rel)->natts)
		return;
	const int layout = check_entry_layout(RelationGetDescr(rel));
	if (batch.cxt != nullptr)
		MemoryContextDelete(batch.cxt);
	batch = Batch();
	batch.cxt = AllocSetContextCreate(TopMemoryContext, "pg_witness entry batch", ALLOCSET_SMALL_SIZES);
	batch.tuple_cxt = AllocSetContextCreate(batch.cxt, "pg_witness queued entries", ALLOCSET_DEFAULT_SIZES);
	batch.flush_cxt = AllocSetContextCreate(batch.cxt, "pg_witness entry flush", ALLOCSET_DEFAULT_SIZES);
	MemoryContext saved = MemoryContextSwitchTo(batch.cxt);
	batch.desc = CreateTupleDescCopy(RelationGetDescr(rel));
	MemoryContextSwitchTo(saved);
	batch.relid = RelationGetRelid(rel);
	batch.layout = layout;
}

// The attribute an index's predicate requires to be NOT NULL, when its whole predicate is that one
// test on a plain column; 0 otherwise (no predicate, or any other).
AttrNumber not_null_predicate_column(IndexInfo *info)
{
	if (info->ii_Predicate == NIL || list_length(info->ii_Predicate) != 1)
		return 0;
	Node *node = (Node *)linitial(info->ii_Predicate);
	if (!IsA(node, NullTest))
		return 0;
	NullTest *test = (NullTest *)node;
	if (test->nulltesttype != IS_NOT_NULL || test->argisrow || test->arg == nullptr || !IsA(test->arg, Var))
		return 0;
	AttrNumber att = ((Var *)test->arg)->varattno;
	return att > 0 && att <= EntryNatts ? att : 0;
}

// Finds the "IS NOT NULL" partial indexes (at most 32 are told apart; any further one is always
// inserted through the executor, which evaluates its predicate).
void find_partial_indexes(Target *t)
{
	t->needs_not_null = (AttrNumber *)MemoryContextAllocZero(TopTransactionContext, sizeof(AttrNumber) * Max(t->nindexes, 1));
	t->npartial = 0;
	for (int i = 0; i < t->nindexes && t->npartial < 32; i++) {
		AttrNumber att = not_null_predicate_column(t->indexes->ri_IndexRelationInfo[i]);
		if (att != 0) {
			t->needs_not_null[i] = att;
			t->npartial++;
		}
	}
	t->subset = *t->indexes;
	t->subset.ri_IndexRelationDescs = (RelationPtr)MemoryContextAlloc(TopTransactionContext, sizeof(Relation) * Max(t->nindexes, 1));
	t->subset.ri_IndexRelationInfo = (IndexInfo **)MemoryContextAlloc(TopTransactionContext, sizeof(IndexInfo *) * Max(t->nindexes, 1));
}

void open_store()
{
	if (store.rel != nullptr)
		return;
	ResourceOwner saved_owner = CurrentResourceOwner;
	MemoryContext saved_cxt = MemoryContextSwitchTo(TopTransactionContext);
	CurrentResourceOwner = TopTransactionResourceOwner;
	PG_TRY();
	{
		Relation rel = table_open(entry_relid(), RowExclusiveLock);
		store.estate = CreateExecutorState();
		store.rel = rel;
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = saved_owner;
		MemoryContextSwitchTo(saved_cxt);
	}
	PG_END_TRY();
	prepare_batch(store.rel);
}

// A partition capture may write to. One it refuses is closed again at once, so that an exception
// block catching the error leaks no relation.
Relation open_partition(Oid relid)
{
	Relation rel = table_open(relid, RowExclusiveLock);
	PG_TRY();
	{
		check_partition_layout(store.rel, rel);
	}
	PG_CATCH();
	{
		table_close(rel, NoLock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return rel;
}

// Opens a partition (or witness.entry itself) and its indexes for the rest of the transaction.
int open_target(Oid relid)
{
	for (int i = 0; i < store.ntargets; i++)
		if (RelationGetRelid(store.targets[i].rel) == relid)
			return i;
	if (store.ntargets == store.maxtargets) {
		int n = Max(2, store.maxtargets * 2);
		Target *grown = (Target *)MemoryContextAllocZero(TopTransactionContext, sizeof(Target) * n);
		for (int i = 0; i < store.ntargets; i++)
			grown[i] = store.targets[i];
		store.targets = grown;
		store.maxtargets = n;
	}
	ResourceOwner saved_owner = CurrentResourceOwner;
	MemoryContext saved_cxt = MemoryContextSwitchTo(TopTransactionContext);
	CurrentResourceOwner = TopTransactionResourceOwner;
	PG_TRY();
	{
		Relation rel = relid == RelationGetRelid(store.rel) ? store.rel : open_partition(relid);
		Target *t = &store.targets[store.ntargets];
		*t = Target();
		t->rel = rel;
		t->indexes = CatalogOpenIndexes(rel);
		t->nindexes = t->indexes->ri_NumIndices;
		t->brins = move_trail_brins_last(t->indexes);
		find_partial_indexes(t);
		store.ntargets++;
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = saved_owner;
		MemoryContextSwitchTo(saved_cxt);
	}
	PG_END_TRY();
	return store.ntargets - 1;
}

EntryRoute route_or_fail(TimestampTz t)
{
	EntryRoute route = route_entry(store.rel, t);
	if (!OidIsValid(route.relid))
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("witness.entry has no partition for entries of %s", timestamptz_to_str(t)),
		                errdetail("witness.entry_default, the partition for entries no monthly partition takes, is missing."),
		                errhint("Recreate it: CREATE TABLE witness.entry_default PARTITION OF witness.entry DEFAULT (docs/scaling.md).")));
	return route;
}

// The partition an entry of stmt_time t goes to: the last one's when t is in its range. A partition
// opened for the first time in this transaction is routed to again once it is locked: the lock waits
// for an ATTACH PARTITION holding the default partition (the worker making a month, and moving that
// month's entries out of the default partition) and takes in its invalidations, so an entry never
// lands in the default partition when its month's partition was attached meanwhile (PostgreSQL's own
// routing checks the default partition's constraint for the same reason). Once the default partition
// is locked, no ATTACH can change what it takes until this transaction ends.
int target_for(TimestampTz t)
{
	if (store.route_target >= 0 && t >= store.route.lo && t < store.route.hi)
		return store.route_target;
	EntryRoute route = route_or_fail(t);
	int opened_before = store.ntargets;
	int target = open_target(route.relid);
	if (store.ntargets > opened_before) {
		EntryRoute again = route_or_fail(t);
		if (again.relid != route.relid)
			target = open_target(again.relid);
		route = again;
	}
	store.route_target = target;
	store.route = route;
	return store.route_target;
}

void close_store()
{
	if (store.rel == nullptr)
		return;
	// Closed under the resource owner that opened them (open_store): a procedure that commits
	// (SPI_commit) gets here while its portal's resource owner is current.
	ResourceOwner saved_owner = CurrentResourceOwner;
	CurrentResourceOwner = TopTransactionResourceOwner;
	for (int i = 0; i < store.ntargets; i++) {
		Target *t = &store.targets[i];
		t->indexes->ri_NumIndices = t->nindexes;
		CatalogCloseIndexes(t->indexes);
		if (t->bulk != nullptr)
			FreeBulkInsertState(t->bulk);
		if (t->rel != store.rel)
			table_close(t->rel, NoLock);
	}
	FreeExecutorState(store.estate);
	table_close(store.rel, NoLock);
	CurrentResourceOwner = saved_owner;
	store = OpenStore();
}

Level *top_level()
{
	return batch.nlevels > 0 ? &batch.levels[batch.nlevels - 1] : nullptr;
}

// The run of queued entries that belongs to the current subtransaction, started if needed.
Level *current_level()
{
	SubTransactionId subxid = GetCurrentSubTransactionId();
	Level *top = top_level();
	if (top != nullptr && top->subxid == subxid)
		return top;
	if (batch.nlevels == batch.maxlevels) {
		int n = Max(4, batch.maxlevels * 2);
		batch.levels = batch.levels == nullptr ? (Level *)MemoryContextAlloc(batch.cxt, sizeof(Level) * n)
		                                       : (Level *)repalloc(batch.levels, sizeof(Level) * n);
		batch.maxlevels = n;
	}
	Level *level = &batch.levels[batch.nlevels++];
	level->subxid = subxid;
	level->start = batch.count;
	level->bytes = 0;
	return level;
}

TupleTableSlot *next_free_slot()
{
	if (batch.count == batch.nslots) {
		int n = Max(8, batch.nslots * 2);
		batch.slots = batch.slots == nullptr
		                  ? (TupleTableSlot **)MemoryContextAlloc(batch.cxt, sizeof(TupleTableSlot *) * n)
		                  : (TupleTableSlot **)repalloc(batch.slots, sizeof(TupleTableSlot *) * n);
		batch.not_null = batch.not_null == nullptr ? (uint32 *)MemoryContextAlloc(batch.cxt, sizeof(uint32) * n)
		                                           : (uint32 *)repalloc(batch.not_null, sizeof(uint32) * n);
		batch.target = batch.target == nullptr ? (int16 *)MemoryContextAlloc(batch.cxt, sizeof(int16) * n)
		                                       : (int16 *)repalloc(batch.target, sizeof(int16) * n);
		MemoryContext saved = MemoryContextSwitchTo(batch.cxt);
		for (int i = batch.nslots; i < n; i++)
			batch.slots[i] = MakeSingleTupleTableSlot(batch.desc, &TTSOpsHeapTuple);
		MemoryContextSwitchTo(saved);
		batch.nslots = n;
	}
	return batch.slots[batch.count];
}

void release_slots(int from)
{
	for (int i = from; i < batch.count; i++)
		ExecClearTuple(batch.slots[i]);
	batch.count = from;
	if (from == 0)
		MemoryContextReset(batch.tuple_cxt);
}

// The pin on the last page is dropped at once: it must not outlive the (sub)transaction's resource owner.
void multi_insert(Target *t, TupleTableSlot **slots, int n, CommandId cid)
{
	if (t->bulk == nullptr) {
		MemoryContext saved = MemoryContextSwitchTo(TopTransactionContext);
		t->bulk = GetBulkInsertState();
		MemoryContextSwitchTo(saved);
	}
	table_multi_insert(t->rel, slots, n, cid, kInsertOptions, t->bulk);
	ReleaseBulkInsertStatePin(t->bulk);
}

// True when slots[i] is neither the first nor the last of the batch in its page range of any trail BRIN.
bool inside_brin_run(const Target *t, TupleTableSlot **slots, int n, int i)
{
	if (i == 0 || i == n - 1)
		return false;
	BlockNumber prev = ItemPointerGetBlockNumber(&slots[i - 1]->tts_tid);
	BlockNumber cur = ItemPointerGetBlockNumber(&slots[i]->tts_tid);
	BlockNumber next = ItemPointerGetBlockNumber(&slots[i + 1]->tts_tid);
	for (int k = 0; k < t->brins.count; k++) {
		BlockNumber ppr = t->brins.pages_per_range[k];
		if (prev / ppr != cur / ppr || next / ppr != cur / ppr)
			return false;
	}
	return true;
}

// The indexes an entry goes into: all of them, less the trail's BRIN indexes (last in the list)
// inside a BRIN run, and less each "IS NOT NULL" partial index whose column the entry has NULL.
ResultRelInfo *indexes_for(Target *t, uint32 not_null, bool skip_brins)
{
	const int n = t->nindexes - (skip_brins ? t->brins.count : 0);
	bool all = true;
	for (int k = 0, bit = 0; k < n && all; k++)
		if (t->needs_not_null[k] != 0 && !(not_null & (1u << bit++)))
			all = false;
	t->indexes->ri_NumIndices = n; // BRINs are last: leaving them out shortens the list
	if (all)
		return t->indexes;
	int m = 0;
	for (int k = 0, bit = 0; k < n; k++) {
		if (t->needs_not_null[k] != 0 && !(not_null & (1u << bit++)))
			continue;
		t->subset.ri_IndexRelationDescs[m] = t->indexes->ri_IndexRelationDescs[k];
		t->subset.ri_IndexRelationInfo[m] = t->indexes->ri_IndexRelationInfo[k];
		m++;
	}
	t->subset.ri_NumIndices = m;
	return &t->subset;
}

// Heap multi-insert, then the index entries through the executor (which also serves any index a DBA
// added, expression and partial ones included), pointing at the TIDs the heap assigned.
void write_run(int start, int n)
{
	Target *t = &store.targets[batch.target[start]];
	TupleTableSlot **slots = batch.slots + start;
	CommandId cid = GetCurrentCommandId(true);
	if (n == 1) // one-row statements: a plain insert is cheaper
		table_tuple_insert(t->rel, slots[0], cid, kInsertOptions, nullptr);
	else
		multi_insert(t, slots, n, cid);
	for (int i = 0; i < n; i++) {
		const bool skip_brins = t->brins.count > 0 && inside_brin_run(t, slots, n, i);
		ExecInsertIndexTuples(indexes_for(t, batch.not_null[start + i], skip_brins), slots[i], store.estate, false,
		                      false, nullptr, NIL);
		ResetPerTupleExprContext(store.estate);
	}
}

// Each run of entries bound for one partition is written together: normally the whole level.
void write_level(const Level &level)
{
	MemoryContext saved = MemoryContextSwitchTo(batch.flush_cxt);
	for (int start = level.start; start < batch.count;) {
		int end = start + 1;
		while (end < batch.count && batch.target[end] == batch.target[start])
			end++;
		write_run(start, end - start);
		start = end;
	}
	MemoryContextSwitchTo(saved);
	MemoryContextReset(batch.flush_cxt);
}

// Writes the current subtransaction's entries; an outer subtransaction's wait until it is current again.
void flush_current()
{
	Level *top = top_level();
	if (top == nullptr || top->subxid != GetCurrentSubTransactionId())
		return;
	if (batch.count > top->start) {
		open_store();
		write_level(*top);
	}
	release_slots(top->start);
	batch.nlevels--;
}

void discard_level(SubTransactionId subxid)
{
	while (top_level() != nullptr && top_level()->subxid == subxid) {
		release_slots(top_level()->start);
		batch.nlevels--;
	}
}

// At transaction end, after commit or abort: nothing queued survives it.
void forget_batch()
{
	if (batch.cxt == nullptr)
		return;
	release_slots(0);
	batch.nlevels = 0;
}

void on_xact_event(XactEvent event, void *)
{
	switch (event) {
	case XACT_EVENT_PRE_COMMIT:
	case XACT_EVENT_PRE_PREPARE:
		release_held_entries(); // normally done when the outermost writing statement finished
		flush_current();
		if (batch.nlevels != 0)
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
			                errmsg("pg_witness entries of a finished subtransaction were not written")));
		close_store();
		break;
	case XACT_EVENT_PARALLEL_PRE_COMMIT:
		close_store();
		break;
	case XACT_EVENT_COMMIT:
	case XACT_EVENT_PARALLEL_COMMIT:
	case XACT_EVENT_PREPARE:
	case XACT_EVENT_ABORT:
	case XACT_EVENT_PARALLEL_ABORT:
		store = OpenStore();
		forget_batch();
		held_entries_forget();
		statement_levels_forget();
		break;
	}
}

// A subtransaction's entries are written as it commits (it is still current then) and dropped as it
// rolls back, together with the changes they describe.
void on_subxact_event(SubXactEvent event, SubTransactionId subxid, SubTransactionId, void *)
{
	if (event == SUBXACT_EVENT_PRE_COMMIT_SUB)
		flush_current();
	else if (event == SUBXACT_EVENT_ABORT_SUB) {
		statement_levels_subxact_abort(subxid);
		held_entries_subxact_abort(subxid);
		discard_level(subxid);
		// A multi-insert interrupted by an error left its pin to the resource owner, which has released
		// it: abandon that bulk state (its memory goes with the transaction) rather than unpin twice.
		for (int i = 0; i < store.ntargets; i++)
			store.targets[i].bulk = nullptr;
	}
}

bool have_queued_entries()
{
	return batch.count > 0 && !IsInParallelMode();
}

// Whether a statement changes rows, and so may have capture triggers to fire when it finishes.
bool statement_writes(const QueryDesc *query, int eflags)
{
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return false;
	return query->operation != CMD_SELECT || (query->plannedstmt != nullptr && query->plannedstmt->hasModifyingCTE);
}

// Before a statement runs: the entries its transaction captured so far are written (a statement that
// starts while its transaction's previous one still fires triggers does not see that one's, which
// are queued in the snapshot it already took), and the statement is noted with its role.
void witness_executor_start(QueryDesc *query, int eflags)
{
	if (have_queued_entries())
		flush_current();
	const bool writes = statement_writes(query, eflags);
	statement_level_start(query, writes);
	if (prev_executor_start != nullptr)
		prev_executor_start(query, eflags);
	else
		standard_ExecutorStart(query, eflags);
	if (writes && query->estate != nullptr)
		statement_level_command(query, query->estate->es_output_cid);
}

// After a statement's AFTER triggers have fired: its entries are complete.
void witness_executor_finish(QueryDesc *query)
{
	statement_level_firing(query);
	if (prev_executor_finish != nullptr)
		prev_executor_finish(query);
	else
		standard_ExecutorFinish(query);
	statement_level_finished(query);
	if (have_held_entries() && no_write_running())
		release_held_entries();
	if (have_queued_entries())
		flush_current();
}

void witness_executor_end(QueryDesc *query)
{
	statement_level_end(query);
	if (prev_executor_end != nullptr)
		prev_executor_end(query);
	else
		standard_ExecutorEnd(query);
}

// Utility commands that fire capture triggers of their own: COPY FROM (row triggers) and TRUNCATE.
bool utility_writes(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
	if (stmt == nullptr)
		return false;
	if (IsA(stmt, CopyStmt))
		return ((const CopyStmt *)stmt)->is_from;
	return IsA(stmt, TruncateStmt);
}

// Utility commands that cannot alter or drop a relation: the trail's stay open across them.
bool may_change_relations(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
	if (stmt == nullptr)
		return false;
	switch (nodeTag(stmt)) {
	case T_TransactionStmt:
	case T_VariableSetStmt:
	case T_VariableShowStmt:
	case T_CopyStmt:
	case T_ExplainStmt:
	case T_DeclareCursorStmt:
	case T_FetchStmt:
	case T_ClosePortalStmt:
	case T_PrepareStmt:
	case T_ExecuteStmt:
	case T_DeallocateStmt:
	case T_CallStmt:
	case T_DoStmt:
	case T_NotifyStmt:
	case T_ListenStmt:
	case T_UnlistenStmt:
	case T_LockStmt:
		return false;
	default:
		return true;
	}
}

// The trail's relations stay open until commit. DDL on them in the same transaction (DROP EXTENSION,
// a partition detached or dropped by retention, ALTER TABLE witness.entry) would find them in use and
// name one of their indexes: they are closed before it when nothing is queued, and opened again by the
// next entry. (Queued entries of an outer subtransaction name the open partitions: then they stay.)
void close_idle_store()
{
	if (batch.count == 0)
		close_store();
}

// Before a utility command (DDL sees every entry captured before it, DROP EXTENSION included) and after
// one: COPY FROM fires its triggers without ExecutorFinish. Role, privilege and setting commands, which
// no event trigger reports, are recorded once they succeeded (permission_events.hpp).
void witness_process_utility(PlannedStmt *pstmt, const char *query_string, bool read_only_tree,
                             ProcessUtilityContext context, ParamListInfo params, QueryEnvironment *query_env,
                             DestReceiver *dest, QueryCompletion *qc)
{
	if (have_queued_entries() && IsTransactionState())
		flush_current();
	PermissionEvent *permission_event = permission_event_begin(pstmt);
	activity_utility_begin(pstmt, query_string);
	refuse_unfollowable_column_rename(pstmt);
	const bool drops_witness = capture_control_utility_begin(pstmt);
	if (IsTransactionState() && may_change_relations(pstmt))
		close_idle_store();
	statement_level_start(pstmt, utility_writes(pstmt));
	statement_level_command(pstmt, GetCurrentCommandId(false)); // what COPY FROM writes under
	if (IsA(pstmt->utilityStmt, TruncateStmt))
		statement_level_firing(pstmt); // its BEFORE and AFTER TRUNCATE triggers' statements come after it
	PG_TRY();
	{
		if (prev_process_utility != nullptr)
			prev_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
		else
			standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
	}
	PG_CATCH();
	{
		statement_level_end(pstmt);
		capture_control_utility_end(drops_witness);
		activity_note_refusal();
		activity_utility_failed(pstmt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	statement_level_finished(pstmt);
	statement_level_end(pstmt);
	capture_control_utility_end(drops_witness);
	capture_control_after_utility(pstmt);
	activity_utility_end(pstmt, qc);
	permission_event_end(permission_event);
	if (have_held_entries() && no_write_running() && IsTransactionState())
		release_held_entries();
	if (have_queued_entries() && IsTransactionState())
		flush_current();
}

} // namespace

TupleDesc stored_entry_desc()
{
	open_store();
	return batch.desc;
}

int store_layout()
{
	open_store();
	return batch.layout;
}

void store_entry(const Datum *values, const bool *nulls)
{
	open_store();
	const int target = target_for(DatumGetTimestampTz(values[EntryStmtTime - 1]));
	const Target *t = &store.targets[target];
	Level *level = current_level();
	TupleTableSlot *slot = next_free_slot();
	MemoryContext saved = MemoryContextSwitchTo(batch.tuple_cxt);
	HeapTuple tuple = heap_form_tuple(batch.desc, const_cast<Datum *>(values), const_cast<bool *>(nulls));
	MemoryContextSwitchTo(saved);
	ExecStoreHeapTuple(tuple, slot, true); // owned by the slot: the heap insert then uses it without a copy
	uint32 not_null = 0;
	for (int k = 0, bit = 0; k < t->nindexes && bit < 32; k++)
		if (t->needs_not_null[k] != 0 && !nulls[t->needs_not_null[k] - 1])
			not_null |= 1u << bit++;
		else if (t->needs_not_null[k] != 0)
			bit++;
	batch.not_null[batch.count] = not_null;
	batch.target[batch.count] = (int16)target;
	batch.count++;
	level->bytes += tuple->t_len;
	if (batch.count - level->start >= kBatchEntries || level->bytes >= kBatchBytes)
		flush_current();
}

void register_entry_store()
{
	RegisterXactCallback(on_xact_event, nullptr);
	RegisterSubXactCallback(on_subxact_event, nullptr);
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = witness_executor_start;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = witness_executor_finish;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = witness_executor_end;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = witness_process_utility;
}

} // namespace witness::pg
