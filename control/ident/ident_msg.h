/*
 * The identity and fetch children's channels (docs/identity.md,
 * "Processes"): message types and payloads.  Every payload is a fixed
 * struct, some followed by a byte tail whose length the struct states;
 * each has a pure decoder (ident_msg.c) that checks every field, so a
 * receiver never acts on a message it has not decoded.
 *
 * identity (no network): parent -> IDENT_T_CONFIG, IDENT_T_KEYS,
 *   IDENT_T_VERIFY (proc_call), IDENT_T_KNOCK; child -> IDENT_T_KEYSTAT,
 *   IDENT_T_VERDICT (VERIFY's answer, same id), IDENT_T_KNOCKED.
 * fetch (network): parent -> IDENT_T_FETCH; child -> IDENT_T_DOC.
 *
 * Host byte order: both ends are the same binary.  Encoders zero the
 * padding, so no stale memory crosses a process boundary.
 */
#ifndef CORDON_IDENT_MSG_H
#define CORDON_IDENT_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/load/conf.h"
#include "config/load/knock_nat.h"
#include "control/proc/proc.h"

enum ident_msg_type {
	IDENT_T_CONFIG = PROC_T_BASE, /* parent -> identity */
	IDENT_T_KEYS,                 /* parent -> identity */
	IDENT_T_VERIFY,               /* parent -> identity (call) */
	IDENT_T_KNOCK,                /* parent -> identity */
	IDENT_T_KEYSTAT,              /* identity -> parent */
	IDENT_T_VERDICT,              /* identity -> parent */
	IDENT_T_KNOCKED,              /* identity -> parent */
	IDENT_T_FETCH,                /* parent -> fetch */
	IDENT_T_DOC,                  /* fetch -> parent */
	IDENT_T_END
};

#define IDENT_ISS_MAX    CONF_ISSUER_MAX
#define IDENT_AUD_MAX    8             /* JOSE_AUD_MAX */
#define IDENT_ALGS_ALL   0x1fu         /* JOSE_ALGS_ALL: five algorithms */
#define IDENT_TOKEN_MAX  65536u        /* bytes of a token to verify */
#define IDENT_CLAIMS_MAX 16384u        /* bytes of a verdict's claims */
#define IDENT_DOC_MAX    (256 * 1024)  /* JOSE_JWKS_MAX */
#define IDENT_CA_MAX     (1024 * 1024) /* a CA bundle sent to fetch */
#define IDENT_DETAIL_MAX 160           /* JOSE_DETAIL_MAX */
#define IDENT_KNOCK_MAX  3800          /* KNOCK_MAX_LEN */
#define IDENT_SVC_MAX    64            /* KNOCK_SERVICE_MAX */
#define IDENT_NONCE_LEN  16            /* KNOCK_NONCE_LEN */
#define IDENT_URL_MAX    512
#define IDENT_ERR_MAX    256

/* One trusted issuer, as jose_verify needs it (no key source). */
struct ident_msg_issuer {
	char name[32];
	char iss[256];
	uint32_t naud;
	char aud[IDENT_AUD_MAX][128];
	uint32_t algs; /* JOSE_ALG_BIT per algorithm; not 0 */
	uint32_t leeway, max_token, max_lifetime;
};

/* IDENT_T_CONFIG: the running revision's issuers and knock settings. */
struct ident_msg_config {
	uint32_t niss;
	uint32_t knock_on; /* 0 or 1 */
	uint32_t knock_max_age, knock_rate_milli, knock_burst;
	uint32_t knock_pop; /* 0 or 1: knocks must carry a PoP */
	uint32_t nnat;
	uint32_t pad;
	struct ident_msg_issuer iss[IDENT_ISS_MAX];
	struct knock_nat nat[KNOCK_NAT_MAX];
};

enum ident_keys_src {
	IDENT_KEYS_FILE, /* the issuer's jwks_file */
	IDENT_KEYS_URI,  /* a fetch of its jwks_uri (or its cache) */
	IDENT_KEYS_SRC_MAX
};

/* IDENT_T_KEYS: a JWKS document for issuer ISSUER (LEN bytes follow;
 * 0: that source has none). */
struct ident_msg_keys {
	uint32_t issuer;
	uint32_t src; /* enum ident_keys_src */
	uint32_t len;
	uint32_t pad;
};

/* IDENT_T_KEYSTAT: what a KEYS document gave (same id). */
struct ident_msg_keystat {
	uint32_t issuer;
	uint32_t src;
	uint32_t nkeys; /* usable keys in the document */
	uint32_t total; /* the issuer's keys now */
	char err[IDENT_ERR_MAX];
};

