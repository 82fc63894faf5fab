"""Where a connect's time goes: the same browser-level marks on any client's page.

:data:`TRACE_SCRIPT` is a Playwright init script (it runs before any page script, on every page
of a context): it wraps the browser APIs both clients call on the way to bot-ready
(``getUserMedia``, ``enumerateDevices``, ``permissions.query``, ``AudioWorklet.addModule``,
``fetch``, ``RTCPeerConnection`` and its signalling methods, the data channel) and pushes
``[name, performance.now()]`` to ``window.connectTrace``. Neither client is changed; the
wrappers cost microseconds, the same for both. A page marks the call itself (``call``) and its
return (``returned``); :func:`milestones` turns one page's marks into ms since the call.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

TRACE_SCRIPT = """
(() => {
  const marks = (window.connectTrace = []);
  const mark = (window.connectMark = (name) => marks.push([name, performance.now()]));
  const seen = new Set();
  const once = (name) => { if (!seen.has(name)) { seen.add(name); mark(name); } };
  const wrap = (proto, method, name) => {
    const native = proto[method];
    if (!native) return;
    proto[method] = function (...args) {
      const label = typeof name === "function" ? name(...args) : name;
      mark(label + " called");
      const result = native.apply(this, args);
      if (result && typeof result.then === "function") {
        result.then(() => mark(label + " resolved"), () => mark(label + " failed"));
      }
      return result;
    };
  };
  wrap(MediaDevices.prototype, "getUserMedia", "getUserMedia");
  wrap(MediaDevices.prototype, "enumerateDevices", "enumerateDevices");
  if (window.Permissions) wrap(Permissions.prototype, "query", "permissions.query");
  if (window.AudioWorklet) wrap(AudioWorklet.prototype, "addModule", "addModule");
  const kind = (input, init) => {
    const url = String(input && input.url ? input.url : input);
    const method = String((init && init.method) || (input && input.method) || "GET").toUpperCase();
    // A GET is named by its file (e.g. the boot's files fetched once the page is idle).
    const file = url.split("?")[0].split("/").pop();
    const what = url.includes("/start") ? "start" : url.includes("offer") ? "offer"
      : method === "GET" ? file : "connect";
    return "fetch " + method + " " + what;
  };
  const nativeFetch = window.fetch;
  window.fetch = function (input, init) {
    const label = kind(input, init);
    mark(label + " called");
    const result = nativeFetch.call(this, input, init);
    result.then(() => mark(label + " resolved"), () => mark(label + " failed"));
    return result;
  };
  const pcProto = RTCPeerConnection.prototype;
  for (const m of ["createOffer", "setLocalDescription", "setRemoteDescription"]) {
    wrap(pcProto, m, m);
  }
  wrap(RTCRtpSender.prototype, "replaceTrack", "replaceTrack");
  if (window.PerformanceObserver && PerformanceObserver.supportedEntryTypes?.includes("longtask")) {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        marks.push(["long task", entry.startTime], ["long task end", entry.startTime + entry.duration]);
      }
    }).observe({ type: "longtask" });
  }
  const NativeAudioContext = window.AudioContext;
  window.AudioContext = class extends NativeAudioContext {
    constructor(...args) {
      mark("new AudioContext called");
      super(...args);
      mark("new AudioContext returned");
    }
  };
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) {
      super(...args);
      once("RTCPeerConnection");
      this.addEventListener("track", () => once("bot track"));
      this.addEventListener("icecandidate", (e) => once(e.candidate ? "first candidate" : "gathering complete"));
      this.addEventListener("iceconnectionstatechange", () => once("ice " + this.iceConnectionState));
      this.addEventListener("connectionstatechange", () => once("pc " + this.connectionState));
    }
  };
  const nativeCreateDC = pcProto.createDataChannel;
  pcProto.createDataChannel = function (...args) {
    const dc = nativeCreateDC.apply(this, args);
    dc.addEventListener("open", () => once("data channel open"));
    dc.addEventListener("message", (e) => {
      if (typeof e.data === "string" && e.data.includes('"bot-ready"')) once("bot-ready received");
    });
    return dc;
  };
  const nativeSend = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    once(typeof data === "string" && data.includes('"client-ready"') ? "client-ready sent" : "first dc send");
    return nativeSend.call(this, data);
  };
})();
"""

#: The marks reported, in the order a connect passes them (the first of each, ms since call).
ORDER = (
    "getUserMedia called",
    "getUserMedia resolved",
    "new AudioContext called",
    "new AudioContext returned",
    "addModule called",
    "addModule resolved",
    "enumerateDevices called",
    "enumerateDevices resolved",
    "permissions.query resolved",
    "fetch POST start called",
    "fetch POST connect called",
    "fetch POST start resolved",
    "fetch POST connect resolved",
    "RTCPeerConnection",
    "replaceTrack called",
    "createOffer called",
    "createOffer resolved",
    "setLocalDescription resolved",
    "first candidate",
    "fetch POST offer called",
    "gathering complete",
    "fetch POST offer resolved",
    "setRemoteDescription called",
    "bot track",
    "setRemoteDescription resolved",
    "fetch PATCH offer called",
    "ice connected",
    "pc connected",
    "data channel open",
    "first dc send",
    "client-ready sent",
    "bot-ready received",
    "returned",
)

#: Steps timed run by run (the median of each run's gap, not the gap between two medians).
GAPS = (
    ("getUserMedia", "getUserMedia called", "getUserMedia resolved"),
    ("data channel open → client-ready", "data channel open", "client-ready sent"),
    ("client-ready → bot-ready", "client-ready sent", "bot-ready received"),
    ("data channel open → bot-ready", "data channel open", "bot-ready received"),
)

#: ``window.connectTrace`` as JSON, with the page's ``pyrtvi:`` performance marks (the boot's
#: steps, e.g. ``pyrtvi:stdlib-rest`` when the rest of the stdlib is in place) and the long tasks
#: (50 ms or more, main thread) the init script observed: what else the page did meanwhile.
READ = """JSON.stringify(window.connectTrace.concat(
  performance.getEntriesByType("mark")
    .filter((entry) => entry.name.startsWith("pyrtvi:"))
    .map((entry) => [entry.name, entry.startTime])))"""


def milestones(marks: Sequence[Sequence[Any]]) -> dict[str, float]:
    """``{name: ms since the "call" mark}`` for the first occurrence of each mark after it (a
    mark not in :data:`ORDER`, e.g. a boot step, only up to the call's return)."""
    call = next(float(t) for name, t in marks if name == "call")
    end = next((float(t) for name, t in marks if name == "returned"), float("inf"))
    out: dict[str, float] = {}
    for name, t in sorted(marks, key=lambda mark: float(mark[1])):
        late = name not in ORDER and float(t) > end
        if float(t) >= call and name not in out and name != "call" and not late:
            out[str(name)] = float(t) - call
    return out


def table(paths: dict[str, Iterable[dict[str, float]]]) -> str:
    """Median ms since the call of each mark, one column per path (``-``: never reached). The
    marks of :data:`ORDER` first, in its order; then any other mark seen during a call (the
    page's own work), by median, with in brackets the number of runs it was seen in when it
    was not seen in all."""
    runs = {path: list(samples) for path, samples in paths.items()}
    names = [name for name in ORDER if any(name in run for r in runs.values() for run in r)]
    others = {name for r in runs.values() for run in r for name in run if name not in ORDER}
    everything = [value for r in runs.values() for run in r for value in run.items()]
    names += sorted(
        others, key=lambda name: statistics.median(v for n, v in everything if n == name)
    )
    width = max(len(p) for p in runs) + 2
    lines = ["median ms since the call".ljust(42) + "".join(p.rjust(width) for p in runs)]
    for name in names:
        cells = []
        for samples in runs.values():
            values = [run[name] for run in samples if name in run]
            cell = f"{statistics.median(values):.0f}" if values else "-"
            if values and len(values) < len(samples):
                cell += f" ({len(values)})"
            cells.append(cell.rjust(width))
        lines.append(f"  {name[:40]:<40}" + "".join(cells))
    lines.append("median ms of each run's step")
    for label, start, end in GAPS:
        cells = []
        for samples in runs.values():
            gaps = [run[end] - run[start] for run in samples if start in run and end in run]
            cells.append((f"{statistics.median(gaps):.0f}" if gaps else "-").rjust(width))
        lines.append(f"  {label:<40}" + "".join(cells))
    return "\n".join(lines)
