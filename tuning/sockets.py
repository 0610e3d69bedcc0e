"""Listening TCP sockets of a set of processes, read from /proc (Linux): what a server really binds.

`init_ray` checks the local cluster it started with these; the tests check Ray's and MLflow's servers.
"""

from __future__ import annotations

import ipaddress
import os
import socket


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry))
    return tree


def descendants(pids: list[int]) -> list[int]:
    """The processes and all their descendants (the workers a raylet started, for instance)."""
    tree, found, seen, todo = _children(), [], set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            found.append(pid)
            todo += tree.get(pid, [])
    return found


def listening_sockets(pids: list[int]) -> list[tuple[str, int, int]]:
    """(address, port, pid) of every listening TCP socket (IPv4 and IPv6) the processes hold."""
    owner: dict[int, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                owner[int(link[8:-1])] = pid
    found = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            with open(f"/proc/net/{table}") as rows:
                lines = rows.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A" or int(fields[9]) not in owner:  # 0A: LISTEN
                continue
            ip_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(ip_hex)  # 32-bit words in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.append((socket.inet_ntop(family, raw), int(port_hex, 16), owner[int(fields[9])]))
    return sorted(found)


def beyond_loopback(pids: list[int]) -> list[tuple[str, int, int]]:
    return [entry for entry in listening_sockets(pids) if not is_loopback(entry[0])]
