"""The knock format (docs/knock.md) cross-checked against an independent
Python encoder/decoder written from the document, not from the C code:
cordon-knock --print output decoded and its signature verified with
`cryptography`; Python-built knocks (signed in Python) parsed and
verified by tests/tools/knockparse; the daemon's path (age, signed
address, NAT pairings, PoP, replay cache across separate processes)
through knockparse --replay; and a real UDP send inside a network
namespace this test creates.

Run with /usr/bin/python3 -m pytest tests/knock (BUILD selects the tree).
"""
import ipaddress
import json
import os
import shutil
import struct
import subprocess
import time
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.asymmetric import rsa, utils
from jwcrypto import jwk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
CLIENT = os.path.join(BUILD, "cordon-knock")
PARSE = os.path.join(BUILD, "tools", "knockparse")

MAGIC = b"CDK1"
HDR = 50
SRC = "192.0.2.7"           # knockparse --replay's default source
ALGS = {"RS256": 0, "PS256": 1, "ES256": 2, "ES384": 3, "EdDSA": 4}
ALG_NAMES = {v: k for k, v in ALGS.items()}
TOKEN = (b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImNuZiI6eyJqd2siOnt9fX0"
         b".c2lnbmF0dXJl")


# ---- the independent codec, from docs/knock.md ----

def addr_bytes(addr):
    """(family byte, 16 address bytes): IPv4 padded with zeros."""
    a = ipaddress.ip_address(addr)
    return a.version, a.packed.ljust(16, b"\0")


def encode(service=b"ssh", token=TOKEN, ts=None, nonce=None, flags=0,
           version=2, src=SRC, af=None, sig_alg=None, sig=None,
           svc_len=None, tok_len=None):
    ts = int(time.time()) if ts is None else ts
    nonce = os.urandom(16) if nonce is None else nonce
    fam, packed = addr_bytes(src)
    out = MAGIC + struct.pack(
        ">BBBBQ16s16sH", version, flags,
        len(service) if svc_len is None else svc_len,
        fam if af is None else af, ts, nonce, packed,
        len(token) if tok_len is None else tok_len)
    out += service + token
    if sig is not None:
        out += struct.pack(">BH", sig_alg, len(sig)) + sig
    return out


def decode(data):
    """Returns a dict, or raises ValueError(reason name)."""
    if len(data) > 3800:
        raise ValueError("bad-size")
    if len(data) < 4:
        raise ValueError("truncated" if MAGIC.startswith(data)
                         else "bad-magic")
    if data[:4] != MAGIC:
        raise ValueError("bad-magic")
    if len(data) < HDR:
        raise ValueError("truncated")
    ver, flags, slen, af, ts, nonce, addr, tlen = struct.unpack(
        ">BBBBQ16s16sH", data[4:HDR])
    if ver != 2:
        raise ValueError("bad-version")
    if flags & ~1:
        raise ValueError("bad-flags")
    if af not in (4, 6) or (af == 4 and addr[4:] != bytes(12)):
        raise ValueError("bad-address")
    src = str(ipaddress.ip_address(addr[:4] if af == 4 else addr))
    off = HDR
    if len(data) - off < slen:
        raise ValueError("truncated")
    service = data[off:off + slen]
    if not (1 <= slen <= 64) or any(
            c not in b"abcdefghijklmnopqrstuvwxyz0123456789_-"
            for c in service):
        raise ValueError("bad-service")
    off += slen
    if len(data) - off < tlen:
        raise ValueError("truncated")
    token = data[off:off + tlen]
    ok = (b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
          b"0123456789-_.")
    if tlen == 0 or any(c not in ok for c in token):
        raise ValueError("bad-token-bytes")
    off += tlen
    m = dict(version=ver, flags=flags, timestamp=ts, nonce=nonce, src=src,
             service=service, token=token, signed=data[:off],
             sig_alg=None, sig=None)
    if not flags & 1:
        if off != len(data):
            raise ValueError("trailing-bytes")
        return m
    if len(data) - off < 3:
        raise ValueError("truncated")
    alg, siglen = struct.unpack(">BH", data[off:off + 3])
    if alg not in ALG_NAMES:
        raise ValueError("bad-sig-alg")
    if not 1 <= siglen <= 1024:
        raise ValueError("bad-sig-length")
    off += 3
    if len(data) - off < siglen:
        raise ValueError("truncated")
    if len(data) - off > siglen:
        raise ValueError("trailing-bytes")
    m.update(sig_alg=ALG_NAMES[alg], sig=data[off:])
    return m


