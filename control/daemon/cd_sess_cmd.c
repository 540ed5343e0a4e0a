/*
 * session-add, session-list, session-revoke (docs/control.md, section
 * 3): the gateway push of a token, and the admin's view of the grants.
 */
#include <arpa/inet.h>
#include <string.h>

#include "control/daemon/cordond.h"

static int
cd_need_sess(const struct cd *d, struct cd_err *e)
{
	if (d->sess == NULL)
		return cd_fail(e, "bad-request",
		    "no identity group configured");
	return 0;
}

int
cd_cmd_session_add(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	json_t *jtok = json_object_get(rq->args, "token");
	const char *tok = json_string_value(jtok);
	const char *src = json_string_value(json_object_get(rq->args, "src"));
	const char *svc =
	    json_string_value(json_object_get(rq->args, "service"));
	json_int_t ttl = json_integer_value(json_object_get(rq->args, "ttl"));
	struct cd_grant *g;

	if (cd_need_sess(d, e) < 0)
		return -1;
	if (tok == NULL || src == NULL)
		return cd_fail(e, "bad-request",
		    "session-add needs token and "
		    "src");
	if (ttl < 0 || ttl > 7 * 86400)
		return cd_fail(e, "bad-request", "ttl out of range");
	/*
	 * Not in the audit log (one synced record per grant would cap a
	 * gateway at a few hundred a second): grants are in the journal and
	 * in syslog (session-grant, token-refused).  The token goes by its
	 * length: a NUL inside is the verifier's to refuse, not a place to
	 * cut it short.
	 */
	if (cd_sess_grant(d, tok, json_string_length(jtok), src, svc,
	        (unsigned)ttl, "push", &g, e) < 0)
		return -1;
	*data = cd_grant_json(d, g);
	return 0;
}

int
cd_cmd_session_list(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct cd_sessions *s = d->sess;
	json_t *arr;
	struct sess_counts c;

	(void)rq;
	if (cd_need_sess(d, e) < 0)
		return -1;
	arr = json_array();
	for (unsigned i = 0; i < s->cap; i++)
		if (s->g[i])
			json_array_append_new(arr, cd_grant_json(d, s->g[i]));
	sess_counts(s->t, &c);
	*data = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	                  "s:I, s:I}",
	    "sessions", arr, "capacity", (json_int_t)s->cap, "live",
	    (json_int_t)s->n, "entries", (json_int_t)c.live, "refused_full",
	    (json_int_t)s->full, "refused", (json_int_t)s->refused, "revoked",
	    (json_int_t)s->revoked, "refused_quota", (json_int_t)s->quota,
	    "expired", (json_int_t)s->expired, "journal_skipped",
	    (json_int_t)s->jskipped, "journal_failed", (json_int_t)s->jfailed);
	return 0;
}

/* Does G match the one selector the request gave? */
static bool
cd_revoke_match(const struct cd_grant *g, const json_t *args)
{
	const json_t *v;
	uint8_t a[16] = { 0 };

	if ((v = json_object_get(args, "id")) != NULL)
		return json_integer_value(v) == g->sid;
	if ((v = json_object_get(args, "sub")) != NULL)
		return strcmp(json_string_value(v) ?: "", g->sub) == 0;
	if ((v = json_object_get(args, "jti")) != NULL)
		return g->jti[0] &&
		       strcmp(json_string_value(v) ?: "", g->jti) == 0;
	if ((v = json_object_get(args, "src")) != NULL)
		return inet_pton(g->af == 4 ? AF_INET : AF_INET6,
		           json_string_value(v) ?: "", a) == 1 &&
		       memcmp(a, g->addr, g->af == 4 ? 4 : 16) == 0;
	return false;
}

int
cd_cmd_session_revoke(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct cd_sessions *s = d->sess;
	unsigned n = 0;

	if (cd_need_sess(d, e) < 0)
		return -1;
	if (json_object_size(rq->args) != 1)
		return cd_fail(e, "bad-request",
		    "revoke by one of id, sub, "
		    "jti or src");
	for (unsigned i = 0; i < s->cap; i++)
		if (s->g[i] && cd_revoke_match(s->g[i], rq->args)) {
			cd_sess_revoke_one(d, s->g[i]);
			n++;
		}
	/*
	 * In force at once in the table, whatever the disk says; on disk
	 * now too, or a restart would bring the sessions back.  When it
	 * cannot be, the session-journal alarm is up and each tick retries.
	 */
	if (n > 0 && cd_journal_sync(s) < 0) {
		cd_audit(d, rq, "session-revoke", "journal", NULL, d->run.rev);
		return cd_fail(e, "internal",
		    "revoked %u session(s), but the "
		    "sessions journal could not be written (%s): until it is "
		    "(alarm session-journal), a cordond restart would restore "
		    "them",
		    n, s->jerr);
	}
	cd_audit(d, rq, "session-revoke", "ok", NULL, d->run.rev);
	*data = json_pack("{s:i}", "revoked", n);
	return 0;
}
