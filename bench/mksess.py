#!/usr/bin/python3
"""Keys, tokens and traffic for bench/sessions.sh (identity sessions).

Made with jwcrypto and plain struct packing, independent of cordon's own
JOSE code.  Used as a module by bench/sessions.sh; also runnable:

    mksess.py keys DIR              es.jwk/ed.jwk (private, kept) and
                                    es.jwks/ed.jwks (public sets)
    mksess.py tokens DIR ALG N OUT  N tokens of the ES256 or EdDSA issuer,
                                    one per line, each a distinct sub/jti
    mksess.py pcap OUT N [SEED]     64-byte TCP SYNs to port 22 from N
                                    distinct IPv4 sources, in OUT and the
                                    sources one per line in OUT.src
"""
import json
import multiprocessing
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkbench  # noqa: E402

# issuer name in the config -> (JWS alg, iss claim, jwcrypto key params)
ISSUERS = {
    "es": ("ES256", "https://idp-es.bench", dict(kty="EC", crv="P-256")),
    "ed": ("EdDSA", "https://idp-ed.bench", dict(kty="OKP", crv="Ed25519")),
}
AUDIENCE = "cordon"
LIFETIME = 4 * 3600     # tokens are cached between runs for a while
DST = "192.0.2.100"
DPORT = 22


def keys(d):
    """Makes each issuer's key once (kept in D), rewrites the JWKS."""
    from jwcrypto import jwk
    for name, (alg, _, params) in ISSUERS.items():
        path = os.path.join(d, name + ".jwk")
        if os.path.exists(path):
            with open(path) as f:
                key = jwk.JWK.from_json(f.read())
        else:
            key = jwk.JWK.generate(kid=name + "1", **params)
            with open(path, "w") as f:
                f.write(key.export_private())
        pub = json.loads(key.export_public())
        pub.update(alg=alg, use="sig")
        with open(os.path.join(d, name + ".jwks"), "w") as f:
            json.dump({"keys": [pub]}, f)


def _sign_range(job):
    """Tokens FIRST..LAST-1 of issuer NAME (one worker's share)."""
    from jwcrypto import jwk, jwt
    d, name, first, last, now = job
    alg, iss, _ = ISSUERS[name]
    with open(os.path.join(d, name + ".jwk")) as f:
        key = jwk.JWK.from_json(f.read())
    out = []
    for i in range(first, last):
        claims = {"iss": iss, "aud": AUDIENCE, "sub": "user%d" % i,
                  "jti": "%s-%d-%d" % (name, now, i), "iat": now,
                  "nbf": now - 5, "exp": now + LIFETIME,
                  "groups": ["ops"], "ctry": "US"}
        t = jwt.JWT(header={"alg": alg, "kid": name + "1", "typ": "JWT"},
                    claims=claims)
        t.make_signed_token(key)
        out.append(t.serialize())
    return out


def tokens(d, name, n, procs=2):
    """N fresh tokens of issuer NAME, signed on PROCS processes."""
    now = int(time.time())
    step = (n + procs - 1) // procs
    jobs = [(d, name, i, min(i + step, n), now) for i in range(0, n, step)]
    with multiprocessing.Pool(procs) as p:
        return [t for part in p.map(_sign_range, jobs) for t in part]


def tokens_cached(d, name, n, max_age=1800):
    """N tokens of issuer NAME from D/NAME-N.tokens when that file is
    younger than MAX_AGE s (its tokens still have hours to live), else
    freshly made and stored there."""
    path = os.path.join(d, "%s-%d.tokens" % (name, n))
    try:
        if time.time() - os.path.getmtime(path) < max_age:
            with open(path) as f:
                toks = f.read().split()
            if len(toks) == n:
                return toks
    except OSError:
        pass
    toks = tokens(d, name, n)
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(toks) + "\n")
    os.replace(path + ".tmp", path)
    return toks


def sources(n, seed=7):
    """N distinct public unicast IPv4 addresses (dotted), in a fixed
    pseudo-random order."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n:
        a = mkbench.rand_v4(rng)
        if a not in seen:
            seen.add(a)
            out.append(a)
    return [".".join(str(b) for b in a) for a in out]


def syn(src, rng):
    """A 64-byte Ethernet/IPv4/TCP SYN from SRC (dotted) to DST:DPORT."""
    tcp = struct.pack("!HHIIBBHHH", rng.randint(1024, 65535), DPORT,
                      rng.getrandbits(32), 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = bytearray(struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0,
        bytes(int(x) for x in src.split(".")),
        bytes(int(x) for x in DST.split("."))))
    ip[10:12] = struct.pack("!H", mkbench.csum(bytes(ip)))
    return mkbench.ETH + b"\x08\x00" + bytes(ip) + tcp


def pcap(out, n, seed=7):
    """OUT: one SYN from each of sources(N, SEED), in that order; OUT.src:
    the sources.  Returns the sources."""
    srcs = sources(n, seed)
    rng = random.Random(seed + 1)
    mkbench.write_pcap(out, [syn(s, rng) for s in srcs])
    with open(out + ".src", "w") as f:
        f.write("\n".join(srcs) + "\n")
    return srcs


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "keys" and len(sys.argv) == 3:
        keys(sys.argv[2])
    elif cmd == "tokens" and len(sys.argv) == 6:
        name = {"ES256": "es", "EdDSA": "ed"}[sys.argv[3]]
        with open(sys.argv[5], "w") as f:
            f.write("\n".join(tokens(sys.argv[2], name,
                                     int(sys.argv[4]))) + "\n")
    elif cmd == "pcap" and len(sys.argv) in (4, 5):
        pcap(sys.argv[2], int(sys.argv[3]),
             int(sys.argv[4]) if len(sys.argv) == 5 else 7)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
