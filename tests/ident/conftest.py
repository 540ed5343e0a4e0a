"""Fixtures for the JOSE verifier tests: keys and tokens are made with
independent implementations (PyJWT and jwcrypto) and checked with the
C verifier through build/tools/jwtverify."""
import base64
import json
import os
import subprocess
import time

import pytest
from jwcrypto import jwk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
BUILD = os.environ.get("BUILD", "build")
JWTVERIFY = os.environ.get("JWTVERIFY",
                           os.path.join(ROOT, BUILD, "tools", "jwtverify"))
ISS = "https://idp.example.test/realm"
AUD = "cordon-mgmt"


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_json(obj):
    return b64u(json.dumps(obj, separators=(",", ":")))


def claims(**over):
    now = int(time.time())
    c = {"iss": ISS, "aud": AUD, "sub": "alice", "iat": now,
         "exp": now + 600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


class Verifier:
    """Runs jwtverify on a token with one issuer and a JWKS file."""

    def __init__(self, tmp, jwks):
        self.tmp = tmp
        self.jwks = tmp / "jwks.json"
        self.jwks.write_text(json.dumps(jwks))
        self.n = 0

    def run(self, token, *extra, jwks=None):
        self.n += 1
        path = self.tmp / f"tok{self.n}"
        path.write_bytes(token.encode() if isinstance(token, str)
                         else token)
        cmd = [JWTVERIFY, "--issuer", ISS, "--aud", AUD, "--jwks",
               str(jwks or self.jwks), *extra, str(path)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return p

    def reason(self, token, *extra, jwks=None):
        p = self.run(token, *extra, jwks=jwks)
        first = p.stdout.split("\n", 1)[0]
        assert p.returncode == (0 if first == "ok" else 1), (p.stdout,
                                                             p.stderr)
        return first

    def claims(self, token, *extra):
        p = self.run(token, *extra)
        assert p.returncode == 0, p.stdout + p.stderr
        lines = p.stdout.splitlines()
        assert lines[0] == "ok"
        return json.loads(lines[1])


KEY_SPECS = {
    "rsa": dict(kty="RSA", size=2048),
    "ec256": dict(kty="EC", crv="P-256"),
    "ec384": dict(kty="EC", crv="P-384"),
    "ed25519": dict(kty="OKP", crv="Ed25519"),
    "ed448": dict(kty="OKP", crv="Ed448"),
}


@pytest.fixture(scope="session")
def keys():
    """Private jwcrypto keys by name; kid is the name."""
    return {name: jwk.JWK.generate(kid=name, **spec)
            for name, spec in KEY_SPECS.items()}


def public_jwks(*ks, **member):
    out = []
    for k in ks:
        d = json.loads(k.export_public())
        d.update(member)
        out.append(d)
    return {"keys": out}


@pytest.fixture
def verifier(tmp_path, keys):
    return Verifier(tmp_path, public_jwks(*keys.values()))
