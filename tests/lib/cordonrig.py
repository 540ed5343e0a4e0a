"""What the Python suites that run the real daemons share (tests/ctl,
tests/mon, bench/commit.sh): the binaries, the control-socket client,
wait_for / pid_alive / free_port, pcap writing, the pieces of a cordond config whose
dataplane runs on net_pcap / net_null, and class Cordond (one cordond with
its own folder, and every cordon-dp it ran).

Each suite keeps its own policy, traffic and rig in its test file.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDONCTL   the CLI (default: cordonctl next to CORDOND)
    CORDON_GEODB  the database (default .cache/geo/geo-whois-asn-country.mmdb)

tests/ctl/conftest.py and tests/mon/conftest.py put tests/lib on sys.path.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def repo_path(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


CORDOND = repo_path(os.environ.get("CORDOND", "build/cordond"))
CORDON_DP = repo_path(os.environ.get("CORDON_DP") or os.path.join(
    os.path.dirname(CORDOND), "cordon-dp"))
CORDONCTL = repo_path(os.environ.get("CORDONCTL") or os.path.join(
    os.path.dirname(CORDOND), "cordonctl"))
GEODB = repo_path(os.environ.get("CORDON_GEODB",
                                 ".cache/geo/geo-whois-asn-country.mmdb"))


def need_binaries(*paths, hint="CORDOND / CORDON_DP"):
    """Fails the test unless every one of PATHS is executable and the
    real geo database is there."""
    for p in paths:
        if not os.access(p, os.X_OK):
            pytest.fail("no %s (build it, or set %s)" % (p, hint))
    if not os.path.exists(GEODB):
        pytest.fail("real geo database missing: %s" % GEODB)


# --- waiting ----------------------------------------------------------------

def pid_alive(pid):
    """PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def fail_assert(msg):
    raise AssertionError(msg)


def wait_for(what, fn, timeout=30.0, step=0.05, fail=fail_assert):
    """FN's first true value, polled every STEP s; after TIMEOUT s
    FAIL("timed out waiting for WHAT") (AssertionError by default)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    fail("timed out waiting for " + what)
    raise AssertionError("timed out waiting for " + what)


def free_port(kind=socket.SOCK_DGRAM, family=socket.AF_INET,
              host="127.0.0.1"):
    """A port on HOST nothing listens on right now (UDP by default)."""
    s = socket.socket(family, kind)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


# --- the control protocol ---------------------------------------------------

class Conn:
    """One connection to a cordond control socket: each message is a
    4-byte big-endian length, then that much JSON."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("cordond closed the connection")
            buf += chunk
        return buf

    def send_raw(self, b):
        self.s.sendall(b)

    def send(self, cmd, **args):
        body = json.dumps({"v": 1, "cmd": cmd, "args": args}).encode()
        self.send_raw(struct.pack(">I", len(body)) + body)

    def recv(self):
        n = struct.unpack(">I", self._read(4))[0]
        return json.loads(self._read(n))

    def req(self, cmd, **args):
        """The reply, whatever it says."""
        self.send(cmd, **args)
        return self.recv()

    def ok(self, cmd, **args):
        """The reply's data; AssertionError unless it is "ok"."""
        r = self.req(cmd, **args)
        if not r.get("ok"):
            raise AssertionError("%s %s: %s" % (cmd, args, r))
        return r["data"]

    def closed(self):
        """The peer has closed the connection."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


# --- bash completion --------------------------------------------------------

COMPLETION = os.path.join(ROOT, "appliance", "bash-completion", "cordonctl")


def bash_complete(line, env=None):
    """COMPREPLY of appliance/bash-completion/cordonctl for the words
    LINE (the last one the word being completed; LINE[0] the cordonctl
    to run), in a bash of its own with COMP_WORDS and COMP_CWORD set as
    readline sets them; the script must have registered itself."""
    prog = ("source %s\n"
            "complete -p cordonctl\n"
            "COMP_WORDS=(%s)\n"
            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
            "_cordonctl\n"
            "printf '%%s\\n' \"${COMPREPLY[@]}\"\n") % (
                COMPLETION, " ".join("'%s'" % w for w in line))
    r = subprocess.run(["bash", "-c", prog], capture_output=True,
                       text=True, timeout=20, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    out = r.stdout.split("\n")
    assert out[0] == "complete -F _cordonctl cordonctl", out
    return [w for w in out[1:] if w]


# --- traffic ----------------------------------------------------------------

def syn(src, dst, dport, sport=40000):
    """A TCP SYN frame SRC:SPORT -> DST:DPORT (bytes)."""
    from scapy.all import IP, TCP, Ether
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                 IP(src=src, dst=dst) /
                 TCP(sport=sport, dport=dport, flags="S"))


def pcap_write(path, frs, usec_step=False):
    """A classic pcap of the frames FRS: frame i stamped 1700000000 + i s
    (or 1700000000 s + i us with USEC_STEP)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frs):
            sec, usec = (1700000000, i) if usec_step else (1700000000 + i, 0)
            f.write(struct.pack("<IIII", sec, usec, len(fr), len(fr)))
            f.write(fr)


