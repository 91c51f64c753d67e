#include "pg/jsonb_canonical.hpp"

#include "core/canonical_json.hpp"

namespace witness::pg
{
namespace
{

void write_container(StringInfo out, JsonbContainer *c);

void write_string(StringInfo out, const char *s, int len)
{
	enlargeStringInfo(out, (int)json_string_max_len((size_t)len));
	out->len += (int)write_json_string(s, (size_t)len, out->data + out->len);
	out->data[out->len] = '\0';
}

void write_scalar(StringInfo out, const JsonbValue *v)
{
	switch (v->type) {
	case jbvNull:
		appendBinaryStringInfo(out, "null", 4);
		break;
	case jbvBool:
		if (v->val.boolean)
			appendBinaryStringInfo(out, "true", 4);
		else
			appendBinaryStringInfo(out, "false", 5);
		break;
	case jbvNumeric:
		appendStringInfoString(out, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric))));
		break;
	case jbvString:
		write_string(out, v->val.string.val, v->val.string.len);
		break;
	case jbvBinary:
		write_container(out, v->val.binary.data);
		break;
	default:
		elog(ERROR, "pg_witness: unexpected jsonb value type %d", (int)v->type);
	}
}

struct Member {
	JsonbValue key;
	JsonbValue value;
};

// Canonical order: keys compared as bytes, a prefix first (jsonb itself sorts by length first).
int compare_members(const void *a, const void *b)
{
	const JsonbValue &x = ((const Member *)a)->key;
	const JsonbValue &y = ((const Member *)b)->key;
	int c = memcmp(x.val.string.val, y.val.string.val, Min(x.val.string.len, y.val.string.len));
	if (c != 0)
		return c;
	return (x.val.string.len > y.val.string.len) - (x.val.string.len < y.val.string.len);
}

void write_container(StringInfo out, JsonbContainer *c)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue v;
	JsonbIteratorToken tok = JsonbIteratorNext(&it, &v, true);
	if (tok == WJB_BEGIN_ARRAY) {
		bool raw_scalar = v.val.array.rawScalar;
		if (!raw_scalar)
			appendStringInfoChar(out, '[');
		bool first = true;
		while ((tok = JsonbIteratorNext(&it, &v, true)) == WJB_ELEM) {
			CHECK_FOR_INTERRUPTS();
			if (!first)
				appendStringInfoChar(out, ',');
			first = false;
			write_scalar(out, &v);
		}
		if (!raw_scalar)
			appendStringInfoChar(out, ']');
		return;
	}
	if (tok != WJB_BEGIN_OBJECT)
		elog(ERROR, "pg_witness: unexpected jsonb token %d", (int)tok);
	int n = v.val.object.nPairs;
	auto *members = (Member *)palloc(sizeof(Member) * Max(n, 1));
	int count = 0;
	while ((tok = JsonbIteratorNext(&it, &v, true)) == WJB_KEY) {
		CHECK_FOR_INTERRUPTS();
		members[count].key = v;
		if (JsonbIteratorNext(&it, &members[count].value, true) != WJB_VALUE)
			elog(ERROR, "pg_witness: malformed jsonb object");
		count++;
	}
	qsort(members, count, sizeof(Member), compare_members);
	appendStringInfoChar(out, '{');
	for (int i = 0; i < count; i++) {
		if (i > 0)
			appendStringInfoChar(out, ',');
		write_string(out, members[i].key.val.string.val, members[i].key.val.string.len);
		appendStringInfoChar(out, ':');
		write_scalar(out, &members[i].value);
	}
	appendStringInfoChar(out, '}');
	pfree(members);
}

} // namespace

char *jsonb_canonical(Jsonb *jb, size_t *len)
{
	StringInfoData out;
	initStringInfo(&out);
	write_container(&out, &jb->root);
	*len = (size_t)out.len;
	return out.data;
}

} // namespace witness::pg
