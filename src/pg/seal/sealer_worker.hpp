// Background sealing: a launcher starts one sealer per database; each sealer seals every
// witness.seal_interval while its database has pg_witness.
#pragma once

namespace witness::pg
{

extern int seal_interval_ms;

// Registers the launcher; only possible from shared_preload_libraries.
void register_launcher();

} // namespace witness::pg
