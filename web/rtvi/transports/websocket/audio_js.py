"""The JavaScript that keeps audio out of Python: two AudioWorklets and the socket's router.

- ``CAPTURE_WORKLET`` (``pyrtvi-capture``): mic samples → low-passed below the bot's Nyquist
  frequency (an anti-alias FIR, when the context's rate is higher) and resampled (linear) to the
  bot's input rate → 16-bit mono frames of ``frameSamples`` → each a protobuf ``Frame{audio}``,
  posted (as a transferred ArrayBuffer) to the main thread.
- ``PLAYER_WORKLET`` (``pyrtvi-player``): receives the bot's ``Frame{audio}`` bytes as they came off
  the socket, decodes them, resamples each frame from *its own* ``sample_rate`` to the context's,
  and plays them from a small jitter buffer (``jitterMs``). It plays nothing until ``ready``;
  ``flush`` drops everything queued at once. It posts its counters ten times a second.
- ``ROUTER`` (main thread, a ``Function``): binary messages that are one ``Frame.audio`` field
  go straight to the player; ``Frame.interruption`` flushes it (and, well formed, goes no
  further: counted in ``stats().interruptions``); everything else goes to the one
  Python callback: an RTVI message as its JSON text (``MESSAGE_CODEC`` reads the
  ``MessageFrame``, so Python does not decode protobuf per message), any other frame as bytes.
  An RTVI message of a *quiet* type (``setQuiet``: one the client would do nothing with, no
  callback or handler listening) is dropped there, counted in ``stats().quiet``. Mic frames are queued until ``ready``, then
  sent; a silent frame keeps the socket busy when nothing else was sent for ``keepaliveMs``.

The worklets load from ``blob:`` URLs made from these strings (a page CSP must allow
``blob:`` in ``script-src`` for AudioWorklet modules). Protobuf here is ``AUDIO_CODEC``: audio
frames only, byte for byte as ``rtvi.transports.websocket.protobuf`` writes and reads them (checked
in node against it and against pipecat's ``frames_pb2``), so no audio frame enters Python; and
``MESSAGE_CODEC``, the router's reading of an RTVI message's ``MessageFrame`` (checked in node too).
"""

from __future__ import annotations

#: Shared by the capture worklet and the router: Int16 PCM → Frame{audio: AudioRawFrame} bytes,
#: the bytes ``protobuf.encode_frame(AudioRawFrame(audio, rate, 1))`` gives (empty audio left out,
#: as proto3 leaves out defaults). ``rate`` is a positive uint32.
_ENCODE = """
function pushVarint(out, v) {
  while (v > 127) { out.push((v & 127) | 128); v = Math.floor(v / 128); }
  out.push(v);
}
function encodeAudioFrame(pcm, rate) {
  const head = [];
  if (pcm.byteLength) { head.push(0x1a); pushVarint(head, pcm.byteLength); }
  const tail = [0x20]; pushVarint(tail, rate); tail.push(0x28, 1);
  const innerLength = head.length + pcm.byteLength + tail.length;
  const outer = [0x12]; pushVarint(outer, innerLength);
  const bytes = new Uint8Array(outer.length + innerLength);
  bytes.set(outer, 0);
  bytes.set(head, outer.length);
  bytes.set(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength), outer.length + head.length);
  bytes.set(tail, outer.length + head.length + pcm.byteLength);
  return bytes.buffer;
}
"""

