"""The client as throttles and caps count it."""
from __future__ import annotations

import ipaddress

from flask import request
from flask_limiter import Limiter


def client_address() -> str:
    """The client as throttles and caps count it (after the trusted proxies): its IPv4
    address, or its IPv6 /64 network, since one subscriber is given a whole /64 and could
    otherwise count as a new client with every address in it."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


limiter = Limiter(key_func=client_address, default_limits=[])
