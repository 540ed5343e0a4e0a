/*
 * The identity and fetch children's run functions (ident_proc.c,
 * fetch_proc.c), and the identity child's state and handlers on their
 * own, for the unit tests and tests/fuzz/fuzz_ident_child.c.
 */
#ifndef CORDON_IDENT_PROC_H
#define CORDON_IDENT_PROC_H

#include <stdbool.h>

#include "control/ident/ident_msg.h"
#include "control/ident/jose.h"
#include "control/ident/knock.h"

struct ident_state {
	struct jose_issuer iss[IDENT_ISS_MAX]; /* keys: both sources */
	unsigned niss;
	/* Each issuer's keys by source (enum ident_keys_src). */
	struct jose_keyset *keys[IDENT_ISS_MAX][IDENT_KEYS_SRC_MAX];
	bool knock_on;
	bool pop;               /* knocks must carry a PoP */
	struct knock_ctx knock; /* rate and form; no replay cache */
	struct knock_nat nat[KNOCK_NAT_MAX];
};

/* The children's mains after exec (proc_def.run). */
int ident_proc_run(int fd);
int fetch_proc_run(int fd);

/*
 * A child's loop after the sandbox (identity and fetch): each message of
 * the parent on FD to FN, until the parent closes the channel (0) or FN
 * says the child must end (1).
 */
typedef int (
    *ident_handler_fn)(int fd, const struct proc_hdr *h, const uint8_t *p);
int ident_chan_loop(int fd, ident_handler_fn fn);
/* A child's answer: HEAD (HLEN bytes) then TAIL (TLEN) as one message;
 * a child that cannot send it ends. */
void ident_reply(int fd, uint16_t type, uint32_t id, const void *head,
    size_t hlen, const void *tail, size_t tlen);
/* One decoded-or-not message from the parent (H checked by proc_recv):
 * answers on FD; -1 when the child must end. */
int ident_dispatch(int fd, const struct proc_hdr *h, const uint8_t *p);

void ident_state_clear(struct ident_state *s);
int ident_config(struct ident_state *s, const struct ident_msg_config *c);
int ident_keys(struct ident_state *s, const struct ident_msg_keys *k,
    const uint8_t *doc, struct ident_msg_keystat *st);
int ident_verify(struct ident_state *s, const char *tok, size_t len,
    int64_t now, struct ident_msg_verdict *v, char **claims, json_t **cnf);
int ident_knock(struct ident_state *s, const struct ident_msg_knock *k,
    const uint8_t *data, struct ident_msg_knocked *o, char **claims);

#endif
