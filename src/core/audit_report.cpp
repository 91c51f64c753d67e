// The audit report builder (audit_report.hpp, docs/report.md).
#include "audit_report.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <set>
#include <tuple>

#include "classification.hpp"
#include "array_text.hpp"
#include "json_value.hpp"
#include "utc_time.hpp"
#include "signatures.hpp"
#include "utc_time.hpp"

namespace witness
{

namespace
{

constexpr size_t kMaxListedRows = 200; // rows of one list shown; the rest are counted

std::string text_of(const JsonValue *v)
{
	if (v == nullptr || v->type == JsonType::Null)
		return "";
	if (v->type == JsonType::String || v->type == JsonType::Number)
		return v->text;
	if (v->type == JsonType::Bool)
		return v->boolean ? "true" : "false";
	return "";
}

// A JSON integer's text as a number, or fallback when it is not one.
int64_t integer_text_or(const std::string &text, int64_t fallback)
{
	try {
		return json_integer(text);
	} catch (const std::exception &) {
		return fallback;
	}
}

int64_t integer_of(const JsonValue *v, int64_t fallback = 0)
{
	return v == nullptr || v->type != JsonType::Number ? fallback : integer_text_or(v->text, fallback);
}

std::string member(const JsonValue *row, const char *key)
{
	return row == nullptr ? std::string() : text_of(row->find(key));
}

// A retention run's rules in force ({"pii": "30 days", "internal": null}) as "pii 30 days, internal forever".
std::string rules_text(const JsonValue *rules)
{
	std::string out;
	if (rules == nullptr || rules->type != JsonType::Object)
		return out;
	for (const auto &[k, v] : rules->members)
		out += (out.empty() ? "" : ", ") + k + " " + (v.type == JsonType::Null ? std::string("forever") : text_of(&v));
	return out;
}

// A JSON array of integers or strings as "a, b, c", or its element count for long ones.
size_t array_size(const JsonValue *v)
{
	return v != nullptr && v->type == JsonType::Array ? v->items.size() : 0;
}

std::string utc(int64_t us)
{
	try {
		return format_utc_us(us);
	} catch (const std::exception &) {
		return std::to_string(us) + " us";
	}
}

std::string op_word(const std::string &op)
{
	if (op == "I")
		return "INSERT";
	if (op == "U")
		return "UPDATE";
	if (op == "D")
		return "DELETE";
	if (op == "T")
		return "TRUNCATE";
	return op;
}

bool is_permission_command(const std::string &tag)
{
	static const char *const tags[] = {"GRANT", "REVOKE", "CREATE ROLE", "ALTER ROLE", "DROP ROLE",
	                                   "ALTER DEFAULT PRIVILEGES", "ALTER SYSTEM", "SET", "RESET",
	                                   "ALTER POLICY", "CREATE POLICY", "DROP POLICY", "SECURITY LABEL"};
	for (const char *t : tags)
		if (tag == t)
			return true;
	return tag.rfind("GRANT", 0) == 0 || tag.rfind("REVOKE", 0) == 0 || tag.find("ROLE") != std::string::npos;
}

// A list of rows with its column headings, capped at kMaxListedRows.
struct RowList {
	std::vector<std::vector<std::string>> rows;
	int64_t total = 0;
	void add(std::vector<std::string> row)
	{
		total++;
		if (rows.size() < kMaxListedRows)
			rows.push_back(std::move(row));
	}
};

} // namespace

std::string html_escape(std::string_view text)
{
	std::string out;
	out.reserve(text.size() + 16);
	for (size_t i = 0; i < text.size(); i++) {
		const char c = text[i];
		// Unicode noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF) as character references: psql's
		// printer drops them, and a report saved through it would then fail its check.
		const unsigned char u = static_cast<unsigned char>(c);
		if (u >= 0xE0 && u <= 0xF4) {
			const size_t n = u >= 0xF0 ? 4 : 3;
			if (i + n <= text.size()) {
				uint32_t cp = u & (n == 4 ? 0x07 : 0x0F);
				for (size_t k = 1; k < n; k++)
					cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
				if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
					char buf[16];
					std::snprintf(buf, sizeof buf, "&#x%X;", static_cast<unsigned>(cp));
					out += buf;
					i += n - 1;
					continue;
				}
			}
		}
		switch (c) {
		case '&':
			out += "&amp;";
			break;
		case '<':
			out += "&lt;";
			break;
		case '>':
			out += "&gt;";
			break;
		case '"':
			out += "&quot;";
			break;
		case '\'':
			out += "&#39;";
			break;
		default:
			// Control characters (newlines included) never reach the document raw: a value cannot
			// start a line of its own, so no value can pose as a signature line (docs/report.md).
			if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
				char buf[8];
				std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
				out += buf;
			} else {
				out += c;
			}
		}
	}
	return out;
}

