"""Which addresses URL ingest may connect to: public ones, and those NEWSRAG_FETCH_ALLOW names.

Every connection a fetch opens (the first request and each redirect hop, for pages,
feeds and feed entries alike) goes through `Guard.connect`: the host is resolved once,
here, with `socket.getaddrinfo` (so `0177.0.0.1`, `2130706433`, `0x7f000001` and `127.1`
are checked as the 127.0.0.1 they resolve to); every address it gives is checked; only an
address that passed is connected to (the name is never resolved again, so a DNS answer
that changes between check and connect cannot slip through); and the address the socket
is actually connected to is checked once more before a byte is sent.

Refused unless allowed: loopback, private, link-local, multicast, reserved, unspecified
and other non-global addresses, IPv4 and IPv6; an IPv6 address that carries an IPv4 one
(`::ffff:127.0.0.1`, 6to4, NAT64) is judged by the IPv4 address it carries.

Allow entries (NEWSRAG_FETCH_ALLOW, comma-separated):
- an address or a network (`127.0.0.1`, `10.1.0.0/16`, `::1`, `fd00::/8`) permits the
  addresses in it, whatever name or spelling the URL reached them by; it is checked against
  each address actually connected to, so it is the tight choice;
- a host name (`intranet.example`) permits whatever that exact name resolves to (no
  subdomains), and only when the URL names it so: allowing `localhost` does not allow
  `http://127.0.0.1/`, nor a redirect to it. A name entry trusts that name's DNS.
Odd spellings of addresses are not accepted as entries (write `127.0.0.1`, not `0177.1`).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Union

from core.errors import ConfigError, IngestError

log = logging.getLogger(__name__)

ENV = "NEWSRAG_FETCH_ALLOW"

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
AddrInfo = tuple[Any, ...]  # one answer of socket.getaddrinfo: (family, type, proto, canonname, sockaddr)
Resolve = Callable[..., list[AddrInfo]]  # socket.getaddrinfo's signature
Connect = Callable[[AddrInfo, Any, Any], socket.socket]  # (answer, timeout, source_address) -> connected socket

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$")
# The order names the most telling kind first (0.0.0.0 is "unspecified", 240.0.0.1 "reserved", not "private").
_KINDS: tuple[tuple[str, str], ...] = (
    ("unspecified", "is_unspecified"), ("loopback", "is_loopback"), ("link-local", "is_link_local"),
    ("multicast", "is_multicast"), ("reserved", "is_reserved"), ("private", "is_private"),
)


class AddressRefused(IngestError):
    """A URL whose host is (or resolves to) an address newsrag may not fetch from; the message names the fix."""


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (IPv4-mapped, 6to4, NAT64), else None."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_kind(ip: Address) -> str | None:
    """Why `ip` is refused by default ("loopback", "private", ...); None for a public address.
    An IPv6 address that carries an IPv4 one is judged by that IPv4 address."""
    candidate = embedded_ipv4(ip) or ip
    for kind, test in _KINDS:
        if getattr(candidate, test):
            return kind
    return None if candidate.is_global else "special-purpose"  # e.g. 100.64.0.0/10, shared address space


def allow_entries(value: str | Iterable[str]) -> tuple[str, ...]:
    """The allow entries in `value` (a comma-separated string or a sequence of them), normalized:
    names lower case, networks in their standard form. A ConfigError names a bad entry and the fix."""
    items = value.split(",") if isinstance(value, str) else [x for v in value for x in str(v).split(",")]
    out: list[str] = []
    for raw in items:
        entry = raw.strip().lower()
        if entry:
            out.append(_entry(entry))
    return tuple(dict.fromkeys(out))


def _entry(entry: str) -> str:
    bare = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
    try:
        net = ipaddress.ip_network(bare, strict=False)
        return str(net.network_address) if net.num_addresses == 1 else str(net)
    except ValueError:
        pass
    if "/" not in bare and ":" not in bare:
        try:
            dotted = socket.inet_ntoa(socket.inet_aton(bare))
        except OSError:
            dotted = ""
        if dotted:
            raise ConfigError(f"{ENV}: write {entry!r} as {dotted}, the address it stands for")
        name = bare.rstrip(".")
        if _HOST.match(name):
            return name
    raise ConfigError(
        f"{ENV}: {entry!r} is neither a host name nor an address or network "
        "(write e.g. intranet.example, 10.1.0.0/16, 127.0.0.1; no scheme, port or path)"
    )


@dataclass(frozen=True)
class Allow:
    """The parsed allow entries: exact host names, and networks (a single address is a /32 or /128)."""

    entries: tuple[str, ...] = ()
    names: frozenset[str] = field(default=frozenset(), init=False)
    networks: tuple[Network, ...] = field(default=(), init=False)

    def __post_init__(self) -> None:
        entries = allow_entries(self.entries)
        networks: list[Network] = []
        names: list[str] = []
        for e in entries:
            try:
                networks.append(ipaddress.ip_network(e, strict=False))
            except ValueError:
                names.append(e)
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "networks", tuple(networks))
        object.__setattr__(self, "names", frozenset(names))

    def permits(self, host: str, ip: Address) -> bool:
        """Whether `ip`, reached through the URL host `host`, may be connected to."""
        if address_kind(ip) is None or normal_host(host) in self.names:
            return True
        v4 = embedded_ipv4(ip)
        return any(a.version == n.version and a in n for n in self.networks for a in (ip, v4) if a is not None)


def normal_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


def _ip(sockaddr: tuple[Any, ...]) -> Address:
    return ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is not part of it


def _spelled(ip: Address) -> str:
    """An IPv4-mapped address as people write it (::ffff:127.0.0.1, not ::ffff:7f00:1)."""
    mapped = getattr(ip, "ipv4_mapped", None)
    return f"::ffff:{mapped}" if mapped is not None else str(ip)


def open_socket(answer: AddrInfo, timeout: Any, source_address: Any) -> socket.socket:
    """A socket connected to exactly the address of one getaddrinfo answer (no name lookup)."""
    family, kind, proto, _, sockaddr = answer
    sock = socket.socket(family, kind, proto)
    try:
        if isinstance(timeout, (int, float)):
            sock.settimeout(timeout)
        if source_address:
            sock.bind(source_address)
        sock.connect(sockaddr)
        return sock
    except BaseException:
        sock.close()
        raise


@dataclass(frozen=True)
class Guard:
    """Resolves, checks and connects; `resolve` (getaddrinfo's signature) and `connect_to` are
    injectable (tests pass fakes)."""

    allow: Allow = Allow()
    resolve: Resolve = socket.getaddrinfo
    connect_to: Connect = open_socket

    def addresses(self, host: str, port: int, url: str) -> list[AddrInfo]:
        """The answers for `host` that may be connected to, in the resolver's order; AddressRefused
        naming the first refused one when none may. A name that does not resolve is socket.gaierror."""
        answers = self.resolve(normal_host(host), port, type=socket.SOCK_STREAM)
        permitted = [a for a in answers if self.allow.permits(host, _ip(a[4]))]
        refused = [a for a in answers if a not in permitted]
        if refused and permitted:
            log.info("%s: not connecting to %s (not allowed)", url, ", ".join(str(_ip(a[4])) for a in refused))
        if not permitted:
            if not answers:
                raise socket.gaierror(socket.EAI_NONAME, "no address")
            raise AddressRefused(self.refusal(url, _ip(refused[0][4]), "resolves to"))
        return permitted

    def connect(self, host: str, port: int, timeout: Any, source_address: Any = None, url: str = "") -> socket.socket:
        """A socket connected to a permitted address of `host`, checked again once connected."""
        url = url or f"{host}:{port}"
        error: OSError | None = None
        for answer in self.addresses(host, port, url):
            try:
                sock = self.connect_to(answer, timeout, source_address)
            except OSError as e:
                error = e
                continue
            try:
                peer = _ip(sock.getpeername())
            except OSError as e:
                sock.close()
                error = e
                continue
            if not self.allow.permits(host, peer):
                sock.close()
                raise AddressRefused(self.refusal(url, peer, "connected to"))
            return sock
        raise error or OSError(f"cannot connect to {host}")

    def refusal(self, url: str, ip: Address, verb: str) -> str:
        v4 = embedded_ipv4(ip)
        shown = str(ip) if v4 is None else f"{_spelled(ip)} (IPv4 {v4})"
        kind = address_kind(ip) or "refused"
        article = "an" if kind[0] in "aeiou" else "a"
        suggest = str(v4 or ip)
        fix = f"add {suggest} to {ENV} (now {','.join(self.allow.entries)})" if self.allow.entries else f"set {ENV}={suggest}"
        return f"refused {url}: it {verb} {shown}, {article} {kind} address; to fetch from it {fix}"


__all__ = ["ENV", "Address", "AddressRefused", "Allow", "Guard", "address_kind", "allow_entries", "embedded_ipv4", "open_socket"]
