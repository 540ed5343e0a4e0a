/* Token bucket of the packet records (sl_rate.h). */
#include "core/slog/sl_rate.h"

void
sl_bucket_init(struct sl_bucket *b, unsigned rate, int64_t now_ms)
{
	b->rate = rate;
	b->tokens = rate;
	b->last_ms = now_ms;
}

bool
sl_bucket_take(struct sl_bucket *b, int64_t now_ms)
{
	if (now_ms > b->last_ms)
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
	b->last_ms = now_ms;
	if (b->tokens > b->rate)
		b->tokens = b->rate;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}
