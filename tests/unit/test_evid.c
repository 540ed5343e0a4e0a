/*
 * Evidence captures (core/evid): the workers' flow table keeps the first
 * packets of each flow and refuses new flows when full; the pcap writer
 * writes whole records, rotates on size and count, starts a new file on
 * every run, and survives a full disk (injected, and a real tmpfs in a
 * private mount namespace when root): it stops, says so once, cuts off
 * what did not go out whole, and resumes when space returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/evid/evid_pcap.h"

#define NS 1000000000ull

static uint8_t mem[1 << 16];

static struct evid_table *
table(unsigned flows, unsigned packets, uint64_t idle)
{
	assert_true(evid_table_size(flows) <= sizeof(mem));
	return evid_table_init(mem, flows, packets, idle, 42);
}

static void
test_first_packets(void **st)
{
	struct evid_table *t = table(64, 3, 100);
	unsigned slot;

	(void)st;
	assert_int_equal(evid_table_take(t, 7, 0, &slot), EVID_FIRST);
	assert_int_equal(evid_table_take(t, 7, 1, &slot), EVID_NEXT);
	assert_int_equal(evid_table_take(t, 7, 2, &slot), EVID_NEXT);
	for (int i = 0; i < 10; i++)
		assert_int_equal(evid_table_take(t, 7, 3, &slot), EVID_SKIP);
	/* Another flow has its own count. */
	assert_int_equal(evid_table_take(t, 8, 3, &slot), EVID_FIRST);
	/* Quiet past the idle time: a new flow again. */
	assert_int_equal(evid_table_take(t, 7, 200, &slot), EVID_FIRST);
}

static void
test_full(void **st)
{
	struct evid_table *t = table(16, 2, 100);
	unsigned slot, full = 0, first = 0;

	(void)st;
	for (uint64_t k = 1; k <= 200; k++) {
		enum evid_take r = evid_table_take(t, k * 0x10001, 5, &slot);

		full += r == EVID_FULL;
		first += r == EVID_FIRST;
	}
	assert_int_equal(first, 16);
	assert_int_equal(full, 200 - 16);
	assert_int_equal(evid_table_used(t, 5), 16);
	/* A full table still counts its own flows. */
	assert_int_equal(evid_table_take(t, 0x10001, 6, &slot), EVID_NEXT);
	/* Once they are quiet, new flows get in. */
	assert_int_equal(evid_table_take(t, 999999, 500, &slot), EVID_FIRST);
}

static void
test_undo(void **st)
{
	struct evid_table *t = table(16, 2, 100);
	unsigned slot;

	(void)st;
	assert_int_equal(evid_table_take(t, 5, 0, &slot), EVID_FIRST);
	evid_table_undo(t, slot, EVID_FIRST);
	assert_int_equal(evid_table_used(t, 0), 0);
	assert_int_equal(evid_table_take(t, 5, 0, &slot), EVID_FIRST);
	assert_int_equal(evid_table_take(t, 5, 0, &slot), EVID_NEXT);
	evid_table_undo(t, slot, EVID_NEXT);
	assert_int_equal(evid_table_take(t, 5, 0, &slot), EVID_NEXT);
	assert_int_equal(evid_table_take(t, 5, 0, &slot), EVID_SKIP);
}

static void
test_flow_key(void **st)
{
	struct evid_table *t = table(16, 2, 100);
	struct pkt_meta a, b;

	(void)st;
	memset(&a, 0, sizeof(a));
	a.af = 4;
	a.l4proto = 6;
	a.src4 = 0xc0000201;
	a.dst4 = 0xc6336401;
	a.sport = 40000;
	a.dport = 22;
	b = a;
	assert_true(evid_flow_key(t, &a) == evid_flow_key(t, &b));
	assert_true(evid_flow_key(t, &a) != 0);
	b.sport = 40001;
	assert_true(evid_flow_key(t, &a) != evid_flow_key(t, &b));
	b = a;
	b.af = 6;
	assert_true(evid_flow_key(t, &a) != evid_flow_key(t, &b));
	assert_null(evid_table_init(mem, 8, 2, 1, 1));
	assert_null(evid_table_init(mem, 16, 0, 1, 1));
}

/* ---- the writer ---- */

static char dir[64];
static unsigned evs[4];

static void
on_event(void *arg, enum evid_event ev, const char *file, int err)
{
	(void)arg;
	(void)file;
	(void)err;
	evs[ev]++;
}

