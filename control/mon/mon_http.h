/*
 * The Prometheus listener's HTTP side (control.prometheus.listen): a
 * minimal HTTP/1.0 and 1.1 responder over a listening socket it was
 * given.  Non-blocking, one buffer per client, requests of at most
 * MON_HTTP_REQ_MAX bytes that must arrive within MON_HTTP_TIMEOUT_MS,
 * one response per connection (Connection: close).  Only GET (and HEAD)
 * /metrics answer 200; their text is asked for (ASK) and comes back
 * later (mon_http_answer), so that the process that parses HTTP need
 * not be the one that knows the metrics.
 */
#ifndef CORDON_MON_HTTP_H
#define CORDON_MON_HTTP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#define MON_HTTP_CLIENT_MAX 16 /* scrapes at once */
#define MON_HTTP_PFD_MAX    (1 + MON_HTTP_CLIENT_MAX)
#define MON_HTTP_REQ_MAX    8192 /* request line and headers */
#define MON_HTTP_TIMEOUT_MS 5000 /* to receive, to be answered, to send */

struct mon_http;

/*
 * A scrape wants the text: ask for it under ID (never 0) and answer with
 * mon_http_answer (at once or later).  -1: cannot ask (the scrape gets
 * 503).
 */
typedef int (*mon_http_ask_fn)(void *arg, uint32_t id);

/* Takes LFD (closed by mon_http_free).  NULL: out of memory. */
struct mon_http *mon_http_new(int lfd, mon_http_ask_fn ask, void *arg);
void mon_http_free(struct mon_http *h);
/* The scrape ID's answer: STATUS 200 with TEXT (LEN bytes), or 500/503
 * (TEXT NULL).  An ID no scrape waits for (gone, timed out): ignored. */
void mon_http_answer(struct mon_http *h, uint32_t id, int status,
    const char *text, size_t len);
/* Every waiting scrape gets STATUS (the metrics will not come). */
void mon_http_answer_all(struct mon_http *h, int status);

unsigned mon_http_poll_fill(struct mon_http *h, struct pollfd *pfd);
void mon_http_poll_done(struct mon_http *h, const struct pollfd *pfd,
    unsigned n);
/* The earlier of T and its next deadline (monotonic ms). */
int64_t mon_http_deadline(const struct mon_http *h, int64_t t);

#endif
