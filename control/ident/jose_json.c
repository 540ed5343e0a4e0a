/*
 * The JSON guard: a nesting-depth scan before jansson sees the text (its
 * recursive parser would otherwise walk whatever depth an attacker
 * sends), then a parse that refuses duplicate keys, because two "alg" or
 * two "exp" members would let two readers of one token disagree.
 */
#include "control/ident/jose_int.h"

int
jose_json_depth_ok(const char *s, size_t len, unsigned max)
{
	unsigned depth = 0;
	int in_str = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if ((c == '{' || c == '[') && ++depth > max)
			return -1;
		else if ((c == '}' || c == ']') && depth > 0)
			depth--;
	}
	return 0;
}

json_t *
jose_json_object(const char *s, size_t len, int *reason)
{
	json_error_t e;
	json_t *j;

	if (jose_json_depth_ok(s, len, JOSE_DEPTH_MAX) < 0) {
		*reason = JOSE_TOO_DEEP;
		return NULL;
	}
	j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		*reason = json_error_code(&e) == json_error_duplicate_key
		              ? JOSE_DUP_KEY
		              : JOSE_NOT_OBJECT;
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*reason = JOSE_NOT_OBJECT;
		return NULL;
	}
	*reason = JOSE_OK;
	return j;
}
