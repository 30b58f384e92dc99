"""Drive nbconference for real: JupyterLab in a subprocess, Chromium with fake devices.

Shared by the browser tests and ``benchmarks/join.py``. Everything here is synchronous
(Playwright's sync API, ``urllib``, ``websocket-client``) so it runs in plain ``def``
tests and in a script alike.
"""
