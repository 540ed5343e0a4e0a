"""cordond's children killed under traffic (issue 15): kill -9 of each
child cordond runs (`show status`'s processes: identity, fetch, and
control and monitoring where built) while cordon-dp judges endless
traffic, some of it allowed only by an identity session.

For each child: not one packet gets a verdict the policy does not give
(the counters by rule and action only grow as the policy says; no
default, no reject, no session lost), an admin command issued meanwhile
gets a true answer or an error, never a false ok; the sessions granted
before are still listed and still enforced; and within 2 s the child is
back (a new pid, ready, `starts` counted, alarm process-restarted
raised).  Also: the identity child stopped (SIGSTOP) during a session
add: the admin gets an error within the call's timeout, cordond answers
other commands, kills the stopped child and starts another.

The rig is tests/ctl/test_commit_traffic.py's: the outside port a
net_pcap device replaying a capture forever, the inside port a net_null
sink.  The capture cycles four sources:

    192.0.2.33   US  ssh   a session holds it: rule "us-allow" (allow)
    192.0.2.34   US  ssh   no session: the gate drops it ("no-session")
    198.51.100.7 CN  rdp   rule "cn-rdp-drop"
    203.0.113.9  RU  rdp   rule "ru-rdp-drop"

The default is `reject`: nothing in the capture can reach it.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_child_kill.py
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from jwcrypto import jwk, jwt

from cordonrig import (CORDON_DP, http_get, CORDONCTL, CORDOND, SERVICES_SSH_RDP,
                       Cordond, control_conf, free_port, geo_conf,
                       need_binaries,
                       pcap_dataplane, pcap_write, pid_alive, running, syn,
                       wait_for)

ISS = "https://idp.test"
SESS_SRC, NOSESS_SRC, CN_SRC, RU_SRC, SRV = (
    "192.0.2.33", "192.0.2.34", "198.51.100.7", "203.0.113.9", "192.0.2.80")
BACK_S = 2.0            # a killed child is back within

CONF = geo_conf() + SERVICES_SSH_RDP + """rules = (
    { name = "us-allow"; src = "US"; direction = "in"; action = "allow"; },
    { name = "cn-rdp-drop"; src = "CN"; services = "rdp"; direction = "in";
      action = "drop"; },
    { name = "ru-rdp-drop"; src = "RU"; services = "rdp"; direction = "in";
      action = "drop"; }
);
default = { action = "reject"; };
identity: {
    issuers = ( { name = "corp"; issuer = "%(iss)s"; audience = [ "cordon" ];
        jwks = "%(dir)s/jwks.json"; algorithms = [ "ES256" ]; } );
    services = [ "ssh" ];
    unidentified = { action = "drop"; };
    sessions = { capacity = 256; max_ttl = 3600; per_subject = 64; };
};
""" + pcap_dataplane(",infinite_rx=1") + control_conf("""\
    dp_args = [ "--stats-file", "%(dir)s/stats/stats.json" ];
    prometheus = { listen = "127.0.0.1:%(prom)d"; };