namespace
{

// The top-level members of an export line the report uses. Read with the pull reader: the values it
// does not need (old values, row keys, contexts) are skipped, not built (docs/report.md, "Limits").
struct LineFields {
	std::string type, database, op, schema, table, actor, session_user, current_user, block_hash;
	int64_t id = 0, xid = 0, stmt_time_us = 0, tags = 0, block_no = 0, entry_count = 0, sealed_at_us = 0;
	int64_t run_id = 0, entry_id_count = 0; // a pruned line's run and number of entry ids
	bool whole = false;                      // a pruned line of a wholly pruned block
	std::string_view new_values;             // JSON text of an object, or empty
};

void read_text(JsonReader &r, std::string &out)
{
	const JsonType t = r.peek();
	if (t == JsonType::String)
		r.read_string(out);
	else if (t == JsonType::Null)
		r.read_null();
	else
		r.skip_value();
}

int64_t count_items(JsonReader &r)
{
	int64_t n = 0;
	bool first = true;
	r.begin_array();
	while (r.next_item(first)) {
		r.skip_value();
		n++;
	}
	return n;
}

void read_int(JsonReader &r, int64_t &out)
{
	if (r.peek() == JsonType::Number)
		out = json_integer(r.read_number());
	else
		r.skip_value();
}

LineFields read_line(std::string_view line)
{
	LineFields f;
	JsonReader r(line);
	if (r.peek() != JsonType::Object)
		throw std::invalid_argument("an export line is not a JSON object");
	r.begin_object();
	bool first = true;
	std::string_view key;
	std::string scratch;
	while (r.next_member(first, key, scratch)) {
		if (key == "type")
			read_text(r, f.type);
		else if (key == "database")
			read_text(r, f.database);
		else if (key == "op")
			read_text(r, f.op);
		else if (key == "schema_name")
			read_text(r, f.schema);
		else if (key == "table_name")
			read_text(r, f.table);
		else if (key == "actor")
			read_text(r, f.actor);
		else if (key == "session_user")
			read_text(r, f.session_user);
		else if (key == "current_user")
			read_text(r, f.current_user);
		else if (key == "block_hash")
			read_text(r, f.block_hash);
		else if (key == "id")
			read_int(r, f.id);
		else if (key == "xid")
			read_int(r, f.xid);
		else if (key == "stmt_time_us")
			read_int(r, f.stmt_time_us);
		else if (key == "tags")
			read_int(r, f.tags);
		else if (key == "block_no")
			read_int(r, f.block_no);
		else if (key == "entry_count")
			read_int(r, f.entry_count);
		else if (key == "sealed_at_us")
			read_int(r, f.sealed_at_us);
		else if (key == "run_id")
			read_int(r, f.run_id);
		else if (key == "whole" && r.peek() == JsonType::Bool)
			f.whole = r.read_bool();
		else if (key == "entry_ids" && r.peek() == JsonType::Array)
			f.entry_id_count = count_items(r);
		else if (key == "new_values" && r.peek() == JsonType::Object)
			f.new_values = r.skip_value();
		else
			r.skip_value();
	}
	r.end();
	return f;
}

} // namespace

struct AuditReportBuilder::State {
	int64_t from_us, until_us;
	std::string database;
	std::string restriction;
	ReportVerification verification;
	bool verified = false;

	struct Block {
		int64_t block_no, entry_count, sealed_at_us;
		std::string hash;
	};
	std::vector<Block> blocks;

	int64_t entries = 0, first_id = 0, last_id = 0, first_us = 0, last_us = 0, entries_outside = 0;
	bool unchecked_left_out = false;
	std::vector<std::pair<int64_t, uint64_t>> unchecked; // (id, xid) ascending
	int64_t unchecked_in_period = 0;
	std::map<std::string, std::array<int64_t, 5>> tables; // I U D T other
	std::map<std::string, int> table_tags;                // union of the tags of its entries
	std::map<std::pair<std::string, std::string>, int64_t> actors;
	std::map<std::string, int64_t> ops;
	std::map<std::string, int64_t> classes;

	RowList erasures, holds, retention_rules, alerts, subject_access, logins_refused, permission_changes;
	// Retention: every run's row (those outside the period too), the runs of the period, and what the
	// pruned lines say each run removed from which block.
	std::map<int64_t, std::vector<std::string>> run_rows;
	std::set<int64_t> runs_in_period;
	struct Pruned {
		int64_t block_no, run_id, entries;
		bool whole;
	};
	std::vector<Pruned> pruned;
	// What each run's record says it pruned per block, with when those entries were captured (runs of
	// earlier versions give no time: has_time false).
	struct RunItem {
		int64_t block_no, entries, first_us, last_us;
		bool has_time;
	};
	std::map<int64_t, std::vector<RunItem>> run_items;
	std::map<std::tuple<std::string, std::string>, std::pair<int64_t, int64_t>> reads; // object, role -> statements, rows
	std::map<std::tuple<std::string, std::string, std::string>, int64_t> denied;       // role, sqlstate, object
	int64_t denied_total = 0, reads_total = 0, logins_refused_total = 0;
	int64_t activity_queued = 0; // activity events of the period not written to the trail yet

	void add_entry(const LineFields &e);
	void add_run(const JsonValue *row, bool in_period);
	std::map<int64_t, int64_t> pruned_from_period(int64_t &total) const;
	void add_record(const std::string &table, const JsonValue *row);
	void add_activity(const JsonValue *row, int64_t entry_us);
	int64_t event_us(const JsonValue *time, int64_t fallback_us) const;
	bool in_period(int64_t us) const { return us >= from_us && us < until_us; }
};

AuditReportBuilder::AuditReportBuilder(int64_t from_us, int64_t until_us) : s_(std::make_unique<State>())
{
	s_->from_us = from_us;
	s_->until_us = until_us;
}

AuditReportBuilder::~AuditReportBuilder() = default;

void AuditReportBuilder::set_verification(ReportVerification v)
{
	s_->verification = std::move(v);
	s_->verified = true;
}

void AuditReportBuilder::set_activity_queued(int64_t events)
{
	s_->activity_queued = events;
}

void AuditReportBuilder::set_restriction(std::string role, int64_t since_us, int64_t till_us)
{
	auto when = [](int64_t t, const char *open) {
		return t == kReportNoBound || t == kReportNoEnd ? std::string(open) : utc(t);
	};
	s_->restriction = "role " + role + " may see only the entries captured from " + when(since_us, "the beginning") +
	                  " until " + when(till_us, "now") +
	                  ": entries, activity and records outside that period are left out of this report, and the "
	                  "verification names no entry outside it";
}

