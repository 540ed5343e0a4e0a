/*
 * The knock: one UDP datagram that hands an engineer's signed token to
 * the appliance and asks for a time-limited management path from the
 * datagram's source address (docs/knock.md has the format byte by byte).
 *
 * Layers, each usable on its own:
 *   knock_parse / knock_build  pure functions over bytes (knock_wire.c),
 *                              no allocation, fuzzed (tests/fuzz/fuzz_knock.c)
 *   knock_pop_sign / _verify   the proof-of-possession signature (OpenSSL EVP)
 *   knock_replay_*             nonce cache that survives restarts
 *   knock_rate_*               token bucket per source address
 *   knock_check / knock_finish the order the daemon applies them in, with
 *                              one counter per reason
 * Nothing here ever produces a reply: a bad knock is counted and dropped.
 */
#ifndef CORDON_KNOCK_H
#define CORDON_KNOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "config/load/knock_nat.h"

struct json_t; /* jansson's json_t */

#define KNOCK_MAGIC "CDK1"
/* 2: the sender's address is signed; version 1 knocks are refused. */
#define KNOCK_VERSION   2
#define KNOCK_FLAG_POP  0x01 /* a PoP block follows */
#define KNOCK_NONCE_LEN 16
#define KNOCK_HDR_LEN   50 /* fixed part, before the service */

#define KNOCK_SIG_HDR_LEN 3 /* alg u8, signature length u16 */
/* The whole datagram; it fits one channel message (DPC_KNOCK_MAX). */
#define KNOCK_MAX_LEN     3800
#define KNOCK_SERVICE_MAX 64 /* bytes of the service name */
/* The largest knock.max_age a configuration may set (conf_ident.c): how
 * long the replay cache keeps a nonce, whatever max_age runs now. */
#define KNOCK_MAX_AGE_LIMIT 600
#define KNOCK_SIG_MAX       1024 /* an 8192-bit RSA signature */
#define KNOCK_PORT_DEFAULT  47470

/* Algorithm numbers on the wire: the same as enum jose_alg (jose.h). */
#define KNOCK_ALG_RS256 0
#define KNOCK_ALG_PS256 1
#define KNOCK_ALG_ES256 2
#define KNOCK_ALG_ES384 3
#define KNOCK_ALG_EDDSA 4
#define KNOCK_ALG_MAX   5    /* also: the key names no algorithm */
#define KNOCK_ALG_ANY   (-1) /* knock_pop_verify: any the key fits */

/*
 * Why a knock was refused (or "ok").  Stable names: the daemon's counters,
 * logs and docs/knock.md use them.
 */
#define KNOCK_REASONS(X)                                                       \
	X(OK, "ok")                                                            \
	X(SIZE, "bad-size")                                                    \
	X(RATE, "rate-limited")                                                \
	X(TRUNC, "truncated")                                                  \
	X(MAGIC, "bad-magic")                                                  \
	X(VERSION, "bad-version")                                              \
	X(FLAGS, "bad-flags")                                                  \
	X(ADDR, "bad-address")                                                 \
	X(SERVICE, "bad-service")                                              \
	X(TOKEN, "bad-token-bytes")                                            \
	X(SIG_ALG, "bad-sig-alg")                                              \
	X(SIG_LEN, "bad-sig-length")                                           \
	X(TRAILING, "trailing-bytes")                                          \
	X(STALE, "stale")                                                      \
	X(FUTURE, "future")                                                    \
	X(ADDR_MISMATCH, "address-mismatch")                                   \
	X(TOKEN_REJECTED, "token-rejected")                                    \
	X(POP_MISSING, "pop-missing")                                          \
	X(POP_NO_KEY, "pop-without-cnf")                                       \
	X(POP_BAD, "pop-bad")                                                  \
	X(CNF_KEY, "cnf-key-unusable")                                         \
	X(REPLAY, "replay")                                                    \
	X(REPLAY_FULL, "replay-cache-full")                                    \
	X(REPLAY_IO, "replay-cache-io")                                        \
	X(IDENT_DOWN, "identity-down")                                         \
	X(GIVEN_UP, "given-up")

#define KNOCK_REASON_ENUM(id, name) KNOCK_R_##id,
enum knock_reason { KNOCK_REASONS(KNOCK_REASON_ENUM) KNOCK_R_MAX };
#undef KNOCK_REASON_ENUM
/* The reasons from the replay cache on are cordond's alone: an identity
 * child never reports one (ident_dec_knocked refuses them). */
#define KNOCK_R_CHILD_MAX KNOCK_R_REPLAY

/* A parsed knock.  Pointers point into the parsed buffer. */
struct knock_msg {
	uint8_t version;
	uint8_t flags;
	int64_t timestamp; /* unix seconds (u64 on the wire) */
	uint8_t nonce[KNOCK_NONCE_LEN];
	uint8_t addr_af;              /* 4 or 6: the address the sender */
	uint8_t addr[KNOCK_ADDR_LEN]; /* signed as its own */
	const char *service;          /* not NUL-terminated */
	size_t service_len;
	const char *token; /* compact JWS, not NUL-terminated */
	size_t token_len;
	int sig_alg; /* KNOCK_ALG_*, -1 without PoP */
	const uint8_t *sig;
	size_t sig_len;
	const uint8_t *signed_part; /* what the signature covers */
	size_t signed_len;
	int64_t rx_ms; /* arrival, set by knock_check */
};

