"""A real JupyterHub in a subprocess: its proxy (configurable-http-proxy from npm), users'
servers (``SimpleLocalProcessSpawner``, as root) and nbconference as its managed service.

Seen to work with JupyterHub 6.1 (see ../shared/TESTING.md on these machines).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext

from .lab import JupyterLab, _quiet_settings, _with_tests_on_path
from .polling import wait_until
from .processes import free_port, spawn, stop, wait_for_http

SERVICE = "nbconference"
ROOT = Path(__file__).resolve().parents[2]
# What a user (and their server's token) needs to use the service (JupyterHub 6 grants
# neither by default; docs/deployment.md gives the same).
SERVICE_SCOPES = [
    f"access:services!service={SERVICE}",
    f"read:services!service={SERVICE}",
    f"list:services!service={SERVICE}",
]
# The most a browser's token for the service may carry (intersected with the user's own):
# who the user is, and which servers the Hub lets them open.
SERVICE_OAUTH_SCOPES = ["read:users:groups!user", "read:users:name!user", "access:servers"]
LAB_ARGS = [
    "--allow-root",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--YDocExtension.disable_rtc=True",
]


@dataclass
class HubUserServer(JupyterLab):
    """A user's single-user server on the Hub, as the Lab helpers use one: ``token`` is a
    Hub API token of that user. Pages reach it signed in to the Hub, not by token."""

    hub_port: int = 0
    user: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}/user/{self.user}/"

    def notebook_url(self, name: str, workspace: str) -> str:
        return f"{self.url}lab/workspaces/{workspace}/tree/{name}?reset"


@dataclass
class Hub:
    """A running JupyterHub; ``api`` calls its REST API as an admin service."""

    port: int
    admin_token: str
    base_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    api_port: int = 0
    service_token: str = ""
    service_args: Sequence[str] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @contextmanager
    def replica(self) -> Iterator[str]:
        """Another ``nbconference serve`` of the service, as a deployment runs several
        behind a load balancer: the environment JupyterHub gives its service, the same
        token and cookie secret, its own port. Yields its internal signaling URL."""
        port = free_port()
        prefix = f"/services/{SERVICE}/"
        env = {
            **os.environ,
            "PYTHONPATH": _with_tests_on_path(),
            "JUPYTERHUB_SERVICE_NAME": SERVICE,
            "JUPYTERHUB_API_TOKEN": self.service_token,
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{self.api_port}/hub/api",
            "JUPYTERHUB_BASE_URL": "/",
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
            "JUPYTERHUB_SERVICE_PREFIX": prefix,
            "JUPYTERHUB_CLIENT_ID": f"service-{SERVICE}",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        }
        args = [sys.executable, "-m", "nbconference", "serve", *self.service_args]
        log_path = self.base_dir / f"replica-{port}.log"
        process = spawn(args, log_path, env)
        try:
            wait_for_http(f"http://127.0.0.1:{port}{prefix}", process, log_path)
            yield f"ws://127.0.0.1:{port}{prefix}nbconference/signal"
        finally:
            stop(process)

    def api(self, method: str, path: str, body: object = None, token: str = "") -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}hub/api/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {token or self.admin_token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def home(self, user: str) -> Path:
        return self.base_dir / "home" / user

    def start_server(self, user: str, timeout: float = 60.0) -> HubUserServer:
        """Start ``user``'s server and wait until the Hub says it is ready."""
        self.api("POST", f"users/{user}/server")

        def ready() -> bool:
            server = self.api("GET", f"users/{user}").get("servers", {}).get("", {})
            return bool(server.get("ready"))

        wait_until(ready, timeout, f"{user}'s server to be ready", interval=0.5)
        token = self.token_for(user)
        notebooks = self.home(user)
        return HubUserServer(
            0, token, notebooks, self.log_path, self.process, hub_port=self.port, user=user
        )

    def token_for(self, user: str) -> str:
        """A new Hub API token of ``user`` (all the user's own permissions)."""
        return str(self.api("POST", f"users/{user}/tokens", {"note": "tests"})["token"])

    def oauth_token(self, user: str) -> str:
        """The token a browser of ``user``'s holds for the service once signed in (what
        its cookie carries): sign in to the Hub, ask the Hub to authorize the service,
        and exchange the code, as the service does in its OAuth callback."""
        cookies = http.cookiejar.CookieJar()
        jar = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), _StayHere())
        login = f"{self.url}hub/login?next=%2Fhub%2Fhome"
        jar.open(login, timeout=30).read()
        xsrf = next(cookie.value for cookie in cookies if cookie.name == "_xsrf")
        form = {"username": user, "password": "any", "_xsrf": xsrf or ""}
        _location(jar, login, urllib.parse.urlencode(form).encode())
        redirect_uri = f"/services/{SERVICE}/oauth_callback"
        query = {
            "client_id": f"service-{SERVICE}",
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "state": secrets.token_hex(8),
        }
        callback = _location(
            jar, f"{self.url}hub/api/oauth2/authorize?{urllib.parse.urlencode(query)}"
        )
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)["code"][0]
        exchange = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": f"service-{SERVICE}",
            "client_secret": self.service_token,
            "redirect_uri": redirect_uri,
        }
        data = urllib.parse.urlencode(exchange).encode()
        with urllib.request.urlopen(f"{self.url}hub/api/oauth2/token", data, timeout=30) as answer:
            return str(json.loads(answer.read())["access_token"])

    def service(self) -> dict[str, Any]:
        model: dict[str, Any] = self.api("GET", f"services/{SERVICE}")
        return model

    def sign_in(self, context: BrowserContext, user: str) -> None:
        """Sign ``user`` in to the Hub in this browser (DummyAuthenticator: any password)."""
        page = context.new_page()
        try:
            page.goto(f"{self.url}hub/login", timeout=60_000)
            page.fill("#username_input", user)
            page.fill("#password_input", "any")
            page.click("#login_submit")
            page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60_000)
        finally:
            page.close()


