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

// Appends what is left of f to buf, at most max_bytes of it when that is not negative; a FIFO or a
// device that never ends can be cancelled.
void read_rest(FILE *f, StringInfo buf, long max_bytes = -1);

// Whether path names a regular file (or nothing, when absent_ok), found without waiting: reports at
// elevel (naming setting) and returns false otherwise (a FIFO, a device, a directory).
bool setting_file_is_regular(const char *setting, const char *path, bool absent_ok, int elevel);

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