def py_sign(priv, alg, data):
    """The JWS form of the signature: raw r||s for ECDSA."""
    if alg in ("ES256", "ES384"):
        h = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
        r, s = utils.decode_dss_signature(priv.sign(data, ec.ECDSA(h)))
        n = 32 if alg == "ES256" else 48
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    if alg == "EdDSA":
        return priv.sign(data)
    pad = padding.PKCS1v15() if alg == "RS256" else padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()),
        salt_length=padding.PSS.DIGEST_LENGTH)
    return priv.sign(data, pad, hashes.SHA256())


def py_verify(pub, alg, data, sig):
    if alg in ("ES256", "ES384"):
        n = len(sig) // 2
        h = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
        der = utils.encode_dss_signature(int.from_bytes(sig[:n], "big"),
                                         int.from_bytes(sig[n:], "big"))
        pub.verify(der, data, ec.ECDSA(h))
    elif alg == "EdDSA":
        pub.verify(sig, data)
    else:
        pad = padding.PKCS1v15() if alg == "RS256" else padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()),
            salt_length=padding.PSS.DIGEST_LENGTH)
        pub.verify(sig, data, pad, hashes.SHA256())


def _append_sig(body, priv, alg):
    sig = py_sign(priv, alg, body)
    return body + struct.pack(">BH", ALGS[alg], len(sig)) + sig


# ---- fixtures and helpers ----

@pytest.fixture(scope="module", autouse=True)
def need_binaries():
    for b in (CLIENT, PARSE):
        if not os.access(b, os.X_OK):
            pytest.fail(f"{b} missing: make BUILD=... all")


def pem_priv(key, path):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return str(path)


def pem_pub(pub, path):
    with open(path, "wb") as f:
        f.write(pub.public_bytes(serialization.Encoding.PEM,
                                 serialization.PublicFormat
                                 .SubjectPublicKeyInfo))
    return str(path)


def knockparse(data, *args):
    p = subprocess.run([PARSE, *args], input=data.hex() + "\n",
                       capture_output=True, text=True, timeout=30)
    fields = dict(line.split("=", 1) for line in p.stdout.splitlines())
    return p.returncode, fields


def client(tmp_path, *args, token=TOKEN, src=SRC):
    tok = tmp_path / "token"
    tok.write_bytes(token + b"\n")
    srcarg = ["--src", src] if src else []
    p = subprocess.run([CLIENT, "--token", str(tok), *srcarg, *args],
                       capture_output=True, text=True, timeout=30)
    return p


def gen_key(kind):
    if kind == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ES384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# ---- cordon-knock's output, read by the Python decoder ----

def test_client_plain_decodes(tmp_path):
    p = client(tmp_path, "--service", "ssh", "--print", "--time",
               "1800000000")
    assert p.returncode == 0, p.stderr
    data = bytes.fromhex(p.stdout.strip())
    m = decode(data)
    assert m["version"] == 2 and m["flags"] == 0
    assert m["timestamp"] == 1800000000 and m["src"] == SRC
    assert m["service"] == b"ssh" and m["token"] == TOKEN
    assert len(data) == HDR + 3 + len(TOKEN)
    p = client(tmp_path, "--service", "ssh", "--print", src="2001:db8::7")
    assert decode(bytes.fromhex(p.stdout.strip()))["src"] == "2001:db8::7"
    # The token binds a key and no --key was given: the client warns.
    assert "without --key" in p.stderr


def test_client_nonces_are_fresh(tmp_path):
    seen = set()
    for _ in range(20):
        p = client(tmp_path, "--service", "ssh", "--print")
        m = decode(bytes.fromhex(p.stdout.strip()))
        assert abs(m["timestamp"] - time.time()) < 5
        seen.add(m["nonce"])
    assert len(seen) == 20


