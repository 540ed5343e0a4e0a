"""jwtverify (control/ident) against tokens from PyJWT and jwcrypto, and
against hand-made bad tokens: each is refused for its own named reason."""
import base64
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)
from jwcrypto import jwk, jws
from jwcrypto import jwt as jcjwt

from conftest import AUD, ISS, b64u, b64u_json, claims, public_jwks

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P384_N = int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
             "581A0DB248B0A77AECEC196ACCC52973", 16)

ALGS = [("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "ec256"),
        ("ES384", "ec384"), ("EdDSA", "ed25519"), ("EdDSA", "ed448")]


def pem(key):
    return key.export_to_pem(private_key=True, password=None)


def raw_sign(alg, key, data, der=False):
    """Signs DATA the JWS way (raw r||s for ES*) with cryptography."""
    priv = key.get_op_key("sign")
    if alg == "RS256":
        return priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return priv.sign(data, padding.PSS(mgf=padding.MGF1(
            hashes.SHA256()), salt_length=32), hashes.SHA256())
    if alg in ("ES256", "ES384"):
        h = hashes.SHA256() if alg == "ES256" else hashes.SHA384()
        sig = priv.sign(data, ec.ECDSA(h))
        if der:
            return sig
        r, s = decode_dss_signature(sig)
        n = 32 if alg == "ES256" else 48
        return r.to_bytes(n, "big") + s.to_bytes(n, "big")
    return priv.sign(data)


def make(header, payload, key=None, alg=None, raw_header=None,
         raw_payload=None, der=False):
    """A compact JWS from dicts (or raw JSON text), signed by KEY."""
    h = b64u(raw_header) if raw_header is not None else b64u_json(header)
    p = b64u(raw_payload) if raw_payload is not None else b64u_json(payload)
    signing_input = f"{h}.{p}".encode()
    sig = b""
    if key is not None:
        sig = raw_sign(alg or header["alg"], key, signing_input, der=der)
    return f"{h}.{p}.{b64u(sig)}"


def good(keys, alg="ES256", name="ec256", **over):
    return make({"alg": alg, "kid": name, "typ": "JWT"}, claims(**over),
                keys[name])


# --- accepted: independent implementations, every algorithm ------------

@pytest.mark.parametrize("alg,name", ALGS)
def test_pyjwt_tokens_accepted(verifier, keys, alg, name):
    tok = pyjwt.encode(claims(), pem(keys[name]), algorithm=alg,
                       headers={"kid": name})
    c = verifier.claims(tok)
    assert c["sub"] == "alice" and c["iss"] == ISS


@pytest.mark.parametrize("alg,name", ALGS)
def test_jwcrypto_tokens_accepted(verifier, keys, alg, name):
    t = jcjwt.JWT(header={"alg": alg, "kid": name}, claims=claims())
    t.make_signed_token(keys[name])
    assert verifier.claims(t.serialize())["aud"] == AUD


@pytest.mark.parametrize("alg,name", ALGS)
def test_own_signer_accepted(verifier, keys, alg, name):
    assert verifier.reason(good(keys, alg, name)) == "ok"


def test_aud_array_with_ours(verifier, keys):
    assert verifier.reason(good(keys, aud=["other", AUD])) == "ok"


def test_second_configured_audience(verifier, keys):
    tok = good(keys, aud="second")
    assert verifier.reason(tok, "--aud", "second") == "ok"


def test_no_kid_single_key_of_type(verifier, keys):
    tok = make({"alg": "ES384"}, claims(), keys["ec384"])
    assert verifier.reason(tok) == "ok"


def test_leeway_accepts_recently_expired(verifier, keys):
    now = int(time.time())
    tok = good(keys, iat=now - 300, exp=now - 30)
    assert verifier.reason(tok) == "expired"
    assert verifier.reason(tok, "--leeway", "60") == "ok"


def test_fixed_now(verifier, keys):
    tok = good(keys, iat=1000, exp=1600)
    assert verifier.reason(tok, "--now", "1300") == "ok"
    assert verifier.reason(tok, "--now", "1601") == "expired"


def test_fractional_dates(verifier, keys):
    now = time.time()
    assert verifier.reason(good(keys, iat=now - 1.5, exp=now + 60.5)) == "ok"


# --- size, shape, encoding, JSON --------------------------------------

def test_too_large_before_parsing(verifier, keys):
    assert verifier.reason("x" * 200, "--max-token", "100") == "too-large"
    tok = good(keys)
    assert verifier.reason(tok, "--max-token", str(len(tok) - 1)) == \
        "too-large"
    assert verifier.reason(tok, "--max-token", str(len(tok))) == "ok"


def test_default_max_token(verifier):
    assert verifier.reason("a." * 5000 + "a") == "too-large"


@pytest.mark.parametrize("mangle", [
    lambda t: t + ".xyz", lambda t: t.rsplit(".", 1)[0],
    lambda t: t.replace(".", "", 1), lambda t: "..." + t, lambda t: ""])
def test_not_three_segments(verifier, keys, mangle):
    assert verifier.reason(mangle(good(keys))) == "segments"


@pytest.mark.parametrize("mangle", [
    lambda h, p, s: (h + "=", p, s),          # padding
    lambda h, p, s: (h, p + "==", s),
    lambda h, p, s: (h, p, s + "="),
    lambda h, p, s: (h[:5] + "+" + h[6:], p, s),  # other alphabet
    lambda h, p, s: (h, p[:3] + "/" + p[4:], s),
    lambda h, p, s: (h, " " + p, s),          # whitespace
    lambda h, p, s: (h[:len(h) - len(h) % 4] + "A", p, s),  # 4n+1 chars
    lambda h, p, s: (h, p, s[:-1] + "\u00e9"),  # non-ASCII
])
def test_bad_base64url(verifier, keys, mangle):
    h, p, s = good(keys).split(".")
    assert verifier.reason(".".join(mangle(h, p, s))) == "bad-base64"


@pytest.mark.parametrize("mangle", [
    lambda t: t + b"\0",                         # NUL after the token
    lambda t: t + b"\0garbage",
    lambda t: t[:10] + b"\0" + t[10:],           # in the header
    lambda t: t.replace(b".", b".\0", 1),        # first of the payload
    lambda t: t.replace(b".", b"\0.", 1),        # last of the header
])
def test_nul_byte_refused_by_length(verifier, keys, mangle):
    """The verifier reads LEN bytes: a NUL anywhere is a bad byte, never
    the end of the token (a C string read would verify the part before
    it and drop the rest unseen)."""
    tok = good(keys).encode()
    assert verifier.reason(tok) == "ok"
    p = verifier.run(mangle(tok))
    assert p.stdout.split("\n", 1)[0] == "bad-base64", p.stdout
    assert "byte 0x00 at offset" in p.stderr, p.stderr


def test_non_canonical_base64_trailing_bits(verifier, keys):
    h, p, s = good(keys).split(".")
    # 64-byte signature: 86 characters, the last carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(s[-1]) | 1]
    assert verifier.reason(f"{h}.{p}.{s[:-1]}{last}") == "bad-base64"


@pytest.mark.parametrize("raw", ['[1,2]', '"str"', '123', '{"alg":', 'nul',
                                 '{"alg":"ES256"} x', ''])
def test_header_not_object(verifier, keys, raw):
    tok = make(None, claims(), keys["ec256"], alg="ES256", raw_header=raw)
    assert verifier.reason(tok) == "not-json-object"


@pytest.mark.parametrize("raw", ['[]', '42', '{"exp":1', 'true'])
def test_payload_not_object(verifier, keys, raw):
    tok = make({"alg": "ES256", "kid": "ec256"}, None, keys["ec256"],
               raw_payload=raw)
    assert verifier.reason(tok) == "not-json-object"


def test_duplicate_header_key(verifier, keys):
    raw = '{"alg":"ES256","kid":"ec256","alg":"none"}'
    tok = make(None, claims(), keys["ec256"], alg="ES256", raw_header=raw)
    assert verifier.reason(tok) == "duplicate-key"


def test_duplicate_payload_key(verifier, keys):
    c = claims()
    raw = json.dumps(c)[:-1] + ', "exp": 99999999999}'
    tok = make({"alg": "ES256", "kid": "ec256"}, None, keys["ec256"],
               raw_payload=raw)
    assert verifier.reason(tok) == "duplicate-key"


def test_deep_nesting(verifier, keys):
    c = claims()
    deep = json.dumps(c)[:-1] + ', "x": ' + "[" * 40 + "]" * 40 + "}"
    tok = make({"alg": "ES256", "kid": "ec256"}, None, keys["ec256"],
               raw_payload=deep)
    assert verifier.reason(tok) == "too-deep"
    hdr = '{"alg":"ES256","x":' + '{"a":' * 20 + '1' + '}' * 20 + '}'
    tok = make(None, c, keys["ec256"], alg="ES256", raw_header=hdr)
    assert verifier.reason(tok) == "too-deep"


def test_nesting_within_limit(verifier, keys):
    c = claims()
    ok = json.dumps(c)[:-1] + ', "x": ' + "[" * 10 + "]" * 10 + "}"
    tok = make({"alg": "ES256", "kid": "ec256"}, None, keys["ec256"],
               raw_payload=ok)
    assert verifier.reason(tok) == "ok"


def test_brackets_inside_strings_do_not_count(verifier, keys):
    tok = good(keys, sub="[" * 100 + "\\\"{" * 50)
    assert verifier.reason(tok) == "ok"


# --- header rules -------------------------------------------------------

@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("sig", ["", "c2ln"])
def test_alg_none(verifier, alg, sig):
    tok = f"{b64u_json({'alg': alg})}.{b64u_json(claims())}.{sig}"
    assert verifier.reason(tok) == "alg-none"


def test_hs256_with_rsa_public_key_as_secret(verifier, keys):
    """The classic key confusion: the RSA public PEM as an HMAC secret."""
    import hashlib
    import hmac
    pub = keys["rsa"].export_to_pem()
    h = b64u_json({"alg": "HS256", "kid": "rsa"})
    p = b64u_json(claims())
    mac = hmac.new(pub, f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert verifier.reason(f"{h}.{p}.{b64u(mac)}") == "alg-hmac"
    for alg in ("HS384", "HS512", "hs256"):
        h = b64u_json({"alg": alg, "kid": "rsa"})
        assert verifier.reason(f"{h}.{p}.{b64u(mac)}") == "alg-hmac"


@pytest.mark.parametrize("alg", ["RS512", "ES512", "RS384", "PS512", "foo",
                                 "Ed25519", "rs256"])
def test_alg_unsupported(verifier, keys, alg):
    tok = make({"alg": alg, "kid": "rsa"}, claims(), keys["rsa"],
               alg="RS256")
    assert verifier.reason(tok) == "alg-unsupported"


@pytest.mark.parametrize("hdr", [{"kid": "rsa"}, {"alg": 5}, {"alg": None},
                                 {"alg": "RS256", "kid": 7},
                                 {"alg": "RS256", "cty": ["JWT"]}])
def test_header_member_types(verifier, keys, hdr):
    tok = make(hdr, claims(), keys["rsa"], alg="RS256")
    assert verifier.reason(tok) == "header-type"


def test_alg_not_allowed_for_issuer(verifier, keys):
    tok = good(keys, "RS256", "rsa")
    assert verifier.reason(tok, "--algs", "ES256,EdDSA") == "alg-not-allowed"
    assert verifier.reason(tok, "--algs", "RS256") == "ok"


@pytest.mark.parametrize("alg,kid,signer", [
    ("RS256", "ec256", "rsa"),     # EC key named for an RSA token
    ("ES256", "rsa", "ec256"),     # RSA key named for ECDSA
    ("ES384", "ec256", "ec384"),   # P-256 key for ES384
    ("ES256", "ec384", "ec256"),
    ("EdDSA", "rsa", "ed25519"),
    ("PS256", "ed25519", "rsa"),
])
def test_alg_key_type_confusion(verifier, keys, alg, kid, signer):
    tok = make({"alg": alg, "kid": kid}, claims(), keys[signer])
    assert verifier.reason(tok) == "alg-key-mismatch"


def test_key_bound_alg_refuses_other_alg(tmp_path, verifier, keys):
    """An RSA key published with alg RS256 does not verify PS256."""
    jwks = tmp_path / "bound.json"
    jwks.write_text(json.dumps(public_jwks(keys["rsa"], alg="RS256")))
    tok = make({"alg": "PS256", "kid": "rsa"}, claims(), keys["rsa"])
    assert verifier.reason(tok, jwks=jwks) == "alg-key-mismatch"
    tok = make({"alg": "RS256", "kid": "rsa"}, claims(), keys["rsa"])
    assert verifier.reason(tok, jwks=jwks) == "ok"


def test_crit_unknown(verifier, keys):
    tok = make({"alg": "ES256", "kid": "ec256", "crit": ["exp"],
                "exp": 1}, claims(), keys["ec256"])
    assert verifier.reason(tok) == "crit-unknown"
    tok = make({"alg": "ES256", "kid": "ec256", "crit": ["b64"],
                "b64": False}, claims(), keys["ec256"])
    assert verifier.reason(tok) == "crit-unknown"


@pytest.mark.parametrize("crit", ["b64", [], ["missing"], [1], {"a": 1},
                                  None])
def test_crit_malformed(verifier, keys, crit):
    tok = make({"alg": "ES256", "kid": "ec256", "crit": crit}, claims(),
               keys["ec256"])
    assert verifier.reason(tok) == "crit-malformed"


@pytest.mark.parametrize("cty", ["JWT", "jwt", "application/jwt"])
def test_nested_refused(verifier, keys, cty):
    inner = good(keys)
    tok = make({"alg": "ES256", "kid": "ec256", "cty": cty}, None,
               keys["ec256"], raw_payload=inner)
    # The payload is no JSON object, but nesting is refused first.
    assert verifier.reason(tok) == "nested"


# --- keys -----------------------------------------------------------------

def test_unknown_kid(verifier, keys):
    tok = make({"alg": "ES256", "kid": "rotated-away"}, claims(),
               keys["ec256"])
    assert verifier.reason(tok) == "unknown-kid"


def test_no_key_of_type(tmp_path, verifier, keys):
    jwks = tmp_path / "ec.json"
    jwks.write_text(json.dumps(public_jwks(keys["ec256"])))
    tok = make({"alg": "RS256"}, claims(), keys["rsa"])
    assert verifier.reason(tok, jwks=jwks) == "no-key"


def test_no_kid_ambiguous(tmp_path, verifier, keys):
    # Ed25519 and Ed448 both verify EdDSA: without kid, refuse to guess.
    tok = make({"alg": "EdDSA"}, claims(), keys["ed25519"])
    assert verifier.reason(tok) == "key-ambiguous"
    other = jwk.JWK.generate(kty="RSA", size=2048, kid="rsa2")
    jwks = tmp_path / "two.json"
    jwks.write_text(json.dumps(public_jwks(keys["rsa"], other)))
    tok = make({"alg": "RS256"}, claims(), keys["rsa"])
    assert verifier.reason(tok, jwks=jwks) == "key-ambiguous"


@pytest.mark.parametrize("alg,name", ALGS)
def test_bad_signature(verifier, keys, alg, name):
    h, p, s = good(keys, alg, name).split(".")
    p2 = b64u_json(claims(sub="mallory"))
    assert verifier.reason(f"{h}.{p2}.{s}") == "bad-signature"


@pytest.mark.parametrize("alg,name", [a for a in ALGS if a[0] != "ES256"
                                      and a[0] != "ES384"])
def test_truncated_signature(verifier, keys, alg, name):
    h, p, s = good(keys, alg, name).split(".")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    assert verifier.reason(f"{h}.{p}.{b64u(raw[:-3])}") == "bad-signature"
    assert verifier.reason(f"{h}.{p}.") == "bad-signature"


def test_signed_by_another_key(verifier, keys):
    other = jwk.JWK.generate(kty="EC", crv="P-256")
    tok = make({"alg": "ES256", "kid": "ec256"}, claims(), other)
    assert verifier.reason(tok) == "bad-signature"


# --- ECDSA signature format ------------------------------------------

@pytest.mark.parametrize("alg,name", [("ES256", "ec256"), ("ES384", "ec384")])
def test_der_encoded_ecdsa(verifier, keys, alg, name):
    tok = make({"alg": alg, "kid": name}, claims(), keys[name], der=True)
    assert verifier.reason(tok) == "ecdsa-sig-length"


@pytest.mark.parametrize("alg,name", [("ES256", "ec256"), ("ES384", "ec384")])
def test_ecdsa_wrong_length(verifier, keys, alg, name):
    h, p, s = good(keys, alg, name).split(".")
    raw = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    for bad in (raw[:-1], raw + b"\0", b"\0" + raw, b""):
        assert verifier.reason(f"{h}.{p}.{b64u(bad)}") == "ecdsa-sig-length"


def ecdsa_tok(keys, alg, name, r, s):
    n = 32 if alg == "ES256" else 48
    h = b64u_json({"alg": alg, "kid": name})
    p = b64u_json(claims())
    sig = r.to_bytes(n, "big") + s.to_bytes(n, "big")
    return f"{h}.{p}.{b64u(sig)}"


@pytest.mark.parametrize("alg,name,order", [("ES256", "ec256", P256_N),
                                            ("ES384", "ec384", P384_N)])
def test_ecdsa_r_s_range(verifier, keys, alg, name, order):
    top = (1 << (8 * (32 if alg == "ES256" else 48))) - 1
    for r, s in ((0, 1), (1, 0), (0, 0), (order, 1), (1, order),
                 (order + 1, 5), (5, top), (top, top)):
        assert verifier.reason(ecdsa_tok(keys, alg, name, r, s)) == \
            "ecdsa-sig-range", (r, s)
    # In range but wrong: reaches the signature check.
    assert verifier.reason(ecdsa_tok(keys, alg, name, order - 1, 1)) == \
        "bad-signature"


def test_ecdsa_high_s_is_still_valid(verifier, keys):
    """JWS does not require low-S; n - s is the same signature."""
    h = b64u_json({"alg": "ES256", "kid": "ec256"})
    p = b64u_json(claims())
    der = keys["ec256"].get_op_key("sign").sign(f"{h}.{p}".encode(),
                                                ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    tok = ecdsa_tok(keys, "ES256", "ec256", r, P256_N - s)
    tok = f"{h}.{p}.{tok.split('.')[2]}"
    assert verifier.reason(tok) == "ok"
    assert encode_dss_signature(r, s)


# --- claims ---------------------------------------------------------------

def test_expired(verifier, keys):
    now = int(time.time())
    assert verifier.reason(good(keys, iat=now - 100, exp=now - 1)) == \
        "expired"


def test_not_yet_valid(verifier, keys):
    now = int(time.time())
    assert verifier.reason(good(keys, nbf=now + 300)) == "not-yet-valid"
    assert verifier.reason(good(keys, nbf=now + 30), "--leeway", "60") == \
        "ok"


def test_missing_exp(verifier, keys):
    assert verifier.reason(good(keys, exp=None)) == "missing-exp"


def test_iat_in_future(verifier, keys):
    now = int(time.time())
    assert verifier.reason(good(keys, iat=now + 120, exp=now + 600)) == \
        "iat-future"


def test_iat_too_old(verifier, keys):
    now = int(time.time())
    tok = good(keys, iat=now - 7200, exp=now + 60)
    assert verifier.reason(tok, "--max-lifetime", "3600") == "iat-too-old"


def test_lifetime_too_long(verifier, keys):
    now = int(time.time())
    tok = good(keys, iat=now, exp=now + 7200)
    assert verifier.reason(tok, "--max-lifetime", "3600") == \
        "lifetime-too-long"
    # Without iat the lifetime is counted from now.
    tok = good(keys, iat=None, exp=now + 7200)
    assert verifier.reason(tok, "--max-lifetime", "3600") == \
        "lifetime-too-long"
    assert verifier.reason(tok, "--max-lifetime", "8000") == "ok"


def test_default_lifetime_one_day(verifier, keys):
    now = int(time.time())
    assert verifier.reason(good(keys, iat=now, exp=now + 90000)) == \
        "lifetime-too-long"


@pytest.mark.parametrize("over", [dict(exp="tomorrow"), dict(nbf=[1]),
                                  dict(iat=True), dict(aud=5),
                                  dict(aud=[AUD, 5]), dict(exp=1e300)])
def test_claim_types(verifier, keys, over):
    assert verifier.reason(good(keys, **over)) == "claim-type"


@pytest.mark.parametrize("iss", ["https://evil.example/realm", ISS + "/",
                                 ISS.upper(), "", None, 5])
def test_issuer_unknown(verifier, keys, iss):
    assert verifier.reason(good(keys, iss=iss)) == "issuer-unknown"


@pytest.mark.parametrize("aud", ["other", [], ["a", "b"], None,
                                 AUD + "x", AUD[:-1]])
def test_aud_mismatch(verifier, keys, aud):
    assert verifier.reason(good(keys, aud=aud)) == "aud-mismatch"


# --- headers that name keys are ignored ------------------------------

@pytest.mark.parametrize("member", [
    {"jku": "https://attacker.example/jwks.json"},
    {"x5u": "https://attacker.example/cert.pem"},
    {"x5c": ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]},
])
def test_key_headers_ignored_for_good_token(verifier, keys, member):
    hdr = {"alg": "ES256", "kid": "ec256", **member}
    assert verifier.reason(make(hdr, claims(), keys["ec256"])) == "ok"


def test_embedded_jwk_not_trusted(verifier, keys):
    attacker = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec256")
    pub = json.loads(attacker.export_public())
    hdr = {"alg": "ES256", "kid": "ec256", "jwk": pub,
           "jku": "https://attacker.example/jwks.json"}
    assert verifier.reason(make(hdr, claims(), attacker)) == "bad-signature"
    hdr = {"alg": "ES256", "kid": "attacker", "jwk": pub}
    assert verifier.reason(make(hdr, claims(), attacker)) == "unknown-kid"
    hdr = {"alg": "ES256", "jwk": pub, "x5u": "https://attacker.example/c"}
    assert verifier.reason(make(hdr, claims(), attacker)) == "bad-signature"


# --- JWKS documents ------------------------------------------------------

def run_jwks(verifier, tmp_path, doc, keys, tok=None):
    path = tmp_path / "doc.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return verifier.run(tok or good(keys), jwks=path)


def test_small_rsa_key_refused(tmp_path, verifier, keys):
    small = jwk.JWK.generate(kty="RSA", size=1024, kid="small")
    p = run_jwks(verifier, tmp_path, public_jwks(small), keys)
    assert p.returncode == 2 and "0 skipped, 1 refused" in p.stderr


def test_contradicting_alg_refused(tmp_path, verifier, keys):
    doc = {"keys": [dict(json.loads(keys["rsa"].export_public()),
                         alg="ES256"),
                    dict(json.loads(keys["ec256"].export_public()),
                         alg="HS256"),
                    dict(json.loads(keys["ec384"].export_public()),
                         alg="ES256")]}
    p = run_jwks(verifier, tmp_path, doc, keys)
    assert p.returncode == 2 and "0 skipped, 3 refused" in p.stderr


def test_unsupported_and_enc_keys_skipped(tmp_path, verifier, keys):
    oct_key = jwk.JWK.generate(kty="oct", size=256, kid="hmac")
    x25519 = jwk.JWK.generate(kty="OKP", crv="X25519", kid="x")
    doc = {"keys": [json.loads(oct_key.export()),
                    json.loads(x25519.export_public()),
                    dict(json.loads(keys["rsa"].export_public()),
                         use="enc"),
                    dict(json.loads(keys["ec256"].export_public()),
                         use="sig")]}
    p = run_jwks(verifier, tmp_path, doc, keys)
    assert p.returncode == 0, p.stderr
    assert run_jwks(verifier, tmp_path, doc, keys,
                    good(keys, "RS256", "rsa")).stdout.startswith(
                        "unknown-kid")
    doc["keys"].pop()
    p = run_jwks(verifier, tmp_path, doc, keys)
    assert p.returncode == 2 and "3 skipped, 0 refused" in p.stderr


def test_point_not_on_curve_refused(tmp_path, verifier, keys):
    d = json.loads(keys["ec256"].export_public())
    d["y"] = d["x"]
    p = run_jwks(verifier, tmp_path, {"keys": [d]}, keys)
    assert p.returncode == 2 and "1 refused" in p.stderr


@pytest.mark.parametrize("doc", ['{"keys": {}}', '[]', '{"keys": [',
                                 '{"keys": [], "keys": []}'])
def test_malformed_jwks(tmp_path, verifier, keys, doc):
    assert run_jwks(verifier, tmp_path, doc, keys).returncode == 2


def test_private_members_ignored(tmp_path, verifier, keys):
    doc = {"keys": [json.loads(keys["ec256"].export_private())]}
    assert run_jwks(verifier, tmp_path, doc, keys).stdout.startswith("ok")


def test_keys_without_jwcrypto_serialization_quirks(verifier, keys):
    """PEM round trip: PyJWT signs with a key loaded from PEM."""
    priv = serialization.load_pem_private_key(pem(keys["ec384"]), None)
    tok = pyjwt.encode(claims(), priv, algorithm="ES384",
                       headers={"kid": "ec384"})
    assert verifier.reason(tok) == "ok"
    assert jws  # jwcrypto's JWS module is importable (used via jwt)
