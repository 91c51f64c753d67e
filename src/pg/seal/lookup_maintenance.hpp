// The lookup table of the readers' functions (docs/views.md): witness.entry_lookup, filled by the
// sealer after it sealed, never by the capture.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// witness.seal(): adds the entries of the blocks sealed since the last call to witness.entry_lookup
// (SQL witness._maintain_lookup()), in a subtransaction of the caller's transaction: a failure is
// reported as a WARNING and leaves the block sealed; lookups find the entries of blocks not added yet
// in witness.entry meanwhile. Does nothing on a trail whose SQL has no such function (0.1, before
// ALTER EXTENSION pg_witness UPDATE).
void maintain_lookup();

// The background sealer, once its seal pass has committed: the same in a transaction of its own, so
// that the block is committed (and the seal lag unchanged) whatever filling the table costs. Raises
// no error: a failure is a WARNING, and the next pass tries again.
void maintain_lookup_after_pass();

} // namespace witness::pg
