"""pyrtvi's embedded Pipecat bot: SmallWebRTC, Silero VAD, a rule-based stand-in LLM and espeak-ng.

Run it with a bot environment's Python: `PYTHONPATH=server .venvs/bot-0.0.108/bin/python -m
pyrtvi_bot --host 127.0.0.1 --port 7860`. The pipecat version is detected at start: 0.0.x gets
`legacy` (RTVI 1.2 with the 0.3 config/actions), 1.x gets `modern`; both run the conversation of
`flavor`. Importing this package does not import pipecat.
"""
