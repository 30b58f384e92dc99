"""Test support: real servers, real browsers and real clients for nbconference's tests.

JupyterLab in a subprocess (``lab``), Chromium pages with fake devices (``pages``,
``meeting``, ``probes``, ``mesh``), ``nbconference serve`` and ``redis-server`` processes
(``standalone``, ``redis_server``), a TCP proxy that delays what passes through it
(``delay_proxy``), a WebSocket test client (``client``), large signals and what became
of them (``traffic``), polling (``polling``) and the fixtures loaded as pytest plugins
(``signaling_fixtures``, ``redis_fixtures``). ``benchmarks/`` uses the same pieces.
"""