void AuditReportBuilder::leave_out_unchecked(std::vector<std::pair<int64_t, uint64_t>> entries)
{
	s_->unchecked = std::move(entries);
	s_->unchecked_left_out = true;
}

void AuditReportBuilder::add_line(std::string_view line)
{
	const LineFields f = read_line(line);
	if (f.type == "header") {
		s_->database = f.database;
	} else if (f.type == "block") {
		s_->blocks.push_back({f.block_no, f.entry_count, f.sealed_at_us, f.block_hash});
	} else if (f.type == "entry") {
		s_->add_entry(f);
	} else if (f.type == "pruned") {
		s_->pruned.push_back({f.block_no, f.run_id, f.entry_id_count, f.whole});
	} else if (f.type == "era") {
		// Membership only: nothing for the report.
	} else {
		throw std::invalid_argument("an export line has an unknown type \"" + f.type + "\"");
	}
}

void AuditReportBuilder::State::add_entry(const LineFields &e)
{
	const int64_t t = e.stmt_time_us;
	// A line the verification did not check counts nowhere, in the period or not (the review of the
	// pruned count forged a pending retention run line dated after the period, which hid the count).
	if (unchecked_left_out &&
	    std::binary_search(unchecked.begin(), unchecked.end(), std::make_pair(e.id, static_cast<uint64_t>(e.xid)))) {
		if (t >= from_us && t < until_us)
			unchecked_in_period++;
		return;
	}
	// An activity row is written by a drain after its events happened, often in a later period: its
	// events count in the periods of their own times (a review's refused attempt, made just before the
	// end of a period, was in no report).
	if (e.schema == "witness" && e.table == "activity" && e.op == "I" && !e.new_values.empty()) {
		const JsonValue row = parse_json(e.new_values);
		add_activity(&row, t);
	}
	if (t < from_us || t >= until_us) {
		entries_outside++;
		// A retention run outside the period may have pruned entries of it: kept, shown if it did.
		if (e.schema == "witness" && e.table == "retention_run" && e.op == "I" && !e.new_values.empty()) {
			const JsonValue row = parse_json(e.new_values);
			add_run(&row, false);
		}
		return;
	}
	const int64_t id = e.id;
	if (entries == 0 || id < first_id)
		first_id = id;
	if (entries == 0 || id > last_id)
		last_id = id;
	if (entries == 0 || t < first_us)
		first_us = t;
	if (entries == 0 || t > last_us)
		last_us = t;
	entries++;

	const std::string table = e.schema + "." + e.table;
	const std::string &op = e.op;
	auto &counts = tables[table];
	const size_t slot = op == "I" ? 0 : op == "U" ? 1 : op == "D" ? 2 : op == "T" ? 3 : 4;
	counts[slot]++;
	ops[op_word(op)]++;
	const int tags = static_cast<int>(e.tags);
	table_tags[table] |= tags;
	bool any = false;
	for (size_t bit = 0; bit < kClassificationCount; bit++)
		if (tags & (1 << bit)) {
			classes[kClassificationNames[bit]]++;
			any = true;
		}
	if (!any)
		classes["(none)"]++;

	actors[{e.actor.empty() ? e.session_user : e.actor, e.current_user}]++;

	// Rows of pg_witness's own record tables: only their INSERT entries (the tables are append-only).
	if (e.schema == "witness" && op == "I" && !e.new_values.empty()) {
		const JsonValue row = parse_json(e.new_values);
		add_record(e.table, &row);
	}
}

// An entry of one of pg_witness's own record tables: a row of a section.
void AuditReportBuilder::State::add_record(const std::string &table, const JsonValue *row)
{
	if (row != nullptr && row->type != JsonType::Object)
		row = nullptr;
	if (table == "erasure") {
		erasures.add({member(row, "erasure_id"), member(row, "erased_at"), member(row, "role_name"),
		              std::to_string(array_size(row ? row->find("entry_ids") : nullptr)), member(row, "reason")});
	} else if (table == "legal_hold") {
		holds.add({member(row, "recorded_at"), member(row, "event"), member(row, "name"), member(row, "recorded_by"),
		           member(row, "reason")});
	} else if (table == "retention_run") {
		add_run(row, true);
	} else if (table == "retention_rule") {
		retention_rules.add({member(row, "set_at"), member(row, "classification"),
		                     member(row, "keep").empty() ? "forever" : member(row, "keep"),
		                     member(row, "archive") == "true" ? "archived" : "deleted", member(row, "set_by")});
	} else if (table == "alert") {
		alerts.add({member(row, "raised_at"), member(row, "severity"), member(row, "rule"), member(row, "summary")});
	} else if (table == "subject_access") {
		subject_access.add({member(row, "accessed_at"), member(row, "role_name"), member(row, "format"),
		                    member(row, "reason")});
	} else if (table == "ddl_event") {
		const std::string tag = member(row, "command_tag");
		if (is_permission_command(tag))
			permission_changes.add({member(row, "happened_at"), tag, member(row, "action"), member(row, "role_name")});
	}
}

// When an event of an activity row happened, from its captured time; the entry's own time when the
// text is not one (a row written by an earlier version, or altered: the verification reports that).
int64_t AuditReportBuilder::State::event_us(const JsonValue *time, int64_t fallback_us) const
{
	if (time == nullptr || time->type != JsonType::String)
		return fallback_us;
	try {
		return parse_captured_utc_us(time->text);
	} catch (const std::invalid_argument &) {
		return fallback_us;
	}
}

