"""Knocks and a compromised identity child (issue 15): what cordond
checks of a knock it must not take from the child.

A network namespace of the test's own holds cordond, its cordon-dp (the
outside port a net_af_packet on one end of a veth pair) and the client
(the other end).  The identity child is taken over (tests/lib/fakechild.py)
and answers the knocks itself: cordond must read the nonce, timestamp,
address and service from the datagram it handed over, refuse a replay
whatever the child reports, kill a child that answers a knock nobody
asked about, and keep the rate limit and the knocks lost while the child
is down on its own side.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_attack15_knock.py
"""
import json
import os
import signal
import socket
import struct
import subprocess
import time

import pytest
from jwcrypto import jwk

import cordonrig
import fakechild
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, EAL, control_conf,
                       wait_for)
from test_sock_faults import CONF as SOCKF_CONF, ISS

US, SRV, PORT = "192.0.2.10", "192.0.2.100", 47470
PROC_T_PING, PROC_T_PONG = 3, 4
IDENT_T_KNOCK = fakechild.PROC_T_BASE + 3
IDENT_T_KNOCKED = fakechild.PROC_T_BASE + 6
JOSE_ALG_ES256 = 2
KNOCKED = struct.Struct("=iB3x16s16sq65s7x")  # struct ident_msg_knocked
VERDICT = struct.Struct("=iiiIq160s")          # struct ident_msg_verdict

# test_sock_faults' configuration with a knock port, its dataplane replaced.
SESSIONS = "    sessions = { capacity = 64; max_ttl = 3600; per_subject = 16; };\n"
assert SESSIONS in SOCKF_CONF
CONF = SOCKF_CONF[:SOCKF_CONF.index("dataplane: {")].replace(
    SESSIONS, SESSIONS + """    knock = { port = 47470; proof = false; rate = %(rate)d;
              burst = %(burst)d; };
""") + """dataplane: {
    ports = (
        { name = "outside0"; device = "net_af_packet0";
          devargs = "net_af_packet0,iface=%(ns)sd"; role = "outside";
          peer = "inside0"; },
        { name = "inside0"; device = "net_null0"; role = "inside";
          peer = "outside0"; }
    );
    eal = [ """ + EAL + """, "--log-level", "lib.eal:error",
            "--vdev=net_null0,no-rx=1" ];
    mbufs = 4096;
};
""" + control_conf()


