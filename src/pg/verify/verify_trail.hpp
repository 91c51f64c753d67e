// The whole-trail verification of witness.verify(), for C callers (the scheduled verification of the
// background sealer, docs/verification.md "Scheduled verification").
#pragma once

#include "pg/verify/verifier_bridge.hpp"

namespace witness::pg
{

// Verifies every block and entry with the active snapshot, as witness.verify() with no arguments
// does; the results are palloc'd in CurrentMemoryContext. Needs a transaction and an active snapshot.
void verify_whole_trail(VerifyResult *result);

} // namespace witness::pg
