"""The WebSocket transport (Pipecat's protobuf WebSocket).

``protobuf`` (the frame codec) is pure and imports anywhere.
"""
