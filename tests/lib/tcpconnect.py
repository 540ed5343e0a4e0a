#!/usr/bin/python3
"""tcpconnect.py SRC DST PORT [TIMEOUT [IPOPTS]]: connects from SRC and
prints the server's first line, or "timeout" / "refused" / "error: ...".
IPOPTS: IPv4 options to send, in hex (IP_OPTIONS)."""
import socket
import sys

src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 3.0
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam)
s.settimeout(timeout)
s.bind((src, 0))
if len(sys.argv) > 5:
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS,
                 bytes.fromhex(sys.argv[5]))
try:
    s.connect((dst, port))
    print(s.recv(200).decode(errors="replace").strip() or "empty")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error:", e.strerror)
