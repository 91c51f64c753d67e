#include "array_text.hpp"

#include <stdexcept>

namespace witness
{
namespace
{

[[noreturn]] void bad_array(std::string_view text)
{
	throw std::invalid_argument("not the text of a one-dimensional array: " + std::string(text.substr(0, 60)));
}

// A quoted element from text[*i] (the opening quote) on: backslash escapes any character.
std::string quoted_element(std::string_view text, size_t *i)
{
	std::string out;
	for (size_t k = *i + 1; k < text.size(); k++) {
		if (text[k] == '"') {
			*i = k + 1;
			return out;
		}
		if (text[k] == '\\') {
			if (++k == text.size())
				break;
		}
		out += text[k];
	}
	bad_array(text);
}

} // namespace

std::vector<std::optional<std::string>> parse_array_text(std::string_view text)
{
	std::vector<std::optional<std::string>> out;
	if (text.size() < 2 || text.front() != '{' || text.back() != '}')
		bad_array(text);
	if (text.size() == 2)
		return out;
	size_t i = 1;
	for (;;) {
		if (text[i] == '"') {
			out.emplace_back(quoted_element(text, &i));
		} else {
			const size_t end = text.find_first_of(",}", i);
			const std::string_view token = text.substr(i, end - i);
			if (token.empty() || token.find_first_of("{\"\\ ") != std::string_view::npos)
				bad_array(text);
			if (token == "NULL")
				out.emplace_back(std::nullopt);
			else
				out.emplace_back(std::string(token));
			i = end;
		}
		if (i >= text.size())
			bad_array(text);
		if (text[i] == '}')
			break;
		if (text[i] != ',')
			bad_array(text);
		i++;
	}
	if (i != text.size() - 1)
		bad_array(text);
	return out;
}

} // namespace witness
