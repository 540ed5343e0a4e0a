"""Helpers for the fast-path tests: pcap files, config rendering, running
cordon-dp live (DPDK net_pcap ports) and in offline replay.

Everything here is plain Python; scapy is only used by the test modules to
build frames.  Frames are handled as bytes throughout so that comparisons
are byte-exact.
"""
import json
import os
import signal
import struct
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101

POLL_INTERVAL = 0.05
TIMEOUT = 20.0

# Enough for net_pcap ports without hugepages; EAL args on the command
# line make cordon-dp ignore the config's eal list.
EAL_BASE = ["--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0-1",
            "--log-level", "lib.eal:error"]


def repo_path(p):
    """P as given if absolute, else relative to the repository root."""
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


def cordon_dp_path():
    return repo_path(os.environ.get("CORDON_DP", "build/cordon-dp"))


def geodb_path():
    return repo_path(os.environ.get(
        "CORDON_GEODB", ".cache/geo/geo-whois-asn-country.mmdb"))


# --- pcap ----------------------------------------------------------------

def pcap_write(path, frames, linktype=LINKTYPE_ETHERNET):
    """Writes FRAMES (bytes) as a microsecond pcap, one second apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535,
                            linktype))
        for i, fr in enumerate(frames):
            fr = bytes(fr)
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr),
                                len(fr)))
            f.write(fr)


def pcap_read(path):
    """Frames of a pcap (micro- or nanosecond, either byte order)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: no pcap header (%d bytes)" % (path, len(data)))
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        end = "<"
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        end = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


# --- config ----------------------------------------------------------------

def lc_str(s):
    return '"%s"' % s


def lc_list(items):
    return "[ " + ", ".join(lc_str(i) for i in items) + " ]"


def render_conf(path, *, ports, rules=(), nexthops=(), overrides=(),
                databases=None, services=None, default=("allow", False),
                non_ip="allow", include_profile=True, workers=1, burst=32,
                mbufs=8192, extra=(), frag_entries=None,
                frag_timeout_ms=60000):
    """Writes a cordon-dp config to PATH and returns PATH.

    PORTS: dicts name/device/role[/peer]; RULES: dicts with the config's
    keys (lists as Python lists); NEXTHOPS: dicts name/port/mac[/vlan];
    OVERRIDES: (prefix, country) pairs; DATABASES: (file, field) pairs,
    default the real database; EXTRA: more top-level groups as text (an
    identity block).  The shipped region profile is copied next to the
    config and @included (libconfig resolves includes relative to the
    config's folder).  FRAG_TIMEOUT_MS is long by default: pcap_write
    puts captures one second a frame, and replay judges fragments on the
    capture's clock.
    """
    d = os.path.dirname(path)
    out = []
    if include_profile:
        prof = os.path.join(d, "profiles")
        os.makedirs(prof, exist_ok=True)
        with open(os.path.join(ROOT, "config/profiles/"
                               "foreign-adversaries.conf")) as f:
            text = f.read()
        with open(os.path.join(prof, "foreign-adversaries.conf"), "w") as f:
            f.write(text)
        out.append('@include "profiles/foreign-adversaries.conf"')
    if databases is None:
        databases = [(geodb_path(), "country_code")]
    out.append("geo:\n{\n\tdatabases = (")
    out.append(",\n".join('\t\t{ file = %s; field = %s; }' %
                          (lc_str(f), lc_str(fl)) for f, fl in databases))
    out.append("\t);\n\toverrides = (")
    out.append(",\n".join('\t\t{ prefix = %s; country = %s; }' %
                          (lc_str(p), lc_str(c)) for p, c in overrides))
    out.append("\t);\n};")
    if services is None:
        services = {
            "ssh": (["tcp"], ["22"]),
            "rdp": (["tcp", "udp"], ["3389"]),
            "https-admin": (["tcp"], ["443", "8443"]),
        }
    out.append("services:\n{")
    for name, (protos, portl) in services.items():
        out.append("\t%s = { proto = %s; ports = %s; };" %
                   (name, lc_list(protos), lc_list(portl)))
    out.append("};")
    out.append("rules = (")
    rl = []
    for r in rules:
        kv = []
        for k, v in r.items():
            if isinstance(v, bool):
                kv.append("%s = %s;" % (k, "true" if v else "false"))
            elif isinstance(v, (list, tuple)):
                kv.append("%s = %s;" % (k, lc_list(v)))
            else:
                kv.append("%s = %s;" % (k, lc_str(v)))
        rl.append("\t{ " + " ".join(kv) + " }")
    out.append(",\n".join(rl))
    out.append(");")
    out.append('default = { action = "%s"; log = %s; };' %
               (default[0], "true" if default[1] else "false"))
    out.append('non_ip = "%s";' % non_ip)
    out.extend(extra)
    out.append("dataplane:\n{\n\tports = (")
    pl = []
    for p in ports:
        s = '\t\t{ name = "%s"; device = "%s"; role = "%s";' % (
            p["name"], p["device"], p["role"])
        if p.get("peer"):
            s += ' peer = "%s";' % p["peer"]
        pl.append(s + " }")
    out.append(",\n".join(pl))
    out.append("\t);\n\tnext_hops = (")
    nl = []
    for h in nexthops:
        s = '\t\t{ name = "%s"; port = "%s"; mac = "%s";' % (
            h["name"], h["port"], h["mac"])
        if h.get("vlan"):
            s += " vlan = %d;" % h["vlan"]
        nl.append(s + " }")
    out.append(",\n".join(nl))
    out.append("\t);\n\tworkers = %d;\n\tburst = %d;\n\tmbufs = %d;" %
               (workers, burst, mbufs))
    if frag_entries:
        out.append("\tfrag_entries = %d;" % frag_entries)
    if frag_timeout_ms:
        out.append("\tfrag_timeout_ms = %d;" % frag_timeout_ms)
    out.append("};")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


