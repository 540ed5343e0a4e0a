"""A compromised cordond child, for the attack tests (issue 15).

The test (root) takes a running child's channel end with pidfd_getfd,
stops the child with SIGSTOP and then speaks on the channel itself: the
parent sees exactly what a child whose code was taken over would send,
descriptors included.  Nothing in cordond is built or run differently.
"""
import ctypes
import os
import signal
import socket
import struct

SYS_PIDFD_GETFD = 438  # x86_64 and aarch64 alike
PROC_CHILD_FD = 3
HDR = struct.Struct("=HHIII")  # struct proc_hdr, host order
PROC_MSG_VERSION = 1
PROC_T_BASE = 16

_libc = ctypes.CDLL(None, use_errno=True)


def pidfd_getfd(pid, fd):
    """A copy of PID's descriptor FD in this process."""
    pfd = os.pidfd_open(pid)
    try:
        n = _libc.syscall(SYS_PIDFD_GETFD, pfd, fd, 0)
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return n
    finally:
        os.close(pfd)


def child_pid(parent, name):
    """The pid of PARENT's child `cordond -P NAME`, or 0."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and argv[1:3] == [b"-P", name.encode()]:
            return int(d)
    return 0


def child_sockets(pid):
    """Copies of PID's socket descriptors other than its channel."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if not os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith(
                    "socket:") or int(fd) == PROC_CHILD_FD:
                continue
            out.append(socket.socket(fileno=pidfd_getfd(pid, int(fd))))
        except OSError:
            continue
    return out


class FakeChild:
    """The channel of PARENT's child NAME, taken over (the child stopped)."""

    def __init__(self, parent, name):
        self.pid = child_pid(parent, name)
        assert self.pid, "no child %s of %d" % (name, parent)
        self.sock = socket.socket(fileno=pidfd_getfd(self.pid,
                                                     PROC_CHILD_FD))
        os.kill(self.pid, signal.SIGSTOP)

    def send(self, mtype, payload=b"", mid=0, fds=()):
        msg = HDR.pack(PROC_MSG_VERSION, mtype, len(payload), mid, 0) + \
            payload
        anc = []
        if fds:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                    struct.pack("%di" % len(fds), *fds))]
        self.sock.sendmsg([msg], anc)

    def recv(self, timeout):
        """(type, id, payload) of the parent's next message; None when
        nothing came within TIMEOUT s; EOFError when the parent closed
        the channel (the child was killed)."""
        self.sock.settimeout(timeout)
        try:
            b = self.sock.recv(1 << 22)
        except socket.timeout:
            return None
        except ConnectionResetError:
            raise EOFError
        if not b:
            raise EOFError
        _, t, n, mid, _ = HDR.unpack_from(b)
        return t, mid, b[HDR.size:HDR.size + n]

    def drain(self, timeout=0.2):
        """Every message the parent sent so far, and then: a list."""
        out = []
        try:
            while True:
                m = self.recv(timeout)
                if m is None:
                    return out
                out.append(m)
        except EOFError:
            out.append(None)
            return out

    def gone(self):
        """The stopped child was killed (by the parent)."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] in "ZX"
        except OSError:
            return True

    def close(self):
        try:
            os.kill(self.pid, signal.SIGCONT)
        except OSError:
            pass
        self.sock.close()
