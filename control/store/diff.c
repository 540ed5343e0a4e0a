/*
 * Line-based unified diff for `cordonctl compare` and the audit log.
 * Myers' O(ND) algorithm in linear space: find the middle snake of the
 * shortest edit script, recurse on both sides, mark the lines that
 * change; then print hunks with three lines of context as diff -u does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/store.h"

#define DIFF_CONTEXT 3

struct diff_line {
	const char *p;
	size_t len; /* with the '\n', if the line has one */
	uint64_t h;
};

struct diff_side {
	struct diff_line *l;
	long n;
	char *changed;
};

enum { DIFF_EQ, DIFF_DEL, DIFF_INS };

struct diff_op {
	int op;
	long a, b; /* lines of each side before this one */
};

static int
diff_split(const char *t, struct diff_side *s)
{
	long cap = 0;

	s->l = NULL;
	s->n = 0;
	for (const char *p = t; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
		uint64_t h = 14695981039346656037ULL;

		if (s->n == cap) {
			struct diff_line *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(s->l, (size_t)cap * sizeof(*nv));
			if (nv == NULL)
				return -1;
			s->l = nv;
		}
		for (size_t i = 0; i < len; i++)
			h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
		s->l[s->n++] = (struct diff_line){ p, len, h };
		p += len;
	}
	s->changed = calloc((size_t)s->n + 1, 1);
	return s->changed ? 0 : -1;
}

static bool
diff_eq(const struct diff_line *x, const struct diff_line *y)
{
	return x->h == y->h && x->len == y->len &&
	       memcmp(x->p, y->p, x->len) == 0;
}

/*
 * The middle snake of A[0,N) -> B[0,M): *SX, *SY split the problem into
 * two smaller ones.  Returns 0, or 1 when there is no common line.
 */
static int
diff_bisect(const struct diff_line *a, long n, const struct diff_line *b,
    long m, long *v1, long *v2, long *sx, long *sy)
{
	long maxd = (n + m + 1) / 2, off = maxd, vlen = 2 * maxd;
	long delta = n - m, k1s = 0, k1e = 0, k2s = 0, k2e = 0;
	bool front = (delta & 1) != 0;

	for (long i = 0; i < vlen; i++)
		v1[i] = v2[i] = -1;
	v1[off + 1] = v2[off + 1] = 0;
	for (long d = 0; d < maxd; d++) {
		for (long k1 = -d + k1s; k1 <= d - k1e; k1 += 2) {
			long ko = off + k1, x1, y1, k2o;

			if (k1 == -d || (k1 != d && v1[ko - 1] < v1[ko + 1]))
				x1 = v1[ko + 1];
			else
				x1 = v1[ko - 1] + 1;
			y1 = x1 - k1;
			while (x1 < n && y1 < m && diff_eq(&a[x1], &b[y1]))
				x1++, y1++;
			v1[ko] = x1;
			if (x1 > n) {
				k1e += 2;
			} else if (y1 > m) {
				k1s += 2;
			} else if (front) {
				k2o = off + delta - k1;
				if (k2o >= 0 && k2o < vlen && v2[k2o] != -1 &&
				    x1 >= n - v2[k2o]) {
					*sx = x1;
					*sy = y1;
					return 0;
				}
			}
		}
		for (long k2 = -d + k2s; k2 <= d - k2e; k2 += 2) {
			long ko = off + k2, x2, y2, k1o;

			if (k2 == -d || (k2 != d && v2[ko - 1] < v2[ko + 1]))
				x2 = v2[ko + 1];
			else
				x2 = v2[ko - 1] + 1;
			y2 = x2 - k2;
			while (x2 < n && y2 < m &&
			       diff_eq(&a[n - x2 - 1], &b[m - y2 - 1]))
				x2++, y2++;
			v2[ko] = x2;
			if (x2 > n) {
				k2e += 2;
			} else if (y2 > m) {
				k2s += 2;
			} else if (!front) {
				k1o = off + delta - k2;
				if (k1o >= 0 && k1o < vlen && v1[k1o] != -1 &&
				    v1[k1o] >= n - x2) {
					*sx = v1[k1o];
					*sy = off + v1[k1o] - k1o;
					return 0;
				}
			}
		}
	}
	return 1;
}

/* Marks the lines of A[a0,a1) and B[b0,b1) that an edit script changes. */
static int
diff_seq(struct diff_side *a, long a0, long a1, struct diff_side *b, long b0,
    long b1, long *v1, long *v2)
{
	long sx, sy;

	while (a0 < a1 && b0 < b1 && diff_eq(&a->l[a0], &b->l[b0]))
		a0++, b0++;
	while (a0 < a1 && b0 < b1 && diff_eq(&a->l[a1 - 1], &b->l[b1 - 1]))
		a1--, b1--;
	if (a0 == a1 || b0 == b1 ||
	    diff_bisect(a->l + a0, a1 - a0, b->l + b0, b1 - b0, v1, v2, &sx,
	        &sy) != 0 ||
	    (sx == 0 && sy == 0) || (sx == a1 - a0 && sy == b1 - b0)) {
		memset(a->changed + a0, 1, (size_t)(a1 - a0));
		memset(b->changed + b0, 1, (size_t)(b1 - b0));
		return 0;
	}
	diff_seq(a, a0, a0 + sx, b, b0, b0 + sy, v1, v2);
	return diff_seq(a, a0 + sx, a1, b, b0 + sy, b1, v1, v2);
}

