"""Chat with several viewers of one widget (jupyter-collaboration, named Jupyter users):
the notebook's code posts once whatever the number of viewers, the shared kernel keeps
each message once and calls on_chat once, and each page shows each message once."""

from __future__ import annotations

from typing import Any

from support.meeting import Meeting, wait_for_join, widget_cells
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

LAB_COLLABORATIVE = True
LAB_ARGS = [
    "--ServerApp.identity_provider_class=support.identity.NamedPeople",
    "--NBConference.reconnect_grace_seconds=3",
]

TEXTS_JS = """
() => Array.from(document.querySelectorAll(".nbc-root .nbc-chat-message")).map((m) => ({
  id: m.dataset.id, text: m.querySelector(".nbc-chat-text")?.textContent ?? "",
  name: m.querySelector(".nbc-chat-name")?.textContent ?? "",
}))
"""


def shown(person: Participant) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = person.js(TEXTS_JS)
    return result


def test_code_posts_once_through_one_of_several_viewers(meeting: Meeting) -> None:
    room = meeting.room()
    shared = meeting.notebook("pair", widget_cells(room, "label"))
    solo = meeting.notebook("solo", widget_cells(room, "label"))
    ada = meeting.visit(shared, "ada", run_all=True, person="ada")
    wait_for_join(ada)
    grace = meeting.visit(shared, "grace", person="grace")
    wait_for_join(grace)
    alan = meeting.visit(solo, "alan", run_all=True, person="alan")
    wait_for_join(alan)
    wait_until(lambda: len(ada.value("w.viewers")) == 2, TIMEOUT, "two viewers of the widget")

    ada.run("heard = []\nw.on_chat(heard.append)\nw.send_chat('from the shared kernel')")
    # Alan types one too: both viewers of the shared widget report it to their kernel.
    alan.page.locator('.nbc-button[data-action="chat"]').click()
    alan.page.locator(".nbc-chat-input").fill("hello from Alan")
    alan.page.locator('.nbc-button[data-action="chat-send"]').click()
    for person in (ada, grace, alan):
        wait_until(
            lambda person=person: len(shown(person)) == 2, TIMEOUT, f"{person.name}'s messages"
        )
    ada.page.wait_for_timeout(1000)  # room for a second copy, were one sent
    for person in (ada, grace, alan):
        texts = [m["text"] for m in shown(person)]
        assert sorted(texts) == ["from the shared kernel", "hello from Alan"], texts
    [posted] = [m for m in shown(alan) if m["text"] == "from the shared kernel"]
    assert posted["name"] in ("Ada Lovelace", "Grace Hopper"), "posted as one of the viewers"
    records = ada.value("[(r['text'], r['from_code']) for r in w.chat]")
    assert sorted(map(tuple, records)) == [
        ("from the shared kernel", True),
        ("hello from Alan", False),
    ]
    assert ada.value("len(heard)") == 2, "on_chat once per message, not once per viewer"