@pytest.mark.parametrize("alg,extra", [
    ("ES256", []), ("ES384", []), ("EdDSA", []), ("RS256", []),
    ("PS256", ["--alg", "PS256"])])
def test_client_signature_verifies_in_python(tmp_path, alg, extra):
    priv = gen_key(alg)
    key = pem_priv(priv, tmp_path / "k.pem")
    p = client(tmp_path, "--service", "rdp", "--print", "--key", key,
               *extra)
    assert p.returncode == 0, p.stderr
    m = decode(bytes.fromhex(p.stdout.strip()))
    assert m["flags"] == 1 and m["sig_alg"] == alg
    py_verify(priv.public_key(), alg, m["signed"], m["sig"])
    with pytest.raises(InvalidSignature):
        py_verify(priv.public_key(), alg, m["signed"][:-1] + b"X",
                  m["sig"])


def test_client_refuses_bad_input(tmp_path):
    assert client(tmp_path, "--service", "SSH", "--print").returncode == 1
    assert client(tmp_path, "--service", "ssh", "--print",
                  token=b"a" * 3800).returncode == 1
    assert client(tmp_path, "--service", "ssh").returncode == 2  # no --to
    # --print alone has no route to take the address from.
    assert client(tmp_path, "--service", "ssh", "--print",
                  src=None).returncode == 2
    assert client(tmp_path, "--service", "ssh", "--print",
                  src="nowhere").returncode == 1
    key = tmp_path / "k.pem"
    key.write_text("not a key\n")
    assert client(tmp_path, "--service", "ssh", "--print", "--key",
                  str(key)).returncode == 1


@pytest.mark.parametrize("token", [TOKEN + b"\0garbage", b"\0" + TOKEN,
                                   TOKEN[:10] + b"\0" + TOKEN[10:]])
def test_client_refuses_a_nul_in_the_token(tmp_path, token):
    """The token file is read by length: a NUL is a bad token byte, not
    the end of the token (which would send its first part unseen)."""
    p = client(tmp_path, "--service", "ssh", "--print", token=token)
    assert p.returncode == 1 and p.stdout == "", p.stdout
    assert "token bytes" in p.stderr


# ---- Python-built knocks, read by the C parser ----

def test_python_knock_parsed_by_c():
    nonce = bytes(range(16))
    data = encode(service=b"k8s-api", ts=1800000123, nonce=nonce)
    rc, f = knockparse(data)
    assert rc == 0 and f["reason"] == "ok"
    assert f["timestamp"] == "1800000123"
    assert f["nonce"] == nonce.hex()
    assert f["addr"] == SRC
    assert f["service"] == "k8s-api"
    assert f["token"] == TOKEN.decode()
    assert f["sig_alg"] == "none"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_python_pop_verified_by_c(tmp_path, alg):
    # Keys from jwcrypto, as an identity provider would mint cnf.jwk.
    if alg == "ES256":
        k = jwk.JWK.generate(kty="EC", crv="P-256")
    else:
        k = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    priv = serialization.load_pem_private_key(
        k.export_to_pem(private_key=True, password=None), None)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(k.export_to_pem())
    data = _append_sig(encode(flags=1), priv, alg)
    rc, f = knockparse(data, "--key", str(pub))
    assert (rc, f["pop"], f["sig_alg"]) == (0, "ok", alg)
    rc, f = knockparse(data, "--key", str(pub), "--alg", alg)
    assert (rc, f["pop"]) == (0, "ok")
    # Wrong key: same type, another key.
    other = gen_key(alg)
    wrong = pem_pub(other.public_key(), tmp_path / "wrong.pem")
    rc, f = knockparse(data, "--key", wrong)
    assert (rc, f["pop"]) == (1, "bad")
    # A signed byte changed after signing.
    bad = bytearray(data)
    bad[20] ^= 1
    rc, f = knockparse(bytes(bad), "--key", str(pub))
    assert (rc, f["pop"]) == (1, "bad")


