#include "pg/capture/jsonb_canonical.hpp"

#include "core/canonical_json.hpp"
#include "core/key_order.hpp"

namespace witness::pg
{
namespace
{

void write_string(StringInfo out, const char *s, int len)
{
	const size_t room = json_string_room(s, (size_t)len);
	if (room > (size_t)(MaxAllocSize - 1 - out->len))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("values too large to capture: a jsonb string of %d bytes", len),
		                errdetail("pg_witness stores a row's values as canonical JSON, at most 1 GB per entry column.")));
	enlargeStringInfo(out, (int)room);
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
	return compare_keys(x.val.string.val, (size_t)x.val.string.len, y.val.string.val, (size_t)y.val.string.len);
}

// A container being written. Arrays are read element by element through their iterator; an object's
// members are read and sorted when it is opened, then written one by one.
struct Frame {
	JsonbIterator *it; // arrays
	Member *members;   // objects, palloc'd
	int count, next;   // objects: members, and the index of the next one to write
	bool object;
	bool raw_scalar; // the top-level array that holds a scalar jsonb: no brackets
	bool first;
};

// Starts writing container c into *f: its opening bracket, and for an object its sorted members.
void open_container(StringInfo out, JsonbContainer *c, Frame *f)
{
	JsonbIterator *it = JsonbIteratorInit(c);
	JsonbValue v;
	JsonbIteratorToken tok = JsonbIteratorNext(&it, &v, true);
	*f = Frame();
	f->first = true;
	if (tok == WJB_BEGIN_ARRAY) {
		f->raw_scalar = v.val.array.rawScalar;
		if (!f->raw_scalar)
			appendStringInfoChar(out, '[');
		f->it = it;
		return;
	}
	if (tok != WJB_BEGIN_OBJECT)
		elog(ERROR, "pg_witness: unexpected jsonb token %d", (int)tok);
	int n = v.val.object.nPairs;
	f->object = true;
	f->members = (Member *)palloc(sizeof(Member) * Max(n, 1));
	while ((tok = JsonbIteratorNext(&it, &v, true)) == WJB_KEY) {
		CHECK_FOR_INTERRUPTS();
		f->members[f->count].key = v;
		if (JsonbIteratorNext(&it, &f->members[f->count].value, true) != WJB_VALUE)
			elog(ERROR, "pg_witness: malformed jsonb object");
		f->count++;
	}
	qsort(f->members, f->count, sizeof(Member), compare_members);
	appendStringInfoChar(out, '{');
}

// Writes what comes before the next value of *f (separator, key) and returns the value; at the end
// of the container, writes its closing bracket and returns nullptr.
const JsonbValue *next_value(StringInfo out, Frame *f, JsonbValue *elem)
{
	if (f->object) {
		if (f->next == f->count) {
			appendStringInfoChar(out, '}');
			pfree(f->members);
			return nullptr;
		}
		const Member &m = f->members[f->next++];
		if (!f->first)
			appendStringInfoChar(out, ',');
		f->first = false;
		write_string(out, m.key.val.string.val, m.key.val.string.len);
		appendStringInfoChar(out, ':');
		return &m.value;
	}
	if (JsonbIteratorNext(&f->it, elem, true) != WJB_ELEM) {
		if (!f->raw_scalar)
			appendStringInfoChar(out, ']');
		return nullptr;
	}
	if (!f->first)
		appendStringInfoChar(out, ',');
	f->first = false;
	return elem;
}

} // namespace

// Iterative, with the open containers in a palloc'd stack: a value nested as deep as jsonb allows
// (far beyond what max_stack_depth lets a recursive walk reach) uses no native stack per level.
char *jsonb_canonical(Jsonb *jb, size_t *len)
{
	StringInfoData out;
	initStringInfo(&out);
	size_t capacity = 16, depth = 1;
	auto *stack = (Frame *)palloc(sizeof(Frame) * capacity);
	open_container(&out, &jb->root, &stack[0]);
	while (depth > 0) {
		CHECK_FOR_INTERRUPTS();
		JsonbValue elem;
		const JsonbValue *v = next_value(&out, &stack[depth - 1], &elem);
		if (v == nullptr) {
			depth--;
		} else if (v->type != jbvBinary) {
			write_scalar(&out, v);
		} else {
			if (depth == capacity) {
				capacity *= 2;
				stack = (Frame *)repalloc_huge(stack, sizeof(Frame) * capacity);
			}
			open_container(&out, v->val.binary.data, &stack[depth++]);
		}
	}
	pfree(stack);
	*len = (size_t)out.len;
	return out.data;
}

} // namespace witness::pg
