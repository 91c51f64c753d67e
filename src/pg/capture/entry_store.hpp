// Where captured entries go: witness.entry, opened once per transaction, written in batches.
//
// The capture trigger forms an entry's tuple and hands it here. Tuples wait in a batch that belongs to
// the subtransaction that captured them and are written with one heap_multi_insert: at the end of the
// statement, before the next statement starts, when the batch is full, and at the latest before the
// (sub)transaction commits. A batch is only ever written inside its own subtransaction, and is thrown
// away when that subtransaction rolls back (docs/capture.md, "Batched writes").
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// The layout of witness.entry this transaction writes (trail_catalog.hpp's check_entry_layout): 1
// until ALTER EXTENSION pg_witness UPDATE has brought a 0.1 trail to 0.2, then 2.
int store_layout();

// The descriptor of the witness.entry rows this transaction writes.
TupleDesc stored_entry_desc();

// Forms a witness.entry tuple and queues it for the current subtransaction.
void store_entry(const Datum *values, const bool *nulls);

// Installs the executor and utility hooks and the transaction callbacks that write and discard batches.
void register_entry_store();

} // namespace witness::pg