// The elements of a captured array column: capture stores an array as PostgreSQL's text of it
// ({"2026-12-08 01:05:53.553232+00",...}; a review found every group counted at its first event's time
// while this read JSON arrays only), a JSON array is taken too. Empty when neither.
namespace
{
std::vector<std::string> array_elements(const JsonValue *v)
{
	std::vector<std::string> out;
	if (v != nullptr && v->type == JsonType::Array) {
		for (const JsonValue &item : v->items)
			out.push_back(item.type == JsonType::Null ? std::string() : item.text);
	} else if (v != nullptr && v->type == JsonType::String) {
		try {
			for (const auto &e : parse_array_text(v->text))
				out.push_back(e.value_or(std::string()));
		} catch (const std::invalid_argument &) {
			out.clear();
		}
	}
	return out;
}
} // namespace

// The events of one witness.activity row that happened in the period: a row groups a session's
// statements or refused logins (statement_times, statement_rows), each counted by its own time.
void AuditReportBuilder::State::add_activity(const JsonValue *row, int64_t entry_us)
{
	int64_t events = 0, rows = 0;
	std::string first_at; // the time of the row's first event in the period, as captured
	const std::vector<std::string> times = array_elements(row->find("statement_times"));
	if (!times.empty()) {
		const std::vector<std::string> counts = array_elements(row->find("statement_rows"));
		for (size_t i = 0; i < times.size(); i++) {
			JsonValue t;
			t.type = JsonType::String;
			t.text = times[i];
			if (!in_period(event_us(&t, entry_us)))
				continue;
			if (events++ == 0)
				first_at = times[i];
			if (i < counts.size())
				rows += integer_text_or(counts[i], 0);
		}
	} else if (in_period(event_us(row->find("happened_at"), entry_us))) {
		events = std::max<int64_t>(1, integer_of(row->find("statement_count"), 1));
		rows = integer_of(row->find("row_count"));
		first_at = member(row, "happened_at");
	}
	if (events == 0)
		return;
	const std::string kind = member(row, "kind"), outcome = member(row, "outcome");
	const std::string role = member(row, "current_user_name");
	if (kind == "read") {
		auto &r = reads[{member(row, "object_name"), role}];
		r.first += events;
		r.second += rows;
		reads_total++;
	} else if (kind == "login" && outcome != "success") {
		logins_refused.add({first_at, member(row, "session_user_name"), outcome, member(row, "client_addr"),
		                    member(row, "message"), std::to_string(events)});
		logins_refused_total += events;
	} else if (kind == "denied") {
		std::string what = member(row, "object_name");
		if (what.empty())
			what = member(row, "message");
		denied[{role, member(row, "sqlstate"), what}] += events;
		denied_total += events;
	}
}

void AuditReportBuilder::State::add_run(const JsonValue *row, bool in_period)
{
	if (row == nullptr || row->type != JsonType::Object)
		return;
	const int64_t run = integer_of(row->find("run_id"), -1);
	const JsonValue *rules = row->find("rules");
	std::string files;
	const JsonValue *archives = row->find("archives");
	if (archives != nullptr && archives->type == JsonType::Array)
		for (const JsonValue &a : archives->items)
			files += (files.empty() ? "" : ", ") + member(&a, "file");
	if (in_period)
		runs_in_period.insert(run);
	run_rows[run] = {member(row, "run_id"), member(row, "ran_at"), member(row, "run_by"),
	                 member(row, "entries_pruned"), member(row, "held_kept"),
	                 rules_text(rules), files.empty() ? "none" : files};
	std::vector<RunItem> items;
	const JsonValue *blocks = row->find("pruned");
	if (blocks == nullptr || blocks->type != JsonType::Array)
		return; // counted by its pruned lines
	for (const JsonValue &b : blocks->items) {
			const JsonValue *first = b.find("first_time_us"), *last = b.find("last_time_us");
		const bool has_time = first != nullptr && first->type == JsonType::Number && last != nullptr &&
		                      last->type == JsonType::Number;
		items.push_back({integer_of(b.find("block_no"), -1), integer_of(b.find("entries"), 0),
		                 has_time ? integer_of(first) : 0, has_time ? integer_of(last) : 0, has_time});
	}
	run_items[run] = std::move(items);
}

// The entries each retention run pruned that may have been captured in the period: by its record,
// those of a block whose pruned entries were captured within the period's bounds (a review's report
// counted every entry pruned after the period). A run whose record the report lacks (outside a
// period-restricted reader's view, or of an earlier version without the times) counts by its pruned
// lines: the entries of blocks sealed at or after the period's start (an entry is sealed after its
// statement began), each row to its own run (a later run that emptied a block partly pruned before
// took the whole of it: the review). A report made after a run would otherwise show the period's
// entries gone with no sign of it (an attack review emptied a month's refused attempts so).
std::map<int64_t, int64_t> AuditReportBuilder::State::pruned_from_period(int64_t &total) const
{
	std::map<int64_t, int64_t> per_run;
	total = 0;
	std::map<int64_t, const Block *> by_no;
	for (const Block &b : blocks)
		by_no[b.block_no] = &b;
	auto sealed_in_reach = [&](int64_t block_no) {
		auto it = by_no.find(block_no);
		return it == by_no.end() || it->second->sealed_at_us >= from_us;
	};
	for (const auto &[run, items] : run_items)
		for (const RunItem &item : items) {
			const bool may = item.has_time ? item.last_us >= from_us && item.first_us < until_us
			                               : sealed_in_reach(item.block_no);
			if (may && item.entries > 0) {
				per_run[run] += item.entries;
				total += item.entries;
			}
		}
	// From the pruned lines, for the runs without a record here.
	std::map<int64_t, int64_t> partial_sum; // block -> entries its partial rows pruned
	for (const Pruned &p : pruned)
		if (!p.whole)
			partial_sum[p.block_no] += p.entries;
	for (const Pruned &p : pruned) {
		if (run_items.count(p.run_id) || !sealed_in_reach(p.block_no))
			continue;
		int64_t n = p.entries;
		if (p.whole) {
			auto it = by_no.find(p.block_no);
			n = it == by_no.end() ? 0 : std::max<int64_t>(0, it->second->entry_count - partial_sum[p.block_no]);
		}
		if (n > 0) {
			per_run[p.run_id] += n;
			total += n;
		}
	}
	return per_run;
}