def test_python_ecdsa_der_is_refused(tmp_path):
    """JWS ECDSA is raw r||s; a DER signature must not verify."""
    priv = gen_key("ES256")
    pub = pem_pub(priv.public_key(), tmp_path / "p.pem")
    body = encode(flags=1)
    der = priv.sign(body, ec.ECDSA(hashes.SHA256()))
    data = body + struct.pack(">BH", 2, len(der)) + der
    rc, f = knockparse(data, "--key", pub)
    assert (rc, f["pop"]) == (1, "bad")


MALFORMED = [
    ("bad-magic", lambda: b"CDK2" + encode()[4:]),
    ("bad-version", lambda: encode(version=1)),
    ("bad-version", lambda: encode(version=3)),
    ("bad-flags", lambda: encode(flags=4)),
    ("bad-address", lambda: encode(af=0)),
    ("bad-address", lambda: encode(af=5)),
    ("bad-address", lambda: encode()[:47] + b"\1" + encode()[48:]),
    ("bad-service", lambda: encode(service=b"Ssh")),
    ("bad-service", lambda: encode(service=b"")),
    ("bad-service", lambda: encode(service=b"a" * 65)),
    ("bad-token-bytes", lambda: encode(token=b"abc def")),
    ("bad-token-bytes", lambda: encode(token=b"")),
    ("trailing-bytes", lambda: encode() + b"\0"),
    ("truncated", lambda: encode()[:HDR - 1]),
    ("truncated", lambda: encode()[:-1]),
    ("truncated", lambda: encode(tok_len=0xffff)),
    ("truncated", lambda: encode(svc_len=200)),
    ("truncated", lambda: encode(flags=1)),
    ("bad-sig-alg", lambda: encode(flags=1, sig_alg=5, sig=b"x" * 64)),
    ("bad-sig-length", lambda: encode(flags=1, sig_alg=2, sig=b"")),
    ("bad-size", lambda: encode(token=b"a" * 3800)),
]


@pytest.mark.parametrize("want,make", MALFORMED,
                         ids=[f"{w}-{i}" for i, (w, _) in
                              enumerate(MALFORMED)])
def test_malformed_same_verdict_in_both(want, make):
    data = make()
    with pytest.raises(ValueError) as e:
        decode(data)
    assert str(e.value) == want
    rc, f = knockparse(data)
    assert (rc, f["reason"]) == (1, want)


# ---- the daemon's path, one process per knock (restarts) ----

def _signed(tmp_path):
    """An ES256 key, its public PEM, and a signer of knocks (PoP: the
    shipped default requires it)."""
    priv = gen_key("ES256")
    pub = pem_pub(priv.public_key(), tmp_path / "pop.pem")
    return pub, lambda **k: _append_sig(encode(flags=1, **k), priv, "ES256")


def test_replay_survives_restart(tmp_path):
    db = str(tmp_path / "replay.db")
    now = int(time.time())
    pub, sign = _signed(tmp_path)
    data = sign(ts=now)
    assert knockparse(data, "--replay", db, "--now", str(now),
                      "--key", pub)[1] == {"verdict": "ok"}
    # Every knockparse run is a fresh process opening the file again.
    for dt in (0, 1, 100):
        rc, f = knockparse(data, "--replay", db, "--now", str(now + dt),
                           "--key", pub)
        assert (rc, f["verdict"]) == (1, "replay")
    # Past max_age (120 s by default) it is stale before it is a replay.
    rc, f = knockparse(data, "--replay", db, "--now", str(now + 121),
                       "--key", pub)
    assert f["verdict"] == "stale"
    rc, f = knockparse(sign(ts=now + 31), "--replay", db, "--now",
                       str(now), "--key", pub)
    assert f["verdict"] == "future"


