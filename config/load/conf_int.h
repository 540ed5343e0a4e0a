/*
 * Internals shared by the config loader's files (conf_*.c).  Not for use
 * outside config/: everything else sees only conf.h.
 */
#ifndef CORDON_CONF_INT_H
#define CORDON_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "config/load/conf.h"

/* One load in progress. */
struct conf_ctx {
	struct conf *c;          /* the scratch copy being filled */
	char dir[CONF_PATH_MAX]; /* folder of the main file */
	char *err;
	size_t errlen;
};

/*
 * Writes "file:line: message" for setting S (its group's file when S is
 * NULL) into the context's error buffer.  Always returns -1.
 */
int conf_err(struct conf_ctx *x, const config_setting_t *s, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * Index in the config's files[] of the file setting S is in, added when
 * new; -1 (with an error) when the table is full.
 */
int conf_file_index(struct conf_ctx *x, const config_setting_t *s);

/* Prefixes a path relative to the main file's folder (for messages). */
void conf_path_join(const struct conf_ctx *x, const char *file, char *out,
    size_t outlen);

/*
 * Fails on the first member of group or list element G whose name is not
 * in the NULL-terminated KEYS, so that a typo cannot pass silently.
 */
int conf_keys_check(struct conf_ctx *x, const config_setting_t *g,
    const char *const *keys);

/* Fails unless S is a group (a "{ ... }" block). */
int conf_want_group(struct conf_ctx *x, const config_setting_t *s);
/* conf_want_group, then conf_keys_check. */
int conf_group_check(struct conf_ctx *x, const config_setting_t *g,
    const char *const *keys);
/* Fails unless S is a list or an array. */
int conf_want_list(struct conf_ctx *x, const config_setting_t *s);

/*
 * Copies string member KEY of G into OUT.  Returns 1 when present, 0
 * when absent and not REQUIRED, -1 on error (wrong type, too long,
 * empty, missing).
 */
int conf_str_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    bool required, char *out, size_t outlen);
/* Name: like conf_str_get (required), and checks the characters. */
int conf_name_get(struct conf_ctx *x, const config_setting_t *g,
    char out[CONF_NAME_MAX]);
int conf_name_check(struct conf_ctx *x, const config_setting_t *s,
    const char *name);
/* Boolean / bounded integer member; absent leaves *OUT alone. */
int conf_bool_get(struct conf_ctx *x, const config_setting_t *g,
    const char *key, bool *out);
int conf_uint_get(struct conf_ctx *x, const config_setting_t *g,
    const char *key, unsigned lo, unsigned hi, unsigned *out);

/*
 * Calls FN for each string of S, which may be one string or a list or
 * array of them.  Returns how many there were, or -1 (FN's or a type
 * error).
 */
typedef int (*conf_str_fn)(struct conf_ctx *x, const config_setting_t *elem,
    const char *str, void *arg);
int conf_strings_each(struct conf_ctx *x, const config_setting_t *s,
    conf_str_fn fn, void *arg);

/* conf_geo.c: "ADDR/LEN" (a bare address: one host) into O's af,
 * addr, plen; -1 when malformed.  Whether O has bits past its length. */
int conf_prefix_parse(const char *s, struct geo_override *o);
bool conf_prefix_host_bits(const struct geo_override *o);
/* conf_knock.c: identity.knock.nat, the NAT pairings knocks may cross. */
int conf_knock_nat_load(struct conf_ctx *x, const config_setting_t *s);

/* Runs LOAD on every element of list S (at most MAX WHAT). */
int conf_list_each(struct conf_ctx *x, const config_setting_t *s, unsigned max,
    const char *what, int (*load)(struct conf_ctx *, const config_setting_t *));

/* Port list ("22", "5985-5986", 443 ...) into R[CONF_RANGE_MAX]. */
int conf_ranges_get(struct conf_ctx *x, const config_setting_t *s,
    struct conf_range *r, unsigned *n);
/* Protocol names ("tcp", ["tcp", "udp"], "any" ...) as CONF_P_ bits. */
int conf_protos_get(struct conf_ctx *x, const config_setting_t *s,
    uint8_t allowed, uint8_t *out);

const char *conf_role_name(enum conf_role r);

/* The sections, in the order conf_load runs them. */
int conf_geo_load(struct conf_ctx *x, const config_setting_t *s);
/* conf_class.c: geo.classes and geo.asn_database of geo section G. */
int conf_classes_load(struct conf_ctx *x, const config_setting_t *g);
int conf_regions_load(struct conf_ctx *x, const config_setting_t *s);
/*
 * When S is two letters that ISO 3166-1 does not assign ("XX", "UK"),
 * says so at E, after WHAT, and returns -1; otherwise returns 0.
 */
int conf_cc_unassigned(struct conf_ctx *x, const config_setting_t *e,
    const char *what, const char *s);
int conf_services_load(struct conf_ctx *x, const config_setting_t *s);
int conf_dataplane_load(struct conf_ctx *x, const config_setting_t *s);
int conf_rules_load(struct conf_ctx *x, const config_setting_t *s);
/* conf_tun.c: the tunnels group, its defaults and a rule's `tunnel`. */
void conf_tunnels_defaults(struct conf_tunnels *t);
void conf_evidence_defaults(struct conf_evidence *e);
int conf_evidence_load(struct conf_ctx *x, const config_setting_t *s);
int conf_evidence_check(struct conf_ctx *x, const config_setting_t *rule,
    const struct conf_rule *r);
void conf_evidence_print(const struct conf *c, FILE *f);
int conf_tunnels_load(struct conf_ctx *x, const config_setting_t *s);
void conf_tunnels_print(const struct conf *c, FILE *f);
int conf_rule_tun_load(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r);
void conf_proxies_defaults(struct conf_proxies *p);
int conf_proxies_load(struct conf_ctx *x, const config_setting_t *s);
int conf_service_proxy_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_service *v);
int conf_proxies_check(struct conf_ctx *x, const config_setting_t *root);
void conf_proxies_print(const struct conf *c, FILE *f);
int conf_control_load(struct conf_ctx *x, const config_setting_t *s);
int conf_identity_load(struct conf_ctx *x, const config_setting_t *s);
/* A rule's identity block (conf_idmatch.c), after its services. */
int conf_idmatch_load(struct conf_ctx *x, const config_setting_t *rule,
    struct conf_rule *r);
/* control.logging (conf_logging.c); S NULL: not written. */
int conf_logging_load(struct conf_ctx *x, const config_setting_t *s);
/* control.prometheus (conf_prom.c), called by conf_control_load. */
int conf_prom_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_control *ctl);
void conf_prom_print(const struct conf_control *ctl, FILE *f);

/*
 * backend nftables (conf_nft.c): the top-level "backend" key, a port's
 * "interface", a next hop's "address" / "address6" / "table" /
 * "fwmark", control.host_protection.  Each returns 0 or -1 with an error.
 */
int conf_backend_load(struct conf_ctx *x, const config_setting_t *s);
int conf_nft_port(struct conf_ctx *x, const config_setting_t *e,
    struct conf_port *p);
int conf_nft_nexthop(struct conf_ctx *x, const config_setting_t *e,
    struct conf_nexthop *h);
int conf_nft_host_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_control *ctl);
void conf_nft_print(const struct conf *c, FILE *f);

#endif
