/*
 * Verify templates.  Set up per token, an EVP_DigestVerifyInit under
 * OpenSSL 3 fetches the signature and digest implementations, looks up
 * the key's provider export and builds two contexts: about 3 us of a
 * 15 us RS256 check, the largest part of what jose_verify added to
 * OpenSSL's own verification (docs/benchmarks.md, "Token verification").
 * So each key gets, when its set is built, one initialised EVP_MD_CTX per
 * algorithm it may verify, and a token's check works on a copy of it.
 * A template is only ever read, so a set stays safe to share between
 * readers; a key without one (an allocation failed) is checked the slow
 * way, with the same result.
 */
#include <openssl/err.h>

#include "control/ident/jose_int.h"

void
jose_key_prepare(struct jose_key *k)
{
	EVP_MD_CTX *m;
	int a;

	for (a = 0; a < JOSE_ALG_MAX; a++) {
		k->vctx[a] = NULL;
		if (!jose_alg_fits_key((enum jose_alg)a, k->pkey))
			continue;
		k->fits |= JOSE_ALG_BIT(a);
		if (k->alg != JOSE_ALG_MAX && k->alg != a)
			continue;
		if ((m = EVP_MD_CTX_new()) != NULL &&
		    jose_evp_init(m, k->pkey, (enum jose_alg)a) == 0)
			k->vctx[a] = m;
		else
			EVP_MD_CTX_free(m);
	}
	ERR_clear_error();
}

/* K was copied from a key of another set: its templates become its own. */
void
jose_key_copied(struct jose_key *k)
{
	EVP_MD_CTX *m;
	int a;

	for (a = 0; a < JOSE_ALG_MAX; a++) {
		if (k->vctx[a] == NULL)
			continue;
		if ((m = EVP_MD_CTX_new()) != NULL &&
		    EVP_MD_CTX_copy_ex(m, k->vctx[a]) == 1) {
			k->vctx[a] = m;
		} else {
			EVP_MD_CTX_free(m);
			k->vctx[a] = NULL;
		}
	}
	ERR_clear_error();
}

void
jose_key_release(struct jose_key *k)
{
	int a;

	for (a = 0; a < JOSE_ALG_MAX; a++)
		EVP_MD_CTX_free(k->vctx[a]);
	EVP_PKEY_free(k->pkey);
}
