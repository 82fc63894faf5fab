"""The pyrtvi console page: a person's view of an RTVI session (runs in Pyodide via PyScript).

Pure Python (no ``js``; unit-tested in CPython):

- ``transcript``: the conversation's turns; client events in, changed turns out.
- ``model``: error classification, value parsing, config/action payloads, timings, summaries.
- ``controls``: which controls a session state enables, the settings fields, labels, meters.
- ``metrics_model``: the bot's RTVI ``metrics`` per service, kind and turn; usage; SVG charts.
- ``call_rules``: which call control (keypad, file, screen share) the bot and transport take.

The page (Pyodide only), one module per panel, each a ``base.Panel`` built from the one
``context.PanelContext`` (client, bindings, event log, banner, ``settings``):

- ``session``: connect/disconnect and the session's lifecycle, state and bot-ready pills;
  ``settings``: the connection settings and the transport they name.
- ``media``: mic/camera switches, device pickers, level meters, speaking badges.
- ``call_controls``: the DTMF keypad, send a file, screen share, the bot's volume.
- ``conversation``: the transcript view and the text box.
- ``metrics``: the bot's metrics (TTFB, processing, tokens, characters) as tables and charts.
- ``bot_config``: describe-config as a form, update-config with what changed.
- ``actions``: describe-actions forms and "Any action", in the session or over HTTP.
- ``event_log``: every event and call, timed. ``banner``: the error banner.
- ``forms``: typed form controls; ``dom``: element helpers and event listeners (proxies kept).
- ``console``: the ``Console`` that builds the client, the context and the list of panels.
"""
