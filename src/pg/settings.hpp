// Settings (GUCs) pg_witness defines: what an application says about who acts and why.
#pragma once

namespace witness::pg {

extern char *setting_actor;   // witness.actor
extern char *setting_reason;  // witness.reason
extern char *setting_context; // witness.context (JSON)

void define_settings();

} // namespace witness::pg