int64_t AuditReportBuilder::entries_in_period() const { return s_->entries; }

int64_t AuditReportBuilder::count_for_table(std::string_view qualified) const
{
	auto it = s_->tables.find(std::string(qualified));
	if (it == s_->tables.end())
		return 0;
	int64_t n = 0;
	for (int64_t c : it->second)
		n += c;
	return n;
}

int64_t AuditReportBuilder::count_for_actor(std::string_view actor) const
{
	int64_t n = 0;
	for (const auto &[k, c] : s_->actors)
		if (k.first == actor)
			n += c;
	return n;
}

namespace
{

const char *const kStyle = R"(<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #111; margin: 2em; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #888; margin-top: 1.6em; break-after: avoid; page-break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; word-break: break-word; }
th { background: #eee; }
td.n, th.n { text-align: right; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
.valid { color: #060; font-weight: bold; }
.tampered { color: #a00; font-weight: bold; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 9pt; background: #f6f6f6; padding: 0.5em; }
section.major { break-before: page; page-break-before: always; }
p.none { font-style: italic; }
@page { size: A4; margin: 16mm 14mm; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; } }
</style>
)";

void table_html(std::string &out, const std::vector<std::string> &heads, const std::vector<bool> &numeric,
                const std::vector<std::vector<std::string>> &rows, int64_t total, const char *none)
{
	if (rows.empty()) {
		out += "<p class=\"none\">" + html_escape(none) + "</p>\n";
		return;
	}
	out += "<table>\n<thead><tr>";
	for (size_t i = 0; i < heads.size(); i++)
		out += std::string(numeric[i] ? "<th class=\"n\">" : "<th>") + html_escape(heads[i]) + "</th>";
	out += "</tr></thead>\n<tbody>\n";
	for (const auto &row : rows) {
		out += "<tr>";
		for (size_t i = 0; i < row.size(); i++)
			out += std::string(i < numeric.size() && numeric[i] ? "<td class=\"n\">" : "<td>") + html_escape(row[i]) +
			       "</td>";
		out += "</tr>\n";
	}
	out += "</tbody>\n</table>\n";
	if (total > static_cast<int64_t>(rows.size()))
		out += "<p>... and " + std::to_string(total - static_cast<int64_t>(rows.size())) + " more.</p>\n";
}

void list_html(std::string &out, const std::vector<std::string> &heads, const RowList &list, const char *none)
{
	table_html(out, heads, std::vector<bool>(heads.size(), false), list.rows, list.total, none);
}

std::string period_text(int64_t from, int64_t until)
{
	const std::string a = from == kReportNoBound ? "the beginning" : utc(from);
	const std::string b = until == kReportNoEnd ? "now" : utc(until);
	return "from " + a + " until " + b + " (until excluded)";
}

std::string tag_list(int tags)
{
	std::string s;
	for (size_t bit = 0; bit < kClassificationCount; bit++)
		if (tags & (1 << bit))
			s += (s.empty() ? "" : ", ") + std::string(kClassificationNames[bit]);
	return s;
}

} // namespace

std::string AuditReportBuilder::content(int64_t generated_us, std::string_view producer) const
{
	const State &s = *s_;
	std::string out;
	out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
	out += "<title>pg_witness audit report: " + html_escape(s.database) + "</title>\n";
	out += kStyle;
	out += "</head>\n<body>\n";
	out += "<h1>pg_witness audit report</h1>\n<table>\n";
	out += "<tr><th>database</th><td id=\"database\">" + html_escape(s.database) + "</td></tr>\n";
	out += "<tr><th>period</th><td id=\"period\">" + html_escape(period_text(s.from_us, s.until_us)) + "</td></tr>\n";
	out += "<tr><th>generated</th><td>" + html_escape(utc(generated_us)) + " by " + html_escape(producer) +
	       "</td></tr>\n";
	if (!s.restriction.empty())
		out += "<tr><th>restricted to</th><td id=\"restriction\" class=\"tampered\">" + html_escape(s.restriction) +
		       "</td></tr>\n";
	out += "</table>\n";

	// Key figures.
	out += "<h2>Summary</h2>\n<table>\n";
	out += "<tr><th>entries in the period</th><td class=\"n\" id=\"entries\">" + std::to_string(s.entries) +
	       "</td></tr>\n";
	if (s.entries > 0) {
		out += "<tr><th>entry ids</th><td>" + std::to_string(s.first_id) + " to " + std::to_string(s.last_id) +
		       "</td></tr>\n";
		out += "<tr><th>first and last change</th><td>" + html_escape(utc(s.first_us)) + " to " +
		       html_escape(utc(s.last_us)) + "</td></tr>\n";
	}
	out += "<tr><th>tables with entries</th><td class=\"n\">" + std::to_string(s.tables.size()) + "</td></tr>\n";
	out += "<tr><th>actors</th><td class=\"n\">" + std::to_string(s.actors.size()) + "</td></tr>\n";
	out += "<tr><th>entries outside the period</th><td class=\"n\">" + std::to_string(s.entries_outside) +
	       "</td></tr>\n";
	int64_t pruned_total = 0;
	const std::map<int64_t, int64_t> pruned_runs = s.pruned_from_period(pruned_total);
	out += "<tr><th>entries pruned by retention that may have been captured in the period (see Retention "
	       "runs)</th><td class=\"n" + std::string(pruned_total > 0 ? " tampered" : "") +
	       "\" id=\"pruned-in-period\">" + std::to_string(pruned_total) + "</td></tr>\n";
	if (s.unchecked_left_out)
		out += "<tr><th>entries of the period its verification did not check (not sealed, or outside the "
		       "verified blocks), left out of this report</th><td id=\"unsealed-left-out\" class=\"n\">" +
		       std::to_string(s.unchecked_in_period) + "</td></tr>\n";
	if (s.activity_queued > 0)
		out += "<tr><th>activity events of the period (reads, logins, refused attempts) not yet written to the "
		       "trail when the report was made, left out of this report</th><td id=\"activity-queued\" "
		       "class=\"n tampered\">" +
		       std::to_string(s.activity_queued) + "</td></tr>\n";
	out += "</table>\n";

	// Verification, with the block range of the period and the newest block (a digest's fields).
	out += "<h2>Verification</h2>\n";
	if (!s.verified) {
		out += "<p class=\"tampered\">Not verified.</p>\n";
	} else {
		const ReportVerification &v = s.verification;
		const std::string cls = v.status == "valid" ? "valid" : "tampered";
		out += "<table>\n<tr><th>result</th><td id=\"verification\" class=\"" + cls + "\">" + html_escape(v.status) +
		       "</td></tr>\n";
		out += "<tr><th>how</th><td>" + html_escape(v.method) + "</td></tr>\n";
		out += "<tr><th>blocks checked</th><td class=\"n\">" + std::to_string(v.blocks_checked) + "</td></tr>\n";
		out += "<tr><th>entries checked</th><td class=\"n\">" + std::to_string(v.entries_checked) + "</td></tr>\n";
		out += "<tr><th>entries pending (not sealed yet)</th><td class=\"n\">" + std::to_string(v.entries_pending) +
		       "</td></tr>\n";
		out += "<tr><th>entries erased</th><td class=\"n\">" + std::to_string(v.entries_erased) + "</td></tr>\n";
		out += "<tr><th>entries pruned</th><td class=\"n\">" + std::to_string(v.entries_pruned) + "</td></tr>\n";
		out += "<tr><th>problems</th><td class=\"n\">" + std::to_string(v.problem_count) + "</td></tr>\n</table>\n";
		if (!v.problems.empty()) {
			out += "<ul>\n";
			for (size_t i = 0; i < v.problems.size() && i < 20; i++)
				out += "<li>" + html_escape(v.problems[i]) + "</li>\n";
			out += "</ul>\n";
		}
	}
	int64_t first_block = 0, last_block = 0, in_period = 0, sealed = 0;
	const State::Block *newest = nullptr;
	for (const State::Block &b : s.blocks) {
		sealed += b.entry_count;
		if (newest == nullptr || b.block_no > newest->block_no)
			newest = &b;
		if (b.sealed_at_us >= s.from_us && b.sealed_at_us < s.until_us) {
			if (in_period == 0 || b.block_no < first_block)
				first_block = b.block_no;
			if (in_period == 0 || b.block_no > last_block)
				last_block = b.block_no;
			in_period++;
		}
	}
	out += "<table>\n<tr><th>blocks sealed in the period</th><td id=\"block-range\">" +
	       (in_period == 0 ? std::string("none")
	                       : std::to_string(in_period) + " (" + std::to_string(first_block) + " to " +
	                             std::to_string(last_block) + ")") +
	       "</td></tr>\n";
	if (newest != nullptr) {
		out += "<tr><th>newest block</th><td id=\"newest-block\">" + std::to_string(newest->block_no) + ", sealed " +
		       html_escape(utc(newest->sealed_at_us)) + "</td></tr>\n";
		out += "<tr><th>its block hash (digest)</th><td><code id=\"block-hash\">" + html_escape(newest->hash) +
		       "</code></td></tr>\n";
		out += "<tr><th>entries sealed through it</th><td class=\"n\">" + std::to_string(sealed) + "</td></tr>\n";
	} else {
		out += "<tr><th>newest block</th><td id=\"newest-block\">none: nothing is sealed</td></tr>\n";
	}
	out += "</table>\n";

	// Counts.
	out += "<h2>What was tracked: entries by table</h2>\n";
	{
		std::vector<std::vector<std::string>> rows;
		for (const auto &[t, c] : s.tables) {
			auto it = s.table_tags.find(t);
			const int64_t sum = c[0] + c[1] + c[2] + c[3] + c[4];
			rows.push_back({t, tag_list(it == s.table_tags.end() ? 0 : it->second), std::to_string(c[0]),
			                std::to_string(c[1]), std::to_string(c[2]), std::to_string(c[3]), std::to_string(sum)});
		}
		table_html(out, {"table", "classification", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "entries"},
		           {false, false, true, true, true, true, true}, rows, static_cast<int64_t>(rows.size()),
		           "No entries in the period.");
	}
	out += "<h2>Entries by actor</h2>\n";
	{
		std::vector<std::pair<int64_t, std::vector<std::string>>> sorted;
		for (const auto &[k, c] : s.actors)
			sorted.push_back({c, {k.first, k.second, std::to_string(c)}});
		std::stable_sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
		std::vector<std::vector<std::string>> rows;
		for (auto &p : sorted)
			if (rows.size() < kMaxListedRows)
				rows.push_back(std::move(p.second));
		table_html(out, {"actor", "database user", "entries"}, {false, false, true}, rows,
		           static_cast<int64_t>(sorted.size()), "No entries in the period.");
	}
	out += "<h2>Entries by operation</h2>\n";
	{
		std::vector<std::vector<std::string>> rows;
		for (const auto &[o, c] : s.ops)
			rows.push_back({o, std::to_string(c)});
		table_html(out, {"operation", "entries"}, {false, true}, rows, static_cast<int64_t>(rows.size()),
		           "No entries in the period.");
	}
	out += "<h2>Entries by classification</h2>\n<p>An entry counts under each tag it carries.</p>\n";
	{
		std::vector<std::vector<std::string>> rows;
		for (const auto &[o, c] : s.classes)
			rows.push_back({o, std::to_string(c)});
		table_html(out, {"classification", "entries"}, {false, true}, rows, static_cast<int64_t>(rows.size()),
		           "No entries in the period.");
	}

	out += "<h2>Erasures</h2>\n";
	list_html(out, {"erasure", "erased at", "by", "entries erased", "reason"}, s.erasures, "No erasures.");
	out += "<h2>Legal holds</h2>\n";
	list_html(out, {"at", "event", "hold", "by", "reason"}, s.holds, "No legal hold placed or released.");
	out += "<h2>Retention runs</h2>\n<p>The runs of the period, and the runs, whenever they ran, that pruned "
	       "entries that may have been captured in it (those entries are not counted above).</p>\n";
	{
		RowList runs;
		for (const auto &[run, cells] : s.run_rows) {
			auto it = pruned_runs.find(run);
			if (!s.runs_in_period.count(run) && it == pruned_runs.end())
				continue;
			std::vector<std::string> row = cells;
			row.insert(row.begin() + 5, std::to_string(it == pruned_runs.end() ? 0 : it->second));
			runs.add(std::move(row));
		}
		// A run known only by its pruned lines: its record is outside what the report read.
		for (const auto &[run, n] : pruned_runs)
			if (!s.run_rows.count(run))
				runs.add({std::to_string(run), "(its record is not in what this report read: outside the reader's period)",
				          "", "", "", std::to_string(n), "", ""});
		list_html(out, {"run", "ran at", "by", "entries pruned", "kept for a hold", "pruned of this period", "rules in force",
		                "archive files"},
		          runs, "No retention runs.");
	}
	out += "<h3>Retention rules changed in the period</h3>\n";
	list_html(out, {"at", "classification", "kept for", "then", "by"}, s.retention_rules, "No retention rule changed.");
	out += "<h2>Alerts</h2>\n";
	list_html(out, {"raised at", "severity", "rule", "summary"}, s.alerts, "No alerts.");

	out += "<section class=\"major\">\n<h2>Personal data</h2>\n";
	out += "<p>Subject-access requests handled: <span id=\"subject-access\">" + std::to_string(s.subject_access.total) +
	       "</span>; erasures handled: " + std::to_string(s.erasures.total) + ".</p>\n";
	list_html(out, {"exported at", "by", "format", "reason"}, s.subject_access, "No subject-access requests.");
	out += "<h3>Reads of personal data</h3>\n";
	{
		std::vector<std::vector<std::string>> rows;
		for (const auto &[k, c] : s.reads)
			if (rows.size() < kMaxListedRows)
				rows.push_back({std::get<0>(k), std::get<1>(k), std::to_string(c.first), std::to_string(c.second)});
		table_html(out, {"table", "role", "statements", "rows read"}, {false, false, true, true}, rows,
		           static_cast<int64_t>(s.reads.size()), "No recorded reads (tables tracked with capture_reads).");
	}
	out += "</section>\n";

	out += "<section class=\"major\">\n<h2>Security</h2>\n";
	out += "<h3>Logins refused</h3>\n";
	out += "<p>Refused logins in all: <span id=\"logins-refused\">" + std::to_string(s.logins_refused_total) +
	       "</span>.</p>\n";
	table_html(out, {"first at", "role", "outcome", "client", "message", "attempts"},
	           {false, false, false, false, false, true}, s.logins_refused.rows, s.logins_refused.total,
	           "No refused logins.");
	out += "<h3>Permission changes</h3>\n";
	list_html(out, {"at", "command", "what", "by"}, s.permission_changes, "No permission changes.");
	out += "<h3>Refused attempts</h3>\n<p>Refused attempts in all: <span id=\"denied\">" +
	       std::to_string(s.denied_total) + "</span>.</p>\n";
	{
		std::vector<std::vector<std::string>> rows;
		for (const auto &[k, c] : s.denied)
			if (rows.size() < kMaxListedRows)
				rows.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::to_string(c)});
		table_html(out, {"role", "SQLSTATE", "object or message", "attempts"}, {false, false, false, true}, rows,
		           static_cast<int64_t>(s.denied.size()), "No refused attempts.");
	}
	out += "</section>\n";