/* Stable kebab-case name of a knock_reason; "unknown" if out of range. */
const char *knock_reason_name(int r);
/* "RS256", ... for a KNOCK_ALG_*; NULL if out of range. */
const char *knock_alg_name(int alg);

/*
 * Parses the LEN bytes at BUF into M (pointers into BUF; no allocation).
 * Returns KNOCK_R_OK or the first defect found, checking every length
 * against the buffer before reading.  Does not look at the timestamp.
 */
int knock_parse(const uint8_t *buf, size_t len, struct knock_msg *m);

/*
 * What cordond reads of a datagram itself, so that the identity child
 * cannot tell it another nonce, time, address or service than the
 * datagram's (docs/knock.md, "What cordond reads itself").
 */
struct knock_fixed {
	int64_t timestamp;
	uint8_t nonce[KNOCK_NONCE_LEN];
	uint8_t addr_af;
	uint8_t addr[KNOCK_ADDR_LEN];
	char service[KNOCK_SERVICE_MAX + 1]; /* NUL-terminated */
};

/*
 * Reads the fixed fields of the LEN bytes at BUF into OUT: magic,
 * version, the timestamp, nonce and address at their offsets and the
 * service its length byte counts.  Not a parser: no other field is
 * judged (knock_parse does that, in the identity child).  0, or -1
 * (errno EBADMSG) when BUF is too short or not a version 2 knock.
 * Pure; fuzzed alongside knock_parse.
 */
int knock_fixed_read(const uint8_t *buf, size_t len, struct knock_fixed *out);

/*
 * Writes the knock described by M (version is always KNOCK_VERSION) into
 * BUF of CAP bytes.  With KNOCK_FLAG_POP set and sig_len 0 only the signed
 * part is written, for knock_pop_sign to complete.  Returns the length
 * written, or -1 (errno EINVAL for a field out of range, ENOSPC).
 */
int knock_build(uint8_t *buf, size_t cap, const struct knock_msg *m);

/*
 * Signs the LEN-byte signed part at BUF (built with KNOCK_FLAG_POP) with
 * the private KEY as algorithm ALG and appends the signature block.
 * Returns the knock's new length or -1 (EINVAL: key does not fit ALG;
 * ENOSPC: over CAP or KNOCK_MAX_LEN; EIO: OpenSSL failed).
 */
int knock_pop_sign(uint8_t *buf, size_t cap, size_t len, EVP_PKEY *key,
    int alg);

/*
 * Checks M's signature with the public KEY.  ALG is the algorithm the key
 * is bound to (from the token's cnf.jwk, as jose_jwk_to_pkey returns it),
 * or KNOCK_ALG_ANY or KNOCK_ALG_MAX (== JOSE_ALG_MAX: the JWK names none);
 * the knock's own algorithm must equal it and fit the key's type, curve
 * and size.  Returns 0 if valid, -1 otherwise.
 */
int knock_pop_verify(const struct knock_msg *m, EVP_PKEY *key, int alg);

/* The algorithm a private or public key signs with (RSA: RS256); -1. */
int knock_alg_for_key(EVP_PKEY *key);

/* ---- replay cache (knock_replay.c) ---- */

struct knock_replay;

enum knock_replay_result {
	KNOCK_REPLAY_OK,    /* unseen; now recorded (and on disk) */
	KNOCK_REPLAY_SEEN,  /* a fresh entry holds this nonce */
	KNOCK_REPLAY_FULL,  /* capacity fresh entries: refused */
	KNOCK_REPLAY_IOERR, /* could not persist it: refused */
};

struct knock_replay_stats {
	uint64_t loaded;      /* fresh records read at open */
	uint64_t expired;     /* records dropped at open as expired */
	uint64_t corrupt;     /* records failing their checksum */
	uint64_t torn;        /* bytes of a partial last record */
	uint64_t full;        /* refusals because the cache was full */
	uint64_t compactions; /* file rewrites */
	uint64_t io_errors;
};

/*
 * Opens (creating) the cache file PATH, keeping at least CAPACITY fresh
 * nonces; NULL PATH keeps the cache in memory only.  Expired and corrupt
 * records are dropped and the file rewritten compacted.  NOW is unix
 * seconds.  NULL on failure with a message in ERR.
 */
struct knock_replay *knock_replay_open(const char *path, size_t capacity,
    int64_t now, char *err, size_t errlen);
/*
 * Records NONCE until EXPIRES (unix seconds) unless it is already held by
 * an entry that has not expired at NOW.  The record reaches the disk
 * (fdatasync) before KNOCK_REPLAY_OK is returned.
 */
int knock_replay_check_and_add(struct knock_replay *r,
    const uint8_t nonce[KNOCK_NONCE_LEN], int64_t expires, int64_t now);
/* Entries not expired at NOW. */
size_t knock_replay_count(struct knock_replay *r, int64_t now);
const struct knock_replay_stats *knock_replay_stats(
    const struct knock_replay *r);
