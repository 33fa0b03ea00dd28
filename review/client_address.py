"""The client address the app throttles and audits: X-Forwarded-For only from trusted proxies.

A request's address is its TCP peer. Only when the peer is one of the configured proxies
(`VASCREEN_TRUSTED_PROXIES`: addresses or networks, comma-separated; default none) is
X-Forwarded-For read, right to left, skipping further trusted proxies: the first address that
is not a trusted proxy is the client. Anything a client writes to the left of that is ignored,
so a forged header neither dodges a throttle nor puts a false address in the audit log.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """Networks from "10.0.0.5, 10.1.0.0/16, ::1".

    Raises:
        ValueError: an entry is not an address or network.
    """
    out: list[Network] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        try:
            out.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"trusted proxy {entry!r} is not an IP address or network") from None
    return tuple(out)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: tuple[Network, ...]
) -> str:
    """The client's address, given the TCP peer and every X-Forwarded-For header value."""
    address = peer or "unknown"
    if not proxies or not _trusted(address, proxies):
        return address
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed hop: the last address known to be real
        address = hop
        if not _trusted(hop, proxies):
            return hop
    return address