	out += "<h2>Checking this report</h2>\n";
	out += "<p>The signatures below cover every byte of this file before the line "
	       "<code>&lt;!-- witness-signature --&gt;</code>. With the keys the database signs its digests with:</p>\n";
	out += "<pre>witness-verify report-check report.html --hmac-key witness_hmac.key --ed25519-key "
	       "witness_ed25519.pub.pem\n\n"
	       "# or with OpenSSL alone:\n"
	       "sed '/^&lt;!-- witness-signature --&gt;$/,$d' report.html &gt; report.signed\n"
	       "grep '^ed25519 ' report.html | cut -d' ' -f2 | xxd -r -p &gt; report.sig\n"
	       "openssl pkeyutl -verify -pubin -inkey witness_ed25519.pub.pem -rawin -in report.signed -sigfile "
	       "report.sig\n"
	       "openssl dgst -sha256 -mac HMAC -macopt key:\"$(cat witness_hmac.key)\" report.signed   "
	       "# equals the hmac_sha256 line</pre>\n";
	out += "<p>A printed or PDF copy carries the same signatures but cannot be checked byte for byte: "
	       "keep the HTML file.</p>\n";
	return out;
}

namespace
{

std::string signature_block(const ReportSignatures &sig)
{
	std::string out(kReportSignatureMarker);
	out += "\n<section class=\"signature\">\n<h2>Signatures</h2>\n<pre id=\"witness-signatures\">\n";
	if (!sig.hmac_sha256.empty())
		out += "hmac_sha256 " + sig.hmac_sha256 + "\n";
	if (!sig.ed25519.empty())
		out += "ed25519 " + sig.ed25519 + "\n";
	if (!sig.ed25519_public_key.empty())
		out += "ed25519_public_key " + sig.ed25519_public_key + "\n";
	out += "</pre>\n</section>\n</body>\n</html>\n";
	return out;
}

bool is_hex(std::string_view s, size_t n)
{
	if (s.size() != n)
		return false;
	for (char c : s)
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	return true;
}

} // namespace

