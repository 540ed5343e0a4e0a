#!/usr/bin/python3
"""banner.py PORT TEXT: a TCP server (IPv4 and IPv6) greeting every client."""
import socket
import sys

port, text = int(sys.argv[1]), sys.argv[2].encode() + b"\r\n"
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", port))
s.listen(64)
while True:
    c, _ = s.accept()
    try:
        c.sendall(text)
    except OSError:
        pass
    c.close()
