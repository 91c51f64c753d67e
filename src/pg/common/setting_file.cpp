#include "pg/common/setting_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "storage/fd.h"
}

namespace witness::pg
{

void read_rest(FILE *f, StringInfo buf, long max_bytes)
{
	char chunk[8192];
	size_t n;
	while (max_bytes != 0 &&
	       (n = fread(chunk, 1, max_bytes < 0 ? sizeof(chunk) : (size_t)Min((long)sizeof(chunk), max_bytes), f)) > 0) {
		CHECK_FOR_INTERRUPTS(); // a FIFO or a device named by the setting may never end
		appendBinaryStringInfo(buf, chunk, (int)n);
		if (max_bytes > 0)
			max_bytes -= (long)n;
	}
}

char *read_setting_file(const char *setting, const char *path)
{
	FILE *f = AllocateFile(path, "r");
	if (f == nullptr)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open %s \"%s\": %m", setting, path)));
	StringInfoData buf;
	initStringInfo(&buf);
	read_rest(f, &buf);
	bool failed = ferror(f);
	FreeFile(f);
	if (failed)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read %s \"%s\": %m", setting, path)));
	return buf.data;
}

void check_secret_file_access(const char *setting, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open %s \"%s\": %m", setting, path)));
	if (!S_ISREG(st.st_mode))
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("%s \"%s\" is not a regular file", setting, path)));
	const bool owned_by_server = st.st_uid == geteuid();
	if (!owned_by_server && st.st_uid != 0)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
		                errmsg("%s \"%s\" must be owned by the database user or root", setting, path)));
	const mode_t forbidden = owned_by_server ? (S_IRWXG | S_IRWXO) : (S_IWGRP | S_IXGRP | S_IRWXO);
	if ((st.st_mode & forbidden) != 0)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR),
		                errmsg("%s \"%s\" has group or world access", setting, path),
		                errdetail("It must have permissions u=rw (0600) or less if owned by the database user, or "
		                          "u=rw,g=r (0640) or less if owned by root."),
		                errhint("chmod 600 %s", path)));
}

} // namespace witness::pg
