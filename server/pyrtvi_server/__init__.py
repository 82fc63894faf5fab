"""pyrtvi server: serves the page and the offline Python runtime, proxies RTVI requests to a bot."""

__version__ = "0.1.0"
