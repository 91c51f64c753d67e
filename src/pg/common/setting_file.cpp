#include "pg/common/setting_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "storage/fd.h"
}

namespace witness::pg
{

// The open() of a FIFO waits for a writer, past cancel, terminate and a fast shutdown, and a device
// never ends (an attack review hung every sealer of a cluster on a FIFO named as witness.hmac_key_file).
// So the path is opened once, without waiting, and what was opened is asked what it is: a check by
// name and a second open raced with a FIFO swapped in between (the review of the fix).
int open_regular_file(const char *setting, const char *path, int flags, bool absent_ok, int elevel)
{
	const int fd = OpenTransientFile(path, flags | O_NONBLOCK | PG_BINARY);
	if (fd < 0) {
		if (errno == ENOENT && absent_ok)
			return -1;
		// errcode_for_file_access() reads the error being reported: only inside ereport() (a review's
		// unreadable key file raised "errstart was not called" instead).
		const bool loop = errno == ELOOP;
		ereport(elevel, (loop ? errcode(ERRCODE_CONFIG_FILE_ERROR) : errcode_for_file_access(),
		                 errmsg("could not open %s \"%s\": %m", setting, path)));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		CloseTransientFile(fd);
		ereport(elevel, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("%s \"%s\" is not a regular file", setting, path)));
		return -1;
	}
	return fd;
}

bool read_at(int fd, StringInfo buf, off_t from, long max_bytes)
{
	char chunk[8192];
	while (max_bytes > 0) {
		CHECK_FOR_INTERRUPTS();
		const ssize_t n = pg_pread(fd, chunk, (size_t)Min((long)sizeof(chunk), max_bytes), from);
		if (n < 0)
			return false;
		if (n == 0)
			break;
		appendBinaryStringInfo(buf, chunk, (int)n);
		from += n;
		max_bytes -= (long)n;
	}
	return true;
}

char *read_setting_file(const char *setting, const char *path)
{
	const int fd = open_regular_file(setting, path, O_RDONLY, false, ERROR);
	StringInfoData buf;
	initStringInfo(&buf);
	const bool ok = read_at(fd, &buf, 0, kMaxSettingFileBytes + 1);
	CloseTransientFile(fd);
	if (!ok)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read %s \"%s\": %m", setting, path)));
	if (buf.len > kMaxSettingFileBytes)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("%s \"%s\" is larger than 1 MB", setting, path),
		                errdetail("A key file holds a few hundred bytes.")));
	// A key file that is set but empty (or read as empty: a NUL byte first) signed nothing, silently.
	if (memchr(buf.data, '\0', buf.len) != nullptr)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("%s \"%s\" contains a NUL byte", setting, path)));
	if (strspn(buf.data, " \t\r\n\v\f") == (size_t)buf.len)
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("%s \"%s\" is empty", setting, path),
		                errhint("Reset the setting to sign nothing with it, or write the key into the file.")));
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
