// witness-verify --connect: the export read straight from the database with libpq, through
//   COPY (SELECT witness.export_trail()) TO STDOUT
// in COPY's text format, byte for byte what the server sends (docs/verification.md, "Exporting").
// All passes run in one REPEATABLE READ transaction, so each reads the same trail.
#pragma once

#include <memory>
#include <string>

#include "export_verifier.hpp"

struct pg_conn;

namespace witness::tool
{

class ConnectionInput : public ExportInput
{
  public:
	// Connects (conninfo: a libpq connection string or URI; empty for the PG* environment variables)
	// and starts the transaction. Throws std::runtime_error with libpq's message.
	explicit ConnectionInput(const std::string &conninfo);
	~ConnectionInput() override;
	ConnectionInput(const ConnectionInput &) = delete;
	ConnectionInput &operator=(const ConnectionInput &) = delete;

	// Starts the COPY; the source reads its rows until the COPY ends.
	std::unique_ptr<ByteSource> open() override;
	bool reopens() const override { return true; }

	// "database shop on /var/run/postgresql:5432", for the report.
	const std::string &description() const { return description_; }
	// Not empty when the server's encoding is not UTF8 (the canonical bytes assume a UTF8 database).
	const std::string &warning() const { return warning_; }

  private:
	pg_conn *conn_ = nullptr;
	std::string description_, warning_;
};

} // namespace witness::tool