class _StayHere(urllib.request.HTTPRedirectHandler):
    """Follows no redirect: a redirect is answered as the error it is (see _location)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _location(opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None) -> str:
    """Where the Hub redirects a request to ``url`` (a redirect is expected)."""
    try:
        with opener.open(url, data, timeout=30) as response:
            raise AssertionError(f"{url} answered {response.status}, not a redirect")
    except urllib.error.HTTPError as redirect:
        if redirect.code not in (301, 302, 303, 307):
            raise
        return str(redirect.headers["Location"])


def hub_config(
    port: int,
    base_dir: Path,
    admin_token: str,
    users: Sequence[str],
    groups: Mapping[str, Sequence[str]],
    service_args: Sequence[str],
    api_port: int,
    service_token: str,
    roles: Sequence[Mapping[str, Any]] = (),
    user_scopes: Sequence[str] = SERVICE_SCOPES,
) -> str:
    """The jupyterhub_config.py of a test Hub, with ``roles`` beside its own, and
    ``user_scopes`` for every user (``extra_user_scopes``)."""
    service_port = free_port()
    service = {
        "name": SERVICE,
        "url": f"http://127.0.0.1:{service_port}",
        "api_token": service_token,
        "command": [sys.executable, "-m", "nbconference", "serve", *service_args],
        "cwd": str(base_dir),
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": SERVICE_OAUTH_SCOPES,
    }
    roles = [
        {
            "name": "nbconference-service",
            "scopes": [
                "read:users:name",
                "read:users:groups",
                "list:users",
                "read:groups",
                "read:users:shares",
            ],
            "services": [SERVICE],
        },
        {
            "name": "tests-admin",
            "scopes": [
                "admin:users",
                "admin:servers",
                "tokens",
                "read:services",
                "shares",
                "groups",
            ],
            "services": ["tests"],
        },
        *roles,
    ]
    settings = {
        "JupyterHub.ip": "127.0.0.1",
        "JupyterHub.port": port,
        "JupyterHub.hub_ip": "127.0.0.1",
        "JupyterHub.hub_port": api_port,
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{free_port()}",
        "ConfigurableHTTPProxy.pid_file": str(base_dir / "proxy.pid"),
        "JupyterHub.db_url": f"sqlite:///{base_dir / 'hub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(base_dir / "hub_cookie_secret"),
        "JupyterHub.authenticator_class": "dummy",
        # Allowed users exist from the start (the API can start their servers).
        "Authenticator.allowed_users": set(users),
        "JupyterHub.spawner_class": "simple",
        "SimpleLocalProcessSpawner.home_dir_template": str(base_dir / "home" / "{username}"),
        "Spawner.cmd": [sys.executable, "-m", "jupyterhub.singleuser"],
        "Spawner.args": LAB_ARGS,
        "Spawner.default_url": "/lab",
        "Spawner.server_token_scopes": [
            "users:activity!user",
            "access:servers!server",
            "read:users:groups!user",
            "read:users:name!user",
            *SERVICE_SCOPES,
        ],
        "JupyterHub.extra_user_scopes": list(user_scopes),
        "JupyterHub.load_groups": {name: {"users": list(users)} for name, users in groups.items()},
        "JupyterHub.services": [service, {"name": "tests", "api_token": admin_token}],
        "JupyterHub.load_roles": roles,
        "JupyterHub.cleanup_servers": True,
    }
    lines = ["c = get_config()  # noqa"]
    for name, value in settings.items():
        section, key = name.split(".")
        lines.append(f"c.{section}.{key} = {value!r}")
    lines.append("c.JupyterHub.extra_user_scopes = set(c.JupyterHub.extra_user_scopes)")
    return "\n".join(lines) + "\n"


@contextmanager
def running_hub(
    base_dir: Path,
    users: Sequence[str],
    groups: Mapping[str, Sequence[str]] | None = None,
    service_args: Sequence[str] = (),
    roles: Sequence[Mapping[str, Any]] = (),
    user_scopes: Sequence[str] = SERVICE_SCOPES,
) -> Iterator[Hub]:
    """Start a JupyterHub with nbconference as its service (``service_args`` go to its
    ``nbconference serve``), a home for each of ``users``, ``roles`` (JupyterHub's
    ``load_roles``) beside its own, and ``user_scopes`` for every user (by default, what
    using the service takes); stop it all on exit."""
    base_dir.mkdir(parents=True, exist_ok=True)
    for user in users:
        home = base_dir / "home" / user
        home.mkdir(parents=True, exist_ok=True)
        _quiet_settings(home)
    port, api_port = free_port(), free_port()
    admin_token, service_token = secrets.token_hex(16), secrets.token_hex(16)
    service_args = [*service_args, "--cookie-secret-file", str(base_dir / "service_secret")]
    config = base_dir / "jupyterhub_config.py"
    config.write_text(
        hub_config(
            port,
            base_dir,
            admin_token,
            users,
            groups or {},
            service_args,
            api_port,
            service_token,
            roles,
            user_scopes,
        )
    )
    log_path = base_dir / "jupyterhub.log"
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": _with_tests_on_path(),
    }
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env.pop(name, None)
    args = [sys.executable, "-m", "jupyterhub", "-f", str(config), "--debug"]
    process = spawn(args, log_path, env)
    hub = Hub(port, admin_token, base_dir, log_path, process, api_port, service_token, service_args)
    try:
        wait_for_http(f"{hub.url}hub/health", process, log_path, timeout=90)
        yield hub
    finally:
        stop(process, timeout=40)


def log_tail(hub: Hub, chars: int = 4000) -> str:
    try:
        return hub.log_path.read_text(errors="replace")[-chars:]
    except (OSError, urllib.error.URLError):
        return ""