/* IDENT_T_VERIFY: LEN token bytes follow. */
struct ident_msg_verify {
	int64_t now; /* unix seconds */
	uint32_t len;
	uint32_t pad;
};

/*
 * IDENT_T_VERDICT: jose_verify's outcome.  With RC 0 (JOSE_OK) the
 * token verified: ISSUER, ALG and EXP are set and CLAIMS_LEN bytes of
 * compact JSON follow; otherwise CLAIMS_LEN is 0.
 */
struct ident_msg_verdict {
	int32_t rc; /* enum jose_reason */
	int32_t issuer;
	int32_t alg;
	uint32_t claims_len;
	int64_t exp;
	char detail[IDENT_DETAIL_MAX];
};

/* IDENT_T_KNOCK: one datagram cordon-dp handed over (LEN bytes follow). */
struct ident_msg_knock {
	int64_t now_ms;  /* unix milliseconds */
	int64_t mono_ms; /* a clock that never steps */
	uint8_t af;      /* 4 or 6 */
	uint8_t pad[3];
	uint8_t src[16];
	uint32_t len;
};

/*
 * IDENT_T_KNOCKED: the knock of request ID judged up to the proof of
 * possession (the replay cache is the parent's).  REASON 0 (KNOCK_R_OK):
 * a proposal, V its token's verdict (rc 0) and V.claims_len bytes of
 * claims follow; otherwise a refusal (V.rc the token's reason for
 * token-rejected), nothing follows.
 */
struct ident_msg_knocked {
	int32_t reason;  /* enum knock_reason */
	uint8_t addr_af; /* the address the knock signed (0: unparsed) */
	uint8_t pad[3];
	uint8_t addr[16];
	uint8_t nonce[IDENT_NONCE_LEN];
	int64_t timestamp; /* the knock's own, unix seconds */
	char service[IDENT_SVC_MAX + 1];
	uint8_t pad2[7];
	struct ident_msg_verdict v;
};

/* IDENT_T_FETCH: get jwks_uri URL; CA_LEN bytes of PEM follow (0: the
 * bundle the fetch child read at start). */
struct ident_msg_fetch {
	uint32_t issuer;
	uint32_t timeout_ms; /* 1 .. 60000 */
	uint32_t ca_len;
	uint32_t pad;
	char url[IDENT_URL_MAX];
};

/* IDENT_T_DOC: the body (LEN bytes follow) or, OK 0, why not. */
struct ident_msg_doc {
	uint32_t issuer;
	uint32_t ok; /* 0 or 1 */
	uint32_t len;
	uint32_t pad;
	char err[IDENT_ERR_MAX];
};

/*
 * Decoders: P, LEN the payload.  0 with OUT filled (*TAIL, *TAILLEN the
 * bytes after the struct, pointing into P), or -1 (errno EBADMSG) when
 * any field is out of its range.  Pure: no allocation, no state.
 */
int ident_dec_config(const uint8_t *p, size_t len,
    struct ident_msg_config *out);
int ident_dec_keys(const uint8_t *p, size_t len, struct ident_msg_keys *out,
    const uint8_t **tail);
int ident_dec_keystat(const uint8_t *p, size_t len,
    struct ident_msg_keystat *out);
int ident_dec_verify(const uint8_t *p, size_t len, struct ident_msg_verify *out,
    const uint8_t **tail);
int ident_dec_verdict(const uint8_t *p, size_t len,
    struct ident_msg_verdict *out, const uint8_t **tail);
int ident_dec_knock(const uint8_t *p, size_t len, struct ident_msg_knock *out,
    const uint8_t **tail);
int ident_dec_knocked(const uint8_t *p, size_t len,
    struct ident_msg_knocked *out, const uint8_t **tail);
int ident_dec_fetch(const uint8_t *p, size_t len, struct ident_msg_fetch *out,
    const uint8_t **tail);
int ident_dec_doc(const uint8_t *p, size_t len, struct ident_msg_doc *out,
    const uint8_t **tail);

/*
 * Encoder: HEAD (HLEN bytes) then TAIL (TLEN) into a malloc'd buffer
 * (*OUT; free it), the payload's length, or -1 (ENOMEM, EMSGSIZE).
 */
ssize_t ident_enc(const void *head, size_t hlen, const void *tail, size_t tlen,
    uint8_t **out);

/* 1 when the LEN bytes at S hold a NUL-terminated string (bytes after
 * the NUL must be NUL too: no stale memory, one encoding). */
int ident_str_ok(const char *s, size_t len);

#endif
