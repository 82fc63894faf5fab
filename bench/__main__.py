"""`python -m bench [--runs N]`: every benchmark in turn, as `make bench` runs them.

Page boot; connect against the official JS client on both embedded bots (pipecat 1.14.0, then
0.0.108); the SmallWebRTC transport per bot; the JS client on a stock runner bot, through
pyrtvi serve and directly; a pyrtvi page directly on that bot vs the JS client; pyrtvi's WebSocketTransport vs the JS
WebSocket client on that bot (and the JS one through the relay); the test kit's 3-turn test per
transport, with the JS client's voice to voice on the same bot.
"""

from __future__ import annotations

import argparse

from bench import boot, connect, direct, kit, runner, webrtc, websocket


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = ["--runs", str(args.runs)]
    print("== page boot (bench.boot) ==", flush=True)
    boot.main(runs)
    for pipecat in (connect.DEFAULT_PIPECAT, "0.0.108"):
        print(f"\n== connect vs the JS client, pipecat {pipecat} (bench.connect) ==", flush=True)
        connect.main([*runs, "--bot-pipecat", pipecat])
    print("\n== SmallWebRTC transport per bot (bench.webrtc) ==", flush=True)
    webrtc.main(runs)
    print(
        "\n== the JS client on a stock runner bot, via pyrtvi serve (bench.runner) ==", flush=True
    )
    runner.main(runs)
    print("\n== a pyrtvi page directly on the runner bot (bench.direct) ==", flush=True)
    direct.main(runs)
    print("\n== pyrtvi's WebSocketTransport vs the JS one (bench.websocket) ==", flush=True)
    websocket.main(runs)
    print("\n== the test kit, a 3-turn test per transport (bench.kit) ==", flush=True)
    kit.main(runs)


if __name__ == "__main__":
    main()
