/*
 * Two hash chains over the grants, by source address and by subject, so
 * that granting (same-source supersede, per-subject quota) costs the
 * same at a million sessions as at ten.  Chained through the grants'
 * ident slots; keyed SipHash, since sources and subjects are chosen by
 * whoever sends tokens.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "control/daemon/cordond.h"
#include "control/ident/knock.h"

int
cd_idx_init(struct cd_sessions *s)
{
	uint32_t n = 1;

	while (n < s->cap)
		n <<= 1;
	s->hmask = n - 1;
	if (RAND_bytes(s->hkey, sizeof(s->hkey)) != 1 ||
	    (s->src_head = malloc(n * sizeof(uint32_t))) == NULL ||
	    (s->sub_head = malloc(n * sizeof(uint32_t))) == NULL)
		return -1;
	memset(s->src_head, 0xff, n * sizeof(uint32_t));
	memset(s->sub_head, 0xff, n * sizeof(uint32_t));
	return 0;
}

void
cd_idx_free(struct cd_sessions *s)
{
	free(s->src_head);
	free(s->sub_head);
	s->src_head = s->sub_head = NULL;
}

static uint32_t
cd_idx_hsrc(const struct cd_sessions *s, const uint8_t *addr, uint8_t af)
{
	uint8_t k[17];

	k[0] = af;
	memcpy(k + 1, addr, 16);
	return (uint32_t)knock_siphash(s->hkey, k, sizeof(k)) & s->hmask;
}

static uint32_t
cd_idx_hsub(const struct cd_sessions *s, const char *iss, const char *sub)
{
	char k[32 + 128 + 1];
	size_t n = strlen(iss);

	memcpy(k, iss, n);
	k[n] = '\0';
	snprintf(k + n + 1, sizeof(k) - n - 1, "%s", sub);
	return (uint32_t)knock_siphash(s->hkey, k, n + 1 + strlen(k + n + 1)) &
	       s->hmask;
}

void
cd_idx_link(struct cd_sessions *s, struct cd_grant *g)
{
	uint32_t a = cd_idx_hsrc(s, g->addr, g->af);
	uint32_t b = cd_idx_hsub(s, g->iss_name, g->sub);

	g->src_next = s->src_head[a];
	s->src_head[a] = g->ident;
	g->sub_next = s->sub_head[b];
	s->sub_head[b] = g->ident;
}

/* Takes G out of the chain at *HEAD linked through member OFF. */
static void
cd_idx_cut(struct cd_sessions *s, uint32_t *head, struct cd_grant *g,
    size_t off)
{
	uint32_t *link = head;

	while (*link != CD_IDX_END) {
		struct cd_grant *c = s->g[*link];

		if (c == g) {
			*link = *(uint32_t *)((char *)g + off);
			return;
		}
		link = (uint32_t *)((char *)c + off);
	}
}

void
cd_idx_unlink(struct cd_sessions *s, struct cd_grant *g)
{
	cd_idx_cut(s, &s->src_head[cd_idx_hsrc(s, g->addr, g->af)], g,
	    offsetof(struct cd_grant, src_next));
	cd_idx_cut(s, &s->sub_head[cd_idx_hsub(s, g->iss_name, g->sub)], g,
	    offsetof(struct cd_grant, sub_next));
}

struct cd_grant *
cd_idx_src(const struct cd_sessions *s, const uint8_t *addr, uint8_t af)
{
	uint32_t i = s->src_head[cd_idx_hsrc(s, addr, af)];

	return i == CD_IDX_END ? NULL : s->g[i];
}

struct cd_grant *
cd_idx_sub(const struct cd_sessions *s, const char *iss, const char *sub)
{
	uint32_t i = s->sub_head[cd_idx_hsub(s, iss, sub)];

	return i == CD_IDX_END ? NULL : s->g[i];
}

struct cd_grant *
cd_idx_next(const struct cd_sessions *s, uint32_t i)
{
	return i == CD_IDX_END ? NULL : s->g[i];
}
