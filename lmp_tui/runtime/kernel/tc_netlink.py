"""Whether any TC filter sits on an interface's clsact qdisc (``tc filter show dev X ingress``).

libbpf can add and remove one filter it knows by handle and priority, but cannot list them;
before removing a clsact qdisc we created we must know that nobody else has put a filter on it
meanwhile (another run, ``tc`` by hand). One netlink dump per direction answers that.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

RTM_NEWTFILTER, RTM_GETTFILTER = 44, 46
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
_NLMSG = struct.Struct("=IHHII")  # len, type, flags, seq, pid
_TCMSG = struct.Struct("=BxxxiIII")  # family, ifindex, handle, parent, info
CLSACT_INGRESS, CLSACT_EGRESS = 0xFFFFFFF2, 0xFFFFFFF3


def filters_left(ifindex: int) -> bool:
    """True when the interface has a filter on clsact ingress or egress (or we cannot tell)."""
    try:
        return any(_count(ifindex, parent) for parent in (CLSACT_INGRESS, CLSACT_EGRESS))
    except OSError:
        return True  # keeping a qdisc is harmless; removing another's filters is not


def _count(ifindex: int, parent: int) -> int:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(2)
        body = _TCMSG.pack(socket.AF_UNSPEC, ifindex, 0, parent, 0)
        seq = os.getpid() & 0xFFFF
        header = _NLMSG.pack(
            _NLMSG.size + len(body), RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq, 0
        )
        sock.sendall(header + body)
        count = 0
        while True:
            data = sock.recv(1 << 16)
            at = 0
            while at + _NLMSG.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSG.unpack_from(data, at)
                if kind == NLMSG_DONE:
                    return count
                if kind == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, at + _NLMSG.size)
                    if code == 0:
                        return count
                    if -code in (errno.EINVAL, errno.ENOENT):
                        return 0  # no clsact qdisc at all: no filters on it either
                    raise OSError(-code, os.strerror(-code))
                if kind == RTM_NEWTFILTER:
                    count += 1
                at += max((length + 3) & ~3, _NLMSG.size)