""")

def frames():
    """Four SYNs per source, the four sources interleaved."""
    return [syn(src, SRV, dport, 40000 + i) for i in range(4)
            for src, dport in ((SESS_SRC, 22), (NOSESS_SRC, 22),
                               (CN_SRC, 3389), (RU_SRC, 3389))]


class Rig(Cordond):
    """cordond (own folder) with an issuer whose key this rig holds, and
    a cordon-dp that sees endless traffic."""

    def __init__(self, conf=CONF, prefix="cordon-chaos-"):
        super().__init__(prefix=prefix)
        self.pcap = self.dir + "/in.pcap"
        pcap_write(self.pcap, frames())
        self.stats_file = self.dir + "/stats/stats.json"
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        pub = json.loads(self.key.export_public())
        pub["alg"] = "ES256"
        with open(self.dir + "/jwks.json", "w") as f:
            json.dump({"keys": [pub]}, f)
        self.prom = free_port(socket.SOCK_STREAM)
        self.write_conf(conf, pcap=self.pcap, iss=ISS, prom=self.prom)
        self.n = 0

    def start(self):
        self.spawn("-d", "--test-timers")
        self.wait_dp_up(timeout=60)
        wait_for("every child ready", self.all_ready, timeout=10)
        return self

    def all_ready(self):
        try:
            ps = self.once("status")["processes"]
        except (OSError, AssertionError):
            return None
        return ps if ps and all(p["ready"] and p["pid"] for p in ps) \
            else None

    def token(self, sub):
        now = int(time.time())
        t = jwt.JWT(header={"alg": "ES256", "kid": "k1"},
                    claims={"iss": ISS, "aud": "cordon", "sub": sub,
                            "iat": now - 60, "exp": now + 1800})
        t.make_signed_token(self.key)
        return t.serialize()

    def add(self, src):
        """A session add for a new subject at SRC: the whole reply."""
        self.n += 1
        return self.req("session-add", token=self.token("user%d" % self.n),
                        src=src)

    def sessions(self):
        return {s["id"]: s for s in self.once("session-list")["sessions"]}

    def procs(self):
        return procs(self)

    def alarms(self):
        return self.once("alarm-list")

    def counters(self):
        return self.once("counters")

    def scrape(self, timeout=3.0):
        """(HTTP status, body) of one GET /metrics; (0, b"") when the
        connection failed."""
        return http_get("127.0.0.1", self.prom, timeout=timeout)

    def ctl(self, *args, timeout=30):
        return subprocess.run([CORDONCTL, "-s", self.sock, *args],
                              capture_output=True, text=True,
                              timeout=timeout)

    def stop(self):
        """cordond, then its cordon-dp with SIGINT (its final counters
        land in the stats file): that file's JSON, or None."""
        if not super().stop(dp_signal=signal.SIGINT):
            return None
        try:
            with open(self.stats_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


# --- what the policy allows -------------------------------------------------

# A counters snapshot is read while the worker counts: rows taken a few
# bursts apart.  A session missing for one millisecond costs hundreds.
SKEW = 256


def check_clean(c, where):
    """What the policy never does, in one snapshot: these counters never
    move, whatever happens to cordond's children."""
    acts = c["actions"]
    assert acts.get("reject", 0) == 0, (where, acts)
    assert acts.get("reroute", 0) == 0, (where, acts)
    nonzero = {k for k, v in c["reasons"].items() if v}
    assert nonzero <= {"rule", "no-session"}, (where, c["reasons"])
    for row in c["countries"]:
        assert row["country"] in ("US", "CN", "RU"), (where, row)
        if row["country"] != "US":  # (a snapshot: rows read apart)
            assert abs(row["denied"] - row["packets"]) <= SKEW, (where, row)


def tally(c):
    """What each source got, from the live counters: the session's
    source (allowed), the one without (the gate's no-session), CN, RU."""
    cc = {r["country"]: r for r in c["countries"]}
    return {"allow": c["actions"]["allow"],
            "no-session": c["reasons"]["no-session"],
            "CN": cc.get("CN", {}).get("denied", 0),
            "RU": cc.get("RU", {}).get("denied", 0)}


def check_between(c0, c1, where):
    """From snapshot C0 to C1 each source was judged as the policy says,
    in equal numbers: the session's source allowed, the one without a
    session dropped by the gate, CN and RU by their rules.  The deltas;
    traffic must have flowed."""
    check_clean(c1, where)
    t0, t1 = tally(c0), tally(c1)
    d = {k: t1[k] - t0[k] for k in t0}
    us = {r["country"]: r for r in c1["countries"]}["US"]
    assert abs(us["denied"] - t1["no-session"]) <= SKEW, (where, us, t1)
    lo, hi = min(d.values()), max(d.values())
    assert lo > 1000, ("traffic stopped", where, d)
    assert hi - lo <= SKEW, ("verdicts changed", where, d)
    return d


# --- admins meanwhile -------------------------------------------------------

class Admin(threading.Thread):
    """Issues admin commands back to back until stopped, each on a
    connection of its own, and keeps what each got: session adds for new
    sources (their replies), `cordonctl -j show status`, counters."""

    def __init__(self, rig, srcs):
        super().__init__(daemon=True)
        self.rig, self.srcs = rig, list(srcs)
        self.halt = threading.Event()
        self.adds = []          # (src, reply or None: no reply)
        self.status = []        # (rc, stdout, stderr)
        self.counts = []        # counters data, or None
        self.scrapes = []       # (HTTP status, body)
        self.fault = None

    def run(self):
        try:
            while not self.halt.is_set() and self.srcs:
                self.once()
        except Exception as e:          # noqa: BLE001  (reported)
            self.fault = e

    def once(self):
        src = self.srcs.pop(0)
        try:
            self.adds.append((src, self.rig.add(src)))
        except (OSError, ValueError):
            self.adds.append((src, None))
        r = self.rig.ctl("-j", "show", "status", timeout=20)
        self.status.append((r.returncode, r.stdout, r.stderr))
        try:
            self.counts.append(self.rig.req("counters"))
        except (OSError, ValueError):
            self.counts.append(None)
        self.scrapes.append(self.rig.scrape())

    def finish(self):
        self.halt.set()
        self.join(60)
        assert not self.is_alive(), "an admin command hangs"
        assert self.fault is None, self.fault

    def check(self, sessions, where):
        """Every answer true: an ok add is a listed session, a refused
        one opened none; an ok status is a whole status; ok counters are
        clean.  The number of errors."""
        by_src = {s["src"]: s for s in sessions.values()}
        errors = 0
        for src, r in self.adds:
            if r is None:
                errors += 1     # no reply: the add may or may not be done
            elif r.get("ok"):
                assert src in by_src, (where, "false ok", src, r)
                assert by_src[src]["id"] == r["data"]["id"], (where, r)
            else:
                errors += 1
                assert src not in by_src, (where, "refused but open", r)
        for rc, out, err in self.status:
            if rc == 0:
                st = json.loads(out)
                assert st["running_revision"] >= 1, (where, st)
                assert {p["name"] for p in st["processes"]}, (where, st)
            else:
                errors += 1
                assert err.strip(), (where, "an error without a word", rc)
        for c in self.counts:
            if c is not None and c.get("ok"):
                check_clean(c["data"], where)
            else:
                errors += 1
        for code, body in self.scrapes:
            if code == 200:
                assert b"\ncordon_packets_total " in b"\n" + body, (
                    where, "a scrape answered with less", body[:200])
            else:       # no connection, or an HTTP error: an error
                assert code in (0, 500, 503), (where, code, body[:200])
                errors += 1
        return errors


def src_pool():
    """Session sources none of the traffic comes from."""
    for i in range(100, 250):
        yield "192.0.2.%d" % i
    for i in range(1, 4096):
        yield "2001:db8::%x" % i


# --- the children -----------------------------------------------------------

def procs(rig):
    """`show status`'s processes of any rig, by name."""
    return {p["name"]: p for p in rig.once("status")["processes"]}


def wait_back(rig, name, old, timeout=BACK_S):
    """Child NAME runs again under a pid other than OLD and is ready:
    (its status row, seconds waited).  Polled every 10 ms; while the
    control child itself is away a poll may fail."""
    t0 = time.monotonic()
    end = t0 + timeout
    last = None
    while time.monotonic() < end:
        try:
            p = procs(rig)[name]
        except (OSError, ValueError, AssertionError, KeyError) as e:
            last = e
            time.sleep(0.01)
            continue
        last = p
        if p["pid"] not in (0, old) and p["ready"] and pid_alive(p["pid"]):
            return p, time.monotonic() - t0
        time.sleep(0.01)
    raise AssertionError("%s not back within %.1f s: %s\n%s" % (
        name, timeout, last, rig.logtext()))


def alarm(rig, name):
    for a in rig.alarms()["alarms"]:
        if a["name"] == name:
            return a
    return None


def grow(rig, c0, by=5000, timeout=10):
    """A counters snapshot once every source moved BY past C0."""
    def moved():
        c = rig.counters()
        t0, t1 = tally(c0), tally(c)
        return c if all(t1[k] - t0[k] >= by for k in t0) else None
    return wait_for("traffic", moved, timeout=timeout)


def open_sessions(rig, srcs):
    """Sessions at SRCS and the traffic source: their ids; waits until
    the traffic's session is enforced."""
    ids = set()
    for src in [SESS_SRC] + list(srcs):
        r = rig.add(src)
        assert r["ok"], r
        ids.add(r["data"]["id"])
    c = rig.counters()
    grow(rig, c)
    return ids


def final_check(final, c_first, live):
    """cordon-dp's own final counters (taken after its workers stopped)
    against the first snapshot with the session in force."""
    assert final is not None, "cordon-dp left no final stats file"
    acts, reasons = final["actions"], final["reasons"]
    assert final["packets"] >= live["packets"] > 0
    assert final["packets"] == sum(acts.values()), final
    assert acts["reject"] == 0 and acts["reroute"] == 0, acts
    nonzero = {k for k, v in reasons.items() if v}
    assert nonzero <= {"rule", "no-session", "none"}, reasons
    assert reasons["default"] == 0
    cc = final["countries"]
    assert set(cc) == {"US", "CN", "RU"}, cc
    assert cc["CN"]["denied"] == cc["CN"]["packets"] > 0
    assert cc["RU"]["denied"] == cc["RU"]["packets"] > 0
    # The capture cycles its four sources: none ahead by more than one
    # frame when nothing was lost.
    assert abs(cc["US"]["packets"] - 2 * cc["CN"]["packets"]) <= 2, cc
    assert abs(cc["CN"]["packets"] - cc["RU"]["packets"]) <= 1, cc
    # Since the first snapshot: allowed exactly as many of the session's
    # source as there were CN frames, within one snapshot's skew.
    t0 = tally(c_first)
    d_allow = acts["allow"] - t0["allow"]
    d_cn = cc["CN"]["packets"] - t0["CN"]
    d_gate = reasons["no-session"] - t0["no-session"]
    assert abs(d_allow - d_cn) <= SKEW, (d_allow, d_cn)
    assert abs(d_gate - d_cn) <= SKEW, (d_gate, d_cn)
    assert cc["US"]["denied"] == reasons["no-session"], (cc, reasons)
    out, ins = final["ports"]["outside0"], final["ports"]["inside0"]
    assert out["rx_packets"] == final["packets"]
    assert ins["tx_packets"] == acts["allow"]
    assert ins["tx_dropped"] == 0


@pytest.fixture
def rig():
    need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    yield from running(Rig())


def kill_one(rig, name, pool, sessions_before):
    """kill -9 of child NAME under traffic with an admin busy; every
    check of the module docstring."""
    where = "kill -9 " + name
    p0 = rig.procs()[name]
    a0 = alarm(rig, "process-restarted")
    c0 = rig.counters()
    admin = Admin(rig, [next(pool) for _ in range(60)])
    admin.start()
    time.sleep(0.2)                     # the admin is busy
    os.kill(p0["pid"], signal.SIGKILL)
    p1, waited = wait_back(rig, name, p0["pid"])
    time.sleep(0.3)                     # the admin goes on a little
    admin.finish()
    assert waited <= BACK_S, (where, waited)
    assert not pid_alive(p0["pid"]), where
    assert p1["starts"] == p0["starts"] + 1, (where, p0, p1)
    assert p1["crashes"] == p0["crashes"] + 1, (where, p0, p1)
    assert p1["last_exit"] == "killed by SIGKILL", (where, p1)
    a1 = alarm(rig, "process-restarted")
    assert a1 is not None and a1["kind"] == "event", (where, a1)
    assert a1["count"] == (a0["count"] + 1 if a0 else 1), (where, a0, a1)
    assert name in a1["detail"], (where, a1)
    # The sessions granted before are all there, and enforced.
    now = rig.sessions()
    assert sessions_before <= set(now), (where, sessions_before - set(now))
    errors = admin.check(now, where)
    c1 = grow(rig, c0)
    check_between(c0, c1, where)
    # The admin got answers before and after: the child came back to
    # serve them (errors allowed only around the kill).
    assert len(admin.adds) >= 3, (where, admin.adds)
    ok_adds = [r for _, r in admin.adds if r and r.get("ok")]
    assert ok_adds, (where, admin.adds)
    assert admin.scrapes[-1][0] == 200, (where, admin.scrapes[-1])
    # Prometheus counts the restart too.
    want = ('\ncordon_process_restarts_total{process="%s"} %d\n' % (
        name, p1["crashes"])).encode()
    wait_for(where + ": the restart in Prometheus",
             lambda: want in b"\n" + rig.scrape()[1], timeout=5)
    return errors, {s for s in now}


def test_kill9_each_child_under_traffic(rig):
    pool = src_pool()
    sessions = open_sessions(rig, [next(pool) for _ in range(8)])
    c_first = rig.counters()
    names = sorted(rig.procs())
    assert {"identity", "fetch"} <= set(names), names
    report = {}
    for name in names:
        report[name], sessions = kill_one(rig, name, pool, sessions)
    live = rig.counters()
    check_between(c_first, live, "all kills")
    st = rig.once("status")
    assert st["dataplane"]["restarts"] == 0, st["dataplane"]
    for p in st["processes"]:
        assert p["starts"] == 2 and p["ready"], p
    print("admin errors per child:", report)
    final_check(rig.stop(), c_first, live)


class Timed(threading.Thread):
    """One request on a connection of its own, timed: .reply (None: no
    reply), .took (s)."""

    def __init__(self, rig, fn):
        super().__init__(daemon=True)
        self.rig, self.fn = rig, fn
        self.reply, self.took, self.error = None, None, None

    def run(self):
        t0 = time.monotonic()
        try:
            self.reply = self.fn()
        except (OSError, ValueError) as e:
            self.error = e
        self.took = time.monotonic() - t0


IDENT_CALL_S = 1.0      # cordond's wait for a VERIFY's answer


def test_sigstop_identity_during_session_add(rig):
    """The identity child stops (SIGSTOP) while a session add waits for
    its verdict: that admin gets an error within the call's timeout,
    another admin's status is answered meanwhile (after that timeout at
    most: the parent does not hang), the stopped child is killed and
    another one started; the sessions before are kept and enforced."""
    pool = src_pool()
    sessions = open_sessions(rig, [next(pool) for _ in range(4)])
    c0 = rig.counters()
    p0 = rig.procs()["identity"]
    os.kill(p0["pid"], signal.SIGSTOP)
    try:
        src = next(pool)
        add = Timed(rig, lambda: rig.add(src))
        add.start()
        time.sleep(0.1)
        st = Timed(rig, lambda: rig.req("status"))
        st.start()
        add.join(10)
        st.join(10)
    finally:
        if pid_alive(p0["pid"]):
            os.kill(p0["pid"], signal.SIGCONT)
    assert not add.is_alive() and not st.is_alive(), "cordond hangs"
    assert add.reply is not None, add.error
    assert not add.reply["ok"], ("a stopped verifier granted", add.reply)
    assert add.took <= IDENT_CALL_S + 1.0, add.took
    assert st.reply is not None and st.reply["ok"], (st.reply, st.error)
    assert st.took <= IDENT_CALL_S + 1.0, st.took
    p1, _ = wait_back(rig, "identity", p0["pid"])
    assert not pid_alive(p0["pid"]), "the stopped child was not killed"
    assert p1["starts"] == p0["starts"] + 1, (p0, p1)
    now = rig.sessions()
    assert sessions <= set(now)
    assert src not in {s["src"] for s in now.values()}
    # The next add is judged by the new child.
    r = rig.add(src)
    assert r["ok"], r
    check_between(c0, grow(rig, c0), "SIGSTOP identity")
    print("add:", add.reply, "%.2f s" % add.took, "status: %.2f s" % st.took)


LOOP_WINDOW_S = 10      # --test-timers: crashes counted over 10 s (60 s)


def restart_delays(rig, name):
    """The delays cordond logged for NAME's restarts ("restart in N
    ms"), in order."""
    with open(rig.dir + "/cordond.log", errors="replace") as f:
        return [int(ln.rsplit("restart in ", 1)[1].split()[0])
                for ln in f if ("%s: pid" % name) in ln and
                "restart in " in ln]


def test_crash_loop_backs_off_and_clears(rig):
    """The identity child killed each time it comes up, six times: its
    restarts back off (0, 100, 200, 400, 800, 1600 ms: no storm), the
    fifth crash within the window raises process-crash-loop, a session
    add meanwhile gets an error or a true ok, and enforcement goes on
    untouched; once the child stays up the alarm clears by itself."""
    pool = src_pool()
    sessions = open_sessions(rig, [next(pool) for _ in range(4)])
    c0 = rig.counters()
    p0 = rig.procs()["identity"]
    pid, kills, back = p0["pid"], 0, []
    t_first = time.monotonic()
    for kills in range(1, 7):
        os.kill(pid, signal.SIGKILL)
        t = time.monotonic()
        # During the backoff the admin gets an error, never a grant
        # nobody verified.
        r = rig.add(next(pool))
        assert r["ok"] or r["error"]["code"] == "identity-unavailable", r
        p, _ = wait_back(rig, "identity", pid, timeout=5)
        back.append(time.monotonic() - t)
        pid = p["pid"]
        if kills == 4:
            assert alarm(rig, "process-crash-loop") is None
    t_loop = time.monotonic() - t_first
    assert t_loop < LOOP_WINDOW_S, t_loop
    a = alarm(rig, "process-crash-loop")
    assert a is not None and a["kind"] == "condition", rig.alarms()
    assert "identity" in a["detail"] and "6 times" in a["detail"], a
    p = rig.procs()["identity"]
    assert p["starts"] == p0["starts"] + 6, (p0, p)   # no storm
    assert p["crashes"] == p0["crashes"] + 6, (p0, p)
    assert restart_delays(rig, "identity") == [0, 100, 200, 400, 800,
                                               1600], rig.logtext()
    assert back[-1] >= 1.6 and back[-1] > back[0], back
    ev = alarm(rig, "process-restarted")
    assert ev is not None and ev["count"] == 6, ev
    # Enforcement untouched all along; the sessions are all there.
    check_between(c0, grow(rig, c0), "crash loop")
    assert sessions <= set(rig.sessions())
    # Up for the window: the condition is gone (checked every second).
    wait_for("process-crash-loop cleared",
             lambda: alarm(rig, "process-crash-loop") is None,
             timeout=LOOP_WINDOW_S + 3, step=0.2)
    assert rig.procs()["identity"]["pid"] == pid
    r = rig.add(next(pool))
    assert r["ok"], r
    print("back after:", ["%.2f" % b for b in back])


HANG_S = 10             # PROC_HANG_MS: a ping unanswered this long


@pytest.mark.parametrize("name", ["control", "monitoring", "identity"])
def test_hung_child_is_killed(rig, name):
    """Regression: a child that stops reading its channel (SIGSTOP here;
    a parser looping would do the same) was never noticed: a stopped
    control child locked every admin out, a stopped monitoring child
    every scrape, until someone killed it by hand.  Now the parent's
    pings go unanswered, it kills the child after HANG_S and starts
    another; meanwhile admins get errors, never a hang or a false ok,
    and enforcement goes on."""
    pool = src_pool()
    sessions = open_sessions(rig, [next(pool) for _ in range(2)])
    ps = rig.procs()
    if name not in ps:
        pytest.skip("no %s child in this build" % name)
    c0 = rig.counters()
    p0 = ps[name]
    os.kill(p0["pid"], signal.SIGSTOP)
    t0 = time.monotonic()
    try:
        if name == "control":
            r = rig.ctl("-t", "1", "show", "status", timeout=10)
            assert r.returncode == 3, (r.stdout, r.stderr)
            assert "nothing was changed" in r.stderr, r.stderr
        p1, _ = wait_back(rig, name, p0["pid"], timeout=HANG_S + 5)
    finally:
        if pid_alive(p0["pid"]):
            os.kill(p0["pid"], signal.SIGCONT)
    took = time.monotonic() - t0
    assert HANG_S - 1 <= took <= HANG_S + 5, took
    assert not pid_alive(p0["pid"]), "the hung child was left running"
    assert p1["starts"] == p0["starts"] + 1, (p0, p1)
    assert "%s: pid %d left a ping unanswered (hung): killed" % (
        name, p0["pid"]) in rig.logtext()
    a = alarm(rig, "process-restarted")
    assert a is not None and name in a["detail"], a
    assert sessions <= set(rig.sessions())
    check_between(c0, grow(rig, c0), "hung " + name)
    assert rig.scrape()[0] == 200
    assert rig.ctl("show", "status").returncode == 0


def children(ppid, name):
    """Pids of PPID's children running `cordond -P NAME`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) != ppid:
                    continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                if f.read().split(b"\0")[1:3] == [b"-P", name.encode()]:
                    out.append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    return out


def test_child_stopped_while_starting_is_killed(rig):
    """Regression: a child stuck before READY (stopped here as soon as
    it is seen, most often before it is ready; a start that hangs would
    do the same) was left so for good.  Now it is killed after HANG_S
    and another one started."""
    p0 = rig.procs()["identity"]
    os.kill(p0["pid"], signal.SIGKILL)
    end = time.monotonic() + 5
    pid = None
    while pid is None and time.monotonic() < end:
        new = [p for p in children(rig.proc.pid, "identity")
               if p != p0["pid"]]
        if new:
            pid = new[0]
            os.kill(pid, signal.SIGSTOP)
    assert pid, "no new identity child seen"
    try:
        early = not rig.procs()["identity"]["ready"]
        p2, _ = wait_back(rig, "identity", pid, timeout=HANG_S + 5)
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGCONT)
    assert not pid_alive(pid)
    why = "was not ready in time" if early else "left a ping unanswered"
    assert "identity: pid %d %s (hung): killed" % (pid, why) in \
        rig.logtext()
    assert p2["starts"] == p0["starts"] + 2, (p0, p2)
    r = rig.add(SESS_SRC)
    assert r["ok"], r
    print("stopped before READY:", early)
