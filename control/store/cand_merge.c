/*
 * load merge: a config file's settings merged onto a candidate by name
 * (the rule is in store.h and docs/control.md "load").  Named objects
 * are replaced whole, never merged member by member: the rule an admin
 * wrote in the file is the rule that runs, not a blend with an old one.
 * libconfig 1.5 cannot insert, so an object replaced keeps its place by
 * having its contents replaced.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"
#include "core/util/fail.h"

/* Top-level groups whose members are objects named by their key. */
static const char *const merge_collections[] = { "regions", "services", NULL };

/* Keys that name the elements of a list of groups, first found wins. */
static const char *const merge_keys[] = { "name", "prefix", NULL };

static bool
merge_is_collection(const config_setting_t *g)
{
	const char *name = config_setting_name(g);

	if (name == NULL || config_setting_parent(g) == NULL ||
	    !config_setting_is_root(config_setting_parent(g)))
		return false;
	for (const char *const *c = merge_collections; *c; c++)
		if (strcmp(name, *c) == 0)
			return true;
	return false;
}

/* E's name under KEY, or NULL. */
static const char *
merge_elem_name(const config_setting_t *e, const char *key)
{
	const config_setting_t *m;

	if (!config_setting_is_group(e))
		return NULL;
	m = config_setting_get_member(e, key);
	return m ? config_setting_get_string(m) : NULL;
}

/* The key every element of L is named by, or NULL (L replaces whole). */
static const char *
merge_list_key(const config_setting_t *l)
{
	int n = config_setting_length(l);

	for (const char *const *k = merge_keys; *k && n > 0; k++) {
		int i = 0;

		while (i < n &&
		       merge_elem_name(config_setting_get_elem(l, (unsigned)i),
		           *k) != NULL)
			i++;
		if (i == n)
			return *k;
	}
	return NULL;
}

/* D's contents become S's (same type); D keeps its place and name. */
static int
merge_fill(config_setting_t *d, const config_setting_t *s)
{
	while (config_setting_length(d) > 0)
		config_setting_remove_elem(d, 0);
	for (int i = 0; i < config_setting_length(s); i++)
		if (cand_setting_copy(d,
		        config_setting_get_elem(s, (unsigned)i)) < 0)
			return -1;
	return 0;
}

/* S replaces D (may be NULL) under PARENT; in place when of one kind. */
static int
merge_replace(config_setting_t *parent, config_setting_t *d,
    const config_setting_t *s)
{
	if (d != NULL && config_setting_type(d) == config_setting_type(s) &&
	    config_setting_is_aggregate(s))
		return merge_fill(d, s);
	if (d != NULL && config_setting_is_group(parent))
		config_setting_remove(parent, config_setting_name(d));
	else if (d != NULL)
		config_setting_remove_elem(parent,
		    (unsigned)config_setting_index(d));
	return cand_setting_copy(parent, s);
}

static int merge_group(config_setting_t *d, const config_setting_t *s);

/* Named elements of S replace D's of the same name, else are appended. */
static int
merge_list(config_setting_t *d, const config_setting_t *s, const char *key)
{
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned)i);
		const char *name = merge_elem_name(e, key);
		config_setting_t *old = NULL;

		for (int j = 0; old == NULL && j < config_setting_length(d);
		     j++) {
			config_setting_t *c =
			    config_setting_get_elem(d, (unsigned)j);
			const char *cn = merge_elem_name(c, key);

			if (cn != NULL && strcmp(cn, name) == 0)
				old = c;
		}
		if ((old ? merge_fill(old, e) : cand_setting_copy(d, e)) < 0)
			return -1;
	}
	return 0;
}

/* One member S of a group merged into group D. */
static int
merge_member(config_setting_t *d, const config_setting_t *s, bool collection)
{
	config_setting_t *old =
	    config_setting_get_member(d, config_setting_name(s));
	const char *key;

	if (old == NULL || collection ||
	    config_setting_type(old) != config_setting_type(s))
		return merge_replace(d, old, s);
	if (config_setting_is_group(s))
		return merge_group(old, s);
	if (config_setting_is_list(s) && (key = merge_list_key(s)) != NULL &&
	    merge_list_key(old) == key)
		return merge_list(old, s, key);
	if (config_setting_length(old) == 0 && config_setting_is_list(s))
		return merge_fill(old, s);
	return merge_replace(d, old, s);
}

static int
merge_group(config_setting_t *d, const config_setting_t *s)
{
	bool coll = merge_is_collection(d);

	for (int i = 0; i < config_setting_length(s); i++)
		if (merge_member(d, config_setting_get_elem(s, (unsigned)i),
		        coll) < 0)
			return -1;
	return 0;
}

