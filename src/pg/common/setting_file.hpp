// Files named by settings (key files, the digest file): read whole, and checked for access by others.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Whether a string setting has a value (an unset one is the empty string).
inline bool is_set(const char *s)
{
	return s != nullptr && *s != '\0';
}

// A transient file descriptor (OpenTransientFile; closed at abort) of path opened with flags, or -1
// when it does not exist and absent_ok, or when it cannot be opened or is no regular file (a FIFO, a
// device, a directory): then reported at elevel, naming setting. Never waits for a FIFO's other end.
int open_regular_file(const char *setting, const char *path, int flags, bool absent_ok, int elevel);

// Appends at most max_bytes of fd from offset from to buf; false on a read error (errno set).
bool read_at(int fd, StringInfo buf, off_t from, long max_bytes);

// The most read_setting_file() reads.
constexpr long kMaxSettingFileBytes = 1024 * 1024;

// Contents of a file named by a setting, palloc'd; raises ERROR when it cannot be read, is not a
// regular file, is larger than kMaxSettingFileBytes, holds a NUL byte or is empty.
char *read_setting_file(const char *setting, const char *path);

// Raises ERROR unless the secret file named by setting is private, by the rule PostgreSQL applies to
// ssl_key_file: owned by the server's user with no access for group or others, or owned by root with
// at most read access for the group.
void check_secret_file_access(const char *setting, const char *path);

} // namespace witness::pg
