"""Puts tests/lib (cordonrig: the shared cordond rig) on sys.path."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "lib"))