/*
 * A list of named groups in the file names each once: merged, a second
 * "a" would silently replace the first (a drop rule by an allow one),
 * where loading the file itself refuses it.  Walks S: 0, or -1 with
 * "LABEL:LINE: ..." in ERR.
 */
static int
merge_dups(const config_setting_t *s, const char *label, char *err,
    size_t errlen)
{
	const char *key = config_setting_is_list(s) ? merge_list_key(s) : NULL;
	int n = config_setting_is_aggregate(s) ? config_setting_length(s) : 0;

	for (int i = 0; i < n; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned)i);
		const char *name = key ? merge_elem_name(e, key) : NULL;

		for (int j = 0; name != NULL && j < i; j++)
			if (strcmp(name,
			        merge_elem_name(config_setting_get_elem(s,
			                            (unsigned)j),
			            key)) == 0)
				return fail_with(err, errlen, EINVAL,
				    "%s:%d: %s \"%s\" is in the file twice",
				    label, config_setting_source_line(e), key,
				    name);
		if (merge_dups(e, label, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The index of the element of L named NAME under KEY, or -1. */
static int
merge_find(const config_setting_t *l, const char *key, const char *name)
{
	for (int i = 0; i < config_setting_length(l); i++) {
		const char *n =
		    merge_elem_name(config_setting_get_elem(l, (unsigned)i),
		        key);

		if (n != NULL && strcmp(n, name) == 0)
			return i;
	}
	return -1;
}

/* Rule K of L's action, "" when it has none. */
static const char *
merge_action(const config_setting_t *l, int k)
{
	const char *a =
	    merge_elem_name(config_setting_get_elem(l, (unsigned)k), "action");

	return a ? a : "";
}

/*
 * Rules are judged in order: a rule the file puts before another must
 * not land after it in the candidate when their actions differ.  A new
 * rule is appended, so a drop the file puts before an allow the
 * candidate has already would come after it, and the allow decide
 * first.  Refused, the way out named.
 */
static int
merge_order(config_t *c, config_t *f, const char *label, char *err,
    size_t errlen)
{
	const config_setting_t *fr = config_lookup(f, "rules");
	const config_setting_t *cr = config_lookup(c, "rules");
	int n = fr && config_setting_is_list(fr) ? config_setting_length(fr)
	                                         : 0;

	for (int i = 0; cr != NULL && i < n; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(fr, (unsigned)i);
		const char *name = merge_elem_name(e, "name");
		int k = name ? merge_find(cr, "name", name) : -1;

		for (int j = 0; k >= 0 && j < i; j++) {
			const char *pn =
			    merge_elem_name(config_setting_get_elem(fr,
			                        (unsigned)j),
			        "name");
			int pk = pn ? merge_find(cr, "name", pn) : -1;

			if (pk > k && strcmp(merge_action(cr, pk),
			                  merge_action(cr, k)) != 0)
				return fail_with(err, errlen, EINVAL,
				    "%s:%d: rule \"%s\" (%s) comes after "
				    "\"%s\" (%s) in the file but would come "
				    "before it in the candidate (rules are "
				    "judged in order): load override, or set "
				    "the rules' position",
				    label, config_setting_source_line(e), name,
				    merge_action(cr, k), pn,
				    merge_action(cr, pk));
		}
	}
	return 0;
}

static int
merge_parse(config_t *cfg, const char *text, const char *label, char *err,
    size_t errlen)
{
	if (config_read_string(cfg, text))
		return 0;
	return fail_with(err, errlen, EINVAL, "%s:%d: %s", label,
	    config_error_line(cfg), config_error_text(cfg));
}

int
cand_merge(const char *text, const char *file, const char *label, char **out,
    char *err, size_t errlen)
{
	config_t c, f;
	int rc = -1;

	*out = NULL;
	config_init(&c);
	config_init(&f);
	if (cand_include_check(file, label, err, errlen) < 0 ||
	    merge_parse(&c, text, "candidate", err, errlen) < 0 ||
	    merge_parse(&f, file, label, err, errlen) < 0 ||
	    merge_dups(config_root_setting(&f), label, err, errlen) < 0)
		goto out;
	if (merge_group(config_root_setting(&c), config_root_setting(&f)) < 0) {
		fail_with(err, errlen, ENOMEM, "%s: merging: out of memory",
		    label);
		goto out;
	}
	if (merge_order(&c, &f, label, err, errlen) < 0)
		goto out;
	if (store_config_text(&c, out, NULL) < 0) {
		fail_with(err, errlen, ENOMEM, "%s: merging: out of memory",
		    label);
		goto out;
	}
	rc = 0;
out:
	config_destroy(&c);
	config_destroy(&f);
	return rc;
}
