"""What a tenant's connectors may reach: the connector sandbox.

A connection is written by a tenant admin, so its config is hostile input: a files path, a
database URL or an API base URL must not lead to the platform's own files, database or Redis,
nor to another tenant's files. ``Sandbox`` holds the deployment's rules for one tenant; it is
checked where a connection is created and again where a connector opens anything (so a config
stored before a rule tightened is caught too).

* Files: a file is read only when its real path (symlinks followed) lies in ``<root>/<tenant
  slug>/`` of an allowed root, and never inside the data dir outside its ``sources/`` folder.
* Network: a host is resolved once, every address it resolves to is checked, and the connector
  connects to that checked address (so DNS cannot answer differently at connect time). Loopback,
  private, link-local, cloud-metadata and other non-global addresses and Unix sockets are refused
  unless the deployment allows them; the platform's own PostgreSQL and Redis are refused always.
* Airbyte: only ``package==version`` pins the operator listed may be installed and run.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from autonomos.errors import ConfigurationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

GLOB_CHARS = re.compile(r"[*?\[]")
ALLOWANCE_FILE = "allowed-sources"
"""A file in the data dir with more ``AOS_ALLOW_PRIVATE_SOURCES`` entries, one a line (operator-owned)."""


class SourceRefused(ConfigurationError):
    """A connection points at something its tenant may not reach."""


class UnresolvedHost(SourceRefused):
    """The host does not resolve now; refused at connect time, tolerated when a connection is created."""

    transient = True


@dataclass(frozen=True)
class Platform:
    """The platform's own servers, which no source may ever reach."""

    addresses: frozenset[tuple[str, int]] = frozenset()
    """(ip, port) of the PostgreSQL and Redis servers when they listen on TCP."""
    local_ports: frozenset[int] = frozenset()
    """Ports of platform servers on this machine: any local address with such a port is the platform."""
    sockets: tuple[Path, ...] = ()
    """Unix socket folders (PostgreSQL) and socket files (Redis) of the platform, real paths."""


@dataclass(frozen=True)
class Sandbox:
    tenant_slug: str
    data_dir: Path
    file_roots: tuple[Path, ...]
    """The tenant's own folders (``<root>/<slug>``), real paths."""
    networks: tuple[IpNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()
    sockets: tuple[Path, ...] = ()
    platform: Platform = field(default_factory=Platform)
    airbyte: frozenset[tuple[str, str]] = frozenset()

    # ---- files ----------------------------------------------------------------------------

    def check_file(self, path: str | os.PathLike[str]) -> str:
        """The real path of a file this tenant may read; refuses everything else."""
        real = Path(os.path.realpath(path))
        if not any(_inside(real, root) for root in self.file_roots):
            raise SourceRefused("this file is outside the tenant's files folder",
                                path=str(path), allowed=[str(r) for r in self.file_roots])
        data = Path(os.path.realpath(self.data_dir))
        if _inside(real, data) and not _inside(real, data / "sources"):
            raise SourceRefused("this file is in the platform's data dir", path=str(path))
        return str(real)

    def check_pattern(self, pattern: str) -> None:
        """At connection create: a path or glob must stay in the tenant's folder."""
        if not os.path.isabs(os.path.expanduser(pattern)):
            raise SourceRefused("a files path must be absolute, inside the tenant's files folder",
                                path=pattern, allowed=[str(r) for r in self.file_roots])
        if ".." in Path(pattern).parts:
            raise SourceRefused("a files path may not contain `..`", path=pattern)
        parts = Path(os.path.expanduser(pattern)).parts
        fixed = next((i for i, p in enumerate(parts) if GLOB_CHARS.search(p)), len(parts))
        prefix = Path(*parts[:fixed]) if fixed else Path("/")
        if fixed == len(parts):
            self.check_file(prefix)
            return
        real = Path(os.path.realpath(prefix))
        if not any(_inside(real, root) for root in self.file_roots):
            raise SourceRefused("this path is outside the tenant's files folder", path=pattern,
                                allowed=[str(r) for r in self.file_roots])

    # ---- network --------------------------------------------------------------------------

    def resolve(self, host: str, port: int) -> str:
        """The checked address to connect to for ``host:port`` (every resolved address is checked)."""
        if not host:
            raise SourceRefused("a source needs a host name or address")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise UnresolvedHost(f"cannot resolve host: {error.strerror}", host=host) from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for address in addresses:
            self.check_address(address, port, host=host)
        return addresses[0]

    def check_address(self, address: str, port: int, *, host: str | None = None) -> None:
        ip = _plain(ipaddress.ip_address(address.split("%")[0]))
        if self._is_platform(ip, port):
            raise SourceRefused("this address is the platform's own database or Redis server",
                                host=host or address, address=str(ip), port=port)
        if ip.is_global and not ip.is_multicast:
            return
        if (host or "").lower() in self.hosts or any(ip in net for net in self.networks if net.version == ip.version):
            return
        raise SourceRefused("sources may not reach loopback, private, link-local or metadata addresses "
                            "(the operator can allow them with AOS_ALLOW_PRIVATE_SOURCES)",
                            host=host or address, address=str(ip))

    def check_socket(self, path: str) -> str:
        """A Unix socket (folder or file) a source may use: allowed by the operator, never the platform's."""
        real = Path(os.path.realpath(path))
        for own in self.platform.sockets:
            if real == own or _inside(own, real) or _inside(real, own):
                raise SourceRefused("this socket is the platform's own database or Redis server", socket=path)
        if not any(real == allowed or _inside(real, allowed) for allowed in self.sockets):
            raise SourceRefused("sources may not use Unix sockets unless the operator allows them "
                                "(AOS_ALLOW_PRIVATE_SOURCES entry `unix:<path>`)", socket=path)
        return str(real)

    def _is_platform(self, ip: IpAddress, port: int) -> bool:
        if (str(ip), port) in self.platform.addresses:
            return True
        return port in self.platform.local_ports and (ip.is_loopback or ip.is_unspecified or str(ip) in _local_addresses())

    # ---- airbyte --------------------------------------------------------------------------

    def check_airbyte(self, package: str, version: str) -> None:
        if (package.lower(), version) not in self.airbyte:
            raise SourceRefused("this Airbyte source is not on the operator's allow-list (AOS_AIRBYTE_SOURCES)",
                                package=package, version=version,
                                allowed=sorted(f"{p}=={v}" for p, v in self.airbyte))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _plain(ip: IpAddress) -> IpAddress:
    """An IPv4-mapped or 6to4/NAT64-free IPv6 address as the IPv4 address it stands for."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _local_addresses() -> set[str]:
    """This machine's own addresses (best effort), so a platform on 127.0.0.1 is also its LAN address."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None)
    except OSError:
        return set()
    return {str(_plain(ipaddress.ip_address(i[4][0].split("%")[0]))) for i in infos}


# ---- building one -------------------------------------------------------------------------

def parse_allowances(entries: Iterable[str]) -> tuple[tuple[IpNetwork, ...], frozenset[str], tuple[Path, ...]]:
    """``AOS_ALLOW_PRIVATE_SOURCES`` entries as (networks, host names, socket paths)."""
    networks: list[IpNetwork] = []
    hosts: set[str] = set()
    sockets: list[Path] = []
    for entry in (e.strip() for e in entries):
        if not entry or entry.startswith("#"):
            continue
        if entry.startswith("unix:"):
            sockets.append(Path(os.path.realpath(entry[5:])))
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower())
    return tuple(networks), frozenset(hosts), tuple(sockets)