#: Shared by the player worklet and the router: which messages are audio frames, and their fields.
#: ``isAudioFrame(bytes)``: the message is exactly one ``Frame.audio`` field (what pipecat's
#: serializer sends; anything else, even a frame that also holds audio, goes to Python).
#: ``decodeAudio(buffer)``: ``{audio, rate, channels}`` of such a frame, as
#: ``protobuf.decode_frame`` reads them (unknown fields skipped, the last of a field wins, a
#: uint32 truncated; 0 for an absent one); throws on what ``decode_frame`` refuses, except that
#: ``name``, which is not read, is not checked to be UTF-8.
_DECODE = """
function readVarint(b, at) {
  let v = 0, scale = 1, byte, n = 0;
  do {
    if (at.i >= b.length) throw new Error("truncated varint");
    if (++n > 10) throw new Error("varint longer than 10 bytes");
    byte = b[at.i++];
    v += (byte & 127) * scale;
    scale *= 128;
  } while (byte & 128);
  return v;
}
function fields(b, onField) {
  const at = { i: 0 };
  while (at.i < b.length) {
    const key = readVarint(b, at), field = Math.floor(key / 8), wire = key % 8;
    if (field === 0) throw new Error("field number 0");
    if (wire === 0) onField(field, 0, readVarint(b, at));
    else if (wire === 2) {
      const n = readVarint(b, at);
      if (at.i + n > b.length) throw new Error("field past the end");
      onField(field, 2, b.subarray(at.i, at.i + n));
      at.i += n;
    } else if (wire === 1 || wire === 5) {
      at.i += wire === 1 ? 8 : 4;
      if (at.i > b.length) throw new Error("field past the end");
      onField(field, wire, null);
    } else throw new Error("bad wire type");
  }
}
function onlyField(b, key) {  // the bytes of b's one length-delimited field with this key, or null
  if (b.length < 2 || b[0] !== key) return null;
  const at = { i: 1 };
  let n;
  try { n = readVarint(b, at); } catch (e) { return null; }
  return at.i + n === b.length ? b.subarray(at.i) : null;
}
function audioBody(b) { return onlyField(b, 0x12); }  // the AudioRawFrame's bytes, or null
function isAudioFrame(b) { return audioBody(b) !== null; }
function decodeAudio(buffer) {
  const body = audioBody(new Uint8Array(buffer));
  if (body === null) throw new Error("not an audio frame");
  const out = { audio: new Uint8Array(0), rate: 0, channels: 0 };
  const want = { 1: 0, 2: 2, 3: 2, 4: 0, 5: 0, 6: 0 };
  fields(body, (f, wire, v) => {
    if (f in want && want[f] !== wire) throw new Error("field " + f + ": wrong wire type");
    if (f === 3) out.audio = v;
    else if (f === 4) out.rate = v % 4294967296;
    else if (f === 5) out.channels = v % 4294967296;
  });
  return out;
}
"""

#: The audio-frame codec alone (:data:`_ENCODE` + :data:`_DECODE`), as the worklets and the
#: router run it; the tests run it in node against ``protobuf`` and pipecat's ``frames_pb2``.
AUDIO_CODEC = _ENCODE + _DECODE

#: The router's reading of an RTVI message (after :data:`AUDIO_CODEC`, main thread only: a worklet
#: has no ``TextDecoder``). ``messageText(bytes)``: the ``MessageFrame.data`` text of a message that
#: is exactly ``Frame{message: MessageFrame{data}}`` (one field each, as pipecat's serializer
#: sends an RTVI message), as ``protobuf.decode_frame`` reads it (strict UTF-8, a BOM kept); null
#: for anything else, which the router hands to Python as bytes. ``isInterruption(bytes)``: the
#: message is exactly one ``Frame.interruption`` field that ``decode_frame`` reads as an
#: ``InterruptionFrame`` (pipecat 1.x's; Python has nothing to do with it once the router has
#: flushed the player). Both checked in node against ``protobuf`` in the tests.
MESSAGE_CODEC = """
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function messageText(b) {
  const body = onlyField(b, 0x22);
  const data = body === null ? null : onlyField(body, 0x0a);
  if (data === null) return null;
  try { return strictUtf8.decode(data); } catch (e) { return null; }
}
function isInterruption(b) {
  const body = onlyField(b, 0x2a);
  if (body === null) return false;
  try {
    fields(body, (f, wire, v) => {
      if ((f === 1 && wire !== 0) || (f === 2 && wire !== 2)) throw new Error("wrong wire type");
      if (f === 2) strictUtf8.decode(v);
    });
  } catch (e) { return false; }
  return true;
}
"""

