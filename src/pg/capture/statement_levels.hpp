// The statements this backend is running, innermost last, as the executor and utility hooks see them
// start and end: the role each was started as, and whether it writes rows whose capture triggers have
// not all fired yet.
//
// Capture needs this because its AFTER ROW triggers fire when their statement ends, not when the row
// changes (docs/capture.md, "Order inside nested statements" and "Attribution"):
// - an entry names the role its statement ran as, not whichever role is current when the trigger fires
//   (a statement can change the role half-way with set_config('role', ...));
// - a statement run from inside another one that writes (a BEFORE trigger's UPDATE, a user AFTER
//   trigger's) fires its capture triggers first, although some of its changes came later than the
//   enclosing statement's: those entries are held back (held_entries.hpp) until the enclosing
//   statement's own have been written.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// A statement (a QueryDesc, or a utility command's PlannedStmt) starts, run by the current role;
// writes: it changes rows of tables that may be tracked (INSERT, UPDATE, DELETE, MERGE, a data-modifying
// WITH, COPY FROM).
void statement_level_start(const void *statement, bool writes);
// The command id its changes are made under (the executor's es_output_cid).
void statement_level_command(const void *statement, CommandId command);
// Its AFTER triggers start firing (ExecutorFinish was entered): statements started from now on inside
// it make changes later than all of its own. A TRUNCATE is taken as firing from its start: statements
// run inside it are its triggers', and those of its AFTER triggers refill the table it emptied.
void statement_level_firing(const void *statement);
// Its AFTER triggers have fired (ExecutorFinish returned): it has no capture left to fire.
void statement_level_finished(const void *statement);
// It ends (ExecutorEnd, or the utility command returned or failed).
void statement_level_end(const void *statement);

// True while a capture trigger fires inside a statement that another still-running writing statement
// encloses: the entries captured now may have to wait for that statement's.
bool capture_is_nested_in_write();
// True when no writing statement is running any more: held entries can take their ids.
bool no_write_running();

// The role the statement whose capture triggers fire now (the innermost running writing statement)
// was started as; the current role outside any.
Oid statement_role();

// The command that statement started under; the current one outside any.
CommandId statement_command();

// Whether that statement was started while an enclosing writing statement fired its AFTER triggers:
// then every change it makes is later than every change of that statement.
bool capture_follows_enclosing_statement();

// Whether command is the command of a running writing statement, whose entries are not written yet.
bool command_of_running_write(CommandId command);

// A subtransaction rolled back: its statements never reach their end hooks; they are dropped here.
void statement_levels_subxact_abort(SubTransactionId subxid);
void statement_levels_forget();

} // namespace witness::pg
