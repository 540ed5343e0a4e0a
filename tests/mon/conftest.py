"""Shared by the monitoring tests (tests/mon: syslog, SNMP).

Helpers here are generic; each suite keeps its own rig in its test file.
The control-socket client and the pcap writer come from
tests/ctl/test_commit_traffic.py (put on sys.path here).
"""
import os
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ctl"))


def free_port(kind=socket.SOCK_DGRAM):
    """A loopback port nothing listens on right now (TCP or UDP)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()
