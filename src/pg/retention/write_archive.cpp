// Archive files of retention (docs/retention.md, "Archive instead of delete"): before
// witness.apply_retention() prunes entries under a rule that archives, it writes them here, one gzip
// file per month, with everything witness-verify needs to check them on their own: the blocks they
// belong to (header, root, chain link) and each block's full list of leaf hashes. The file is written
// under a temporary name, fsynced, renamed without replacing and its directory fsynced; only then
// does the run go on to prune. A transaction that aborts removes the files it wrote
// (archive_rollback.cpp).
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/export/entry_line.hpp"
#include "pg/retention/archive_rollback.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

extern "C" {
#include "common/cryptohash.h"
#include "common/file_perm.h"
#include "common/sha2.h"
#include "storage/fd.h"
#include "utils/array.h"
}

using namespace witness::pg;

namespace
{

// Block lines as witness.export_trail() writes them.
const char *const kBlockLinesQuery =
    "SELECT (pg_catalog.jsonb_build_object('type', 'block') OPERATOR(pg_catalog.||) witness._block_json(b))"
    "::pg_catalog.text FROM witness.block b WHERE b.block_no OPERATOR(pg_catalog.=) ANY ($1) ORDER BY b.block_no";

// Every member of each block in id order (the remaining entries, the kept hashes of entries pruned
// earlier, the entries about to be pruned): what its Merkle root is computed over.
const char *const kLeavesQuery =
    "SELECT pg_catalog.json_build_object('type', 'leaves', 'block_no', b.block_no,"
    " 'entry_ids', pg_catalog.to_json(m.ids),"
    " 'leaf_hashes', COALESCE((SELECT pg_catalog.string_agg(pg_catalog.encode(l.leaf, 'hex'), '' ORDER BY l.o)"
    "   FROM pg_catalog.unnest(m.leaves) WITH ORDINALITY AS l(leaf, o)), ''))::pg_catalog.text"
    " FROM witness.block b CROSS JOIN LATERAL witness._block_members(b) m"
    " WHERE b.block_no OPERATOR(pg_catalog.=) ANY ($1) ORDER BY b.block_no";

// The archived entries; the id bounds let the trail's BRIN index skip the rest. The ids are a filter
// ("id + 0"): given "id = ANY", a BRIN index scans itself once per element.
const char *const kEntriesQuery =
    "SELECT e.* FROM witness.entry e WHERE (e.id OPERATOR(pg_catalog.+) 0) OPERATOR(pg_catalog.=) ANY ($1)"
    " AND e.id OPERATOR(pg_catalog.>=) $2 AND e.id OPERATOR(pg_catalog.<=) $3 ORDER BY e.id";

constexpr long kBatch = 1000;

void write_bytes(gzFile gz, const char *data, size_t len, const char *path)
{
	if (len > 0 && gzwrite(gz, data, (unsigned)len) != (int)len) {
		const int saved_errno = errno;
		int errnum = 0;
		const char *msg = gzerror(gz, &errnum);
		if (errnum == Z_ERRNO)
			msg = strerror(saved_errno);
		ereport(ERROR, (errcode(ERRCODE_IO_ERROR), errmsg("could not write archive file \"%s\": %s", path, msg)));
	}
}

void write_line(gzFile gz, const char *data, size_t len, const char *path)
{
	write_bytes(gz, data, len, path);
	write_bytes(gz, "\n", 1, path);
}

// Runs query (parameters $1 bigint[], and for entries $2, $3 bigint) through a cursor and writes each
// row: a text line, or an entry (entries == true) printed as its export line.
void write_query(gzFile gz, const char *path, const char *query, int nargs, Oid *types, Datum *args,
                 bool entries)
{
	SPIPlanPtr plan = SPI_prepare_cursor(query, nargs, types, CURSOR_OPT_NO_SCROLL);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the archive query: %s", SPI_result_code_string(SPI_result));
	Portal portal = SPI_cursor_open(nullptr, plan, args, nullptr, true);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_witness archive row", ALLOCSET_DEFAULT_SIZES);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, kBatch);
		if (SPI_processed == 0)
			break;
		TupleDesc desc = SPI_tuptable->tupdesc;
		if (entries && check_entry_layout(desc) != 2)
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			                errmsg("cannot archive entries of a trail of version 0.1"),
			                errhint("Run ALTER EXTENSION pg_witness UPDATE.")));
		for (uint64 i = 0; i < SPI_processed; i++) {
			MemoryContext old = MemoryContextSwitchTo(row_cxt);
			if (entries) {
				heap_deform_tuple(SPI_tuptable->vals[i], desc, values, nulls);
				StringInfoData line;
				initStringInfo(&line);
				append_entry_line(&line, values, nulls);
				write_line(gz, line.data, (size_t)line.len, path);
			} else {
				bool isnull;
				Datum d = SPI_getbinval(SPI_tuptable->vals[i], desc, 1, &isnull);
				if (isnull)
					elog(ERROR, "pg_witness: an archive line is null");
				text *t = DatumGetTextPP(d);
				write_line(gz, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), path);
			}
			MemoryContextSwitchTo(old);
			MemoryContextReset(row_cxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(row_cxt);
}

