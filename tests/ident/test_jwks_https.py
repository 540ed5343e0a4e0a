"""JWKS over HTTPS (jose_jwks_fetch, jose_issuer_refresh) against a real
TLS server on 127.0.0.1 inside the test, with its own CA made by openssl:
verified fetch, wrong CA, wrong host name, plain http, size cap, a failed
refresh keeping the last good keys, and the cache file after a restart."""
import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import AUD, ISS, JWTVERIFY, public_jwks
from test_verify import good

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "lib"))
from tlsidp import Handler, make_ca, make_cert, serve  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "ca", "good", "DNS:localhost,IP:127.0.0.1")
    make_cert(d, "ca", "wrongname", "DNS:idp.example.test")
    return d


@pytest.fixture(scope="module")
def servers(pki, keys):
    Handler.docs = {
        "/jwks.json": json.dumps(public_jwks(keys["ec256"],
                                             keys["rsa"])).encode(),
        "/ed.json": json.dumps(public_jwks(keys["ed25519"])).encode(),
        "/garbage.json": b"<html>not json</html>",
        "/nokeys.json": b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}',
        "/huge.json": b'{"keys": [], "pad": "' + b"x" * 300000 + b'"}',
    }
    good_srv = serve(pki, "good")
    wrong_srv = serve(pki, "wrongname")
    yield (good_srv.server_address[1], wrong_srv.server_address[1])
    good_srv.shutdown()
    wrong_srv.shutdown()


def dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(pki, uris, token=None, ca="ca.pem", cache=None, tmp=None):
    cmd = [JWTVERIFY, "--issuer", ISS, "--aud", AUD, "--ca-file",
           str(pki / ca), "--timeout-ms", "3000"]
    for u in uris:
        cmd += ["--jwks-uri", u]
    if cache:
        cmd += ["--cache", str(cache)]
    if token:
        path = tmp / "tok"
        path.write_text(token)
        cmd.append(str(path))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def url(port, path="/jwks.json", host="127.0.0.1"):
    return f"https://{host}:{port}{path}"


def test_fetch_ok_and_verify(pki, servers, keys, tmp_path):
    p = run(pki, [url(servers[0])], good(keys), tmp=tmp_path)
    assert "refresh: fetched 2 keys" in p.stderr
    assert p.returncode == 0 and p.stdout.startswith("ok"), p.stderr


def test_fetch_by_dns_name(pki, servers, keys, tmp_path):
    p = run(pki, [url(servers[0], host="localhost")])
    if "Could not resolve" in p.stderr:
        pytest.skip("localhost does not resolve here")
    assert p.returncode == 0 and "keys 2" in p.stdout, p.stderr


def test_wrong_ca_refused(pki, servers):
    p = run(pki, [url(servers[0])], ca="otherca.pem")
    assert p.returncode == 1 and "refresh: failed 0 keys" in p.stderr
    assert "certificate" in p.stderr.lower()


def test_system_store_does_not_know_our_ca(pki, servers):
    p = run(pki, [url(servers[0])], ca="")
    assert p.returncode == 1 and "refresh: failed" in p.stderr


def test_name_mismatch_refused(pki, servers):
    p = run(pki, [url(servers[1])])
    assert p.returncode == 1 and "refresh: failed" in p.stderr
    assert "127.0.0.1" in p.stderr or "name" in p.stderr.lower()


def test_plain_http_refused(pki, servers):
    p = run(pki, [f"http://127.0.0.1:{servers[0]}/jwks.json"])
    assert p.returncode == 1 and "only https://" in p.stderr


def test_size_cap(pki, servers):
    p = run(pki, [url(servers[0], "/huge.json")])
    assert p.returncode == 1 and "refresh: failed" in p.stderr


def test_not_found(pki, servers):
    p = run(pki, [url(servers[0], "/missing.json")])
    assert p.returncode == 1 and "status" in p.stderr


@pytest.mark.parametrize("bad", ["/garbage.json", "/nokeys.json",
                                 "/missing.json", "dead", "/huge.json"])
def test_failed_refresh_keeps_last_good(pki, servers, keys, tmp_path, bad):
    second = (f"https://127.0.0.1:{dead_port()}/jwks.json" if bad == "dead"
              else url(servers[0], bad))
    p = run(pki, [url(servers[0]), second], good(keys), tmp=tmp_path)
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("refresh")]
    assert lines[0].startswith("refresh: fetched 2 keys")
    assert lines[1].startswith("refresh: kept 2 keys")
    assert p.returncode == 0 and p.stdout.startswith("ok"), p.stderr


def test_good_refresh_replaces_keys(pki, servers, keys, tmp_path):
    p = run(pki, [url(servers[0]), url(servers[0], "/ed.json")],
            good(keys), tmp=tmp_path)
    assert "refresh: fetched 1 keys" in p.stderr
    assert p.stdout.startswith("unknown-kid"), p.stderr


def test_cache_used_after_restart(pki, servers, keys, tmp_path):
    cache = tmp_path / "issuer.jwks"
    p = run(pki, [url(servers[0])], cache=cache)
    assert p.returncode == 0 and cache.exists()
    assert json.loads(cache.read_text())["keys"]
    # "Restart" with the network gone: the cache supplies the keys.
    gone = f"https://127.0.0.1:{dead_port()}/jwks.json"
    p = run(pki, [gone], good(keys), cache=cache, tmp=tmp_path)
    assert "refresh: cached 2 keys" in p.stderr
    assert p.returncode == 0 and p.stdout.startswith("ok"), p.stderr
    # Without the cache there is nothing to verify with.
    p = run(pki, [gone], good(keys), tmp=tmp_path)
    assert "refresh: failed 0 keys" in p.stderr
    assert p.stdout.startswith("no-key")


def test_bad_document_does_not_overwrite_cache(pki, servers, tmp_path):
    cache = tmp_path / "issuer.jwks"
    assert run(pki, [url(servers[0])], cache=cache).returncode == 0
    before = cache.read_text()
    p = run(pki, [url(servers[0], "/garbage.json")], cache=cache)
    assert "refresh: cached 2 keys" in p.stderr
    assert cache.read_text() == before