std::string sign_report(std::string_view content, std::string_view hmac_key, std::string_view ed25519_private_pem)
{
	if (hmac_key.empty() && ed25519_private_pem.empty())
		throw std::invalid_argument("no key to sign the report with");
	if (content.empty() || content.back() != '\n')
		throw std::invalid_argument("report content must end with a line end");
	ReportSignatures sig;
	if (!hmac_key.empty())
		sig.hmac_sha256 = hmac_sha256_hex(hmac_key, content);
	if (!ed25519_private_pem.empty()) {
		sig.ed25519 = ed25519_sign_hex(ed25519_private_pem, content);
		sig.ed25519_public_key = ed25519_public_key_hex(ed25519_private_pem);
	}
	return std::string(content) + signature_block(sig);
}

bool ReportCheck::ok() const
{
	if (!well_formed)
		return false;
	const bool any = hmac == SignatureState::Valid || ed25519 == SignatureState::Valid;
	return any && (!hmac_key_given || hmac == SignatureState::Valid) &&
	       (!ed25519_key_given || ed25519 == SignatureState::Valid);
}

ReportCheck check_report(std::string_view document, std::string_view hmac_key, std::string_view ed25519_key)
{
	ReportCheck c;
	const std::string marker = "\n" + std::string(kReportSignatureMarker) + "\n";
	const size_t at = document.find(marker);
	if (at == std::string_view::npos) {
		c.problem = "no signature block (the line " + std::string(kReportSignatureMarker) + " is missing)";
		return c;
	}
	const std::string_view content = document.substr(0, at + 1);
	const std::string_view block = document.substr(at + 1);
	ReportSignatures sig;
	size_t pos = block.find("<pre id=\"witness-signatures\">\n");
	if (pos != std::string_view::npos) {
		pos += 30;
		while (pos < block.size()) {
			const size_t end = block.find('\n', pos);
			if (end == std::string_view::npos)
				break;
			const std::string_view line = block.substr(pos, end - pos);
			const size_t sp = line.find(' ');
			if (sp == std::string_view::npos)
				break;
			const std::string_view name = line.substr(0, sp), value = line.substr(sp + 1);
			if (name == "hmac_sha256" && sig.hmac_sha256.empty() && is_hex(value, 64))
				sig.hmac_sha256 = value;
			else if (name == "ed25519" && sig.ed25519.empty() && is_hex(value, 128))
				sig.ed25519 = value;
			else if (name == "ed25519_public_key" && sig.ed25519_public_key.empty() && is_hex(value, 64))
				sig.ed25519_public_key = value;
			else
				break;
			pos = end + 1;
		}
	}
	// Nothing may follow or be added around the signatures: the block must be exactly as written,
	// but for line ends after it (psql -At adds one to what it prints).
	std::string_view trimmed = block;
	while (trimmed.size() > 1 && (trimmed.back() == '\n' || trimmed.back() == '\r') &&
	       (trimmed[trimmed.size() - 2] == '\n' || trimmed[trimmed.size() - 2] == '\r'))
		trimmed.remove_suffix(1);
	if (trimmed != signature_block(sig)) {
		c.problem = "the signature block is not as witness signs it (text was added or changed after the signed content)";
		return c;
	}
	c.well_formed = true;
	c.hmac_key_given = !hmac_key.empty();
	c.ed25519_key_given = !ed25519_key.empty();
	if (!sig.hmac_sha256.empty()) {
		if (hmac_key.empty())
			c.hmac = SignatureState::NotChecked;
		else
			c.hmac = equal_constant_time(hmac_sha256_hex(hmac_key, content), sig.hmac_sha256) ? SignatureState::Valid
			                                                                                 : SignatureState::Invalid;
	}
	if (!sig.ed25519.empty()) {
		if (ed25519_key.empty())
			c.ed25519 = SignatureState::NotChecked;
		else
			c.ed25519 =
			    ed25519_verify_hex(ed25519_key, content, sig.ed25519) ? SignatureState::Valid : SignatureState::Invalid;
	}
	// The public key the report prints is one a reader may trust: it must be the key it was checked
	// with (an attack review printed another key, and the report read VALID).
	if (c.ed25519 == SignatureState::Valid && !sig.ed25519_public_key.empty()) {
		std::string printed(sig.ed25519_public_key);
		for (char &ch : printed)
			ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
		if (printed != ed25519_public_key_hex(ed25519_key))
			c.ed25519 = SignatureState::Invalid;
	}
	return c;
}

} // namespace witness