# --- the config -------------------------------------------------------------
# Pieces of a config template: placeholders %(geodb)s, %(dir)s, %(dp)s and
# (for pcap_dataplane) %(pcap)s are filled in by the test.

US_CN_RU = (("192.0.2.0/24", "US"), ("198.51.100.0/24", "CN"),
            ("203.0.113.0/24", "RU"))

SERVICES_SSH_RDP = """services: {
    ssh = { proto = "tcp"; ports = [ "22" ]; };
    rdp = { proto = "tcp"; ports = [ "3389" ]; };
};
"""


def geo_conf(overrides=US_CN_RU):
    """The geo group: the real database and OVERRIDES ((prefix, cc), ...)."""
    ov = ",\n                  ".join(
        '{ prefix = "%s"; country = "%s"; }' % o for o in overrides)
    return """geo: {
    databases = ( { file = "%%(geodb)s"; field = "country_code"; } );
    overrides = ( %s );
};
""" % ov


EAL = ('"--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0-1"')


def dataplane_conf(outside, vdevs, inside="net_null0", devargs=None,
                   mbufs=8192, quiet=True):
    """The dataplane group: ports outside0 (device OUTSIDE, DEVARGS) and
    inside0 (device INSIDE), EAL arguments VDEVS after the common ones
    (and the EAL log at error level if QUIET)."""
    eal = [EAL]
    if quiet:
        eal.append('"--log-level", "lib.eal:error"')
    eal += ['"%s"' % v for v in vdevs]
    return """dataplane: {
    ports = (
        { name = "outside0"; device = "%s";%s role = "outside";
          peer = "inside0"; },
        { name = "inside0"; device = "%s"; role = "inside";
          peer = "outside0"; }
    );
    eal = [ %s ];
    mbufs = %d;
};
""" % (outside, ' devargs = "%s";' % devargs if devargs else "", inside,
       ",\n            ".join(eal), mbufs)


def pcap_dataplane(rx_args=""):
    """outside0 is net_pcap0 reading %(pcap)s (then RX_ARGS, e.g.
    ",infinite_rx=1" to replay it forever); inside0 is a net_null sink."""
    return dataplane_conf("net_pcap0", [
        "--vdev=net_null0,no-rx=1",
        "--vdev=net_pcap0,rx_pcap=%(pcap)s" + rx_args])


def control_conf(extra=""):
    """The control group: sockets and state under %(dir)s, cordon-dp
    %(dp)s, no geo age limit, then the settings EXTRA."""
    return """control: {
    socket = "%(dir)s/run/cordon.sock";
    ro_socket = "%(dir)s/run/cordon-ro.sock";
    socket_group = "nogroup";
    state_dir = "%(dir)s/state";
    dp_socket = "%(dir)s/run/dp.sock";
    dp_binary = "%(dp)s";
    geo_max_age = 0;
""" + extra + "};\n"


# --- the daemons ------------------------------------------------------------

