"""Shared by the monitoring tests (tests/mon: syslog, SNMP, Prometheus).

Each suite keeps its own rig in its test file; the control-socket
client, the pcap writer, free_port and class Cordond come from
tests/lib/cordonrig.py (put on sys.path here).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