CAPTURE_WORKLET = (
    _ENCODE
    + """
// The anti-alias low-pass for a resampling step (input samples per output sample): a Blackman
// windowed sinc cut at 0.45 of the output rate, about 28 × step taps (odd, so its delay is whole
// samples), unity gain at DC; null where the step is not a downsampling (no band to cut).
function lowPass(step) {
  if (step <= 1) return null;
  const n = 2 * Math.ceil(14 * step) + 1, mid = (n - 1) / 2, fc = 0.45 / step;
  const taps = new Float32Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    const t = k - mid, x = (2 * Math.PI * k) / (n - 1);
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
    taps[k] = sinc * (0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x));
    sum += taps[k];
  }
  for (let k = 0; k < n; k++) taps[k] /= sum;
  return taps;
}
class PyrtviCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.rate = o.sampleRate;
    this.step = sampleRate / o.sampleRate;  // input samples per output sample
    this.pos = 0;                           // next output position; -1 is the previous block's last
    this.prev = 0;                          // the previous block's last (filtered) sample
    this.taps = lowPass(this.step);
    // The filter's input: its last taps - 1 samples (kept across blocks), then the block's.
    this.line = new Float32Array(this.taps ? this.taps.length - 1 + 128 : 0);
    this.frame = new Int16Array(o.frameSamples);
    this.filled = 0;
  }
  // The block into the filter's line: its last taps - 1 samples before, then the block.
  feed(data) {
    const keep = this.taps.length - 1, n = data.length;
    if (this.line.length !== keep + n) {  // a block of another size: the same history, new room
      const line = new Float32Array(keep + n);
      line.set(this.line.subarray(this.line.length - keep));
      this.line = line;
    } else this.line.copyWithin(0, n);
    this.line.set(data, keep);
  }
  // The block's sample i (0 <= i < its length), low-passed where there is a filter.
  sample(data, i) {
    if (!this.taps) return data[i];
    const taps = this.taps, line = this.line, end = i + taps.length - 1;
    let sum = 0;
    for (let k = 0; k < taps.length; k++) sum += taps[k] * line[end - k];
    return sum;
  }
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    let data = input[0];
    if (input.length > 1) {
      data = new Float32Array(input[0].length);
      for (let i = 0; i < data.length; i++) data[i] = (input[0][i] + input[1][i]) / 2;
    }
    const n = data.length, last = n - 1;
    if (n === 0) return true;
    if (this.taps) this.feed(data);
    let p = this.pos;
    while (p <= last) {
      const i = Math.floor(p), f = p - i;
      const a = i < 0 ? this.prev : this.sample(data, i);
      const b = f > 0 ? this.sample(data, i + 1) : a;
      const v = Math.max(-1, Math.min(1, a + (b - a) * f));
      this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      if (this.filled === this.frame.length) {
        const buffer = encodeAudioFrame(this.frame, this.rate);
        this.port.postMessage(buffer, [buffer]);
        this.filled = 0;
      }
      p += this.step;
    }
    this.pos = p - n;
    this.prev = this.sample(data, last);
    return true;
  }
}
registerProcessor("pyrtvi-capture", PyrtviCapture);
"""
)

PLAYER_WORKLET = (
    _DECODE
    + """
class PyrtviPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.target = Math.round((options.processorOptions.jitterMs * sampleRate) / 1000);
    this.chunks = [];
    this.offset = 0;    // read position in chunks[0]
    this.queued = 0;    // samples waiting
    this.ready = false;
    this.playing = false;
    this.idleBlocks = 0;
    this.blocks = 0;
    // played/dropped in samples at the context's rate; lastDropped, flushPlayed: dropped by and
    // played at the last flush that dropped anything.
    this.stats = { played: 0, dropped: 0, flushes: 0, frames: 0, bad: 0, rate: 0, energy: 0,
                   lastDropped: 0, flushPlayed: 0, sampleRate };
    this.port.onmessage = (event) => this.command(event.data);
  }
  command(m) {
    if (m instanceof ArrayBuffer) this.push(m);
    else if (m.type === "ready") this.ready = !!m.value;
    else if (m.type === "flush") {
      if (this.queued > 0) {  // one interruption may bring several flushes: keep the real one
        this.stats.dropped += this.queued;
        this.stats.lastDropped = this.queued;
        this.stats.flushPlayed = this.stats.played;
      }
      this.stats.flushes += 1;
      this.chunks = [];
      this.offset = 0;
      this.queued = 0;
      this.playing = false;
      this.report();
    }
  }
  push(buffer) {
    let frame;
    try { frame = decodeAudio(buffer); } catch (e) { this.stats.bad += 1; return; }
    if (!frame.rate) { this.stats.bad += 1; return; }  // no rate: cannot be played
    const view = new DataView(frame.audio.buffer, frame.audio.byteOffset, frame.audio.byteLength);
    const ch = frame.channels || 1, n = Math.floor(frame.audio.byteLength / 2 / ch);
    if (n === 0) return;
    const src = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < ch; c++) sum += view.getInt16((i * ch + c) * 2, true);
      src[i] = sum / ch / 32768;
    }
    const ratio = frame.rate / sampleRate, length = Math.max(1, Math.round(n / ratio));
    const out = new Float32Array(length);
    for (let k = 0; k < length; k++) {
      const p = k * ratio, i = Math.floor(p), f = p - i;
      const a = src[Math.min(i, n - 1)], b = src[Math.min(i + 1, n - 1)];
      out[k] = a + (b - a) * f;
    }
    this.chunks.push(out);
    this.queued += length;
    this.idleBlocks = 0;
    this.stats.frames += 1;
    this.stats.rate = frame.rate;
  }
  report() {
    this.stats.queued = this.queued;
    this.port.postMessage(Object.assign({}, this.stats));
  }
  process(inputs, outputs) {
    const output = outputs[0];
    const out = output[0];
    if (++this.blocks % Math.max(1, Math.round(sampleRate / 128 / 10)) === 0) this.report();
    if (!this.ready) return true;
    if (!this.playing) {
      this.idleBlocks += 1;
      if (this.queued === 0) return true;
      if (this.queued < this.target && this.idleBlocks * out.length < this.target) return true;
      this.playing = true;
    }
    let written = 0, energy = 0;
    while (written < out.length && this.chunks.length) {
      const chunk = this.chunks[0];
      const n = Math.min(out.length - written, chunk.length - this.offset);
      for (let i = 0; i < n; i++) {
        const v = chunk[this.offset + i];
        out[written + i] = v;
        energy += v * v;
      }
      written += n;
      this.offset += n;
      if (this.offset === chunk.length) { this.chunks.shift(); this.offset = 0; }
    }
    this.queued -= written;
    this.stats.played += written;
    this.stats.energy += energy;
    if (this.queued === 0) this.playing = false;  // underrun: buffer up again
    for (let c = 1; c < output.length; c++) output[c].set(out);
    return true;
  }
}
registerProcessor("pyrtvi-player", PyrtviPlayer);
"""
)

