"""The sessions journal under faults (issue 11): a session is
acknowledged only once its record is on disk, and every acknowledged
session or revocation survives restarts; a full state file system
refuses new sessions (nothing half-granted), still takes revocations,
and needs no repair once space is back; replay skips a torn or damaged
record and keeps the ones after it.

The state folder is a small tmpfs mounted in a private mount namespace
held by a `sleep` of this test's own (cordond runs inside it through
nsenter); the namespace and its mount go away with that process.
cordond runs without a dataplane (cordon-dp is /bin/false).

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_sess_journal.py
"""
import ctypes
import errno
import json
import os
import signal
import subprocess
import time

import pytest
from jwcrypto import jwk, jwt

import cordonrig
from cordonrig import CORDOND, control_conf, dataplane_conf, geo_conf

ISS = "https://idp.test"

CONF = geo_conf((("192.0.2.0/24", "US"),)) + """\
regions: { prohibited = [ "CN" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = (
    { name = "ssh-prohibited"; src = [ "prohibited" ]; services = [ "ssh" ];
      direction = "in"; action = "drop"; }
);
default = { action = "allow"; };
identity: {
    issuers = ( { name = "corp"; issuer = "%(iss)s"; audience = [ "cordon" ];
        jwks = "%(dir)s/jwks.json"; algorithms = [ "ES256" ]; } );
    services = [ "ssh" ];
    unidentified = { action = "drop"; };
    sessions = { capacity = 4096; max_ttl = 3600; per_subject = 64; };
};
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1") + control_conf()

TMPFS_SIZE = "64m"


def _die_with_parent():
    # PR_SET_PDEATHSIG, SIGKILL: the holder never outlives the test.
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)


class Rig(cordonrig.Cordond):
    """cordond whose state folder is a tmpfs in a namespace of its own."""

    fail = staticmethod(pytest.fail)

    def __init__(self):
        super().__init__(prefix="cordon-journal-")
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        pub = json.loads(self.key.export_public())
        pub["alg"] = "ES256"
        with open(self.dir + "/jwks.json", "w") as f:
            json.dump({"keys": [pub]}, f)
        self.write_conf(CONF, dp="/bin/false", iss=ISS)
        self.state = self.dir + "/state"
        os.makedirs(self.state)
        self.holder = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs -o size=%s,mode=0700 tmpfs "$1" && '
             'echo ready && exec sleep 600' % TMPFS_SIZE, "sh", self.state],
            stdout=subprocess.PIPE, preexec_fn=_die_with_parent)
        if self.holder.stdout.readline().strip() != b"ready":
            pytest.fail("could not mount the tmpfs")
        # The tmpfs as this process sees it: through the holder's root.
        self.view = "/proc/%d/root%s" % (self.holder.pid, self.state)
        self.n = 0

    def start(self):
        self.spawn("-d", wrap=("nsenter", "-t", str(self.holder.pid),
                               "-m"))
        cordonrig.wait_for("control socket", self.answers, timeout=30,
                           fail=pytest.fail)

    def restart(self, kill=False):
        if kill:
            self.kill9()
        else:
            self.stop()
        self.log = open(self.dir + "/cordond.log", "ab")
        self.start()

    def close(self):
        self.stop()
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        self.holder.stdout.close()
        self.cleanup()

    def token(self, sub):
        now = int(time.time())
        t = jwt.JWT(header={"alg": "ES256", "kid": "k1"},
                    claims={"iss": ISS, "aud": "cordon", "sub": sub,
                            "iat": now - 60, "exp": now + 1800})
        t.make_signed_token(self.key)
        return t.serialize()

    def add(self):
        """One session-add for a new subject and source; the reply."""
        self.n += 1
        i = self.n
        return self.req("session-add", token=self.token("user%d" % i),
                        src="192.0.2.%d" % (i % 250 + 1) if i < 250 else
                        "2001:db8::%x" % i)

    def add_ok(self, k):
        """K acknowledged sessions: their ids."""
        ids = set()
        for _ in range(k):
            r = self.add()
            assert r["ok"], r
            ids.add(r["data"]["id"])
        return ids

    def ids(self):
        return {s["id"] for s in self.ok("session-list")["sessions"]}

    def journal(self):
        with open(self.view + "/sessions.journal", "rb") as f:
            return f.read()

    def fill(self):
        """Fills the tmpfs to the last page."""
        with open(self.view + "/fill", "wb", buffering=0) as f:
            for size in (1 << 20, 4096):
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e

    def free(self):
        os.unlink(self.view + "/fill")


@pytest.fixture
def rig():
    cordonrig.need_binaries(CORDOND)
    r = Rig()
    try:
        r.start()
        yield r
    finally:
        r.close()


def test_full_disk_refuses_and_loses_nothing(rig):
    acked = rig.add_ok(5)
    rig.fill()
    # The last free bytes of the journal's reserve may still take a few;
    # then every add is refused, not acknowledged.
    refused = 0
    for _ in range(200):
        r = rig.add()
        if r["ok"]:
            acked.add(r["data"]["id"])
            continue
        assert r["error"]["code"] == "internal", r
        assert "journal" in r["error"]["message"], r
        refused += 1
        if refused == 5:
            break
    assert refused == 5, "a full disk never refused a session"
    assert rig.ids() == acked, "a refused session is in force"
    # A refresh that cannot be journaled leaves the session it would
    # have replaced in force.
    old = rig.ok("session-list")["sessions"][0]
    r = rig.req("session-add", token=rig.token(old["sub"]), src=old["src"])
    assert not r["ok"] and "journal" in r["error"]["message"], r
    assert rig.ids() == acked
    # Revocations are still written: space was reserved for them.
    gone = min(acked)
    assert rig.ok("session-revoke", id=gone)["revoked"] == 1
    acked.discard(gone)
    st = rig.ok("status")
    assert not [a for a in st["alarms"] if a["name"] == "session-journal"]
    # A restart while the disk is still full (rewrites fail: the old
    # file is kept and appended to).
    rig.restart()
    assert rig.ids() == acked
    rig.free()
    acked |= rig.add_ok(5)
    rig.restart()
    assert rig.ids() == acked
    # No line was left torn.
    lines = rig.journal().split(b"\n")
    assert lines[-1] == b""
    assert all(len(ln) > 17 and ln[16:17] == b" " for ln in lines[:-1])


def test_torn_and_damaged_records_are_skipped(rig):
    acked = sorted(rig.add_ok(6))
    rig.stop()
    lines = rig.journal().split(b"\n")[:-1]
    assert len(lines) == 6
    # Records 3 and 5 of 6: one torn (its end lost), one with a byte
    # changed; then a torn record at the end.
    lines[2] = lines[2][:len(lines[2]) // 2]
    five = bytearray(lines[4])
    five[-10] ^= 0x01
    lines[4] = bytes(five)
    with open(rig.view + "/sessions.journal", "wb") as f:
        f.write(b"\n".join(lines) + b"\n" + lines[5][:40])
    rig.log = open(rig.dir + "/cordond.log", "ab")
    rig.start()
    want = {acked[0], acked[1], acked[3], acked[5]}
    assert rig.ids() == want
    assert "bad record" in rig.logtext()
    assert rig.ok("session-list")["journal_skipped"] == 3
    with open(rig.view + "/audit.log", "rb") as f:
        assert b"session-journal" in f.read()
    # Rewritten with what survived; what comes next is kept too.
    assert rig.journal().count(b"\n") == 4
    want |= rig.add_ok(2)
    rig.restart()
    assert rig.ids() == want


def test_kill9_right_after_ack_keeps_sessions_and_revocations(rig):
    acked = rig.add_ok(8)
    gone = sorted(acked)[:3]
    for i in gone:
        assert rig.ok("session-revoke", id=i)["revoked"] == 1
        acked.discard(i)
    acked |= rig.add_ok(2)
    rig.restart(kill=True)
    assert rig.ids() == acked
    # Ids of ended sessions are not given out again.
    new = rig.add_ok(1)
    assert min(new) > max(gone)


def test_journal_is_compacted(rig):
    """The same token pushed again and again (a gateway refreshing one
    session) adds a del and an add record each time; the file is
    rewritten once it holds far more records than sessions."""
    tok = rig.token("refresh")
    c = cordonrig.Conn(rig.sock)
    try:
        for _ in range(2200):
            c.ok("session-add", token=tok, src="192.0.2.200")
    finally:
        c.close()
    cordonrig.wait_for("the journal rewritten",
                       lambda: rig.journal().count(b"\n") < 100,
                       timeout=10, fail=pytest.fail)
    assert len(rig.ids()) == 1
    rig.restart(kill=True)
    assert len(rig.ids()) == 1