class Rig:
    """Namespace NS: veth NSd (cordon-dp's) and NSc (the client, US)."""

    def __init__(self, rate, burst):
        self.ns = "ck%d" % os.getpid()
        self.cd = cordonrig.Cordond(prefix="cordon-knk-")
        self.cd.fail = staticmethod(pytest.fail)
        pub = json.loads(jwk.JWK.generate(kty="EC", crv="P-256",
                                          kid="k1").export_public())
        pub["alg"] = "ES256"
        with open(self.cd.dir + "/jwks.json", "w") as f:
            json.dump({"keys": [pub]}, f)
        self.cd.write_conf(CONF, ns=self.ns, iss=ISS, rate=rate,
                           burst=burst)

    def ip(self, *a):
        subprocess.run(("ip", "-n", self.ns) + a, check=True)

    def start(self):
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        d, c = self.ns + "d", self.ns + "c"
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", d, "type", "veth", "peer", "name", c)
        for dev in (d, c):
            self.ip("link", "set", dev, "up")
            subprocess.run(["ip", "netns", "exec", self.ns, "ethtool", "-K",
                            dev, "tx", "off", "rx", "off"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        self.ip("addr", "add", US + "/24", "dev", c)
        self.ip("neigh", "add", SRV, "lladdr", "02:00:00:00:00:64", "dev", c)
        self.cd.spawn(wrap=("ip", "netns", "exec", self.ns))
        self.cd.wait_dp_up(timeout=60)
        self.ident_ready()
        return self

    def stop(self):
        self.cd.stop(dp_signal=signal.SIGINT)
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)

    def cleanup(self):
        self.cd.cleanup()

    def ident(self):
        ps = self.cd.once("status")["processes"]
        return [p for p in ps if p["name"] == "identity"][0]

    def ident_ready(self):
        return wait_for("identity ready", lambda: self.ident()["ready"],
                        timeout=15, fail=pytest.fail)

    def send(self, *datagrams):
        """DATAGRAMS from US to the knock port, through cordon-dp (which
        passes one knock per source every 100 ms: 120 ms apart)."""
        code = ("import socket,sys,time\n"
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "s.bind((%r,0))\n"
                "for h in sys.argv[1:]:\n"
                "    s.sendto(bytes.fromhex(h),(%r,%d))\n"
                "    time.sleep(0.12)\n" % (US, SRV, PORT))
        subprocess.run(["ip", "netns", "exec", self.ns, "/usr/bin/python3",
                        "-c", code] + [d.hex() for d in datagrams],
                       check=True)

    def knocks(self):
        return self.cd.once("counters").get("knocks", {})


def knock(ts=None, nonce=None, service=b"ssh", token=b"a.b.c"):
    """A version 2 knock without PoP from US (docs/knock.md)."""
    ts = int(time.time()) if ts is None else ts
    nonce = os.urandom(16) if nonce is None else nonce
    addr = socket.inet_aton(US) + bytes(12)
    return (b"CDK1" + bytes([2, 0, len(service), 4]) +
            struct.pack(">Q", ts) + nonce + addr +
            struct.pack(">H", len(token)) + service + token)


def proposal(dgram, nonce=None, ts=None):
    """The KNOCKED of a child proposing DGRAM's session (a valid-looking
    verdict of issuer corp), reporting NONCE and TS if given instead of
    the datagram's own."""
    now = int(time.time())
    claims = json.dumps({"iss": ISS, "aud": "cordon", "sub": "eve",
                         "ctry": "US", "exp": now + 600},
                        separators=(",", ":")).encode()
    return KNOCKED.pack(0, 4, dgram[32:48], nonce or dgram[16:32],
                        ts if ts is not None else
                        struct.unpack(">Q", dgram[8:16])[0],
                        dgram[50:50 + dgram[6]]) + \
        VERDICT.pack(0, 0, JOSE_ALG_ES256, len(claims), now + 600, b"") + \
        claims


def next_knock(fc):
    """The id of the next KNOCK cordond hands the taken-over child."""
    deadline = time.time() + 10
    while time.time() < deadline:
        m = fc.recv(deadline - time.time())
        assert m is not None, "no KNOCK reached the identity child"
        if m[0] == IDENT_T_KNOCK:
            return m[1]
        if m[0] == PROC_T_PING:  # alive, as the real child answers
            fc.send(PROC_T_PONG, mid=m[1])
    pytest.fail("no KNOCK reached the identity child")


def knock_ids(fc, quiet=3):
    """The ids of the KNOCKs cordond hands the taken-over child until
    none comes for QUIET s (pings answered meanwhile)."""
    ids, last = [], time.monotonic()
    while time.monotonic() - last < quiet:
        m = fc.recv(0.5)
        if m is None:
            continue
        if m[0] == IDENT_T_KNOCK:
            ids.append(m[1])
            last = time.monotonic()
        elif m[0] == PROC_T_PING:
            fc.send(PROC_T_PONG, mid=m[1])
    return ids


def killed(fc):
    got = fc.drain(timeout=2)
    return bool(got) and got[-1] is None


def rig_of(rate=100, burst=100):
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    return cordonrig.running(Rig(rate, burst))


@pytest.fixture
def rig():
    yield from rig_of()


@pytest.fixture
def slow_rig():
    yield from rig_of(rate=1, burst=3)


def test_replay_refused_whatever_the_child_reports(rig):
    """Regression: the nonce and time the replay cache and age check use
    came from the child's answer, so a taken-over child reporting fresh
    ones for a replayed knock opened a second session.  Now cordond
    reads them from the datagram: the replay is refused, counted, and a
    child whose account differs from the datagram is killed."""
    k = knock()
    fc = fakechild.FakeChild(rig.cd.proc.pid, "identity")
    try:
        rig.send(k)
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=next_knock(fc))
        wait_for("the first knock accepted",
                 lambda: rig.knocks().get("ok") == 1, timeout=5,
                 fail=pytest.fail)
        # The very datagram again: an honest account is a replay.
        rig.send(k)
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=next_knock(fc))
        wait_for("the replay refused",
                 lambda: rig.knocks().get("replay") == 1, timeout=5,
                 fail=pytest.fail)
        assert not killed(fc)
        refused = rig.ident()["refused"]
        # Again, the child now reporting a fresh nonce and time.
        rig.send(k)
        fc.send(IDENT_T_KNOCKED, proposal(k, nonce=os.urandom(16),
                                          ts=int(time.time()) + 1),
                mid=next_knock(fc))
        assert killed(fc), "a child lying about the nonce was kept"
    finally:
        fc.close()
    assert rig.knocks().get("ok") == 1, rig.knocks()
    wait_for("counted refused", lambda: rig.ident()["refused"] > refused,
             timeout=5, fail=pytest.fail)
    ss = rig.cd.once("session-list")["sessions"]
    assert len(ss) == 1, ss


