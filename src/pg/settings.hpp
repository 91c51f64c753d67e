// Settings (GUCs) pg_witness defines: what an application says about who acts and why.
#pragma once

namespace witness::pg
{

extern char *setting_actor;            // witness.actor
extern char *setting_reason;           // witness.reason
extern char *setting_context;          // witness.context (JSON)
extern char *setting_hmac_key_file;    // witness.hmac_key_file
extern char *setting_ed25519_key_file; // witness.ed25519_key_file
extern char *setting_digest_file;      // witness.digest_file
extern int setting_digest_interval_ms; // witness.digest_interval

void define_settings();

} // namespace witness::pg
