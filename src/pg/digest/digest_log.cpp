#include "pg/digest/digest_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "core/digest.hpp"
#include "core/signatures.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/subtransaction.hpp"

extern "C" {
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "storage/fd.h"
}

namespace witness::pg
{
namespace
{

constexpr long kTailBytes = 64 * 1024;           // the last digest line is well within this
constexpr long kMaxScanBytes = 64L * 1024 * 1024; // how far back a database's last line is looked for

std::string signed_text; // static: survives no longjmp'd frame

struct NewestBlock {
	int64 block_no;
	uint8_t hash[32];
	int64 entries;
};

// SPI queries run under the caller's search_path, which may put another schema before pg_catalog:
// every function, type and operator in them is written with its schema (operators as
// OPERATOR(pg_catalog.>=)), so that nothing created elsewhere can stand in for the built-in one.
bool read_newest_block(NewestBlock *b)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	// Not read-only: a fresh snapshot, so a block sealed earlier in this transaction is seen.
	if (SPI_execute(
	        "SELECT block_no, block_hash, (SELECT pg_catalog.sum(entry_count) FROM witness.block)::pg_catalog.int8"
	        " FROM witness.block ORDER BY block_no DESC LIMIT 1",
	        false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read the newest block");
	bool found = SPI_processed == 1;
	if (found) {
		bool isnull;
		HeapTuple row = SPI_tuptable->vals[0];
		b->block_no = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
		bytea *h = DatumGetByteaPP(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
		if (VARSIZE_ANY_EXHDR(h) != 32)
			ereport(ERROR,
			        (errcode(ERRCODE_DATA_CORRUPTED), errmsg("block %lld has a malformed hash", (long long)b->block_no),
			         errhint("Run witness.verify().")));
		memcpy(b->hash, VARDATA_ANY(h), 32);
		b->entries = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 3, &isnull));
	}
	SPI_finish();
	return found;
}

char *database_id()
{
	return psprintf("%llu/%s", (unsigned long long)GetSystemIdentifier(), get_database_name(MyDatabaseId));
}

// The block number (and, into block_hash, the block's hash; *same_cluster: whether the line's whole
// database id is full_id, this cluster's) of a digest line written by the database named db_name; 0
// for another database's
// line, and for a line that does not parse (with a WARNING). By name, not by the whole database id:
// a trail moved to another cluster with its digest file (a new system identifier) keeps its lines.
int64 block_no_of_line(const char *line, const char *db_name, const char *full_id, uint8_t block_hash[32],
                       bool *same_cluster)
{
	int64 block_no = 0;
	const char *err = run_guarded([&] {
		DigestFields fields = check_digest_signatures(line, "", "").fields;
		const size_t slash = fields.database_id.find('/');
		if (slash != std::string::npos && fields.database_id.compare(slash + 1, std::string::npos, db_name) == 0) {
			block_no = fields.block_no;
			std::memcpy(block_hash, fields.block_hash.data(), fields.block_hash.size());
			*same_cluster = fields.database_id == full_id;
		}
	});
	if (err)
		ereport(WARNING, (errmsg("pg_witness: ignoring a line of witness.digest_file: %s", err)));
	return block_no;
}

} // namespace

char *signed_digest_of_newest_block()
{
	if (!is_set(setting_hmac_key_file) && !is_set(setting_ed25519_key_file))
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("no key to sign digests with"),
		                errdetail("Neither witness.hmac_key_file nor witness.ed25519_key_file is set."),
		                errhint("Make keys outside the data directory, readable only by the server, and name them in "
		                        "postgresql.conf:\n"
		                        "  openssl genpkey -algorithm ed25519 -out /etc/postgresql/witness_ed25519.pem\n"
		                        "  openssl rand -hex 32 > /etc/postgresql/witness_hmac.key\n"
		                        "  witness.ed25519_key_file = '/etc/postgresql/witness_ed25519.pem'\n"
		                        "  witness.hmac_key_file = '/etc/postgresql/witness_hmac.key'")));
	NewestBlock b;
	if (!read_newest_block(&b))
		return nullptr;
	const char *hmac =
	    is_set(setting_hmac_key_file) ? read_setting_file("witness.hmac_key_file", setting_hmac_key_file) : "";
	const char *pem =
	    is_set(setting_ed25519_key_file) ? read_setting_file("witness.ed25519_key_file", setting_ed25519_key_file) : "";
	const char *db = database_id();
	int64 now_us = GetCurrentTimestamp() + kUnixToPostgresEpochUs;
	run_core(ERRCODE_INVALID_PARAMETER_VALUE, "could not sign digest",
	         "Check witness.hmac_key_file and witness.ed25519_key_file.", [&] {
		DigestFields fields;
		fields.database_id = db;
		fields.block_no = b.block_no;
		memcpy(fields.block_hash.data(), b.hash, 32);
		fields.entry_count = b.entries;
		fields.time_us = now_us;
		std::string key = *hmac != '\0' ? hmac_key_from_file_text(hmac) : std::string();
		signed_text = sign_digest(make_digest_json(fields), key, pem);
	});
	return pstrdup(signed_text.c_str());
}

