#!/usr/bin/env python3
"""Where a relay's CPU goes, from a perf profile with call graphs.

Record a server while tether bench relay drives it, then sort its samples
into the kinds of work docs/PERFORMANCE.md reports:

    perf record -g -o perf.data -p "$(pidof tether)" -- sleep 4
    scripts/perf-breakdown.py perf.data

A sample in the kernel is sorted by the system call above it in its call
chain (a write is split into the sender's TCP, the receiver's TCP input,
which on loopback runs in the sender's call, and waking the receiver); a
sample in user space by the function it is in. Works for any process
(Mosquitto's user-space samples fall under "other user").
"""
import collections
import subprocess
import sys

GC = ("mallocgc", "gcDrain", "scanobject", "markBits", "greyobject", "findObject",
      "heapBits", "memclr", "gcBgMark", "sweep", "mspan", "mcache", "nextFreeFast",
      "writeHeapBits", "wbBuf", "newobject", "makeslice", "growslice", "bulkBarrier")


def kernel_kind(chain):
    def has(*names):
        return any(n in f for f in chain for n in names)
    if has("ksys_write", "tcp_sendmsg", "__sys_sendto", "sock_sendmsg", "do_writev"):
        if has("sock_def_readable", "try_to_wake_up", "ep_poll_callback", "__wake_up"):
            return "kernel: write, waking the receiver"
        if has("tcp_v4_rcv", "net_rx_action", "process_backlog"):
            return "kernel: write, the receiver's TCP input (loopback)"
        return "kernel: write, the sender's TCP"
    if has("ksys_read", "tcp_recvmsg", "__sys_recvfrom", "sock_recvmsg"):
        return "kernel: read"
    if has("finish_task_switch", "__schedule"):
        return "kernel: sleeping and waking (scheduler)"
    if has("epoll", "do_sys_poll", "do_poll"):
        return "kernel: epoll, poll"
    if has("futex", "nanosleep"):
        return "kernel: futex, nanosleep"
    return "kernel: other (entry, interrupts, timers)"


def user_kind(leaf, chain, dso):
    if leaf.startswith(("runtime.", "internal/runtime", "aeshash", "memeqbody", "indexbyte")):
        if any(k in leaf for k in GC) or any(k in f for f in chain for k in ("gcBgMarkWorker", "gcAssist", "bgsweep")):
            return "Go: allocation and GC"
        if any(k in leaf for k in ("mapaccess", "mapassign", "aeshash", "memeqbody", "memmove")):
            return "Go: maps, copies"
        if "yscall" in leaf:
            return "Go: system call entry"
        return "Go: scheduler, netpoll, timers"
    if leaf.startswith("syscall."):
        return "Go: system call entry"
    if "hubws" in leaf or "wsframe" in leaf or leaf.startswith("unicode/utf8"):
        return "hub: WebSocket engine and framing (hubws, wsframe)"
    if leaf.startswith("tether/internal/hub") or "prometheus" in leaf or "relaylog" in leaf:
        return "hub: routing, queues, shadow, metrics"
    if leaf.startswith("sync."):
        return "Go: locks, pools (sync)"
    if leaf.startswith("time.") or "vdso" in dso:
        return "clock (time.Now, clock_gettime)"
    return "other user"


def frames(sample):
    """The (symbol, dso) call chain of one perf script sample, leaf first."""
    out = []
    for line in sample[1:]:
        parts = line.strip().split(None, 1)
        if len(parts) < 2:
            continue
        rest = parts[1]
        i = rest.rfind(" (")
        sym, dso = (rest[:i], rest[i + 2:-1]) if i >= 0 else (rest, "")
        out.append((sym.rsplit("+0x", 1)[0], dso))
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: perf-breakdown.py PERF.DATA")
    script = subprocess.run(["perf", "script", "-i", sys.argv[1], "-F", "comm,tid,period,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    kinds = collections.Counter()
    for block in script.split("\n\n"):
        lines = [l for l in block.split("\n") if l.strip()]
        chain = frames(lines) if lines else []
        if not chain:
            continue
        try:
            period = int(lines[0].split()[2])
        except (IndexError, ValueError):
            period = 1
        leaf, dso = chain[0]
        syms = [s for s, _ in chain]
        kind = kernel_kind(syms) if "kernel" in dso else user_kind(leaf, syms, dso)
        kinds[kind] += period
    total = sum(kinds.values()) or 1
    for kind, n in kinds.most_common():
        print(f"{100 * n / total:5.1f} %  {kind}")


if __name__ == "__main__":
    main()
