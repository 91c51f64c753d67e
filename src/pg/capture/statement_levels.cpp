#include "pg/capture/statement_levels.hpp"

namespace witness::pg
{
namespace
{

struct Level {
	const void *statement;
	Oid role;
	bool writes;
	bool finished;
	bool firing;          // in its ExecutorFinish: its AFTER triggers are firing
	bool after_enclosing; // started while an enclosing writing statement fired its AFTER triggers
	CommandId command;    // the command its changes are made under (writes only)
	SubTransactionId subxid; // the subtransaction it started in
};

Level *levels = nullptr;
int nlevels = 0;
int maxlevels = 0;
int running_writes = 0; // levels that write and have not finished

// Grows an array kept in TopMemoryContext for the session.
template <typename T> void reserve_one_more(T **items, int count, int *capacity)
{
	if (count < *capacity)
		return;
	const int n = Max(8, *capacity * 2);
	*items = *items == nullptr ? (T *)MemoryContextAlloc(TopMemoryContext, sizeof(T) * n)
	                           : (T *)repalloc(*items, sizeof(T) * n);
	*capacity = n;
}

void count_running_writes()
{
	running_writes = 0;
	for (int i = 0; i < nlevels; i++)
		running_writes += levels[i].writes && !levels[i].finished;
}

int find_level(const void *statement)
{
	for (int i = nlevels - 1; i >= 0; i--)
		if (levels[i].statement == statement)
			return i;
	return -1;
}

} // namespace

void statement_level_start(const void *statement, bool writes)
{
	bool after_enclosing = false;
	for (int i = 0; i < nlevels && !after_enclosing; i++)
		after_enclosing = levels[i].writes && levels[i].firing && !levels[i].finished;
	reserve_one_more(&levels, nlevels, &maxlevels);
	levels[nlevels++] =
	    Level{statement, GetUserId(), writes, false, false, after_enclosing, InvalidCommandId, GetCurrentSubTransactionId()};
	running_writes += writes;
}

void statement_level_command(const void *statement, CommandId command)
{
	const int i = find_level(statement);
	if (i >= 0)
		levels[i].command = command;
}

void statement_level_firing(const void *statement)
{
	const int i = find_level(statement);
	if (i >= 0)
		levels[i].firing = true;
}

void statement_level_finished(const void *statement)
{
	const int i = find_level(statement);
	if (i < 0 || levels[i].finished)
		return;
	levels[i].finished = true;
	running_writes -= levels[i].writes;
}

void statement_level_end(const void *statement)
{
	const int i = find_level(statement);
	if (i < 0)
		return; // dropped with its subtransaction or transaction
	// Normally the innermost; a cursor's statement can end while later ones still run.
	for (int j = i; j + 1 < nlevels; j++)
		levels[j] = levels[j + 1];
	nlevels--;
	count_running_writes();
}

bool capture_is_nested_in_write()
{
	return running_writes >= 2;
}

bool no_write_running()
{
	return running_writes == 0;
}

// The statement whose capture triggers fire now: the innermost running writing statement. (Not simply
// the innermost: a cursor that a function in the statement opened and left open lies above it.)
const Level *capturing_level()
{
	for (int i = nlevels - 1; i >= 0; i--)
		if (levels[i].writes && !levels[i].finished)
			return &levels[i];
	return nullptr;
}

Oid statement_role()
{
	const Level *level = capturing_level();
	return level != nullptr ? level->role : GetUserId();
}

CommandId statement_command()
{
	const Level *level = capturing_level();
	return level != nullptr ? level->command : GetCurrentCommandId(false);
}

bool capture_follows_enclosing_statement()
{
	const Level *level = capturing_level();
	return level != nullptr && level->after_enclosing;
}

bool command_of_running_write(CommandId command)
{
	for (int i = 0; i < nlevels; i++)
		if (levels[i].writes && !levels[i].finished && levels[i].command == command)
			return true;
	return false;
}

// Drops the statements an aborted subtransaction started, and its children's: their ids are the same or
// higher. (Not simply those above the stack's height when it started: a cursor declared before it can
// be closed inside it.)
void statement_levels_subxact_abort(SubTransactionId subxid)
{
	int kept = 0;
	for (int i = 0; i < nlevels; i++)
		if (levels[i].subxid < subxid)
			levels[kept++] = levels[i];
	nlevels = kept;
	count_running_writes();
}

void statement_levels_forget()
{
	nlevels = 0;
	running_writes = 0;
}

} // namespace witness::pg
