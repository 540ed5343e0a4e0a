/*
 * A session's two clocks (docs/identity.md "Clocks").  Its lifetime
 * (max_ttl, the ttl asked for) is boot time from its grant, and so is
 * the expiry in the shared table that cordon-dp's workers compare with
 * their boot-time clock.  Its token's exp is a wall-clock time: each
 * sweep judges it again on the wall clock and, when that says the end
 * is nearer, moves the table's expiry earlier (or ends the session).  A
 * backward wall-clock step never lengthens a session.
 */
#include <stdio.h>

#include "control/daemon/cordond.h"

bool
cd_sess_clock(struct cd *d, struct cd_grant *g, int64_t now_unix,
    int64_t now_boot, bool put)
{
	int64_t end = cd_ident_exp(g->claims, now_unix) - now_unix + now_boot;

	if (end >= g->ends)
		return g->ends <= now_boot;
	g->ends = end;
	if (end <= now_boot)
		return true;
	if (put) {
		cd_grant_reput(d->sess->t, g);
		cd_grant_nft(d, g, false);
		cd_grant_nft(d, g, true);
	}
	return false;
}

/*
 * The journal keeps the wall-clock "created" and "expires" (for people
 * and for a restart after a reboot) and, for a restart in the same boot,
 * the boot times themselves with the boot id.
 */
void
cd_grant_clock_put(const struct cd_grant *g, json_t *o)
{
	cd_clock_put(o, "expires", g->ends);
	json_object_set_new(o, "born_boot", json_integer(g->born));
}

void
cd_grant_clock_get(struct cd_grant *g, const json_t *o)
{
	struct cd_clock_rec r = { .boot = 0 };
	const char *id = json_string_value(json_object_get(o, "boot_id"));

	g->ends = cd_clock_get(o, "expires");
	r.unix_s = json_integer_value(json_object_get(o, "created"));
	if (id != NULL && json_is_integer(json_object_get(o, "born_boot"))) {
		snprintf(r.boot_id, sizeof(r.boot_id), "%s", id);
		r.boot = json_integer_value(json_object_get(o, "born_boot"));
	}
	g->born = cd_clock_back(&r, clk_boot_id(), clk_unix_s(), clk_boot_s());
}
