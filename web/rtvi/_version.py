"""Package and protocol versions (kept apart from ``__init__`` to avoid import cycles)."""

__version__ = "0.1.0"

#: The RTVI protocol version announced in ``client-ready``. 1.0.0 keeps pipecat 0.0.76–0.0.108
#: serving the 0.x config/action messages while unlocking the 1.x message types.
RTVI_PROTOCOL_VERSION = "1.0.0"
