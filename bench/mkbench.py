#!/usr/bin/python3
"""mkbench.py OUT.pcap SOURCES V6_SHARE [SEED [tun]]

64-byte frames for the fast-path benchmark: SOURCES distinct source
addresses (V6_SHARE of them IPv6), drawn from public unicast space so that
the geolocation tables see real lookups, towards a mix of management and
ordinary ports.  IPv4 frames are TCP SYNs; IPv6 frames are UDP, because an
IPv6 TCP header does not fit in 64 bytes.

With "tun", the same frames (same SEED: the same inner packets) each
carried by a relay: GRE and VXLAN in turn, from one of 64 relays
(3.K.0.1), to the same destination (at most 112 bytes a frame; the
benchmark runs them on 128-byte net_null frames, bench/relay.sh).
"""
import ipaddress
import random
import struct
import sys

PORTS4 = [22, 443, 80, 3389, 8443, 6443, 5985, 25, 993, 8080]
PORTS6 = [161, 53, 123, 3389, 500]
ETH = bytes.fromhex("020000000002" "020000000001")
DST4 = ipaddress.IPv4Address("192.0.2.100").packed
DST6 = ipaddress.IPv6Address("2001:db8:f::100").packed


def rand_v4(rng):
    while True:
        a = rng.getrandbits(32)
        first = a >> 24
        if first in (0, 10, 127) or first >= 224:
            continue
        return struct.pack("!I", a)


def rand_v6(rng):
    # Mostly the RIRs' big blocks, where the database has answers.
    top = rng.choice([0x2001, 0x2400, 0x2a00, 0x2600, 0x2800, 0x2c0f])
    return ((top << 112) | rng.getrandbits(112)).to_bytes(16, "big")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame4(rng):
    tcp = struct.pack("!HHIIBBHHH", rng.randint(1024, 65535),
                      rng.choice(PORTS4), rng.getrandbits(32), 0, 5 << 4,
                      0x02, 65535, 0, 0)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0,
                               rand_v4(rng), DST4))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    return ETH + b"\x08\x00" + bytes(ip) + tcp


def frame6(rng):
    udp = struct.pack("!HHHH", rng.randint(1024, 65535), rng.choice(PORTS6),
                      8, 0)
    ip = struct.pack("!IHBB16s16s", 6 << 28, 8, 17, 64, rand_v6(rng), DST6)
    return ETH + b"\x86\xdd" + ip + udp


def ip4(src, proto, payload):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload),
                               0, 0, 64, proto, 0, src, DST4))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    return bytes(ip) + payload


def tunnelled(frame, i, rng):
    """FRAME (Ethernet) from a relay: GRE (its IP packet) or VXLAN (the
    whole frame), by the parity of I."""
    relay = struct.pack("!BBBB", 3, rng.randrange(64), 0, 1)
    if i % 2 == 0:
        gre = struct.pack("!HH", 0, struct.unpack("!H", frame[12:14])[0])
        return ETH + b"\x08\x00" + ip4(relay, 47, gre + frame[14:])
    vx = struct.pack("!BBHI", 0x08, 0, 0, 4242 << 8)
    udp = struct.pack("!HHHH", rng.randint(1024, 65535), 4789,
                      8 + len(vx) + len(frame), 0)
    return ETH + b"\x08\x00" + ip4(relay, 17, udp + vx + frame)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            fr = fr + b"\0" * (64 - len(fr))
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)


def main():
    out, n, share = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    frames = [frame6(rng) if rng.random() < share else frame4(rng)
              for _ in range(n)]
    if len(sys.argv) > 5 and sys.argv[5] == "tun":
        relays = random.Random(-1)
        frames = [tunnelled(f, i, relays) for i, f in enumerate(frames)]
    write_pcap(out, frames)


if __name__ == "__main__":
    main()