def test_child_service_and_time_must_be_the_datagrams(rig):
    """A child reporting another time (a stale knock made fresh) for a
    knock is killed before anything is granted."""
    k = knock(ts=int(time.time()) - 3600)
    fc = fakechild.FakeChild(rig.cd.proc.pid, "identity")
    try:
        rig.send(k)
        fc.send(IDENT_T_KNOCKED, proposal(k, ts=int(time.time())),
                mid=next_knock(fc))
        assert killed(fc)
    finally:
        fc.close()
    assert rig.knocks().get("ok", 0) == 0, rig.knocks()
    assert rig.cd.once("session-list")["sessions"] == []


def test_answer_for_an_unknown_knock_kills(rig):
    """Regression: a KNOCKED for a request id cordond never sent was
    ignored; it is a protocol violation now (killed, counted refused)."""
    refused = rig.ident()["refused"]
    fc = fakechild.FakeChild(rig.cd.proc.pid, "identity")
    try:
        k = knock()
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=0x80000000 | 0x7654321)
        assert killed(fc), "an answer nobody asked for was ignored"
    finally:
        fc.close()
    wait_for("counted refused", lambda: rig.ident()["refused"] > refused,
             timeout=5, fail=pytest.fail)


def test_late_answer_to_a_given_up_knock_tolerated_once(rig):
    """cordond waits for 64 knocks at most; an older one is given up.
    Its late answer is no lie (ignored, child kept); a second answer to
    it is (killed)."""
    fc = fakechild.FakeChild(rig.cd.proc.pid, "identity")
    try:
        # cordon-dp may drop one (10 a second per source, timed as it
        # reads them): send some more, and count what came.
        rig.send(*[knock() for _ in range(70)])
        ids = knock_ids(fc)
        assert len(ids) >= 65, len(ids)
        # Regression (atk18): a knock given up was lost uncounted.
        assert rig.knocks().get("given-up") == len(ids) - 64, rig.knocks()
        k = knock()
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=ids[0])
        assert not killed(fc), "a late answer killed the child"
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=ids[0])
        assert killed(fc), "a second answer to one knock was ignored"
    finally:
        fc.close()
    assert rig.knocks().get("ok", 0) == 0, rig.knocks()


def test_rate_limit_survives_identity_restart(slow_rig):
    """Regression: the buckets lived in the identity child, so one who
    can crash it got a fresh budget (burst 3: three more knocks judged
    after each crash).  cordond keeps them: the bucket emptied before the
    crash stays empty after it, refilled only by the rate (1 a second)."""
    rig = slow_rig
    t0 = time.monotonic()
    rig.send(*[knock(token=b"x") for _ in range(3)])
    wait_for("three knocks judged",
             lambda: sum(rig.knocks().values()) >= 3, timeout=5,
             fail=pytest.fail)
    pid = rig.ident()["pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for("identity restarted",
             lambda: rig.ident()["pid"] not in (0, pid) and
             rig.ident()["ready"], timeout=15, fail=pytest.fail)
    t1 = time.monotonic()
    rig.send(*[knock(token=b"x") for _ in range(8)])
    elapsed = time.monotonic() - t0
    wait_for("eleven knocks judged",
             lambda: sum(rig.knocks().values()) >= 11, timeout=5,
             fail=pytest.fail)
    if t1 - t0 >= 1.5:
        pytest.skip("the restart took %.1f s: refills blur it" % (t1 - t0))
    # A fresh bucket would pass 3 more than the refills since t0 do.
    limited = rig.knocks().get("rate-limited", 0)
    assert limited >= 8 - int(elapsed) - 1, (elapsed, rig.knocks())


