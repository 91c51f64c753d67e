// Background sealing: a launcher starts short-lived sealer workers, each sealing one database once,
// at most witness.max_sealers at a time, so that every database with pg_witness is sealed every
// witness.seal_interval whatever their number.
#pragma once

namespace witness::pg
{


// Highest witness.max_sealers.
constexpr int kMaxSealersLimit = 64;

// Registers the launcher; only possible from shared_preload_libraries.
void register_launcher();

} // namespace witness::pg
