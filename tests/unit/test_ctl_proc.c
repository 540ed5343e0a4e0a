/*
 * The control child's clients (control/ctl/ctl_proc*.c) on a real
 * listening socket, its parent played by the test: every client is
 * announced with its fd before its request; a request goes on as
 * compact JSON with its deadline; a reply written whole is DELIVERED
 * and a closed client GONE; invalid, too deep and too long requests are
 * refused by the child itself; the start notice goes out whole or is
 * answered "gone"; a subscriber's lines are bounded and what it lost is
 * told; a message out of turn is refused.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/ctl/ctl_proc.h"
#include "core/util/clock.h"

/* What the child told its "parent": the last messages, in order. */
static struct {
	uint16_t type;
	uint32_t id;
	uint8_t p[512];
	size_t len;
	int fd;
} sent[64];
static unsigned nsent;

static int
fake_send(int fd, uint16_t type, uint32_t id, const void *p, size_t len,
    int passfd)
{
	(void)fd;
	assert_true(nsent < 64);
	sent[nsent].type = type;
	sent[nsent].id = id;
	sent[nsent].len = len;
	memcpy(sent[nsent].p, p, len < 512 ? len : 512);
	sent[nsent].fd = passfd >= 0 ? dup(passfd) : -1;
	nsent++;
	return 0;
}

static struct ctl_proc P;
static char path[108];

static int
setup(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int l;

	(void)state;
	nsent = 0;
	snprintf(path, sizeof(path), "/tmp/test_ctl_proc.%d", (int)getpid());
	unlink(path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(l, 8), 0);
	assert_int_equal(ctl_proc_init(&P, -1, fake_send), 0);
	P.lfd[0] = l;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ctl_proc_free(&P);
	for (unsigned i = 0; i < nsent; i++)
		if (sent[i].fd >= 0)
			close(sent[i].fd);
	unlink(path);
	return 0;
}

/* A few rounds of the child's loop. */
static void
spin(void)
{
	for (int i = 0; i < 4; i++) {
		struct pollfd pfd[CTL_POLL_MAX];
		unsigned n = ctl_proc_poll_fill(&P, pfd);

		(void)poll(pfd, n, 20);
		ctl_proc_poll_done(&P, pfd, n);
		ctl_proc_tick(&P, clk_mono_ms());
	}
}

static int
client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void
frame(int fd, const char *json)
{
	uint32_t be = htonl((uint32_t)strlen(json));

	assert_int_equal(write(fd, &be, 4), 4);
	assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
}

/* One frame from the child, into BUF (NUL-terminated). */
static void
reply(int fd, char *buf, size_t cap)
{
	uint32_t be;
	size_t n;

	assert_int_equal(recv(fd, &be, 4, MSG_WAITALL), 4);
	n = ntohl(be);
	assert_true(n < cap);
	assert_int_equal(recv(fd, buf, n, MSG_WAITALL), (ssize_t)n);
	buf[n] = '\0';
}

static int
find(uint16_t type)
{
	for (unsigned i = 0; i < nsent; i++)
		if (sent[i].type == type)
			return (int)i;
	return -1;
}

/* The parent's message T with payload M, as the child takes it. */
static int
give(uint16_t t, uint32_t id, const uint8_t *m, size_t len)
{
	struct proc_hdr h = { .version = PROC_MSG_VERSION,
		.type = t,
		.id = id,
		.len = (uint32_t)len };

	return ctl_proc_in(&P, &h, m, len, -1);
}

static void
give_reply(uint32_t cid, uint32_t flags, const char *json)
{
	struct ctl_reply r = { .cid = cid,
		.flags = flags,
		.json = json,
		.len = strlen(json) };
	uint8_t m[1024];
	ssize_t n = ctl_enc_reply(&r, m, sizeof(m));

	assert_true(n > 0);
	assert_int_equal(give(CTL_T_REPLY, 0, m, (size_t)n), 0);
}

static void
test_request_reply(void **state)
{
	struct ctl_req r;
	struct ctl_cid c;
	char buf[256];
	int fd = client(), a, q;

	(void)state;
	spin();
	assert_true((a = find(CTL_T_ACCEPTED)) >= 0);
	assert_true(sent[a].fd >= 0); /* its socket goes with it */
	assert_int_equal(ctl_dec_cid(sent[a].p, sent[a].len, &c), 0);
	frame(fd, "{ \"v\": 1, \"cmd\": \"status\", \"deadline_ms\": 77 }");
	spin();
	assert_true((q = find(CTL_T_REQ)) > a);
	assert_int_equal(ctl_dec_req(sent[q].p, sent[q].len, &r), 0);
	assert_int_equal(r.cid, c.cid);
	assert_int_equal(r.deadline_ms, 77);
	assert_memory_equal(r.json, "{\"v\":1,\"cmd\":\"status\"", 21);
	/* The parent has it: a second request waits its turn. */
	frame(fd, "{\"v\":1,\"cmd\":\"show\"}");
	spin();
	assert_int_equal(find(CTL_T_DELIVERED), -1);
	nsent = 0;
	give_reply(c.cid, 0, "{\"v\":1,\"ok\":true}");
	spin();
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"v\":1,\"ok\":true}");
	assert_true(find(CTL_T_DELIVERED) >= 0);
	assert_true(find(CTL_T_REQ) > find(CTL_T_DELIVERED)); /* the next */
	give_reply(c.cid, 0, "{}"); /* the second one's */
	/* A REPLY that does not decode, or to a client with no request
	 * there: refused. */
	assert_int_equal(give(CTL_T_REPLY, 0, (const uint8_t *)"x", 1), -1);
	{
		struct ctl_reply again = { .cid = c.cid,
			.json = "{}",
			.len = 2 };
		uint8_t m[64];
		ssize_t n = ctl_enc_reply(&again, m, sizeof(m));

		assert_int_equal(give(CTL_T_REPLY, 0, m, (size_t)n), -1);
	}
	close(fd);
	spin();
	assert_true(find(CTL_T_GONE) >= 0);
}

