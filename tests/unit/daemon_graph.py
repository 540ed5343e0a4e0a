"""cordond's files must not tie back into one import circle (issue 12).

Reads which functions each control/daemon object defines and calls (nm)
and finds the strongly connected components of that graph: files that
all reach one another.  Before issue 12 twenty daemon files were one such
component, held together by shared helpers, the sessions' direct push to
cordon-dp and the `if (cd_nft_backend(...))` branches.  Now:
  - no component has more than MAX_SCC files (the sessions module's own
    files are the largest);
  - the sessions (cd_sess*) reach the enforcer only through the backend
    operations (cd_backend.h): no dpc_*, cd_dp_* or cd_nft_* calls;
  - no file asks which backend runs (cd_nft_backend is gone).
Usage: daemon_graph.py BUILD_DIR
"""
import glob
import os
import subprocess
import sys

MAX_SCC = 6


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True,
                         check=True).stdout
    defs, uses = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDRB":
            defs.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            uses.add(f[1])
    return defs, uses


def components(graph):
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    objs = glob.glob(os.path.join(sys.argv[1], "obj/control/daemon/*.o"))
    if len(objs) < 20:
        print("no daemon objects under", sys.argv[1])
        return 1
    defs, uses = {}, {}
    for o in objs:
        name = os.path.basename(o)[:-2]
        defs[name], uses[name] = symbols(o)
    owner = {s: n for n, d in defs.items() for s in d}
    graph = {n: {owner[s] for s in uses[n] if owner.get(s, n) != n}
             for n in defs}
    bad = 0
    for comp in components(graph):
        if len(comp) > MAX_SCC:
            print("import circle of %d files: %s" % (len(comp),
                                                    " ".join(comp)))
            bad += 1
    for n in sorted(defs):
        if not n.startswith("cd_sess"):
            continue
        direct = sorted(s for s in uses[n]
                        if s.startswith(("dpc_", "cd_dp_", "cd_nft_")))
        if direct:
            print("%s calls the enforcer directly: %s" % (n,
                                                         " ".join(direct)))
            bad += 1
    if "cd_nft_backend" in owner:
        print("cd_nft_backend is back: use the backend operations")
        bad += 1
    print("%d daemon files, largest circle %d" % (len(defs), max(
        len(c) for c in components(graph))))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