static int
setup_dir(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/cordon-evid-XXXXXX");
	assert_non_null(mkdtemp(dir));
	memset(evs, 0, sizeof(evs));
	return 0;
}

static int
teardown_dir(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
writer(struct evid_writer *w, uint64_t size, unsigned files, unsigned snap)
{
	struct evid_conf c;

	memset(&c, 0, sizeof(c));
	snprintf(c.dir, sizeof(c.dir), "%s/ev", dir);
	c.file_size = size;
	c.files = files;
	c.rotate_age = 3600;
	c.snaplen = snap;
	assert_int_equal(evid_writer_init(w, &c, on_event, NULL), 0);
}

static struct evid_file list[64];

static int
scan(void)
{
	char d[80];

	snprintf(d, sizeof(d), "%s/ev", dir);
	return evid_scan(d, list, 64);
}

static uint8_t pkt[1500];

static void
test_write_snaplen(void **st)
{
	static struct evid_writer w;
	uint8_t h[40];
	char path[256];
	int fd;

	(void)st;
	writer(&w, 1 << 20, 4, 64);
	for (int i = 0; i < 3; i++)
		assert_int_equal(evid_writer_put(&w, 1000 * NS + i * 1000, pkt,
		                     sizeof(pkt), sizeof(pkt)),
		    0);
	evid_writer_close(&w);
	assert_int_equal(scan(), 1);
	assert_int_equal(list[0].packets, 3);
	assert_false(list[0].torn);
	assert_int_equal(list[0].size, 24 + 3 * (16 + 64));
	assert_int_equal(list[0].first_ns, 1000 * NS);
	assert_int_equal(list[0].last_ns, 1000 * NS + 2000);
	/* The header's snap length, and the first record's lengths. */
	snprintf(path, sizeof(path), "%s/ev/%s", dir, list[0].name);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(read(fd, h, sizeof(h)), sizeof(h));
	close(fd);
	assert_int_equal(h[16], 64);
	assert_int_equal(h[24 + 8], 64);                      /* incl_len */
	assert_int_equal(h[24 + 12] | h[24 + 13] << 8, 1500); /* orig_len */
	assert_int_equal(evs[EVID_EV_OPENED], 1);
}

static void
test_rotate_and_prune(void **st)
{
	static struct evid_writer w;

	(void)st;
	/* Room for two records a file; three files kept. */
	writer(&w, 24 + 2 * (16 + 64), 3, 64);
	for (int i = 0; i < 10; i++)
		assert_int_equal(evid_writer_put(&w, (2000 + i) * NS, pkt, 64,
		                     64),
		    0);
	evid_writer_close(&w);
	assert_int_equal(w.opened, 5);
	assert_int_equal(w.removed, 2);
	assert_int_equal(evs[EVID_EV_REMOVED], 2);
	assert_int_equal(scan(), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(list[i].packets, 2);
	/* Oldest first: the kept ones are the last written. */
	assert_int_equal(list[2].last_ns, 2009 * NS);
}

static void
test_new_file_per_run(void **st)
{
	static struct evid_writer w;

	(void)st;
	writer(&w, 1 << 20, 8, 64);
	assert_int_equal(evid_writer_put(&w, 3000 * NS, pkt, 64, 64), 0);
	evid_writer_close(&w);
	writer(&w, 1 << 20, 8, 64); /* a restart, in the same second */
	assert_int_equal(evid_writer_put(&w, 3000 * NS, pkt, 64, 64), 0);
	evid_writer_close(&w);
	assert_int_equal(scan(), 2);
	assert_int_equal(list[0].packets, 1);
	assert_int_equal(list[1].packets, 1);
}

/* A torn last record (kill -9 inside a write): read up to it. */
static void
test_torn(void **st)
{
	static struct evid_writer w;
	uint8_t torn[30];
	char path[256];
	int fd;

	(void)st;
	writer(&w, 1 << 20, 8, 64);
	assert_int_equal(evid_writer_put(&w, 4000 * NS, pkt, 64, 64), 0);
	assert_int_equal(evid_writer_put(&w, 4000 * NS, pkt, 64, 64), 0);
	evid_writer_close(&w);
	snprintf(path, sizeof(path), "%s/ev/%s", dir, w.name);
	assert_true((fd = open(path, O_WRONLY | O_APPEND)) >= 0);
	memset(torn, 0, sizeof(torn));
	torn[8] = torn[12] = 64; /* a record of 64 bytes, 14 of them there */
	assert_int_equal(write(fd, torn, sizeof(torn)), sizeof(torn));
	close(fd);
	assert_int_equal(scan(), 1);
	assert_int_equal(list[0].packets, 2);
	assert_true(list[0].torn);
}

/* write(2) that fails from the Nth call on: short, then ENOSPC. */
static int wcalls, wfail_at, wfail_until;

static ssize_t
flaky_write(int fd, const void *p, size_t n)
{
	int c = ++wcalls;

	if (c < wfail_at || c >= wfail_until)
		return write(fd, p, n);
	if (c == wfail_at)
		return write(fd, p,
		    n / 2); /* half of it, then the disk is full */
	errno = ENOSPC;
	return -1;
}

static void
test_disk_full_injected(void **st)
{
	static struct evid_writer w;
	uint64_t t = 5000;

	(void)st;
	writer(&w, 1 << 20, 8, 64);
	w.write = flaky_write;
	wcalls = 0;
	wfail_at = 4;    /* header, two records, then short */
	wfail_until = 6; /* and one ENOSPC */
	assert_int_equal(evid_writer_put(&w, t * NS, pkt, 64, 64), 0);
	assert_int_equal(evid_writer_put(&w, t * NS, pkt, 64, 64), 0);
	assert_int_equal(evid_writer_put(&w, t * NS, pkt, 64, 64), -1);
	assert_int_equal(evs[EVID_EV_FAILED], 1);
	/* Tried again, fails again: no second alarm. */
	assert_int_equal(evid_writer_put(&w, t * NS, pkt, 64, 64), -1);
	assert_int_equal(wcalls, 5);
	assert_int_equal(evs[EVID_EV_FAILED], 1);
	/* Space is back: the very next record goes out, the same second. */
	assert_int_equal(evid_writer_put(&w, t * NS, pkt, 64, 64), 0);
	assert_int_equal(evs[EVID_EV_RESUMED], 1);
	assert_int_equal(w.lost, 2);
	assert_int_equal(w.written, 3);
	evid_writer_close(&w);
	/* The half record was cut off: the file reads whole. */
	assert_int_equal(scan(), 1);
	assert_int_equal(list[0].packets, 3);
	assert_false(list[0].torn);
	assert_int_equal(list[0].size, 24 + 3 * (16 + 64));
}

/* A real full disk: a 64 KiB tmpfs in a mount namespace of our own. */
static void
test_disk_full_tmpfs(void **st)
{
	static struct evid_writer w;
	char d[80], filler[256];
	int fd, lost = 0, ok = 0;

	(void)st;
	snprintf(d, sizeof(d), "%s/ev", dir);
	if (geteuid() != 0 || unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		skip();
		return;
	}
	assert_int_equal(mkdir(d, 0750), 0);
	assert_int_equal(mount("tmpfs", d, "tmpfs", 0, "size=64k"), 0);
	writer(&w, 1 << 20, 8, 1024);
	/* 64 KiB at ~1 KiB a record: the disk fills up. */
	for (int i = 0; i < 100; i++) {
		if (evid_writer_put(&w, (6000 + i) * NS, pkt, 1024, 1024) == 0)
			ok++;
		else
			lost++;
	}
	assert_true(ok > 0 && lost > 0);
	assert_int_equal(evs[EVID_EV_FAILED], 1);
	/* What is there reads whole. */
	assert_int_equal(scan(), 1);
	assert_int_equal(list[0].packets, (uint64_t)ok);
	assert_false(list[0].torn);
	/* Room again: a new file can take records. */
	snprintf(filler, sizeof(filler), "%s/%s", d, w.name);
	evid_writer_close(&w);
	assert_int_equal(unlink(filler), 0);
	writer(&w, 1 << 20, 8, 1024);
	w.failing = true; /* as the running writer was */
	assert_true(
	    (fd = evid_writer_put(&w, 7000 * NS, pkt, 1024, 1024)) == 0);
	assert_int_equal(evs[EVID_EV_RESUMED], 1);
	evid_writer_close(&w);
	umount2(d, MNT_DETACH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_packets),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_undo),
		cmocka_unit_test(test_flow_key),
		cmocka_unit_test_setup_teardown(test_write_snaplen, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_rotate_and_prune,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_new_file_per_run,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_torn, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_disk_full_injected,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_disk_full_tmpfs, setup_dir,
		    teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
