// A transaction holding one of pg_witness's locks cannot be prepared (docs/verification.md, "Sealing on
// demand"): a prepared transaction keeps its locks until COMMIT PREPARED, and the work that takes the
// same lock (sealing, alerts, lookups, erasures, retention) would wait until then, a forgotten one for
// good, while verify() said valid.
#pragma once

namespace witness::pg
{

// Called once the lock is held: a PREPARE TRANSACTION of this transaction is then refused (0A000)
// with this message, detail and hint (static strings; the message is copied). The first lock taken
// in a transaction names the refusal.
void refuse_prepare_while_held(const char *message, const char *detail, const char *hint);

} // namespace witness::pg
