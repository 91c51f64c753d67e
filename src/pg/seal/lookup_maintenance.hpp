// The lookup table of the readers' functions (docs/views.md): witness.entry_lookup, filled by the
// sealer after it inserted a block, never by the capture.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Adds the entries of the blocks sealed since the last call to witness.entry_lookup (SQL
// witness._maintain_lookup()), in a subtransaction of the caller's: a failure is reported as a
// WARNING and leaves the block sealed; the next pass tries again, and lookups find the entries of
// blocks not added yet in witness.entry meanwhile. Does nothing on a trail whose SQL has no such
// function (0.1, before ALTER EXTENSION pg_witness UPDATE).
void maintain_lookup();

} // namespace witness::pg