// Hex SHA-256 of the file's bytes as they are on disk.
char *file_sha256_hex(const char *path)
{
	int fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open archive file \"%s\": %m", path)));
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == nullptr || pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "pg_witness: could not initialize SHA-256");
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0)
			ereport(ERROR, (errcode_for_file_access(), errmsg("could not read archive file \"%s\": %m", path)));
		if (n == 0)
			break;
		if (pg_cryptohash_update(ctx, (const uint8 *)buf, (size_t)n) < 0)
			elog(ERROR, "pg_witness: could not compute SHA-256");
	}
	CloseTransientFile(fd);
	uint8 digest[PG_SHA256_DIGEST_LENGTH];
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "pg_witness: could not compute SHA-256");
	pg_cryptohash_free(ctx);
	char *hex = (char *)palloc(2 * PG_SHA256_DIGEST_LENGTH + 1);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return hex;
}

// Longest archive file name: the file system's 255 bytes, less ".tmp" (pg_witness's own names take
// at most about 130).
constexpr int kMaxArchiveNameLength = 200;

// Whether name may be an archive file's: a plain file name of safe characters. A name too long for
// the file system made open() fail with ENAMETOOLONG, reported as an internal error (a review).
bool archive_file_name_valid(const char *name)
{
	const size_t n = strlen(name);
	if (n == 0 || n > (size_t)kMaxArchiveNameLength || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		const unsigned char c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

// Links tmp to path durably. The file under path is this run's once the link was made, even when a
// later fsync failed: the abort then removes it (a file already there under that name is not).
void link_durably(const char *tmp, const char *path, ArchiveFile *tracked)
{
	struct stat written;
	const bool have_written = stat(tmp, &written) == 0;
	if (durable_rename_excl(tmp, path, LOG) == 0) {
		archive_file_linked(tracked);
		return;
	}
	struct stat now;
	if (have_written && stat(path, &now) == 0 && now.st_dev == written.st_dev && now.st_ino == written.st_ino)
		archive_file_linked(tracked);
	ereport(ERROR, (errcode(ERRCODE_IO_ERROR), errmsg("could not make archive file \"%s\" durable", path),
	                errdetail("Writing, syncing or renaming \"%s\" failed; the server log says which.", tmp)));
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_write_archive_file);
Datum witness_write_archive_file(PG_FUNCTION_ARGS);

// witness._write_archive_file(file_name, header, block_nos, entry_ids): writes the archive file and
// returns its SHA-256 in hex. Called by witness.apply_retention() before it prunes.
Datum witness_write_archive_file(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 4);
	require_not_null(fcinfo, 0, "file_name");
	require_not_null(fcinfo, 1, "header");
	require_not_null(fcinfo, 2, "block_nos");
	require_not_null(fcinfo, 3, "entry_ids");
	const char *dir = setting_archive_directory;
	if (dir == nullptr || dir[0] == '\0')
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot write an archive file: witness.archive_directory is not set")));
	char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!archive_file_name_valid(name))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid archive file name"),
		                errdetail("An archive file name has 1 to %d letters, digits, \"_\", \".\" and \"-\", and does not start with \".\".",
		                          kMaxArchiveNameLength)));
	text *header = PG_GETARG_TEXT_PP(1);
	ArrayType *block_nos = PG_GETARG_ARRAYTYPE_P(2);
	ArrayType *entry_ids = PG_GETARG_ARRAYTYPE_P(3);
	if (ARR_ELEMTYPE(block_nos) != INT8OID || ARR_ELEMTYPE(entry_ids) != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("block_nos and entry_ids must be bigint[]")));
	// The id bounds of the entries.
	Datum *ids;
	bool *id_nulls;
	int nids;
	deconstruct_array(entry_ids, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	int64 lo = PG_INT64_MAX, hi = PG_INT64_MIN;
	for (int i = 0; i < nids; i++) {
		if (id_nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("entry_ids must not contain nulls")));
		lo = Min(lo, DatumGetInt64(ids[i]));
		hi = Max(hi, DatumGetInt64(ids[i]));
	}

	char *path = psprintf("%s/%s", dir, name);
	char *tmp = psprintf("%s.tmp", path);
	struct stat st;
	if (stat(path, &st) == 0)
		ereport(ERROR, (errcode(ERRCODE_DUPLICATE_FILE), errmsg("archive file \"%s\" already exists", path),
		                errhint("An archive file is never replaced: move it away if it is not this run's.")));

	// From here an abort of this (sub)transaction removes the temporary file, and the file once linked.
	ArchiveFile *tracked = archive_file_track(tmp, path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, pg_file_create_mode);
	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create archive file \"%s\": %m", tmp),
		                errhint("witness.archive_directory must name a directory the server can write.")));
	gzFile volatile gz = gzdopen(fd, "wb6");
	if (gz == nullptr) {
		close(fd);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not start compressing \"%s\"", tmp)));
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	PG_TRY();
	{
		write_line(gz, VARDATA_ANY(header), VARSIZE_ANY_EXHDR(header), tmp);
		Oid one_type[1] = {INT8ARRAYOID};
		Datum one_arg[1] = {PointerGetDatum(block_nos)};
		write_query(gz, tmp, kBlockLinesQuery, 1, one_type, one_arg, false);
		write_query(gz, tmp, kLeavesQuery, 1, one_type, one_arg, false);
		if (nids > 0) {
			Oid types[3] = {INT8ARRAYOID, INT8OID, INT8OID};
			Datum args[3] = {PointerGetDatum(entry_ids), Int64GetDatum(lo), Int64GetDatum(hi)};
			write_query(gz, tmp, kEntriesQuery, 3, types, args, true);
		}
		gzFile done = gz;
		gz = nullptr;
		int rc = gzclose(done);
		const char *msg = rc == Z_ERRNO ? strerror(errno) : "compression failed";
		if (rc != Z_OK)
			ereport(ERROR, (errcode(ERRCODE_IO_ERROR), errmsg("could not write archive file \"%s\": %s", tmp, msg)));
	}
	PG_CATCH();
	{
		if (gz != nullptr)
			gzclose(gz);
		PG_RE_THROW();
	}
	PG_END_TRY();
	SPI_finish();

	char *sha = file_sha256_hex(tmp);
	// fsync the file, link it to its name (never over an existing file), fsync it and the directory.
	// At LOG, not data_sync_elevel(): a failed fsync of an archive file fails the run, it does not
	// stop the server; the LOG line says what failed.
	link_durably(tmp, path, tracked);
	PG_RETURN_TEXT_P(cstring_to_text(sha));
}
}
