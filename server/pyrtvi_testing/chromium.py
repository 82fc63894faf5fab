"""Chromium for voice tests: Debian's binary, the flags a headless voice session needs, and a
guard that keeps a test's pages on this machine."""

from __future__ import annotations

from collections.abc import Set
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Route

#: Debian's Chromium (`apt-get install chromium`); `playwright install` needs a download.
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: No sandbox (CI containers run as root), no background traffic, media without prompts, audio
#: that plays without a user gesture, host candidates without mDNS (loopback WebRTC). No fake
#: devices: the kit's page sends its own virtual microphone, and opens no real one.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]

#: Generous upper bounds (not performance assertions): a page's Python ready (a cold boot on a
#: loaded machine), and one Playwright action.
BOOT_TIMEOUT_MS = 90_000
ACTION_TIMEOUT_MS = 30_000

#: Hosts a test page may contact (loopback); :func:`guard_offhost` aborts the rest.
ALLOWED_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


def guard_offhost(context: BrowserContext, allowed: Set[str] = ALLOWED_HOSTS) -> list[str]:
    """Abort every request of ``context`` to a host not in ``allowed``; the returned list
    collects their URLs (assert it empty at the end: a test that reached the internet)."""
    offhost: list[str] = []

    def check(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        if url.startswith(("http://", "https://", "ws://", "wss://")) and (
            host not in allowed and f"[{host}]" not in allowed
        ):
            offhost.append(url)
            route.abort()
        else:
            route.fallback()

    context.route("**/*", check)
    return offhost