# --- running cordon-dp ---------------------------------------------------

class LiveResult:
    def __init__(self, stats, tx, stdout, stderr, rc):
        self.stats = stats      # final STATS.json, parsed
        self.tx = tx            # port name -> list of frames it sent
        self.stdout = stdout
        self.stderr = stderr
        self.rc = rc


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_live(workdir, conf, port_frames, port_devices, timeout=TIMEOUT):
    """Runs cordon-dp with one net_pcap vdev per port until every frame of
    PORT_FRAMES (name -> frames) was counted, then stops it with SIGINT.

    PORT_DEVICES maps port name -> DPDK device name (net_pcapN); every
    port gets an rx_pcap (empty when it has nothing to send).
    """
    eal = list(EAL_BASE)
    for name, dev in port_devices.items():
        rx = os.path.join(workdir, "in-%s.pcap" % name)
        tx = os.path.join(workdir, "out-%s.pcap" % name)
        pcap_write(rx, port_frames.get(name, []))
        eal.append("--vdev=%s,rx_pcap=%s,tx_pcap=%s" % (dev, rx, tx))
    # a folder of its own: cordon-dp takes it over (cordon-dp(8))
    stats_path = os.path.join(workdir, "stats", "stats.json")
    want = sum(len(v) for v in port_frames.values())
    out_path = os.path.join(workdir, "stdout.txt")
    err_path = os.path.join(workdir, "stderr.txt")
    cmd = [cordon_dp_path()] + eal + ["--", "-c", conf, "--stats-file",
                                      stats_path]
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=workdir)
        deadline = time.monotonic() + timeout
        seen = None
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                st = _read_json(stats_path)
                if st is not None:
                    seen = st["packets"]
                    if seen >= want:
                        break
                time.sleep(POLL_INTERVAL)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
    with open(out_path) as f:
        stdout = f.read()
    with open(err_path) as f:
        stderr = f.read()
    if rc != 0 or seen is None or seen < want:
        raise AssertionError(
            "cordon-dp live run failed: rc=%s, %s of %d packets counted\n"
            "cmd: %s\nstdout:\n%s\nstderr:\n%s" %
            (rc, seen, want, " ".join(cmd), stdout[-3000:], stderr[-3000:]))
    stats = _read_json(stats_path)
    tx = {name: pcap_read(os.path.join(workdir, "out-%s.pcap" % name))
          for name in port_devices}
    return LiveResult(stats, tx, stdout, stderr, rc)


def run_cmd(args, timeout=120):
    """Runs cordon-dp ARGS; returns the CompletedProcess (text mode).
    Under the ASan build, LeakSanitizer stays on: a leak fails the run."""
    return subprocess.run([cordon_dp_path()] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def run_replay(workdir, conf, frames, tag, direction=None, extra=(),
               stats=False):
    """Replays FRAMES through cordon-dp -r; returns (records, proc, stats)
    where records are the parsed --verdicts lines."""
    pcap = os.path.join(workdir, "replay-%s.pcap" % tag)
    out = os.path.join(workdir, "replay-%s.jsonl" % tag)
    pcap_write(pcap, frames)
    args = ["-r", pcap, "--verdicts", out, "-c", conf]
    if direction:
        args += ["--dir", direction]
    st_path = None
    if stats:
        st_path = os.path.join(workdir, "replay-%s.stats.json" % tag)
        args += ["--stats-file", st_path]
    p = run_cmd(args + list(extra))
    if p.returncode != 0:
        raise AssertionError("replay failed rc=%d\nstdout:\n%s\nstderr:\n%s"
                             % (p.returncode, p.stdout[-3000:],
                                p.stderr[-3000:]))
    with open(out) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return recs, p, (_read_json(st_path) if st_path else None)
