// libpq: one connection, one read-only REPEATABLE READ transaction, a COPY per pass.
#include "pg_source.hpp"

#include <cstring>
#include <stdexcept>

#include <libpq-fe.h>

namespace witness::tool
{

namespace
{

const char *const kCopyQuery = "COPY (SELECT witness.export_trail()) TO STDOUT";
constexpr size_t kPrefetchBytes = size_t(32) << 20;

std::string message_of(PGconn *conn)
{
	std::string m = PQerrorMessage(conn);
	while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
		m.pop_back();
	return m;
}

void run(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		throw std::runtime_error(std::string(sql) + ": " + message_of(conn));
}

// The rows of one COPY TO STDOUT, one after the other, as bytes; each row ends with a newline.
class CopyOutSource : public ByteSource
{
  public:
	explicit CopyOutSource(PGconn *conn) : conn_(conn) {}
	~CopyOutSource() override
	{
		if (row_ != nullptr)
			PQfreemem(row_);
	}
	CopyOutSource(const CopyOutSource &) = delete;
	CopyOutSource &operator=(const CopyOutSource &) = delete;

	size_t read(char *buf, size_t n) override
	{
		size_t got = 0;
		while (got < n && !done_) {
			if (pos_ == len_ && !next_row())
				break;
			const size_t take = std::min(n - got, len_ - pos_);
			std::memcpy(buf + got, row_ + pos_, take);
			pos_ += take;
			got += take;
		}
		return got;
	}

  private:
	bool next_row()
	{
		if (row_ != nullptr) {
			PQfreemem(row_);
			row_ = nullptr;
		}
		pos_ = len_ = 0;
		const int len = PQgetCopyData(conn_, &row_, 0);
		if (len > 0) {
			len_ = static_cast<size_t>(len);
			return true;
		}
		done_ = true;
		if (len == -2)
			throw std::runtime_error("reading the export: " + message_of(conn_));
		// The COPY ended: its result says whether it succeeded.
		bool ok = true;
		std::string error;
		while (PGresult *r = PQgetResult(conn_)) {
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				ok = false;
				error = PQresultErrorMessage(r);
			}
			PQclear(r);
		}
		if (!ok) {
			while (!error.empty() && error.back() == '\n')
				error.pop_back();
			throw std::runtime_error("the export failed: " + error);
		}
		return false;
	}

	PGconn *conn_;
	char *row_ = nullptr;
	size_t pos_ = 0, len_ = 0;
	bool done_ = false;
};

} // namespace

ConnectionInput::ConnectionInput(const std::string &conninfo)
{
	// Arrays are read in order and later values win: application_name and connect_timeout can be
	// overridden by the connection string, client_encoding cannot (the export must arrive as the UTF-8
	// it was hashed as). A server that never answers the connection gives up after 30 s.
	const char *keywords[] = {"application_name", "connect_timeout", "dbname", "client_encoding", nullptr};
	const char *values[] = {"witness-verify", "30", conninfo.c_str(), "UTF8", nullptr};
	conn_ = PQconnectdbParams(keywords, values, 1);
	if (conn_ == nullptr)
		throw std::runtime_error("cannot connect: out of memory");
	if (PQstatus(conn_) != CONNECTION_OK) {
		const std::string m = message_of(conn_);
		PQfinish(conn_);
		throw std::runtime_error("cannot connect: " + m);
	}
	const char *host = PQhost(conn_), *port = PQport(conn_);
	description_ = std::string("database ") + PQdb(conn_) + " on " + (host ? host : "?") + ":" + (port ? port : "?");
	const char *encoding = PQparameterStatus(conn_, "server_encoding");
	if (encoding != nullptr && std::strcmp(encoding, "UTF8") != 0)
		warning_ = std::string("the database's encoding is ") + encoding +
		           ", not UTF8: pg_witness hashes text as UTF-8, so entries with non-ASCII text will not verify";
	try {
		// Nothing of the database's or role's own search_path between the query and the catalog.
		run(conn_, "SET search_path = pg_catalog, pg_temp");
		run(conn_, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
	} catch (...) {
		PQfinish(conn_);
		throw;
	}
}

ConnectionInput::~ConnectionInput()
{
	PQfinish(conn_);
}

std::unique_ptr<ByteSource> ConnectionInput::open()
{
	PGresult *r = PQexec(conn_, kCopyQuery);
	const ExecStatusType status = PQresultStatus(r);
	PQclear(r);
	if (status != PGRES_COPY_OUT)
		throw std::runtime_error(std::string(kCopyQuery) + ": " + message_of(conn_));
	// Read ahead in a thread of its own: the server sends on while witness-verify parses (a socket
	// buffer holds a fraction of a millisecond of the export).
	return std::make_unique<PrefetchSource>(std::make_unique<CopyOutSource>(conn_), kPrefetchBytes);
}

} // namespace witness::tool
