"""The folders cordon-dp takes over for its user (cordon-dp(8), SANDBOX).

The stats file's folder and the evidence folder become the user
cordon-dp's; a folder holding anything but that writer's own files, a
shared (1777) folder or a symlinked one must make cordon-dp refuse to
start, leaving the folder as it was; a fresh root folder of its own, or
one already the user's, works.
"""
import os
import shutil
import tempfile

import pytest

import dplib
from test_control import wait_for
from test_sandbox import Run, _dp_ids, _vdevs

REFUSED = "will not take over the folder"


@pytest.fixture
def top():
    """A root folder outside pytest's own (whose folders are 0700)."""
    d = tempfile.mkdtemp(prefix="cdp-dirs-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def _start(tmp_path, extra, started=True):
    return Run(tmp_path, _vdevs("net_null", tmp_path), extra=extra,
               started=started)


def _owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_mode & 0o7777


def _refused(tmp_path, folder, extra):
    before = _owner(folder)
    r = _start(tmp_path, extra, started=False)
    assert r.proc.wait(timeout=dplib.TIMEOUT) != 0
    text = r.text()
    assert REFUSED in text and folder in text, text
    assert "a folder of its own" in text, text
    assert _owner(folder) == before
    return text


def _works(tmp_path, stats):
    r = _start(tmp_path, ["--stats-file", stats])
    try:
        wait_for(lambda: os.path.exists(stats), "the stats file")
        r.hello()
    finally:
        assert r.stop() == 0, r.text()
    return r


def test_stats_folder_with_foreign_file_refused(tmp_path, top):
    d = os.path.join(top, "etc")
    os.mkdir(d, 0o755)
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("root:x:0:0::/root:/bin/sh\n")
    _refused(tmp_path, d, ["--stats-file", d + "/cordon.stats"])
    assert os.stat(d + "/passwd").st_uid == 0


def test_stats_folder_shared_sticky_refused(tmp_path, top):
    d = os.path.join(top, "tmp")
    os.mkdir(d)
    os.chmod(d, 0o1777)
    text = _refused(tmp_path, d, ["--stats-file", d + "/x.stats"])
    assert "shared" in text, text


def test_stats_folder_symlink_refused(tmp_path, top):
    real = os.path.join(top, "real")
    os.mkdir(real, 0o755)
    link = os.path.join(top, "link")
    os.symlink(real, link)
    before = _owner(real)
    _refused(tmp_path, link, ["--stats-file", link + "/x.stats"])
    assert _owner(real) == before


def test_stats_fresh_root_folder_claimed(tmp_path, top):
    d = os.path.join(top, "stats")
    os.mkdir(d, 0o755)
    _works(tmp_path, d + "/stats.json")
    assert os.stat(d).st_uid == _dp_ids()[0]
    assert sorted(os.listdir(d)) == ["stats.json"]


def test_stats_missing_folder_made_and_claimed(tmp_path, top):
    d = os.path.join(top, "made")
    _works(tmp_path, d + "/stats.json")
    assert os.stat(d).st_uid == _dp_ids()[0]


def test_stats_folder_already_the_users(tmp_path, top):
    uid, gid = _dp_ids()
    d = os.path.join(top, "theirs")
    os.mkdir(d, 0o750)
    os.chown(d, uid, gid)
    # its own files, whatever they are, are its business
    with open(os.path.join(d, "other"), "w") as f:
        f.write("x")
    _works(tmp_path, d + "/stats.json")


def test_stats_left_tmp_link_not_followed(tmp_path, top):
    """A symlink .tmp left in its folder: replaced, never written
    through (O_EXCL | O_NOFOLLOW after removing it)."""
    uid, gid = _dp_ids()
    d = os.path.join(top, "theirs")
    os.mkdir(d, 0o750)
    os.chown(d, uid, gid)
    victim = os.path.join(top, "victim")
    with open(victim, "w") as f:
        f.write("keep")
    os.symlink(victim, d + "/stats.json.tmp")
    _works(tmp_path, d + "/stats.json")
    with open(victim) as f:
        assert f.read() == "keep"


def test_evidence_folder_with_foreign_file_refused(tmp_path, top):
    ev = os.path.join(top, "evidence")
    os.mkdir(ev, 0o750)
    os.mkdir(os.path.join(ev, "sub"))
    open(os.path.join(ev, "evidence-old.pcap"), "w").close()
    before = _owner(ev)
    group = ['evidence: { dir = "%s"; }' % ev]
    r = Run(tmp_path, _vdevs("net_null", tmp_path), conf_extra=group,
            started=False)
    assert r.proc.wait(timeout=dplib.TIMEOUT) != 0
    assert REFUSED in r.text() and ev in r.text(), r.text()
    assert _owner(ev) == before
    # its own names only: without the subfolder it is taken
    os.rmdir(os.path.join(ev, "sub"))
    r = Run(tmp_path, _vdevs("net_null", tmp_path), conf_extra=group)
    try:
        r.hello()
    finally:
        assert r.stop() == 0, r.text()
    assert os.stat(ev).st_uid == _dp_ids()[0]


def _private_run_cordon():
    """preexec: a mount namespace of its own where /run/cordon is a new
    tmpfs holding the children's empty root (root's, 0755, empty), as
    cordond makes it; the host's stays untouched."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        raise OSError(ctypes.get_errno(), "unshare")
    # MS_REC | MS_PRIVATE
    if libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) != 0 or \
            libc.mount(b"tmpfs", b"/run/cordon", b"tmpfs", 0,
                       b"mode=0755") != 0:
        raise OSError(ctypes.get_errno(), "mount")
    os.mkdir("/run/cordon/empty", 0o755)
    os.chmod("/run/cordon/empty", 0o755)


def test_stats_in_childrens_empty_root_refused(tmp_path):
    """The stats file put in cordond's children's empty root
    (/run/cordon/empty, root 0755 and empty: every child's chroot): not
    cordon-dp's to take.  Taken, the children's root would be the packet
    parser's, and cordond's check of it (root's and empty) would refuse
    to start every child."""
    import subprocess
    os.makedirs("/run/cordon", exist_ok=True)
    vdevs = _vdevs("net_null", tmp_path)
    conf = dplib.render_conf(
        str(tmp_path / "t.conf"),
        ports=[{"name": "outside0", "device": "net_null0",
                "role": "outside", "peer": "inside0"},
               {"name": "inside0", "device": "net_null1",
                "role": "inside", "peer": "outside0"}],
        overrides=[("192.0.2.0/24", "US")])
    cmd = ([dplib.cordon_dp_path()] + dplib.EAL_BASE +
           ["--vdev=" + v for v in vdevs] +
           ["--", "-c", conf, "--control", str(tmp_path / "dp.sock"),
            "--stats-file", "/run/cordon/empty/stats.json"])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True,
                         preexec_fn=_private_run_cordon)
    try:
        out, _ = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        pytest.fail("cordon-dp took over the children's root: " + out)
    assert p.returncode != 0, out
    assert REFUSED in out and "/run/cordon/empty" in out, out


def test_stats_folder_symlink_with_slash_refused(tmp_path, top):
    """A doubled slash before the name ("link//x.stats"): the folder's
    path ends in '/', which makes open follow the symlink in spite of
    O_NOFOLLOW; still refused."""
    real = os.path.join(top, "real")
    os.mkdir(real, 0o755)
    link = os.path.join(top, "link")
    os.symlink(real, link)
    before = _owner(real)
    r = _start(tmp_path, ["--stats-file", link + "//x.stats"],
               started=False)
    assert r.proc.wait(timeout=dplib.TIMEOUT) != 0
    assert REFUSED in r.text(), r.text()
    assert _owner(real) == before
