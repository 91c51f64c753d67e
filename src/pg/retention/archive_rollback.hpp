// Archive files of a retention run that does not commit are removed (docs/retention.md, "A run that
// does not commit"): the run pruned nothing, its files name a run the chain never records, and they
// would keep personal data in clear out of an erasure's reach.
#pragma once

namespace witness::pg
{

struct ArchiveFile;

// Called before tmp_path is created: while the current (sub)transaction is open, tmp_path is removed
// if it aborts (and final_path too once archive_file_linked() said so). Never fails after this.
ArchiveFile *archive_file_track(const char *tmp_path, const char *final_path);

// The file now carries its final name, which is this run's: an abort removes it.
void archive_file_linked(ArchiveFile *file);

} // namespace witness::pg