/* The edit script: deletions before insertions within a change. */
static struct diff_op *
diff_ops(const struct diff_side *a, const struct diff_side *b, long *nops)
{
	struct diff_op *ops =
	    malloc(((size_t)a->n + (size_t)b->n + 1) * sizeof(*ops));
	long i = 0, j = 0, k = 0;

	if (ops == NULL)
		return NULL;
	while (i < a->n || j < b->n) {
		int op = i < a->n && a->changed[i]   ? DIFF_DEL
		         : j < b->n && b->changed[j] ? DIFF_INS
		                                     : DIFF_EQ;

		ops[k++] = (struct diff_op){ op, i, j };
		i += op != DIFF_INS;
		j += op != DIFF_DEL;
	}
	*nops = k;
	return ops;
}

static void
diff_range(FILE *f, char sign, long before, long count)
{
	if (count == 1)
		fprintf(f, "%c%ld", sign, before + 1);
	else
		fprintf(f, "%c%ld,%ld", sign, count ? before + 1 : before,
		    count);
}

static void
diff_line_put(FILE *f, char c, const struct diff_line *l)
{
	fputc(c, f);
	fwrite(l->p, 1, l->len, f);
	if (l->len == 0 || l->p[l->len - 1] != '\n')
		fputs("\n\\ No newline at end of file\n", f);
}

/* Prints ops [S, E) as one hunk. */
static void
diff_hunk(FILE *f, const struct diff_side *a, const struct diff_side *b,
    const struct diff_op *ops, long s, long e)
{
	long na = 0, nb = 0;

	for (long k = s; k < e; k++) {
		na += ops[k].op != DIFF_INS;
		nb += ops[k].op != DIFF_DEL;
	}
	fputs("@@ ", f);
	diff_range(f, '-', ops[s].a, na);
	fputc(' ', f);
	diff_range(f, '+', ops[s].b, nb);
	fputs(" @@\n", f);
	for (long k = s; k < e; k++) {
		if (ops[k].op == DIFF_INS)
			diff_line_put(f, '+', &b->l[ops[k].b]);
		else
			diff_line_put(f, ops[k].op == DIFF_DEL ? '-' : ' ',
			    &a->l[ops[k].a]);
	}
}

static void
diff_print(FILE *f, const struct diff_side *a, const struct diff_side *b,
    const struct diff_op *ops, long nops, const char *la, const char *lb)
{
	long k = 0;

	while (k < nops && ops[k].op == DIFF_EQ)
		k++;
	if (k == nops)
		return;
	fprintf(f, "--- %s\n+++ %s\n", la, lb);
	while (k < nops) {
		long s = k > DIFF_CONTEXT ? k - DIFF_CONTEXT : 0, last = k;

		/* Changes closer than two contexts share a hunk. */
		for (; k < nops && k - last <= 2 * DIFF_CONTEXT + 1; k++)
			if (ops[k].op != DIFF_EQ)
				last = k;
		k = last + 1 + DIFF_CONTEXT < nops ? last + 1 + DIFF_CONTEXT
		                                   : nops;
		diff_hunk(f, a, b, ops, s, k);
		while (k < nops && ops[k].op == DIFF_EQ)
			k++;
	}
}

int
diff_unified(const char *a, const char *b, const char *label_a,
    const char *label_b, char **out)
{
	struct diff_side sa = { 0 }, sb = { 0 };
	struct diff_op *ops = NULL;
	long *v = NULL, nops;
	size_t olen;
	FILE *f;
	int rc = -1;

	*out = NULL;
	if (diff_split(a, &sa) < 0 || diff_split(b, &sb) < 0)
		goto out;
	if ((v = malloc(2 * ((size_t)sa.n + (size_t)sb.n + 2) * sizeof(*v))) ==
	    NULL)
		goto out;
	diff_seq(&sa, 0, sa.n, &sb, 0, sb.n, v, v + sa.n + sb.n + 2);
	if ((ops = diff_ops(&sa, &sb, &nops)) == NULL)
		goto out;
	if ((f = open_memstream(out, &olen)) == NULL)
		goto out;
	diff_print(f, &sa, &sb, ops, nops, label_a, label_b);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	free(ops);
	free(v);
	free(sa.l);
	free(sa.changed);
	free(sb.l);
	free(sb.changed);
	if (rc < 0 && errno == 0)
		errno = ENOMEM;
	return rc;
}

int
diff_map(const char *a, const char *b, long **map, long *na)
{
	struct diff_side sa = { 0 }, sb = { 0 };
	long *v = NULL, j = 0;
	int rc = -1;

	*map = NULL;
	if (diff_split(a, &sa) < 0 || diff_split(b, &sb) < 0)
		goto out;
	if ((v = malloc(2 * ((size_t)sa.n + (size_t)sb.n + 2) * sizeof(*v))) ==
	        NULL ||
	    (*map = malloc(((size_t)sa.n + 1) * sizeof(**map))) == NULL)
		goto out;
	diff_seq(&sa, 0, sa.n, &sb, 0, sb.n, v, v + sa.n + sb.n + 2);
	/* Unchanged lines of A pair with unchanged lines of B in order. */
	for (long i = 0; i < sa.n; i++) {
		if (sa.changed[i]) {
			(*map)[i] = -1;
			continue;
		}
		while (sb.changed[j])
			j++;
		(*map)[i] = j++;
	}
	*na = sa.n;
	rc = 0;
out:
	free(v);
	free(sa.l);
	free(sa.changed);
	free(sb.l);
	free(sb.changed);
	if (rc < 0) {
		free(*map);
		*map = NULL;
		errno = ENOMEM;
	}
	return rc;
}
