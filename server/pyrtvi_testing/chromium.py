"""Chromium for voice tests: Debian's binary and the flags a headless voice session needs."""

from __future__ import annotations

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