def test_wrong_key_does_not_poison_cache(tmp_path):
    db = str(tmp_path / "replay.db")
    now = int(time.time())
    priv, thief = gen_key("ES256"), gen_key("ES256")
    pub = pem_pub(priv.public_key(), tmp_path / "pub.pem")
    nonce = os.urandom(16)
    forged = _append_sig(encode(ts=now, nonce=nonce, flags=1), thief,
                         "ES256")
    genuine = _append_sig(encode(ts=now, nonce=nonce, flags=1), priv,
                          "ES256")
    args = ["--replay", db, "--now", str(now), "--key", pub]
    assert knockparse(forged, *args)[1]["verdict"] == "pop-bad"
    assert knockparse(genuine, *args)[1]["verdict"] == "ok"
    assert knockparse(genuine, *args)[1]["verdict"] == "replay"
    # PoP is required by default: a knock without one is refused, and
    # takes no place in the cache ("proof = false" then accepts it).
    plain = encode(ts=now)
    rc, f = knockparse(plain, "--replay", db, "--now", str(now))
    assert f["verdict"] == "pop-missing"
    rc, f = knockparse(plain, "--replay", db, "--now", str(now),
                       "--no-require-pop")
    assert (rc, f["verdict"]) == (0, "ok")


def test_captured_knock_from_another_address(tmp_path):
    """Issue 10: a signed knock captured on the path and delivered first
    from the attacker's address is refused by name, and takes no place in
    the replay cache: the original, arriving second, still opens."""
    db = str(tmp_path / "replay.db")
    now = int(time.time())
    priv = gen_key("ES256")
    pub = pem_pub(priv.public_key(), tmp_path / "pub.pem")
    knock = _append_sig(encode(ts=now, flags=1, src="198.51.100.20"), priv,
                        "ES256")
    args = ["--replay", db, "--now", str(now), "--key", pub]
    rc, f = knockparse(knock, *args, "--src", "203.0.113.66")
    assert (rc, f["verdict"]) == (1, "address-mismatch")
    # The attacker rewrites the signed address to its own: PoP breaks.
    body = bytearray(knock)
    body[32:36] = bytes([203, 0, 113, 66])
    rc, f = knockparse(bytes(body), *args, "--src", "203.0.113.66")
    assert (rc, f["verdict"]) == (1, "pop-bad")
    rc, f = knockparse(knock, *args, "--src", "198.51.100.20")
    assert (rc, f["verdict"]) == (0, "ok")
    rc, f = knockparse(knock, *args, "--src", "198.51.100.20")
    assert f["verdict"] == "replay"


def test_nat_pairing_only_when_configured(tmp_path):
    """A client behind a NAT signs its inside address; it is accepted
    from the NAT's outside address only with a matching pairing."""
    now = int(time.time())
    pub, sign = _signed(tmp_path)
    knock = sign(ts=now, src="10.1.2.3")
    for n, (nat, src, want) in enumerate([
            ([], "198.51.100.7", "address-mismatch"),
            (["10.0.0.0/8,198.51.100.7/32"], "198.51.100.8",
             "address-mismatch"),
            (["172.16.0.0/12,198.51.100.7/32"], "198.51.100.7",
             "address-mismatch"),
            (["10.0.0.0/8,198.51.100.0/24"], "198.51.100.7", "ok")]):
        args = ["--replay", str(tmp_path / f"r{n}.db"), "--now", str(now),
                "--src", src, "--key", pub]
        for pair in nat:
            args += ["--nat", pair]
        assert knockparse(knock, *args)[1]["verdict"] == want, (nat, src)


def test_client_knock_accepted_by_daemon_path(tmp_path):
    priv = gen_key("EdDSA")
    key = pem_priv(priv, tmp_path / "k.pem")
    pub = pem_pub(priv.public_key(), tmp_path / "p.pem")
    p = client(tmp_path, "--service", "ssh", "--print", "--key", key)
    data = bytes.fromhex(p.stdout.strip())
    db = str(tmp_path / "r.db")
    args = ["--replay", db, "--key", pub]
    assert knockparse(data, *args)[1]["verdict"] == "ok"
    assert knockparse(data, *args)[1]["verdict"] == "replay"


@pytest.mark.parametrize("kty,alg", [("EC", "ES256"), ("EC", "ES384"),
                                     ("OKP", "EdDSA"), ("RSA", "RS256"),
                                     ("RSA", "PS256")])
