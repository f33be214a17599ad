"""Hosts for multi-host tests on one machine: network namespaces on a bridge, a TCP relay into the root
namespace's loopback, and processes run inside a namespace.

Every name made here carries a random suffix of the run (two runs side by side never share a namespace,
a link or a subnet), everything made is recorded as it is made, and ``Topology.down`` removes exactly that,
in reverse, even after a partial ``up``. Nothing here touches an interface or route it did not create.
Needs root and iproute2 (``ip netns``, veth, bridge); :func:`unavailable` says why not when it cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

IP = shutil.which("ip") or "/usr/sbin/ip"
_ADDRESS = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?)\b")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, check=check, timeout=30)


def unavailable() -> str | None:
    """Why namespaces on a bridge cannot be made here (None: they can). Tries a throwaway namespace, veth
    and bridge, and removes them."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if not Path(IP).exists():
        return "iproute2's ip is not installed"
    tag = secrets.token_hex(3)
    ns, br, veth = f"shprobe-{tag}", f"shpb{tag}", f"shpv{tag}"
    steps = [
        ("netns add", ["netns", "add", ns]),
        ("netns exec", ["netns", "exec", ns, IP, "link", "set", "lo", "up"]),
        ("bridge", ["link", "add", br, "type", "bridge"]),
        ("veth", ["link", "add", veth, "type", "veth", "peer", "name", f"shpp{tag}", "netns", ns]),
    ]
    try:
        for what, args in steps:
            try:
                out = ip(*args, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"ip {what}: {exc}"
            if out.returncode != 0:
                return f"ip {what} failed: {(out.stderr or out.stdout).strip()}"
        return None
    finally:
        for args in (["link", "del", veth], ["link", "del", br], ["netns", "del", ns]):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                ip(*args, check=False)


@dataclass(frozen=True)
class Host:
    """One "machine": a network namespace with a veth to the bridge and an address of its own."""

    name: str  # what the test calls it ("api-a")
    netns: str  # the namespace's name, unique to the run
    veth: str  # the root end of its veth (on the bridge)
    peer: str  # the end inside the namespace
    address: str

    def exec(self) -> list[str]:
        """The prefix that runs a command in this host (``ip netns exec <ns>``: it execs, no fork)."""
        return [IP, "netns", "exec", self.netns]


class Topology:
    """A bridge in the root namespace with ``10.231.X.1/24`` (X picked free at random) and one namespace per
    host name, each with a veth to the bridge, ``10.231.X.(11+i)/24`` and loopback up."""

    def __init__(self, hosts: Sequence[str]) -> None:
        self.suffix = secrets.token_hex(3)
        self.bridge = f"shbr{self.suffix}"
        self.host_names = list(hosts)
        self.hosts: dict[str, Host] = {}
        self.subnet: ipaddress.IPv4Network | None = None
        self._made: list[tuple[str, str]] = []  # ("link" | "netns", name), in creation order
        self._inodes: dict[int, str] = {}  # the namespaces' inodes: a process in one outlives its name

    @property
    def bridge_address(self) -> str:
        assert self.subnet is not None
        return str(self.subnet.network_address + 1)

    # ------------------------------------------------------------------ up / down

    def up(self) -> Topology:
        try:
            with _locked(Path(__file__)):  # runs side by side pick their subnets one at a time
                self.subnet = _free_subnet()
                ip("link", "add", self.bridge, "type", "bridge")
                self._made.append(("link", self.bridge))
                ip("addr", "add", f"{self.bridge_address}/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
            for i, name in enumerate(self.host_names):
                host = Host(
                    name=name,
                    netns=f"shiren-{self.suffix}-{name}",
                    veth=f"shv{self.suffix}{i}",
                    peer=f"shp{self.suffix}{i}",
                    address=str(self.subnet.network_address + 11 + i),
                )
                ip("netns", "add", host.netns)
                self._made.append(("netns", host.netns))
                self._inodes[netns_inode(host.netns)] = host.netns
                ip("link", "add", host.veth, "type", "veth", "peer", "name", host.peer, "netns", host.netns)
                self._made.append(("link", host.veth))
                ip("link", "set", host.veth, "master", self.bridge, "up")
                ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", host.peer)
                ip("-n", host.netns, "link", "set", host.peer, "up")
                ip("-n", host.netns, "link", "set", "lo", "up")
                self.hosts[name] = host
        except BaseException:
            self.down()
            raise
        return self

    def down(self) -> list[str]:
        """Kill whatever still runs in the namespaces, then remove what ``up`` made; returns the errors."""
        errors: list[str] = []
        for kind, name in self._made:
            if kind == "netns":
                errors += kill_netns_pids(name)
        for kind, name in reversed(self._made):
            args = ["netns", "del", name] if kind == "netns" else ["link", "del", name]
            try:
                out = ip(*args, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                errors.append(f"ip {' '.join(args)}: {exc}")
                continue
            gone = "Cannot find device" in out.stderr or "No such file" in out.stderr
            if out.returncode != 0 and not gone:
                errors.append(f"ip {' '.join(args)}: {out.stderr.strip()}")
        self._made.clear()
        return errors

    def leftovers(self) -> list[str]:
        """Every namespace, link and process of this run that still exists (expected: none after down)."""
        left = [f"netns {n}" for n in ip("netns", "list").stdout.split() if self.suffix in n]
        left += [f"link {m}" for m in re.findall(r"^\d+: ([^:@\s]+)", ip("-o", "link").stdout, re.M)]
        left = [x for x in left if self.suffix in x]
        # A process in one of our namespaces keeps it alive after its name is gone; an inode that a
        # namespace named by someone else has now is a reused number, not ours.
        named = {}
        for entry in Path("/run/netns").glob("*") if Path("/run/netns").is_dir() else []:
            with contextlib.suppress(OSError):
                named[os.stat(entry).st_ino] = entry.name
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                inode = os.stat(proc / "ns" / "net").st_ino
            except OSError:
                continue  # gone meanwhile
            ours = inode in self._inodes and named.get(inode, self._inodes[inode]) == self._inodes[inode]
            if ours and not _zombie(int(proc.name)):
                left.append(f"process {proc.name} in {self._inodes[inode]}")
        return left

    def __enter__(self) -> Topology:
        return self.up()

    def __exit__(self, *exc: object) -> None:
        errors = self.down()
        if errors and exc[0] is None:
            raise RuntimeError(f"topology teardown: {errors}")


def _free_subnet() -> ipaddress.IPv4Network:
    """A random 10.231.X.0/24 that no address or route of the machine overlaps."""
    seen: list[ipaddress.IPv4Network] = []
    text = ip("-4", "-o", "addr", "show").stdout + ip("-4", "route", "show", "table", "all").stdout
    for token in _ADDRESS.findall(text):
        with contextlib.suppress(ValueError):
            seen.append(ipaddress.ip_network(token, strict=False))
    choices = list(range(2, 254))
    secrets.SystemRandom().shuffle(choices)
    for x in choices:
        candidate = ipaddress.ip_network(f"10.231.{x}.0/24")
        if not any(candidate.overlaps(net) for net in seen if net.prefixlen > 0):
            return candidate
    raise RuntimeError("no free 10.231.X.0/24")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path) as fh:  # an existing file: nothing is left behind
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def netns_pids(netns: str) -> list[int]:
    out = ip("netns", "pids", netns, check=False)
    return [int(p) for p in out.stdout.split()] if out.returncode == 0 else []


def kill_netns_pids(netns: str) -> list[str]:
    """SIGKILL every process in the namespace (all of them were started by this run) and wait for them."""
    errors: list[str] = []
    pids = netns_pids(netns)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]
        time.sleep(0.05)
    if pids:
        errors.append(f"processes still in {netns}: {pids}")
    return errors


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def netns_inode(netns: str) -> int:
    return os.stat(f"/run/netns/{netns}").st_ino


def process_netns_inode(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


# ---------------------------------------------------------------------------------------------- processes


class HostProcess:
    """A command run in a host (``ip netns exec``), in a session of its own, output to a log file."""

    def __init__(self, host: Host, args: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.host = host
        self.args = list(args)
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> HostProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log: IO[bytes] = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        try:
            self.proc = subprocess.Popen(
                [*self.host.exec(), *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def in_its_namespace(self) -> bool:
        """Whether the process (the Popen's pid: ``ip netns exec`` execs the command) runs in the host."""
        return process_netns_inode(self.pid) == netns_inode(self.host.netns)

    def kill(self) -> int:
        """SIGKILL, then reap; returns the exit status (-9)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL to its whole process group after ``timeout``; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything it left in its group
        return self.proc.returncode

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""


# ---------------------------------------------------------------------------------------------- TCP relay


class TcpRelay:
    """Accepts on ``listen`` (e.g. the bridge's address) and pipes each connection to ``target`` (e.g.
    127.0.0.1:5432), on an asyncio loop in a thread of the test process. When either side closes, both do.
    ``close()`` stops listening, cuts every connection and joins the thread."""

    def __init__(self, listen_host: str, target: tuple[str, int], listen_port: int = 0) -> None:
        self.listen_host = listen_host
        self.target = target
        self.port = listen_port
        self.accepted = 0
        self.failed = 0  # connections whose target refused
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"relay-{target[1]}", daemon=True)

    @property
    def address(self) -> str:
        return f"{self.listen_host}:{self.port}"

    def start(self) -> TcpRelay:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise TimeoutError("relay did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, self.listen_host, self.port, backlog=256)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self._writers.add(writer)
        self.accepted += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            try:
                up_reader, upstream = await asyncio.open_connection(*self.target)
            except OSError:
                self.failed += 1
                return
            self._writers.add(upstream)
            pipes = [
                asyncio.ensure_future(_pipe(reader, upstream)),
                asyncio.ensure_future(_pipe(up_reader, writer)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            for w in (writer, upstream):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()
            self._tasks.discard(task)  # type: ignore[arg-type]

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> TcpRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
