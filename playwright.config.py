"""Browser settings for the test suite: the one place for Chromium path, flags, fake mic and timeouts.

Tests import this module (tests/conftest.py loads it by path). Environment overrides:
PYRTVI_CHROMIUM (binary), PYRTVI_FAKE_MIC_WAV (wav for the fake microphone), PYRTVI_HEADED=1.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyrtvi_testing.chromium import ACTION_TIMEOUT_MS as ACTION_TIMEOUT_MS
from pyrtvi_testing.chromium import ALLOWED_HOSTS as ALLOWED_HOSTS
from pyrtvi_testing.chromium import BOOT_TIMEOUT_MS as BOOT_TIMEOUT_MS
from pyrtvi_testing.chromium import DEFAULT_CHROMIUM
from pyrtvi_testing.chromium import LAUNCH_ARGS as KIT_LAUNCH_ARGS

ROOT = Path(__file__).resolve().parent

#: Debian's Chromium; `playwright install` cannot download browsers on these machines.
CHROMIUM = os.environ.get("PYRTVI_CHROMIUM", DEFAULT_CHROMIUM)

#: 48 kHz mono speech, looped by Chromium as the microphone.
FAKE_MIC_WAV = Path(
    os.environ.get("PYRTVI_FAKE_MIC_WAV", ROOT / "tests" / "data" / "speech48k.wav")
)

HEADLESS = os.environ.get("PYRTVI_HEADED") != "1"

#: The test kit's flags (pyrtvi_testing.chromium), plus Chromium's fake devices with the fake
#: microphone's file: the suite's pages open a microphone and a camera (the kit's page sends a
#: virtual microphone instead, so the kit launches without them).
LAUNCH_ARGS = [
    *KIT_LAUNCH_ARGS,
    "--use-fake-device-for-media-stream",
    f"--use-file-for-fake-audio-capture={FAKE_MIC_WAV}",
]

#: Generous upper bounds (not performance assertions); the page and action ones are the kit's.
SERVER_START_TIMEOUT_S = 90.0
