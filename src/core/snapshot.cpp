// pg_snapshot text parsing and pg_visible_in_snapshot() semantics (PostgreSQL's xid8funcs.c).
#include "snapshot.hpp"

#include <algorithm>
#include <stdexcept>

namespace witness
{

namespace
{

[[noreturn]] void malformed(std::string_view text, const char *what)
{
	throw std::invalid_argument("invalid pg_snapshot \"" + std::string(text.substr(0, 200)) + "\": " + what);
}

// Reads an unsigned decimal number at text[pos..]; digits only, no sign, no overflow.
uint64_t read_xid(std::string_view text, size_t &pos)
{
	const size_t start = pos;
	uint64_t v = 0;
	while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
		const uint64_t d = static_cast<uint64_t>(text[pos] - '0');
		if (v > (UINT64_MAX - d) / 10)
			malformed(text, "transaction id out of range");
		v = v * 10 + d;
		pos++;
	}
	if (pos == start)
		malformed(text, "expected a transaction id");
	return v;
}

void expect(std::string_view text, size_t &pos, char c)
{
	if (pos >= text.size() || text[pos] != c)
		malformed(text, c == ':' ? "expected ':'" : "unexpected character");
	pos++;
}

} // namespace

bool Snapshot::visible(uint64_t xid) const noexcept
{
	if (xid < xmin)
		return true;
	if (xid >= xmax)
		return false;
	return !std::binary_search(xip.begin(), xip.end(), xid);
}

Snapshot parse_snapshot(std::string_view text)
{
	Snapshot s;
	size_t pos = 0;
	s.xmin = read_xid(text, pos);
	expect(text, pos, ':');
	s.xmax = read_xid(text, pos);
	expect(text, pos, ':');
	if (s.xmin > s.xmax)
		malformed(text, "xmin is greater than xmax");
	while (pos < text.size()) {
		if (!s.xip.empty())
			expect(text, pos, ',');
		const uint64_t xid = read_xid(text, pos);
		if (xid < s.xmin || xid >= s.xmax)
			malformed(text, "in-progress transaction id outside [xmin, xmax)");
		if (!s.xip.empty() && xid <= s.xip.back())
			malformed(text, "in-progress transaction ids not strictly ascending");
		s.xip.push_back(xid);
	}
	return s;
}

std::string format_snapshot(const Snapshot &s)
{
	std::string text = std::to_string(s.xmin) + ":" + std::to_string(s.xmax) + ":";
	for (size_t i = 0; i < s.xip.size(); i++) {
		if (i > 0)
			text += ',';
		text += std::to_string(s.xip[i]);
	}
	return text;
}

Snapshot with_in_progress(Snapshot s, uint64_t xid)
{
	if (xid >= s.xmax)
		return s; // invisible already
	const auto at = std::lower_bound(s.xip.begin(), s.xip.end(), xid);
	if (at == s.xip.end() || *at != xid)
		s.xip.insert(at, xid);
	s.xmin = std::min(s.xmin, xid);
	return s;
}

} // namespace witness
