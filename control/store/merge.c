/*
 * diff3 on lines, for `cordonctl update`: a stale candidate's changes
 * (base -> mine) replayed onto the running revision (base -> theirs).
 * Base lines kept by both sides are the sync points; between two, a
 * chunk changed by one side only takes that side, one changed by both
 * the same way takes it once, any other is a conflict, named by lines.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

#define MERGE_NAMED 4   /* conflicts named in the message */
#define MERGE_DEPTH 256 /* groups nested deeper are not told apart */

struct merge_text {
	const char **l;
	size_t *len;
	long n;
};

static int
merge_split(const char *t, struct merge_text *m)
{
	long cap = 1;

	for (const char *p = t; *p; p++)
		cap += *p == '\n';
	m->l = malloc((size_t)cap * sizeof(*m->l));
	m->len = malloc((size_t)cap * sizeof(*m->len));
	m->n = 0;
	if (m->l == NULL || m->len == NULL)
		return -1;
	for (const char *p = t; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);

		m->l[m->n] = p;
		m->len[m->n++] = len;
		p += len;
	}
	return 0;
}

static void
merge_free(struct merge_text *m)
{
	free(m->l);
	free(m->len);
}

/* Whether X[x0,x1) and Y[y0,y1) are the same lines. */
static bool
merge_same(const struct merge_text *x, long x0, long x1,
    const struct merge_text *y, long y0, long y1)
{
	if (x1 - x0 != y1 - y0)
		return false;
	for (long i = 0; i < x1 - x0; i++)
		if (x->len[x0 + i] != y->len[y0 + i] ||
		    memcmp(x->l[x0 + i], y->l[y0 + i], x->len[x0 + i]) != 0)
			return false;
	return true;
}

static void
merge_put(FILE *f, const struct merge_text *t, long a, long b)
{
	for (long i = a; i < b; i++)
		fwrite(t->l[i], 1, t->len[i], f);
}

/* The first of lines [A,B) that says something (not only braces). */
static long
merge_telling(const struct merge_text *t, long a, long b)
{
	for (long i = a; i < b; i++)
		for (size_t c = 0; c < t->len[i]; c++)
			if (isalnum((unsigned char)t->l[i][c]))
				return i;
	return a;
}

/* " NAME A-B", or " NAME after A" for an empty range; B - A. */
static long
merge_range(FILE *f, const char *name, long a, long b)
{
	if (a == b)
		fprintf(f, "%s after %ld", name, a);
	else
		fprintf(f, "%s %ld-%ld", name, a + 1, b);
	return b - a;
}

/*
 * " NAME A-B \"line\"" for lines [A,B) of T, into F; an empty range
 * (an insertion point) is "after A".
 */
static void
merge_name(FILE *f, const char *name, const struct merge_text *t, long a,
    long b)
{
	long i = merge_telling(t, a, b);
	const char *p = a < b ? t->l[i] : "";
	int w = a < b ? (int)t->len[i] : 0;

	if (w > 0 && p[w - 1] == '\n')
		w--;
	while (w > 0 && (*p == ' ' || *p == '\t'))
		w--, p++;
	if (merge_range(f, name, a, b) > 0)
		fprintf(f, " \"%.*s\"", w > 60 ? 60 : w, p);
}

struct merge_state {
	struct merge_text b, m, t;
	long *mm, *mt; /* base -> mine, base -> theirs */
	long *blk;     /* base line -> its element group (merge_blocks) */
	unsigned char *touch; /* element group's opening line -> sides */
	FILE *out, *why;
	unsigned conflicts;
};

/* Line L (N bytes) without the blanks around it. */
static void
merge_trim(const char **l, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)**l))
		(*l)++, (*n)--;
	while (*n > 0 && isspace((unsigned char)(*l)[*n - 1]))
		(*n)--;
}

/* Braces of a line outside its strings: opened, closed. */
static void
merge_braces(const char *l, size_t n, int *open, int *close)
{
	bool str = false;

	*open = *close = 0;
	for (size_t i = 0; i < n; i++) {
		if (str && l[i] == '\\')
			i++;
		else if (l[i] == '"')
			str = !str;
		else if (!str && l[i] == '{')
			(*open)++;
		else if (!str && l[i] == '}')
			(*close)++;
	}
}

/*
 * For every base line, the element group (an object of a list: a
 * rule, an override, a port: "{" alone on its line after "(" or ",",
 * as config texts are written) it lies in, by its opening line; -1
 * outside any.  Such a group is one thing: a rule changed by one side
 * and its other lines by the other would be a rule neither wrote.
 */