class Cordond:
    """cordond with its own folder DIR (a new temporary one by default):
    DIR/cordon.conf, DIR/run (sockets), DIR/state, DIR/cordond.log.
    stop() ends cordond, then by pid every cordon-dp it was seen to run.
    Failures go through FAIL (AssertionError by default)."""

    fail = staticmethod(fail_assert)
    conn_timeout = 30

    def __init__(self, d=None, prefix="cordon-"):
        if d is None:
            d = tempfile.mkdtemp(prefix=prefix)
            os.chmod(d, 0o755)
        self.dir = d
        os.makedirs(d + "/run", mode=0o755)
        self.conf = d + "/cordon.conf"
        self.sock = d + "/run/cordon.sock"
        self.ro = d + "/run/cordon-ro.sock"
        self.proc = None
        self.conn = None
        self.dp_pid = 0
        self.dp_pids = set()
        self.log = open(d + "/cordond.log", "ab")

    def write_conf(self, template, **vals):
        """DIR/cordon.conf from TEMPLATE with geodb, dir and dp filled in
        (cordon-dp by default) and VALS."""
        v = {"geodb": GEODB, "dir": self.dir, "dp": CORDON_DP}
        v.update(vals)
        with open(self.conf, "w") as f:
            f.write(template % v)

    def spawn(self, *args, wrap=()):
        """Runs [WRAP...] cordond ARGS -f DIR/cordon.conf, output to the
        log."""
        self.proc = subprocess.Popen(
            list(wrap) + [CORDOND] + list(args) + ["-f", self.conf],
            stdout=self.log, stderr=subprocess.STDOUT)
        return self.proc

    def logtext(self):
        with open(self.dir + "/cordond.log", errors="replace") as f:
            return f.read()[-4000:]

    def req(self, cmd, sock=None, **args):
        """One request on a fresh connection (cordond closes a client
        that stays idle for 5 s); the whole reply."""
        c = Conn(sock or self.sock, timeout=self.conn_timeout)
        try:
            return c.req(cmd, **args)
        finally:
            c.close()

    def once(self, cmd, **args):
        """One request on a fresh connection; its data, or
        AssertionError."""
        c = Conn(self.sock, timeout=self.conn_timeout)
        try:
            return c.ok(cmd, **args)
        finally:
            c.close()

    def ok(self, cmd, **args):
        """once(), or over the kept connection if connect() made one."""
        if self.conn is None:
            return self.once(cmd, **args)
        return self.conn.ok(cmd, **args)

    def connect(self):
        """A connection kept for self.ok until stop()."""
        self.conn = Conn(self.sock, timeout=self.conn_timeout)
        return self.conn

    def answers(self):
        """cordond answers status (for wait_for); a cordond that exited
        fails the test."""
        if self.proc.poll() is not None:
            self.fail("cordond exited: " + self.logtext())
        try:
            return self.req("status")["ok"]
        except OSError:
            return False

    def saw_dp(self, pid):
        if pid:
            self.dp_pid = pid
            self.dp_pids.add(pid)

    def wait_dp_up(self, timeout=60, other_than=0,
                   what="cordon-dp up and in sync"):
        """Waits until the dataplane is up and in sync (and its pid is not
        OTHER_THAN); its status.  Every cordon-dp pid seen is kept."""
        def up():
            if self.proc.poll() is not None:
                self.fail("cordond exited: " + self.logtext())
            try:
                dp = self.once("status")["dataplane"]
            except OSError:
                return None
            self.saw_dp(dp["pid"])
            if dp["state"] == "up" and dp["in_sync"] and \
                    dp["pid"] != other_than:
                return dp
            return None
        return wait_for(what, up, timeout, fail=self.fail)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, dp_signal=signal.SIGKILL, grace=15):
        """Closes the kept connection, terminates cordond (SIGKILL after
        10 s), then sends every live cordon-dp it ran DP_SIGNAL, SIGKILL
        after GRACE s, and waits (10 s at most) for each to be gone.
        Returns the pids that ended within GRACE of DP_SIGNAL."""
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()
        ended = []
        for pid in sorted(self.dp_pids):
            if not pid_alive(pid):
                continue
            os.kill(pid, dp_signal)
            if dp_signal != signal.SIGKILL:
                end = time.monotonic() + grace
                while pid_alive(pid) and time.monotonic() < end:
                    time.sleep(0.02)
                if not pid_alive(pid):
                    ended.append(pid)
                    continue
                os.kill(pid, signal.SIGKILL)
        for pid in self.dp_pids:
            end = time.monotonic() + 10
            while pid_alive(pid) and time.monotonic() < end:
                time.sleep(0.02)
        if not self.log.closed:
            self.log.close()
        return ended

    def cleanup(self):
        if os.environ.get("CORDON_KEEP"):
            print("kept", self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)



def running(rig):
    """For a fixture (yield from running(RIG)): starts RIG, yields it,
    then stops it and removes its folder, whatever happened."""
    try:
        rig.start()
        yield rig
    finally:
        rig.stop()
        rig.cleanup()


def http_get(host, port, path="/metrics", timeout=3.0):
    """(status, body) of one HTTP/1.0 GET; (0, b"") when the connection
    failed, (-1, raw) when the answer has no status line."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n")
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
    except OSError:
        return 0, b""
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        return int(head.split(b" ", 2)[1]), body
    except (ValueError, IndexError):
        return -1, data
