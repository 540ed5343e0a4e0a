"""The candidate workflows of issue 14 as golden CLI sessions, typed as an
admin types them: a stale candidate rebased with update and committed;
a revision rolled back into the candidate, reviewed, committed confirmed
and reverted when nobody confirms.  The real cordond and cordon-dp of
test_cli; times and state paths masked."""
import json
import re
import time

import pytest

from test_cli import (ROOT, cordond, ctl_bin, golden_check,  # noqa: F401
                      needs_cordond, sockdir)
from test_conffile import ctl, session as typed


def session(cd, tmp, lines):
    """test_conffile's transcript, the cordond pid of show revisions and
    the tree's path masked too."""
    text = typed(cd, tmp, lines).replace(ROOT, "ROOT")
    text = re.sub(r"UID +PID +KIND", "UID  PID  KIND", text)
    return re.sub(r"(TIME +\d+) +\d+ +", r"\1  PID  ", text)

pytestmark = needs_cordond


@pytest.fixture
def cd(cordond):
    return cordond


def test_stale_candidate_update_commit(cd, tmp_path):
    """rollback N commit made a new running revision under a candidate
    based on the old one: every commit failed (exit 4) and nothing but
    rm in the state folder recovered.  Now update rebases it."""
    text = session(cd, tmp_path, [
        "set region partners US,CA",
        "commit comment 'partners'",
        "set service web proto tcp ports 8443",
        "rollback 1 commit",
        "commit",
        "update",
        "compare",
        "commit comment 'web, rebased'",
        "show revisions",
    ])
    golden_check("sessions/stale-update.txt", text)
    conf = ctl(cd, "show", "config").stdout
    assert "8443" in conf and "partners" not in conf


def test_rollback_review_commit_confirmed_revert(cd, tmp_path):
    """rollback N loads revision N into the candidate for review; commit
    confirmed makes it run; nobody confirms, so the revision before it
    runs again."""
    ctl(cd, "set", "region", "partners", "US,CA")
    ctl(cd, "commit", "comment", "partners")
    running = json.loads(ctl(cd, "-j", "show", "status").stdout)[
        "running_revision"]
    text = session(cd, tmp_path, [
        "rollback 1",
        "compare",
        "commit confirmed 1 comment 'back to 1, on trial'",
    ])
    st = json.loads(ctl(cd, "-j", "show", "status").stdout)
    assert st["confirm"]["revision"] == running + 1, st
    end = time.monotonic() + 90
    while time.monotonic() < end:
        st = json.loads(ctl(cd, "-j", "show", "status").stdout)
        if st["running_revision"] == running + 2:
            break
        time.sleep(1)
    text += session(cd, tmp_path, ["show revisions",
                                     "compare %d %d" % (running,
                                                        running + 2)])
    golden_check("sessions/rollback-confirmed-revert.txt", text)
    assert "partners" in ctl(cd, "show", "config").stdout
