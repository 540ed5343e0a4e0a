/*
 * The sessions journal: the grants in force, in the state folder, so a
 * restarted cordond enforces the same sessions (cordon-dp keeps its
 * table meanwhile).  Rewritten whole, atomically, at most once a second.
 * Tokens were verified when granted; the journal is root's, like the
 * revisions next to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"

static json_t *
cd_journal_grant(const struct cd *d, const struct cd_grant *g)
{
	json_t *o = cd_grant_json(d, g);

	json_object_set(o, "claims", g->claims);
	json_object_set_new(o, "flow_cc", json_integer(g->facts.flow_cc));
	return o;
}

int
cd_sess_journal_save(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	json_t *root = cd_obj(), *arr = json_array();
	char *text;

	for (unsigned i = 0; i < s->cap; i++)
		if (s->g[i])
			json_array_append_new(arr, cd_journal_grant(d, s->g[i]));
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "next_sid", json_integer(s->next_sid));
	json_object_set_new(root, "sessions", arr);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (text == NULL || store_file_write(s->journal, text,
	    strlen(text)) != 0) {
		cd_log("sessions journal: %s", text ? strerror(errno) :
		    "out of memory");
		free(text);
		return -1;
	}
	s->dirty = false;
	free(text);
	return 0;
}

/* One journal entry back into a grant; unexpired ones only. */
static void
cd_journal_one(struct cd *d, const json_t *o, int64_t now)
{
	const struct conf *c = d->run.conf;
	struct cd_err e;
	struct cd_grant *g = calloc(1, sizeof(*g));
	const char *iss = json_string_value(json_object_get(o, "issuer"));
	const json_t *svcs = json_object_get(o, "services"), *v;
	int issuer = iss ? conf_issuer_find(c, iss) : -1;
	size_t i;

	if (g == NULL)
		return;
	g->expires = json_integer_value(json_object_get(o, "expires"));
	g->claims = json_incref(json_object_get(o, "claims"));
	snprintf(g->src, sizeof(g->src), "%s",
	    json_string_value(json_object_get(o, "src")) ?: "");
	json_array_foreach(svcs, i, v) {
		int k = conf_service_find(c, json_string_value(v) ?: "");

		if (k >= 0 && ((c->identity.services >> k) & 1))
			g->svcs |= 1ULL << k;
	}
	if (g->expires <= now || issuer < 0 || g->svcs == 0 ||
	    !json_is_object(g->claims) ||
	    cd_sess_restore(d, g, issuer, o, &e) < 0)
		cd_grant_free(g);
}

void
cd_sess_journal_load(struct cd *d)
{
	json_error_t je;
	json_t *root = json_load_file(d->sess->journal, JSON_REJECT_DUPLICATES,
	    &je);
	const json_t *v;
	int64_t now = cd_unix();
	size_t i;

	if (root == NULL)
		return;
	d->sess->next_sid = (uint32_t)json_integer_value(json_object_get(root,
	    "next_sid"));
	if (d->sess->next_sid == 0)
		d->sess->next_sid = 1;
	json_array_foreach(json_object_get(root, "sessions"), i, v)
		cd_journal_one(d, v, now);
	json_decref(root);
	d->sess->dirty = false;
}