#: ``Function("ws", "capturePort", "playerPort", "onFrame", "opts", ROUTER)``.
ROUTER = (
    AUDIO_CODEC
    + MESSAGE_CODEC
    + """
const state = { ready: false, queue: [], sent: 0, lastSent: performance.now(), player: null,
                oversize: 0, quiet: 0, interruptions: 0, disposed: false };
let quiet = new Set();  // RTVI message types nobody listens to: dropped here, unread by Python
// Only a plain RTVI message of a quiet type (an id, if any, a string: Python refuses the rest).
const isQuiet = (text) => {
  let m;
  try { m = JSON.parse(text); } catch (e) { return false; }
  return m !== null && typeof m === "object" && m.label === "rtvi-ai" && quiet.has(m.type) &&
    (m.id === undefined || m.id === null || typeof m.id === "string");
};
const silence = encodeAudioFrame(new Int16Array(opts.keepaliveSamples), opts.sampleRate);
ws.binaryType = "arraybuffer";
const send = (data) => {
  if (ws.readyState !== 1) return false;
  ws.send(data);
  state.sent += 1;
  state.lastSent = performance.now();
  return true;
};
const onMessage = (event) => {
  const data = event.data;
  if (typeof data === "string") { onFrame("text", data); return; }
  if (data.byteLength > opts.maxMessage) { state.oversize += 1; onFrame("oversize", data.byteLength); return; }
  const bytes = new Uint8Array(data);
  if (isAudioFrame(bytes)) { playerPort.postMessage(data, [data]); return; }  // Frame.audio
  if (bytes[0] === 0x2a) {                                                  // Frame.interruption
    playerPort.postMessage({ type: "flush" });
    if (isInterruption(bytes)) { state.interruptions += 1; return; }  // nothing left for Python
  }
  const text = messageText(bytes);                                          // Frame.message
  if (text !== null) {
    if (quiet.size && isQuiet(text)) state.quiet += 1; else onFrame("message", text);
    return;
  }
  onFrame("frame", bytes);
};
ws.addEventListener("message", onMessage);
if (capturePort) {
  capturePort.onmessage = (event) => {
    if (state.ready) { send(event.data); return; }
    state.queue.push(event.data);
    if (state.queue.length > opts.queueFrames) state.queue.shift();
  };
}
playerPort.onmessage = (event) => { state.player = event.data; };
const keepalive = setInterval(() => {
  if (state.ready && performance.now() - state.lastSent >= opts.keepaliveMs) send(silence.slice(0));
}, Math.max(50, opts.keepaliveMs / 2));
return {
  state,
  setReady(value) {
    state.ready = !!value;
    playerPort.postMessage({ type: "ready", value: !!value });
    if (state.ready) { for (const data of state.queue) send(data); state.queue = []; }
  },
  flush() { playerPort.postMessage({ type: "flush" }); },
  setQuiet(types) { quiet = new Set(types); },
  send,
  stats() {
    return JSON.stringify({ player: state.player, sent: state.sent, queued: state.queue.length,
                            oversize: state.oversize, quiet: state.quiet,
                            interruptions: state.interruptions });
  },
  dispose() {
    if (state.disposed) return;
    state.disposed = true;
    clearInterval(keepalive);
    ws.removeEventListener("message", onMessage);
    if (capturePort) capturePort.onmessage = null;
    playerPort.onmessage = null;
    state.queue = [];
  },
};
"""
)