def parse_airbyte_pins(text: str) -> frozenset[tuple[str, str]]:
    pins = set()
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        name, sep, version = entry.partition("==")
        if not sep or not PACKAGE.fullmatch(name) or not VERSION.fullmatch(version):
            raise ConfigurationError("AOS_AIRBYTE_SOURCES entries are `package==version`", entry=entry)
        pins.add((name.lower(), version))
    return frozenset(pins)


PACKAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
VERSION = re.compile(r"[0-9][A-Za-z0-9.+!-]{0,49}")


def platform_servers(database_url: str, redis_url: str) -> Platform:
    """The platform's PostgreSQL and Redis as addresses, local ports and socket paths."""
    addresses: set[tuple[str, int]] = set()
    local_ports: set[int] = set()
    sockets: list[Path] = []
    for url, default_port in ((database_url, 5432), (redis_url, 6379)):
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if parts.scheme.startswith("unix"):
            sockets.append(Path(os.path.realpath(parts.path)))
            continue
        socket_dirs = [h for value in query.get("host", []) for h in value.split(",") if h.startswith("/")]
        sockets += [Path(os.path.realpath(d)) for d in socket_dirs]
        host = parts.hostname
        if not host:
            if not socket_dirs:
                sockets += [Path("/var/run/postgresql"), Path("/run/postgresql"), Path("/tmp")]
            continue
        port = parts.port or default_port
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            infos = []
        for info in infos:
            ip = _plain(ipaddress.ip_address(info[4][0].split("%")[0]))
            addresses.add((str(ip), port))
            if ip.is_loopback or ip.is_unspecified or str(ip) in _local_addresses():
                local_ports.add(port)
    return Platform(frozenset(addresses), frozenset(local_ports), tuple(sockets))


def files_roots(setting: str | None, data_dir: Path) -> tuple[Path, ...]:
    """The deployment's files roots (``AOS_FILES_ROOTS``, default ``<data dir>/sources``)."""
    entries = [e.strip() for e in (setting or "").split(",") if e.strip()]
    return tuple(Path(os.path.expanduser(e)) for e in entries) or (Path(data_dir) / "sources",)


def allowance_entries(setting: str, data_dir: Path) -> list[str]:
    """Entries of ``AOS_ALLOW_PRIVATE_SOURCES`` and of ``<data dir>/allowed-sources``."""
    entries = setting.split(",")
    file = Path(data_dir) / ALLOWANCE_FILE
    if file.is_file():
        entries += file.read_text().splitlines()
    return entries


def tenant_folder(root: Path, slug: str) -> Path:
    return Path(os.path.realpath(root)) / slug