char *digest_for_log(MemoryContext keep, TimestampTz last_logged)
{
	if (!is_set(setting_digest_file) || (!is_set(setting_hmac_key_file) && !is_set(setting_ed25519_key_file)))
		return nullptr;
	if (last_logged != 0 && !TimestampDifferenceExceeds(last_logged, GetCurrentTimestamp(), setting_digest_interval_ms))
		return nullptr;
	// Report the problem and go on sealing: a digest is a copy, the block is the record.
	struct Made {
		MemoryContext keep;
		char *digest;
	} made = {keep, nullptr};
	auto step = [](void *arg) {
		Made *m = static_cast<Made *>(arg);
		char *text = signed_digest_of_newest_block();
		if (text != nullptr)
			m->digest = MemoryContextStrdup(m->keep, text);
	};
	char message[512];
	if (!run_in_subtransaction(step, &made, message, sizeof(message))) {
		ereport(WARNING, (errmsg("pg_witness: no digest written: %s", message)));
		return nullptr;
	}
	return made.digest;
}

bool append_digest_line(const char *digest)
{
	if (!is_set(setting_digest_file))
		return false;
	const int fd = open_regular_file("witness.digest_file", setting_digest_file, O_WRONLY | O_APPEND | O_CREAT,
	                                 false, WARNING);
	if (fd < 0)
		return false;
	const size_t len = strlen(digest);
	char *line = psprintf("%s\n", digest);
	bool ok = write(fd, line, len + 1) == (ssize_t)(len + 1) && pg_fsync(fd) == 0;
	if (CloseTransientFile(fd) != 0)
		ok = false;
	pfree(line);
	if (!ok)
		ereport(WARNING, (errcode_for_file_access(),
		                  errmsg("could not append to witness.digest_file \"%s\": %m", setting_digest_file)));
	return ok;
}

// Every database of the cluster appends to the one file witness.digest_file names: the lines of
// other databases (by name) are skipped. The file's tail is read first, then the four times larger
// part before what was read, and so on, each line looked at once, until a line of this database is
// found, the whole file was read, or 64 MB were (then 0, with a WARNING: nothing to check against).
int64 highest_block_no_logged(uint8_t block_hash[32], bool *same_cluster)
{
	uint8_t ignored[32];
	bool ignored_flag;
	if (block_hash == nullptr)
		block_hash = ignored;
	if (same_cluster == nullptr)
		same_cluster = &ignored_flag;
	*same_cluster = false;
	if (!is_set(setting_digest_file))
		return 0;
	const char *db = get_database_name(MyDatabaseId);
	const char *full_id = db != nullptr ? database_id() : nullptr;
	const int fd = db != nullptr ? open_regular_file("witness.digest_file", setting_digest_file, O_RDONLY, true, WARNING) : -1;
	if (fd < 0)
		return 0;
	struct stat st;
	const long size = fstat(fd, &st) == 0 ? (long)st.st_size : 0;
	long unread_end = size; // the bytes before this offset have not been looked at
	bool whole_file = false;
	int64 found = 0;
	for (long want = kTailBytes; found == 0 && want <= kMaxScanBytes; want *= 4) {
		const long from = size > want ? size - want : 0;
		StringInfoData buf;
		initStringInfo(&buf);
		(void)read_at(fd, &buf, from, unread_end - from);
		int end = buf.len;
		while (found == 0 && end > 0) {
			CHECK_FOR_INTERRUPTS();
			while (end > 0 && (buf.data[end - 1] == '\n' || buf.data[end - 1] == '\r' || buf.data[end - 1] == ' '))
				end--;
			int start = end;
			while (start > 0 && buf.data[start - 1] != '\n')
				start--;
			if (start == 0 && from > 0)
				break; // a line cut by where the read began: the next pass reads it whole
			if (end > start) {
				char *line = pnstrdup(buf.data + start, end - start);
				found = block_no_of_line(line, db, full_id, block_hash, same_cluster);
				pfree(line);
			}
			end = start;
		}
		unread_end = from + end;
		pfree(buf.data);
		if (from == 0) {
			whole_file = true;
			break;
		}
	}
	CloseTransientFile(fd);
	if (found == 0 && !whole_file)
		ereport(WARNING, (errmsg("pg_witness: no line of database \"%s\" in the last %ld MB of witness.digest_file", db,
		                         kMaxScanBytes / (1024 * 1024)),
		                  errdetail("Blocks missing from the end of the chain are not checked against the file."),
		                  errhint("Give each database a file of its own (ALTER DATABASE ... SET witness.digest_file), or keep the file shorter.")));
	return found;
}

} // namespace witness::pg