void knock_replay_close(struct knock_replay *r);

/* ---- per-source rate limit (knock_rate.c) ---- */

struct knock_rate;

/*
 * A table of SLOTS sources, each with a token bucket of BURST knocks
 * refilled at RATE_MILLI / 1000 knocks per second.  The least recently
 * seen source is evicted when the table is full.  IPv6 sources are keyed
 * by their /64.  NULL on a zero argument or ENOMEM.
 */
struct knock_rate *knock_rate_new(size_t slots, uint32_t rate_milli,
    uint32_t burst);
/* Takes one knock from the bucket of (AF, ADDR); false when empty. */
bool knock_rate_allow(struct knock_rate *r, int af, const uint8_t addr[16],
    int64_t now_ms);
size_t knock_rate_count(const struct knock_rate *r);
void knock_rate_free(struct knock_rate *r);

/* SipHash-2-4 of P (N bytes) under KEY: hashes attacker-chosen keys. */
uint64_t knock_siphash(const uint8_t key[16], const void *p, size_t n);

/* ---- the daemon's entry points (knock_check.c) ---- */

struct knock_conf {
	uint32_t max_age;         /* seconds a knock stays valid */
	uint32_t leeway;          /* seconds a knock may come from the future */
	uint32_t rate_milli;      /* knocks per 1000 s per source */
	uint32_t burst;           /* knocks a quiet source may send at once */
	uint32_t rate_slots;      /* sources the rate table tracks */
	uint32_t replay_capacity; /* fresh nonces the cache holds */
	const char *replay_path;  /* NULL: in memory only (tests) */
	const struct knock_nat *nat; /* NNAT pairings; none: exact match */
	uint32_t nnat;
};

struct knock_ctx {
	struct knock_conf conf;
	struct knock_rate *rate;
	struct knock_replay *replay;
	uint64_t counters[KNOCK_R_MAX]; /* one per reason, "ok" = accepted */
};

/* Sets CONF's defaults for every zero field (docs/knock.md). */
void knock_conf_defaults(struct knock_conf *c);
/* NOW is unix seconds.  Returns 0, or -1 with a message in ERR. */
int knock_ctx_init(struct knock_ctx *k, const struct knock_conf *c, int64_t now,
    char *err, size_t errlen);
void knock_ctx_fini(struct knock_ctx *k);

/*
 * First half: size, rate limit of SRC (AF 4 or 6; IPv4 in the first four
 * bytes) on MONO_MS (a clock that never steps: a wall-clock step must
 * neither stall nor refill the buckets), parse, timestamp against NOW_MS
 * (unix milliseconds: the knock's own time is a wall-clock one), then the
 * signed address against SRC (equal, or a configured NAT pairing; the
 * PoP signature checked later covers it).  Returns
 * KNOCK_R_OK with OUT filled (pointers into BUF) when the caller should
 * now verify OUT->token; any other reason is already counted.
 */
int knock_check(struct knock_ctx *k, const uint8_t *buf, size_t len, int af,
    const uint8_t src[16], int64_t now_ms, int64_t mono_ms,
    struct knock_msg *out);

/*
 * Second half, after the token verified: the PoP signature against the
 * token's cnf key (NULL when the token binds none; ALG as for
 * knock_pop_verify), then the replay cache, last, so only authenticated
 * knocks ever enter it.  Returns KNOCK_R_OK (counted as accepted) or the
 * counted reason.  BUF must still hold the knock M points into.
 */
int knock_finish(struct knock_ctx *k, const struct knock_msg *m,
    EVP_PKEY *cnf_key, int alg, bool pop_required);

/*
 * knock_finish with the token's cnf.jwk (a JSON object, or NULL when the
 * token binds no key) imported by jose_jwk_to_pkey; a JWK that cannot be
 * imported refuses the knock (KNOCK_R_CNF_KEY).
 */
int knock_finish_jwk(struct knock_ctx *k, const struct knock_msg *m,
    struct json_t *cnf_jwk, bool pop_required);

/*
 * The two halves of knock_finish on their own, counting nothing: the
 * identity child judges the proof of possession (knock_finish_pop, or
 * knock_pop_jwk with the token's cnf.jwk), the parent the replay cache
 * (knock_replay_judge: the nonce of a knock signed at TIMESTAMP, at unix
 * second NOW), so a restarted child cannot replay a knock.
 */
int knock_finish_pop(const struct knock_msg *m, EVP_PKEY *cnf_key, int alg,
    bool pop_required);
int knock_pop_jwk(const struct knock_msg *m, struct json_t *cnf_jwk,
    bool pop_required);
int knock_replay_judge(struct knock_ctx *k,
    const uint8_t nonce[KNOCK_NONCE_LEN], int64_t timestamp, int64_t now);

/* Whether (AF, ADDR) lies in P. */
bool knock_pfx_has(const struct knock_pfx *p, int af, const uint8_t *addr);

/* Counts a refusal decided by the caller (e.g. KNOCK_R_TOKEN_REJECTED). */
void knock_count(struct knock_ctx *k, int reason);

#endif
