/*
 * merge3's check by name.  Line by line, a rule one side deleted and
 * the other moved (deleted in one place, written in another) comes
 * back whole: the running revision removed an allow, a stale candidate
 * that only moved it brings it back, with no conflict.  So after a
 * clean merge, every named object of a list (a line `name = "..."` or
 * `prefix = "..."` in a list's element, keyed by the line that opened
 * the list) that one side deleted must be gone from the result, and
 * none may be there twice.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

#define MN_DEPTH 64 /* lists nested deeper are not looked into */

struct mn_set {
	char **k;
	size_t n, cap;
};

static int
mn_add(struct mn_set *s, const char *list, const char *line, size_t len)
{
	char *k, **nk;
	size_t ll = strlen(list);

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 32;
		if ((nk = realloc(s->k, s->cap * sizeof(*nk))) == NULL)
			return -1;
		s->k = nk;
	}
	/* "rules = ( " and "name = \"a\";" make "rules: name = \"a\"" */
	while (ll > 0 && strchr(" \t(=:", list[ll - 1]) != NULL)
		ll--;
	while (len > 0 && strchr(" \t;", line[len - 1]) != NULL)
		len--;
	if (asprintf(&k, "%.*s: %.*s", (int)ll, list, (int)len, line) < 0)
		return -1;
	s->k[s->n++] = k;
	return 0;
}

static void
mn_free(struct mn_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->k[i]);
	free(s->k);
}

static int
mn_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
mn_has(const struct mn_set *s, const char *k)
{
	return s->n > 0 &&
	       bsearch(&k, s->k, s->n, sizeof(*s->k), mn_cmp) != NULL;
}

/* Parens of a line outside its strings, in order: +1 open, -1 close. */
static int
mn_parens(const char *l, size_t n, int *delta, int max)
{
	bool str = false;
	int k = 0;

	for (size_t i = 0; i < n && k < max; i++) {
		if (str && l[i] == '\\')
			i++;
		else if (l[i] == '"')
			str = !str;
		else if (!str && (l[i] == '(' || l[i] == ')'))
			delta[k++] = l[i] == '(' ? 1 : -1;
	}
	return k;
}

/* The named objects of TEXT into S, sorted. */
static int
mn_collect(const char *text, struct mn_set *s)
{
	const char *label[MN_DEPTH];
	size_t llen[MN_DEPTH];
	int depth = 0, d[16], nd;
	char lab[160];

	for (const char *p = text; *p != '\0';) {
		const char *nl = strchrnul(p, '\n'), *l = p;
		size_t n = (size_t)(nl - p);

		while (n > 0 && (*l == ' ' || *l == '\t'))
			l++, n--;
		if (depth > 0 && depth <= MN_DEPTH &&
		    (strncmp(l, "name = \"", 8) == 0 ||
		        strncmp(l, "prefix = \"", 10) == 0)) {
			snprintf(lab, sizeof(lab), "%.*s", (int)llen[depth - 1],
			    label[depth - 1]);
			if (mn_add(s, lab, l, n) < 0)
				return -1;
		}
		nd = mn_parens(l, n, d, 16);
		for (int i = 0; i < nd; i++) {
			if (d[i] > 0 && depth < MN_DEPTH) {
				label[depth] = l;
				llen[depth] = n;
			}
			depth += d[i];
			if (depth < 0)
				depth = 0;
		}
		p = *nl ? nl + 1 : nl;
	}
	if (s->n > 1) /* qsort of (NULL, 0) is undefined */
		qsort(s->k, s->n, sizeof(*s->k), mn_cmp);
	return 0;
}

int
merge_names_check(const char *base, const char *mine, const char *theirs,
    const char *out, char *err, size_t errlen)
{
	struct mn_set b = { 0 }, m = { 0 }, t = { 0 }, o = { 0 };
	int rc = 0;

	if (mn_collect(base, &b) < 0 || mn_collect(mine, &m) < 0 ||
	    mn_collect(theirs, &t) < 0 || mn_collect(out, &o) < 0) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < b.n; i++) {
		bool inm = mn_has(&m, b.k[i]), intt = mn_has(&t, b.k[i]);

		if ((inm && intt) || !mn_has(&o, b.k[i]))
			continue;
		snprintf(err, errlen,
		    "1 conflict: %s: deleted by the %s, moved or changed by "
		    "the %s (the merge would bring it back)",
		    b.k[i], inm ? "running revision" : "candidate",
		    inm ? "candidate" : "running revision");
		errno = EEXIST;
		rc = -1;
	}
	/* Both sides moved one object to different places: it is twice. */
	for (size_t i = 1; rc == 0 && i < o.n; i++)
		if (strcmp(o.k[i - 1], o.k[i]) == 0) {
			snprintf(err, errlen,
			    "1 conflict: %s: moved by both sides to different "
			    "places",
			    o.k[i]);
			errno = EEXIST;
			rc = -1;
		}
	mn_free(&b);
	mn_free(&m);
	mn_free(&t);
	mn_free(&o);
	return rc;
}