static int
merge_blocks(struct merge_state *s)
{
	long stack[MERGE_DEPTH], top = -1;
	int depth = 0, op, cl;
	bool sep = false;

	s->blk = malloc(((size_t)s->b.n + 1) * sizeof(*s->blk));
	s->touch = calloc((size_t)s->b.n + 1, 1);
	if (s->blk == NULL || s->touch == NULL)
		return -1;
	for (long i = 0; i < s->b.n; i++) {
		const char *l = s->b.l[i];
		size_t n = s->b.len[i];

		merge_trim(&l, &n);
		merge_braces(l, n, &op, &cl);
		for (int k = 0; k < op; k++, depth++)
			if (depth < MERGE_DEPTH)
				stack[depth] = top =
				    n == 1 && op == 1 && sep ? i : top;
		s->blk[i] = top;
		for (int k = 0; k < cl && depth > 0; k++) {
			depth--;
			top = depth > 0 && depth <= MERGE_DEPTH
			          ? stack[depth - 1]
			          : -1;
		}
		sep = n > 0 && (l[n - 1] == '(' || l[n - 1] == ',');
	}
	return 0;
}

/*
 * Side SIDE (1 mine, 2 theirs) changed base [I,ST): the element groups
 * it touched are marked; one the other side touched too is a conflict.
 */
static bool
merge_touch(struct merge_state *s, long i, long st, unsigned char side)
{
	bool clash = false;

	if (i == st) { /* an insertion: inside a group if between two of
			  its lines */
		if (i > 0 && i < s->b.n && s->blk[i] >= 0 && s->blk[i] != i &&
		    s->blk[i - 1] == s->blk[i]) {
			clash = s->touch[s->blk[i]] & (3 - side);
			s->touch[s->blk[i]] |= side;
		}
		return clash;
	}
	for (long k = i; k < st; k++)
		if (s->blk[k] >= 0) {
			clash |= (s->touch[s->blk[k]] & (3 - side)) != 0;
			s->touch[s->blk[k]] |= side;
		}
	return clash;
}

/* The chunk base [I,S), mine [J,MJ), theirs [K,TK). */
static void
merge_chunk(struct merge_state *s, long i, long st, long j, long mj, long k,
    long tk)
{
	bool mine = merge_same(&s->b, i, st, &s->t, k, tk);

	if (merge_same(&s->m, j, mj, &s->t, k, tk))
		merge_put(s->out, &s->m, j, mj);
	else if ((mine || merge_same(&s->b, i, st, &s->m, j, mj)) &&
	         !merge_touch(s, i, st, mine ? 1 : 2))
		merge_put(s->out, mine ? &s->m : &s->t, mine ? j : k,
		    mine ? mj : tk);
	else if (s->conflicts++ < MERGE_NAMED) {
		merge_range(s->why, s->conflicts > 1 ? "; base" : "base", i,
		    st);
		fputc(':', s->why);
		merge_name(s->why, " running", &s->t, k, tk);
		merge_name(s->why, ", candidate", &s->m, j, mj);
	}
}

static void
merge_walk(struct merge_state *s)
{
	long i = 0, j = 0, k = 0;

	while (i < s->b.n || j < s->m.n || k < s->t.n) {
		long st = i, mj, tk;

		if (i < s->b.n && s->mm[i] == j && s->mt[i] == k) {
			merge_put(s->out, &s->b, i, i + 1);
			i++, j++, k++;
			continue;
		}
		while (st < s->b.n && (s->mm[st] < 0 || s->mt[st] < 0))
			st++;
		mj = st < s->b.n ? s->mm[st] : s->m.n;
		tk = st < s->b.n ? s->mt[st] : s->t.n;
		merge_chunk(s, i, st, j, mj, k, tk);
		i = st, j = mj, k = tk;
	}
}

int
merge3(const char *base, const char *mine, const char *theirs, char **out,
    char *err, size_t errlen)
{
	struct merge_state s = { 0 };
	char *why = NULL;
	size_t olen, wlen;
	long n;
	int rc = -1;

	*out = NULL;
	if (merge_split(base, &s.b) < 0 || merge_split(mine, &s.m) < 0 ||
	    merge_split(theirs, &s.t) < 0 ||
	    diff_map(base, mine, &s.mm, &n) < 0 ||
	    diff_map(base, theirs, &s.mt, &n) < 0 || merge_blocks(&s) < 0)
		goto nomem;
	s.out = open_memstream(out, &olen);
	s.why = open_memstream(&why, &wlen);
	if (s.out == NULL || s.why == NULL)
		goto nomem;
	merge_walk(&s);
	fclose(s.why);
	s.why = NULL;
	if (fclose(s.out) != 0) {
		s.out = NULL;
		goto nomem;
	}
	s.out = NULL;
	if (s.conflicts == 0) {
		rc = merge_names_check(base, mine, theirs, *out, err, errlen);
		goto done;
	}
	snprintf(err, errlen, "%u conflict%s: %s%s", s.conflicts,
	    s.conflicts > 1 ? "s" : "", why,
	    s.conflicts > MERGE_NAMED ? "; ..." : "");
	errno = EEXIST;
	goto done;
nomem:
	snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
done:
	if (s.out)
		fclose(s.out);
	if (s.why)
		fclose(s.why);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	free(why);
	free(s.mm);
	free(s.mt);
	free(s.blk);
	free(s.touch);
	merge_free(&s.b);
	merge_free(&s.m);
	merge_free(&s.t);
	return rc;
}
