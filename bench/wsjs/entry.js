// The official Pipecat JS client with its WebSocket transport, for the websocket tests and
// bench/websocket.py: exposed as `window.PipecatWS` (the page drives it with page.evaluate).
// WavMediaManager, not the default DailyMediaManager (which loads Daily's bundle from a CDN).
import { LogLevel, PipecatClient, RTVIEvent } from "@pipecat-ai/client-js";
import {
  ProtobufFrameSerializer,
  WavMediaManager,
  WebSocketTransport,
} from "@pipecat-ai/websocket-transport";

window.PipecatWS = {
  LogLevel,
  PipecatClient,
  RTVIEvent,
  ProtobufFrameSerializer,
  WavMediaManager,
  WebSocketTransport,
};