static void
test_refused_by_the_child(void **state)
{
	char deep[2 * CTL_JSON_DEPTH + 3] = "";
	const char *const bad[] = { "{\"v\":1,", "{\"v\":1,\"v\":2}", deep };
	char buf[512];

	(void)state;
	for (int i = 0; i <= CTL_JSON_DEPTH; i++) {
		deep[i] = '[';
		deep[2 * CTL_JSON_DEPTH + 1 - i] = ']';
	}
	for (unsigned i = 0; i < 3; i++) {
		int fd = client();

		nsent = 0;
		frame(fd, bad[i]);
		spin();
		reply(fd, buf, sizeof(buf));
		assert_non_null(strstr(buf, "bad-request"));
		assert_non_null(strstr(buf, "invalid JSON"));
		assert_int_equal(find(CTL_T_REQ), -1); /* never the parent's */
		assert_true(find(CTL_T_GONE) >= 0);
		close(fd);
	}
}

static void
test_too_long(void **state)
{
	uint32_t be = htonl(CTL_REQ_MAX + 1);
	char buf[512];
	int fd = client();

	(void)state;
	assert_int_equal(write(fd, &be, 4), 4);
	spin();
	reply(fd, buf, sizeof(buf));
	assert_non_null(strstr(buf, "longer than 1 MiB"));
	assert_int_equal(find(CTL_T_REQ), -1);
	close(fd);
}

static void
test_start_notice(void **state)
{
	struct ctl_started s;
	struct ctl_cid c;
	uint8_t m[4];
	char buf[256];
	int fd = client(), st;

	(void)state;
	spin();
	assert_int_equal(ctl_dec_cid(sent[0].p, sent[0].len, &c), 0);
	/* START with no request there: out of turn. */
	assert_int_equal(ctl_enc_cid(c.cid, m, 4), 4);
	assert_int_equal(give(CTL_T_START, 9, m, 4), -1);
	frame(fd, "{\"v\":1,\"cmd\":\"commit\",\"deadline_ms\":5}");
	spin();
	nsent = 0;
	assert_int_equal(give(CTL_T_START, 9, m, 4), 0);
	assert_true((st = find(CTL_T_STARTED)) >= 0);
	assert_int_equal(sent[st].id, 9); /* the call's id */
	assert_int_equal(ctl_dec_started(sent[st].p, sent[st].len, &s), 0);
	assert_int_equal(s.ok, 1);
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"v\":1,\"started\":true}");
	/* A client that shut its reading side cannot take it: gone. */
	shutdown(fd, SHUT_RD);
	nsent = 0;
	assert_int_equal(give(CTL_T_START, 10, m, 4), 0);
	assert_int_equal(ctl_dec_started(sent[0].p, sent[0].len, &s), 0);
	assert_int_equal(s.ok, 0);
	/* An unknown client: gone too, not an error. */
	assert_int_equal(ctl_enc_cid(999, m, 4), 4);
	nsent = 0;
	assert_int_equal(give(CTL_T_START, 11, m, 4), 0);
	assert_int_equal(ctl_dec_started(sent[0].p, sent[0].len, &s), 0);
	assert_int_equal(s.ok, 0);
	close(fd);
}

static void
test_monitor_queue(void **state)
{
	const char *line = "{\"type\":\"event\",\"pad\":\"xxxxxxxxxxxxxxxx"
	                   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n";
	struct ctl_mon l = { .line = line, .len = strlen(line) };
	struct ctl_client *cl;
	struct ctl_cid c;
	uint8_t m[256];
	char buf[256];
	int fd = client();
	ssize_t n;

	(void)state;
	spin();
	assert_int_equal(ctl_dec_cid(sent[0].p, sent[0].len, &c), 0);
	/* MON to a client that did not subscribe: out of turn. */
	l.cid = c.cid;
	n = ctl_enc_mon(&l, m, sizeof(m));
	assert_int_equal(give(CTL_T_MON, 0, m, (size_t)n), -1);
	frame(fd, "{\"v\":1,\"cmd\":\"monitor\"}");
	spin();
	give_reply(c.cid, CTL_REPLY_MONITOR, "{\"v\":1,\"ok\":true}");
	cl = ctl_proc_find(&P, c.cid);
	/* Nobody reads: the queue stays bounded, the rest is counted. */
	for (unsigned i = 0; i < 4000; i++)
		assert_int_equal(give(CTL_T_MON, 0, m, (size_t)n), 0);
	assert_true(cl->outlen - cl->outoff <= CTL_MON_QUEUE + 64);
	assert_true(cl->lost_queue > 0);
	l.lost = 3;
	l.len = 0;
	n = ctl_enc_mon(&l, m, sizeof(m));
	assert_int_equal(give(CTL_T_MON, 0, m, (size_t)n), 0);
	assert_int_equal(cl->lost_rate, 3);
	spin();
	reply(fd, buf, sizeof(buf));
	assert_string_equal(buf, "{\"v\":1,\"ok\":true}");
	/* Drained, it is told what it lost. */
	for (int i = 0; i < 200 && (cl->lost_queue || cl->lost_rate); i++) {
		char sink[65536];

		(void)recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		spin();
	}
	assert_int_equal(cl->lost_queue + cl->lost_rate, 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_reply, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_by_the_child,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_notice, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_monitor_queue, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
