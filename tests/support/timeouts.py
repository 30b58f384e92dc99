"""How long the browser tests wait for one step (a join, a frame, a tile) before failing.

Generous because on a loaded 2-core machine a step that takes 1 s alone was seen to take
ten times that; a test that passes waits only as long as the step takes.
"""

from __future__ import annotations

TIMEOUT = 30.0