def test_cnf_jwk_from_jwcrypto(tmp_path, kty, alg):
    """The cnf key as a JWK (what the token carries), imported by
    jose_jwk_to_pkey; an RSA JWK without "alg" allows RS256 and PS256."""
    if kty == "EC":
        k = jwk.JWK.generate(kty="EC",
                             crv="P-256" if alg == "ES256" else "P-384")
    elif kty == "OKP":
        k = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    else:
        k = jwk.JWK.generate(kty="RSA", size=2048)
    priv = serialization.load_pem_private_key(
        k.export_to_pem(private_key=True, password=None), None)
    jf = tmp_path / "cnf.json"
    jf.write_text(k.export_public())
    now = int(time.time())
    data = _append_sig(encode(ts=now, flags=1), priv, alg)
    rc, f = knockparse(data, "--jwk", str(jf))
    assert (rc, f["pop"]) == (0, "ok")
    db = str(tmp_path / "r.db")
    args = ["--replay", db, "--now", str(now), "--jwk", str(jf)]
    assert knockparse(data, *args)[1]["verdict"] == "ok"
    assert knockparse(data, *args)[1]["verdict"] == "replay"
    # The JWK names another algorithm than the knock uses.
    pub = k.export_public(as_dict=True)
    pub["alg"] = {"ES256": "ES384", "ES384": "ES256", "EdDSA": "ES256",
                  "RS256": "PS256", "PS256": "RS256"}[alg]
    jf.write_text(json.dumps(pub))
    rc, f = knockparse(data, "--jwk", str(jf))
    assert rc == 1 and f["pop"] == "bad"


def test_unusable_cnf_jwk_refuses(tmp_path):
    """A token whose cnf.jwk cannot be imported must not pass as a
    token without a key binding, even with PoP not required."""
    jf = tmp_path / "cnf.json"
    jf.write_text('{"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}')
    now = int(time.time())
    rc, f = knockparse(encode(ts=now), "--replay", str(tmp_path / "r.db"),
                       "--now", str(now), "--jwk", str(jf),
                       "--no-require-pop")
    assert (rc, f["verdict"]) == (1, "cnf-key-unusable")


# ---- a real send, inside a namespace of our own ----

@pytest.fixture
def netns():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a network namespace")
    name = f"cdk-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"],
                       check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name])


RECEIVER = """
import socket, sys
fam = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(10)
print(s.getsockname()[1], flush=True)
for _ in range(int(sys.argv[2])):
    print(s.recv(65535).hex(), flush=True)
"""


@pytest.mark.parametrize("addr,fmt", [("127.0.0.1", "{a}:{p}"),
                                      ("::1", "[{a}]:{p}"),
                                      ("::1", "{a}")])
def test_client_sends_one_datagram(tmp_path, netns, addr, fmt):
    count = 3
    rx = subprocess.Popen(["ip", "netns", "exec", netns, "/usr/bin/python3",
                           "-c", RECEIVER, addr, str(count)],
                          stdout=subprocess.PIPE, text=True)
    try:
        port = int(rx.stdout.readline())
        to = fmt.format(a=addr, p=port)
        tok = tmp_path / "token"
        tok.write_bytes(TOKEN)
        p = subprocess.run(["ip", "netns", "exec", netns, CLIENT,
                            "--token", str(tok), "--service", "ssh",
                            "--to", to, "--port", str(port),
                            "--count", str(count)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        got = [bytes.fromhex(rx.stdout.readline().strip())
               for _ in range(count)]
    finally:
        rx.kill()
        rx.wait()
    # --count sends copies of one knock (the appliance counts the rest
    # as replays); each decodes as a knock for ssh.
    assert got[0] == got[1] == got[2]
    m = decode(got[0])
    assert m["service"] == b"ssh" and m["token"] == TOKEN
    # Without --src the client signs the address its route leaves from.
    assert m["src"] == addr
    rc, f = knockparse(got[0])
    assert rc == 0 and f["nonce"] == m["nonce"].hex()


def test_man_page_lints_clean():
    if shutil.which("mandoc") is None:
        pytest.skip("mandoc is not installed")
    man = os.path.join(ROOT, "docs", "man", "cordon-knock.1")
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", man],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", \
        r.stdout + r.stderr
