// A step that may fail without failing its caller's transaction: run in an internal subtransaction,
// as PL/pgSQL runs a block with an exception handler (docs/cpp-boundary.md, rule 5). The sealer uses
// it for what only copies or speeds up reading the block it just sealed (a digest line, the lookup
// table): the block is the record, so their failure is a WARNING, not a failed seal.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Runs step(arg) in an internal subtransaction and releases it. True when it completed; false when it
// raised an error: the subtransaction is rolled back, memory context and resource owner restored, and
// the error's message copied into message (size bytes, cut at a character boundary). A cancel is
// raised again once the subtransaction is rolled back.
bool run_in_subtransaction(void (*step)(void *arg), void *arg, char *message, size_t size);

} // namespace witness::pg
