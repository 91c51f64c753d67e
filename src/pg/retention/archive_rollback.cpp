// Removes the archive files of a transaction or subtransaction that aborts (archive_rollback.hpp). The
// names live in TopMemoryContext until the transaction ends; unlink failures are WARNINGs, never
// ERRORs, since the callbacks run during abort.
#include "pg/retention/archive_rollback.hpp"

#include "pg/common/pg_includes.hpp"

#include <unistd.h>

namespace witness::pg
{

struct ArchiveFile {
	ArchiveFile *next;
	SubTransactionId subid; // the subtransaction that wrote it; a committed one hands it to its parent
	bool linked;            // final is this run's file (else only tmp may exist)
	char *tmp;
	char *final;
};

namespace
{

ArchiveFile *files = nullptr;
bool callbacks_registered = false;

// A missing file is fine (already renamed, or never created).
void remove_quietly(const char *path)
{
	if (unlink(path) == 0)
		ereport(LOG, (errmsg("pg_witness: removed archive file \"%s\" of a retention run that rolled back", path)));
	else if (errno != ENOENT)
		ereport(WARNING, (errcode_for_file_access(),
		                  errmsg("could not remove archive file \"%s\" of a retention run that rolled back: %m", path),
		                  errhint("Remove it by hand: the run pruned nothing, and the file keeps entries in clear.")));
}

// Unlinks (abort) or forgets (commit) the files of subid, or every file when subid is invalid.
void release(SubTransactionId subid, bool remove)
{
	ArchiveFile **link = &files;
	while (*link != nullptr) {
		ArchiveFile *f = *link;
		if (subid != InvalidSubTransactionId && f->subid != subid) {
			link = &f->next;
			continue;
		}
		if (remove) {
			remove_quietly(f->tmp);
			if (f->linked)
				remove_quietly(f->final);
		}
		*link = f->next;
		pfree(f);
	}
}

void on_xact(XactEvent event, void *)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		release(InvalidSubTransactionId, true);
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
		release(InvalidSubTransactionId, false);
}

// A subtransaction that rolls back takes its files with it; one that commits hands them to its parent.
void on_subxact(SubXactEvent event, SubTransactionId mine, SubTransactionId parent, void *)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		release(mine, true);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		for (ArchiveFile *f = files; f != nullptr; f = f->next)
			if (f->subid == mine)
				f->subid = parent;
}

} // namespace

ArchiveFile *archive_file_track(const char *tmp_path, const char *final_path)
{
	if (!callbacks_registered) {
		RegisterXactCallback(on_xact, nullptr);
		RegisterSubXactCallback(on_subxact, nullptr);
		callbacks_registered = true;
	}
	const size_t tmp_len = strlen(tmp_path) + 1, final_len = strlen(final_path) + 1;
	// One allocation: nothing left half made if it fails.
	char *block = (char *)MemoryContextAlloc(TopMemoryContext, sizeof(ArchiveFile) + tmp_len + final_len);
	ArchiveFile *f = (ArchiveFile *)block;
	f->tmp = block + sizeof(ArchiveFile);
	f->final = f->tmp + tmp_len;
	memcpy(f->tmp, tmp_path, tmp_len);
	memcpy(f->final, final_path, final_len);
	f->subid = GetCurrentSubTransactionId();
	f->linked = false;
	f->next = files;
	files = f;
	return f;
}

void archive_file_linked(ArchiveFile *file)
{
	file->linked = true;
}

} // namespace witness::pg