def test_knocks_while_identity_is_down_counted(rig):
    """Regression: knocks that came while the identity child restarted
    were dropped uncounted; now `identity-down`."""
    for _ in range(6):  # each crash doubles the wait before a restart
        pid = wait_for("identity running",
                       lambda: rig.ident()["pid"] or None, timeout=40,
                       fail=pytest.fail)
        os.kill(pid, signal.SIGKILL)
        wait_for("identity gone", lambda: rig.ident()["pid"] != pid,
                 timeout=5, fail=pytest.fail)
    rig.send(knock(), knock())
    wait_for("counted identity-down",
             lambda: rig.knocks().get("identity-down", 0) >= 1, timeout=5,
             fail=pytest.fail)
    # The one set of counters: Prometheus names it too.
    out = subprocess.run([CORDONCTL, "-s", rig.cd.sock, "show", "counters",
                          "prometheus"], capture_output=True, text=True,
                         check=True).stdout
    assert 'cordon_knocks_total{result="identity-down"}' in out, out


# -- answers nobody asked for, from every child ------------------------------

CTL_T_DELIVERED = fakechild.PROC_T_BASE + 3
MON_T_STATS = fakechild.PROC_T_BASE + 7


@pytest.fixture
def cd():
    from test_procs import Daemon
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    yield from cordonrig.running(Daemon())


def refused_for(cd, name, mtype, payload, mid):
    """NAME's child taken over sends one MTYPE: whether it was killed
    and counted refused."""
    p = [p for p in cd.ready_procs() if p["name"] == name][0]
    fc = fakechild.FakeChild(cd.proc.pid, name)
    try:
        fc.send(mtype, payload, mid=mid)
        gone = killed(fc)
    finally:
        fc.close()
    if gone:
        wait_for("%s counted refused" % name, lambda: [
            q for q in cd.procs() if q["name"] == name and
            q["refused"] > p["refused"]], timeout=5, fail=pytest.fail)
    return gone


def test_knocked_without_knocks_kills(cd):
    """Regression: with no knock port no KNOCK is ever sent, yet a
    KNOCKED was ignored; it is a protocol violation now."""
    assert refused_for(cd, "identity", IDENT_T_KNOCKED,
                       proposal(knock()), 0x80000001)


def test_ctl_delivered_for_an_unknown_client_kills(cd):
    """DELIVERED for a client cordond never accepted (the parent gives no
    client up on its own: only the child's GONE or its death release
    one, so no answer is ever legitimately late)."""
    assert refused_for(cd, "control", CTL_T_DELIVERED,
                       struct.pack("=I", 0x1234), 0)


def test_mon_stats_answering_no_flush_kills(cd):
    """STATS with an id answers a FLUSH, taken by proc_call (which kills a
    child that does not answer in time): one outside it was never
    asked for."""
    assert refused_for(cd, "monitoring", MON_T_STATS, bytes(8), 77)


def test_rate_limit_follows_a_commit(slow_rig, tmp_path):
    """The bucket is cordond's now, so it must follow the running
    revision as the child's did: a commit raising knock.burst lets the
    next knocks through."""
    rig = slow_rig
    rig.send(*[knock(token=b"x") for _ in range(5)])
    wait_for("five knocks judged",
             lambda: sum(rig.knocks().values()) >= 5, timeout=5,
             fail=pytest.fail)
    limited = rig.knocks().get("rate-limited", 0)
    assert limited >= 1, rig.knocks()
    f = str(tmp_path / "knock.conf")
    with open(f, "w") as fh:
        fh.write("identity: { knock = { port = 47470; proof = false; "
                 "rate = 1; burst = 50; }; };\n")
    for args in (("load", "merge", f), ("commit",)):
        subprocess.run([CORDONCTL, "-s", rig.cd.sock] + list(args),
                       check=True, capture_output=True)
    rig.send(*[knock(token=b"x") for _ in range(5)])
    wait_for("ten knocks judged",
             lambda: sum(rig.knocks().values()) >= 10, timeout=5,
             fail=pytest.fail)
    assert rig.knocks().get("rate-limited", 0) == limited, rig.knocks()


