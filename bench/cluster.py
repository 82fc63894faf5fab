"""Several `pyrtvi serve` replicas as a site runs them: a real `redis-server` and a real nginx
(Debian packages) on free loopback ports with generated configs, round-robin, no affinity.

Used by `bench.replicas` and the tests (tests/replicas.py: their fixtures).
nginx answers every proxied request with `X-Upstream: <replica address>` and logs
`<method> <uri> <status> <replica>` per request (a WebSocket when it closes), so a test can tell
which replica served what.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyrtvi_testing.processes import LiveServer, free_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT = 20.0


def wait_port(port: int, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}:\n{log.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@dataclass
class RedisServer:
    """`redis-server` on a free loopback port, in memory only (no RDB, no AOF)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.workdir / f"redis-{self.port}.log"
        command = [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", str(self.workdir), "--logfile", str(log)]
        log.touch()
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_port(self.port, "redis-server", self.process, log)
        return self

    def stop(self) -> None:
        stop_process(self.process)


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    log_format replicas '$request_method $request_uri $status $upstream_addr';
    access_log {dir}/access.log replicas;
{site}
}}
"""

#: What docs/server.md "Several servers" shows, with this test's ports.
SITE = """\
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream pyrtvi {{
        # Round-robin, no affinity: any replica serves any request.
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://pyrtvi;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout http_502;
            add_header X-Upstream $upstream_addr always;
        }}
    }}"""


@dataclass
class Nginx:
    """nginx in front of `backends` (host:port), round-robin, on a free loopback port."""

    workdir: Path
    backends: list[str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def config(self) -> str:
        servers = "\n".join(
            f"        server {backend} max_fails=1 fail_timeout=5s;" for backend in self.backends
        )
        site = SITE.format(servers=servers, port=self.port)
        return NGINX_CONF.format(dir=self.workdir, site=site)

    def start(self) -> Nginx:
        conf = self.workdir / "nginx.conf"
        conf.write_text(self.config())
        log = self.workdir / "error.log"
        log.touch()
        command = [NGINX, "-c", str(conf), "-p", str(self.workdir), "-e", str(log)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        wait_port(self.port, "nginx", self.process, log)
        return self

    def served(self) -> list[tuple[str, str, int, str]]:
        """(method, uri, status, replica address) of every request nginx logged so far."""
        entries = []
        for line in self.access_log.read_text().splitlines():
            method, uri, status, upstream = line.split(" ", 3)
            entries.append((method, uri, int(status), upstream))
        return entries

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class Cluster:
    """One Redis, `replicas` servers sharing it, nginx in front."""

    redis: RedisServer
    replicas: list[LiveServer]
    nginx: Nginx

    @property
    def url(self) -> str:
        return self.nginx.url

    def replica_at(self, address: str) -> LiveServer:
        """The replica nginx names by `address` (host:port)."""
        port = int(address.rsplit(":", 1)[1])
        return next(r for r in self.replicas if r.port == port)

    def kill(self, replica: LiveServer) -> None:
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(10)

    def stop(self) -> None:
        self.nginx.stop()
        for replica in self.replicas:
            replica.stop()
        self.redis.stop()


def have_cluster_tools() -> bool:
    return Path(REDIS).is_file() and Path(NGINX).is_file()


def start_cluster(
    workdir: Path,
    bot_url: str,
    *,
    replicas: int = 2,
    env: dict[str, str] | None = None,
    redis: bool = True,
) -> Cluster:
    """Redis, `replicas` × `pyrtvi serve --bot-url BOT --redis-url ... --forwarded-allow-ips
    127.0.0.1` (nginx's address), nginx in front. `redis=False`: no `--redis-url` (and nginx
    in front of one replica only makes sense then)."""
    server = RedisServer(workdir).start()
    started: list[LiveServer] = []
    try:
        args = ["--bot-url", bot_url, "--forwarded-allow-ips", "127.0.0.1"]
        if redis:
            args += ["--redis-url", server.url]
        for _ in range(replicas):
            started.append(LiveServer(args, dict(env or {})).start(workdir))
        nginx = Nginx(workdir, [f"127.0.0.1:{r.port}" for r in started]).start()
    except BaseException:
        for replica in started:
            replica.stop()
        server.stop()
        raise
    return Cluster(server, started, nginx)
