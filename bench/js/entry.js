// The official Pipecat JS client for bench/connect.py: client-js + the SmallWebRTC transport,
// exposed as `window.PipecatBench` (the bench page drives it with page.evaluate).
import { LogLevel, PipecatClient, RTVIEvent } from "@pipecat-ai/client-js";
import { SmallWebRTCTransport, WavMediaManager } from "@pipecat-ai/small-webrtc-transport";

window.PipecatBench = { LogLevel, PipecatClient, RTVIEvent, SmallWebRTCTransport, WavMediaManager };
