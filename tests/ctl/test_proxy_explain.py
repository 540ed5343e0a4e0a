"""Issue 13: explain a proxied service's packet with the hops its relay
reported (`explain ... reported ADDR,...`), through cordond.

198.51.100.0/24 is CN (prohibited), 192.0.2.0/24 US; the relay
192.0.2.50 is trusted and ssh is proxied.  Explain judges the packet as
cordon-dp does (core/prx): the client reported is the source, every
hop left of it is via; a sender that is not trusted is judged by its
own address.

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_proxy_explain.py).
"""
import pytest

from test_daemon import DP, Daemon

needs_dp = pytest.mark.skipif(not DP, reason="cordon-dp has no --control")


class ProxyDaemon(Daemon):
    def __init__(self):
        super().__init__()
        with open(self.conf) as f:
            text = f.read()
        text = text.replace(
            'ssh = { proto = "tcp";', 'ssh = { proxy = "any"; proto = "tcp";',
            1)
        text = text.replace(
            "rules = (", 'proxies = { trusted = [ "192.0.2.50" ]; };\n'
            "rules = (\n    { name = \"ssh-via\"; via = [ \"prohibited\" ]; "
            'services = [ "ssh" ];\n      direction = "in"; '
            'action = "drop"; },', 1)
        assert "proxies" in text and "proxy = " in text
        with open(self.conf, "w") as f:
            f.write(text)

    def explain(self, src, reported):
        ex = self.ok("explain", src=src, dst="192.0.2.9", proto="tcp",
                     sport=40000, dport=22, iface="outside0",
                     reported=reported)
        return ex, {s["step"]: s for s in ex["steps"]}


@pytest.fixture
def pd():
    if not DP:
        pytest.skip("cordon-dp has no --control")
    d = ProxyDaemon()
    d.start()
    yield d
    d.stop()


@needs_dp
def test_explain_reported(pd):
    # A CN client behind the trusted relay: refused by the via rule
    # (first) as its reported source.
    ex, steps = pd.explain("192.0.2.50", ["198.51.100.7"])
    assert ex["verdict"] == "drop", ex
    assert steps["proxy"]["result"] == "reported"
    # A forged US hop on the left hides nothing: the origin is the
    # rightmost hop not trusted; the CN hop left of a US origin denies.
    ex, _ = pd.explain("192.0.2.50", ["192.0.2.7", "198.51.100.7"])
    assert ex["verdict"] == "drop"
    ex, _ = pd.explain("192.0.2.50", ["198.51.100.7", "192.0.2.7"])
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-via", ex
    ex, _ = pd.explain("192.0.2.50", ["192.0.2.7", "192.0.2.50"])
    assert ex["verdict"] == "allow", ex
    # Not a trusted relay: its report is not believed.
    ex, steps = pd.explain("192.0.2.8", ["198.51.100.7"])
    assert ex["verdict"] == "allow", ex
    assert steps["proxy"]["result"] == "not believed"


@needs_dp
def test_explain_uninspected(pd):
    """A trusted relay's flow that cordon-dp cannot follow (tunnelled,
    or a first fragment) is refused there (proxy-not-inspected): explain
    says the same, not the allow its rules alone would give."""
    for extra in ({"via": ["gre:192.0.2.9"]}, {"fragment": "first"}):
        ex = pd.ok("explain", src="192.0.2.50", dst="192.0.2.9",
                   proto="tcp", sport=40000, dport=22, iface="outside0",
                   **extra)
        steps = {s["step"]: s for s in ex["steps"]}
        assert ex["verdict"] == "drop", (extra, ex)
        assert steps["proxy"]["result"] == "not inspected", extra
        assert "proxy-not-inspected" in steps["verdict"]["detail"], extra
    # Not a trusted relay inside the tunnel: the rules judge it.
    ex = pd.ok("explain", src="192.0.2.8", dst="192.0.2.9", proto="tcp",
               sport=40000, dport=22, iface="outside0",
               via=["gre:192.0.2.9"])
    assert ex["verdict"] == "allow", ex
