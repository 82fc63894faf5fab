"""The pyrtvi console page: a person's view of an RTVI session (runs in Pyodide via PyScript).

- ``model``: pure Python (no ``js``): error classification, value parsing, timings, summaries.
- ``dom``: small DOM helpers (element creation, event listeners that keep their proxies).
- ``console``: the ``Console`` controller that wires an ``RTVIClient`` to the page.
"""
