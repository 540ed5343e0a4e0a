#!/usr/bin/python3
"""Keys and tokens for the identity namespace test, made with jwcrypto
(an implementation independent of ours).  Writes into DIR:
  jwks.json      the issuer's public key set
  alice.jwt      US engineer, no actor                (valid 10 min)
  escort.jwt     US escort acting for bob, placed in CN (the escort case)
  short.jwt      US engineer, expires in SHORT seconds
  pop.jwt + pop.pem   a token whose cnf binds pop.pem's public key
  late.jwt       pop.pem's key too, but exp 5 s ago: valid only within
                 the issuer's leeway, so it must open nothing
  forged.jwt     alice's header and signature on claims naming mallory
The issuer's private key is kept in DIR/issuer.jwk: a second run makes
new tokens under the same key set.
usage: mktokens.py DIR ISSUER AUDIENCE SHORT
"""
import base64
import json
import os
import sys
import time

from jwcrypto import jwk, jwt


def token(key, claims):
    t = jwt.JWT(header={"alg": "ES256", "kid": "k1", "typ": "JWT"},
                claims=claims)
    t.make_signed_token(key)
    return t.serialize()


def main():
    out, iss, aud, short = sys.argv[1], sys.argv[2], sys.argv[3], \
        int(sys.argv[4])
    keyfile = os.path.join(out, "issuer.jwk")
    if os.path.exists(keyfile):
        with open(keyfile) as f:
            key = jwk.JWK.from_json(f.read())
    else:
        key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        with open(keyfile, "w") as f:
            f.write(key.export_private())
    pub = json.loads(key.export_public())
    pub["alg"] = "ES256"
    pub["use"] = "sig"
    with open(os.path.join(out, "jwks.json"), "w") as f:
        json.dump({"keys": [pub]}, f)
    now = int(time.time())
    base = {"iss": iss, "aud": aud, "iat": now, "nbf": now - 5,
            "exp": now + 600, "groups": ["ops"], "ctry": "US",
            "ipaddr": "192.0.2.10"}
    tokens = {
        "alice": dict(base, sub="alice", jti="j-alice"),
        "escort": dict(base, sub="carol", jti="j-escort",
                       act={"sub": "bob", "ctry": "CN",
                            "ipaddr": "198.51.100.77"}),
        "short": dict(base, sub="dave", jti="j-short", exp=now + short),
    }
    popkey = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    tokens["pop"] = dict(base, sub="erin", jti="j-pop",
                         cnf={"jwk": json.loads(popkey.export_public())})
    tokens["late"] = dict(tokens["pop"], sub="frank", jti="j-late",
                          exp=now - 5)
    with open(os.path.join(out, "pop.pem"), "wb") as f:
        f.write(popkey.export_to_pem(private_key=True, password=None))
    made = {name: token(key, claims) for name, claims in tokens.items()}
    h, _, s = made["alice"].split(".")
    body = json.dumps(dict(tokens["alice"], sub="mallory")).encode()
    made["forged"] = ".".join(
        [h, base64.urlsafe_b64encode(body).rstrip(b"=").decode(), s])
    for name, t in made.items():
        with open(os.path.join(out, name + ".jwt"), "w") as f:
            f.write(t + "\n")


main()