def commit_knock(rig, tmp_path, max_age):
    """A commit of the knock group with MAX_AGE."""
    f = str(tmp_path / ("knock%d.conf" % max_age))
    with open(f, "w") as fh:
        fh.write("identity: { knock = { port = 47470; proof = false; "
                 "rate = 100; burst = 100; max_age = %d; }; };\n" % max_age)
    for args in (("load", "merge", f), ("commit",)):
        subprocess.run([CORDONCTL, "-s", rig.cd.sock] + list(args),
                       check=True, capture_output=True)


def idle(fc, secs):
    """SECS s of a taken-over child that only answers pings."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        m = fc.recv(min(0.5, max(0.01, end - time.monotonic())))
        if m is not None and m[0] == PROC_T_PING:
            fc.send(PROC_T_PONG, mid=m[1])


def test_replay_after_max_age_raised(rig, tmp_path):
    """Regression (atk18): the replay cache kept a nonce until timestamp
    + max_age + leeway with the max_age of the moment, and forgot it
    then.  A commit raising knock.max_age made the same knock fresh
    again, and its nonce was no longer remembered: a captured knock
    opened a second session.  The cache now keeps a nonce for the
    largest max_age a configuration may set."""
    commit_knock(rig, tmp_path, 1)
    k = knock()
    ts = struct.unpack(">Q", k[8:16])[0]
    fc = fakechild.FakeChild(rig.cd.proc.pid, "identity")
    try:
        rig.send(k)
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=next_knock(fc))
        wait_for("the knock accepted",
                 lambda: rig.knocks().get("ok") == 1, timeout=5,
                 fail=pytest.fail)
        # Past ts + max_age (1) + leeway (30): the old entry's expiry.
        idle(fc, ts + 1 + 30 + 2 - time.time())
        commit_knock(rig, tmp_path, 600)
        rig.send(k)
        fc.send(IDENT_T_KNOCKED, proposal(k), mid=next_knock(fc))
        wait_for("the replay judged",
                 lambda: rig.knocks().get("ok", 0) +
                 rig.knocks().get("replay", 0) >= 2, timeout=5,
                 fail=pytest.fail)
    finally:
        fc.close()
    assert rig.knocks().get("ok") == 1, rig.knocks()
    assert rig.knocks().get("replay") == 1, rig.knocks()


US2 = "192.0.2.11"


def knock_from(src):
    """knock() signed for SRC."""
    k = knock()
    return k[:32] + socket.inet_aton(src) + bytes(12) + k[48:]


def send_from(rig, src, dgram):
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "s.bind((%r,0))\n"
            "s.sendto(bytes.fromhex(sys.argv[1]),(%r,%d))\n" % (src, SRV, PORT))
    subprocess.run(["ip", "netns", "exec", rig.ns, "/usr/bin/python3", "-c",
                    code, dgram.hex()], check=True)


def test_answers_swapped_between_sources_kill(rig):
    """A taken-over child answers the knock of one source with the
    account of another source's pending knock (each a true account of
    some datagram): cordond binds the answer to its request's datagram,
    so this is a lie (killed), and no session opens for either."""
    rig.ip("addr", "add", US2 + "/24", "dev", rig.ns + "c")
    k1, k2 = knock_from(US), knock_from(US2)
    fc = fakechild.FakeChild(rig.cd.proc.pid, "identity")
    try:
        send_from(rig, US, k1)
        id1 = next_knock(fc)
        send_from(rig, US2, k2)
        next_knock(fc)
        fc.send(IDENT_T_KNOCKED, proposal(k2), mid=id1)
        assert killed(fc), "an answer for another datagram was taken"
    finally:
        fc.close()
    assert rig.knocks().get("ok", 0) == 0, rig.knocks()
    assert rig.cd.once("session-list")["sessions"] == []
