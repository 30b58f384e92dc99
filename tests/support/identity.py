"""Named people for tests of identity: a Jupyter IdentityProvider that picks the user by a
cookie, so that each browser context can be somebody else.

Start JupyterLab with ``--ServerApp.identity_provider_class=support.identity.NamedPeople``
(the harness puts ``tests/`` on the server's path). A request must still carry the
server's token or login cookie; the ``nbc-person`` cookie then says who it is. Without it,
the usual anonymous user is used.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User

PERSON_COOKIE = "nbc-person"

PEOPLE = {
    "ada": User("ada", "Ada Lovelace", "Ada Lovelace", "AL", None, "#c2185b"),
    "grace": User("grace", "Grace Hopper", "Grace Hopper", "GH", None, "#1565c0"),
    "alan": User("alan", "Alan Turing", "Alan Turing", "AT", None, "#2e7d32"),
}


class NamedPeople(IdentityProvider):
    """The token or login cookie authenticates; the ``nbc-person`` cookie names the user."""

    async def get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await self._get_user(handler)
        if user is None:
            return None
        return PEOPLE.get(handler.get_cookie(PERSON_COOKIE, ""), user)


def named_people_server(nbc_settings: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """A ``jp_server_config`` whose users are :data:`PEOPLE` (:class:`NamedPeople`), with
    the extension on and its settings (``settings`` over ``nbc_settings``)."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbconference": True},
            "identity_provider_class": "support.identity.NamedPeople",
        },
        "NBConference": {**nbc_settings, **settings},
    }
