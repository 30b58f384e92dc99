"""Start, watch and stop a ``janus`` process of our own, with a config we generate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import tempfile
from pathlib import Path

from .client import JanusClient
from .config import JanusConfig, write_config

log = logging.getLogger("nbconference.janus")

DEFAULT_BINARY = "janus"
INSTALL_HINT = "apt-get install janus (Debian/Ubuntu)"


class JanusMissing(RuntimeError):
    """The ``janus`` binary is not installed (or not where it was said to be)."""

    def __init__(self, binary: str) -> None:
        super().__init__(
            f"nbconference: the SFU needs Janus, and {binary!r} was not found: {INSTALL_HINT}"
        )


class JanusProcess:
    """A supervised Janus: ``await start()`` returns once its API answers ``info``; it is
    restarted (with backoff, logged) if it dies; ``await stop()`` ends it.

    The config dir is made fresh (0700) in ``directory`` or a temporary dir."""

    def __init__(
        self,
        config: JanusConfig | None = None,
        binary: str = DEFAULT_BINARY,
        directory: Path | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        max_backoff: float = 8.0,
    ) -> None:
        self.config = config or JanusConfig()
        self.binary = binary
        self._own_dir = directory is None
        self.directory = directory or Path(tempfile.mkdtemp(prefix="nbconference-janus-"))
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.max_backoff = max_backoff
        self.restarts = 0  # times it was started again after it died
        self.failed_starts = 0  # starts that failed meanwhile (each one logged)
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        """The API's WebSocket URL (127.0.0.1)."""
        return self.config.url

    @property
    def pid(self) -> int | None:
        """The running janus process' id (None when it is not running)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    def _resolve(self) -> str:
        found = shutil.which(self.binary)
        if found is None:
            raise JanusMissing(self.binary)
        return found

    async def start(self) -> None:
        """Write the config, start Janus and wait until its API answers; then watch it."""
        binary = self._resolve()
        jcfg = write_config(self.config, self.directory)
        self._stopping = False
        await self._spawn(binary, jcfg)
        self._watch = asyncio.ensure_future(self._supervise(binary, jcfg))

    async def _spawn(self, binary: str, jcfg: Path) -> None:
        log_path = self.directory / "janus.log"
        with open(log_path, "ab") as out:
            self._process = await asyncio.create_subprocess_exec(
                *_ending_with_us(),
                binary,
                "-C",
                str(jcfg),
                "-F",
                str(self.directory),
                "--disable-colors",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # our signals only, not the terminal's Ctrl-C
            )
        try:
            await self.wait_ready(self.start_timeout)
        except Exception:
            await self._kill()
            raise

    async def wait_ready(self, timeout: float) -> None:
        """Wait until the API answers ``info``; a readable error with Janus' log tail if
        the process exits or ``timeout`` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last: BaseException | None = None
        while loop.time() < deadline:
            process = self._process
            if process is None or process.returncode is not None:
                break
            try:
                client = await JanusClient.connect(self.url, self.config.api_secret, 2.0)
                try:
                    await client.info()
                    return
                finally:
                    await client.close()
            except Exception as error:
                last = error
                await asyncio.sleep(0.05)
        code = self._process.returncode if self._process else None
        state = f"exited with {code}" if code is not None else f"did not answer in {timeout:g} s"
        raise RuntimeError(
            f"nbconference: Janus {state} ({last!r}); its log says:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 15) -> str:
        """The last lines Janus logged."""
        try:
            text = (self.directory / "janus.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def _supervise(self, binary: str, jcfg: Path) -> None:
        while not self._stopping:
            process = self._process
            assert process is not None
            await process.wait()
            if self._stopping:
                return
            log.warning(
                "Janus (pid %s) exited with %s; restarting it", process.pid, process.returncode
            )
            await self._restart(binary, jcfg)

    async def _restart(self, binary: str, jcfg: Path) -> None:
        """Start Janus again until it answers: 0.5 s after it died, then waiting twice as
        long after each failed start, up to ``max_backoff``. Each failure is logged once,
        the first with Janus' log tail (the SFU's rooms have no media meanwhile)."""
        backoff = 0.5
        failures = 0
        while True:
            await asyncio.sleep(backoff)
            if self._stopping:
                return
            try:
                await self._spawn(binary, jcfg)
            except Exception as error:
                failures += 1
                self.failed_starts += 1
                backoff = min(backoff * 2, self.max_backoff)
                if failures == 1:
                    log.error(
                        "Janus will not start, so rooms on the SFU have no media; trying "
                        "again every %g s at most. %s",
                        self.max_backoff,
                        error,
                    )
                else:
                    last = self.log_tail(1) or "(nothing)"
                    log.error(
                        "Janus will not start (failure %d; it last logged %r); next try in %.1f s",
                        failures,
                        last,
                        backoff,
                    )
                continue
            self.restarts += 1
            after = f" after {failures} failed starts" if failures else ""
            log.warning("Janus restarted (pid %s)%s", self.pid, after)
            return

    async def _kill(self) -> None:
        """SIGINT (Janus' clean exit), then SIGTERM, then SIGKILL, each after a timeout."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), self.stop_timeout)
                return
            except asyncio.TimeoutError:
                log.warning("Janus (pid %s) ignored %s", process.pid, sig.name)
        await process.wait()

    async def stop(self) -> None:
        """Stop watching and end Janus; remove the config dir if it was ours."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        await self._kill()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)


def _ending_with_us() -> list[str]:
    """A prefix that has the kernel stop Janus when this process dies, even by SIGKILL
    (``setpriv --pdeathsig``, util-linux): a Janus left behind would hold its ports and
    the API secret with nobody supervising it. Where setpriv is missing, Janus is stopped
    on a clean shutdown only. KILL, not TERM: Janus' own shutdown can take seconds or
    hang, and it holds nothing to save (rooms never record)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []
