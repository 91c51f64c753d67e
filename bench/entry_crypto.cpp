// entry-crypto-cost: what the hashing and encryption of one captured entry cost, step by step, in
// the core library alone (no server). The entry has the shape of bench/bulk.sql's INSERT: a five-column
// row, its key and subject the id. Each step runs in a loop and reports nanoseconds per call; the
// capture trigger does the same steps per entry (src/pg/capture/entry_writer.cpp). bench/README.md,
// "The crypto of one entry", says how to read it.
//
//   build/entry-crypto-cost [iterations]      (default 1000000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "aes_gcm.hpp"
#include "entry_encoding.hpp"
#include "entry_payload_seal.hpp"
#include "master_key.hpp"
#include "random_bytes.hpp"
#include "subject_keys.hpp"

using namespace witness;

namespace
{

volatile unsigned sink = 0; // keeps the compiler from dropping the work

// Runs step n times and prints its mean cost per call.
template <class Step> double time_step(const char *name, long n, Step step)
{
	const auto start = std::chrono::steady_clock::now();
	for (long i = 0; i < n; i++)
		step();
	const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / n;
	std::printf("  %-44s %8.1f ns\n", name, ns);
	return ns;
}

struct BulkEntry {
	std::string row_key = "{\"id\":123456}";
	std::string new_values =
	    "{\"a\":456,\"b\":\"row 123456\",\"c\":154320.00,\"d\":\"2024-01-02 10:17:36+00\",\"id\":123456}";
	uint8_t salt[kCommitmentSaltSize] = {};
	EntryView view;

	BulkEntry()
	{
		random_fill_pooled(salt, sizeof(salt));
		view.id = 1000;
		view.xid = 5000;
		view.stmt_time_us = 786000000000000;
		view.op = 'I';
		view.schema_name = {true, "public", 6};
		view.table_name = {true, "bench_bulk", 10};
		view.row_key = {true, nullptr, 0, row_key.data(), row_key.size()};
		view.subject = {true, "123456", 6};
		view.new_values = {true, nullptr, 0, new_values.data(), new_values.size()};
		view.session_user = {true, "postgres", 8};
		view.current_user = {true, "postgres", 8};
		view.application_name = {true, "psql", 4};
		view.backend_pid = 4242;
		view.salt = salt;
	}
};

} // namespace

int main(int argc, char **argv)
{
	const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
	if (n <= 0) {
		std::fprintf(stderr, "usage: entry-crypto-cost [iterations > 0]\n");
		return 2;
	}
	try {
		BulkEntry e;
		const MasterKey key(std::string(kMasterKeySize, '\x0f'));
		std::string bytes;
		encode_entry(e.view, bytes);
		std::string payload;
		encode_payload(e.view, payload);
		std::printf("one entry of the bulk INSERT: %zu canonical bytes, a payload of %zu; %ld calls a step\n",
		            bytes.size(), payload.size(), n);

		std::printf("in clear (what every entry pays)\n");
		uint8_t fresh[kCommitmentSaltSize];
		const double salt_ns = time_step("salt (pooled random bytes)", n, [&] {
			random_fill_pooled(fresh, sizeof(fresh));
			sink += fresh[0];
		});
		const double commit_ns = time_step("commitment: SHA-256 of salt and payload", n, [&] {
			e.view.commitment = entry_payload_commitment(e.view);
			sink += e.view.commitment[0];
		});
		const double leaf_ns = time_step("leaf hash: encoding and SHA-256", n, [&] { sink += entry_leaf_hash(e.view)[0]; });
		time_step("  of which the encoding", n, [&] {
			bytes.clear();
			encode_entry(e.view, bytes);
			sink += bytes[0];
		});
		std::printf("  %-44s %8.1f ns\n", "total", salt_ns + commit_ns + leaf_ns);

		std::printf("encrypted per subject (what an encrypted entry pays besides)\n");
		const double pseudonym_ns = time_step("subject pseudonym: HMAC-SHA256", n, [&] {
			sink += static_cast<unsigned char>(key.pseudonym("123456")[0]);
		});
		const std::string pseudonym = key.pseudonym("123456");
		std::memcpy(e.view.pseudonym.data(), pseudonym.data(), pseudonym.size());
		e.view.has_pseudonym = true;
		time_step("  subject key: HKDF-Expand (one HMAC)", n, [&] {
			sink += static_cast<unsigned char>(key.encryption_key(pseudonym)[0]);
		});
		const std::string subject_key = key.encryption_key(pseudonym);
		const std::string iv(kAes256GcmIvSize, '\x01');
		time_step("  AES-256-GCM, new key, payload-sized", n, [&] {
			sink += static_cast<unsigned char>(aes256gcm_seal(subject_key, iv, "12345678", payload)[0]);
		});
		Hash commitment;
		const double seal_ns = time_step("seal: commitment, subject key, AES-256-GCM", n, [&] {
			sink += static_cast<unsigned char>(seal_entry_payload(key, e.view, &commitment)[0]);
		});
		e.view.commitment = commitment;
		const double enc_leaf_ns =
		    time_step("leaf hash: encoding and SHA-256", n, [&] { sink += entry_leaf_hash(e.view)[0]; });
		std::printf("  %-44s %8.1f ns\n", "total", salt_ns + pseudonym_ns + seal_ns + enc_leaf_ns);
	} catch (const std::exception &ex) {
		std::fprintf(stderr, "entry-crypto-cost: %s\n", ex.what());
		return 1;
	}
	return 0;
}
