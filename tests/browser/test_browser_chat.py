"""Chat and raised hands in real JupyterLab pages (issue 13): text that tries to be HTML
shows as text, links open safely, the unread count, chat from Python, floods and oversized
messages refused with their errors, history for a late joiner, no duplicates after a
rejoin, and the queue of raised hands with a hand lowered from a host's kernel."""

from __future__ import annotations

import json
from typing import Any

from support.meeting import Meeting, wait_for_join, widget_cells
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

XSS = (
    '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    " see https://example.org/a?b=1. and `<b>code</b>` <a href=javascript:alert(1)>x</a>"
)

CHAT_JS = """
() => Array.from(document.querySelectorAll(".nbc-root .nbc-chat-message")).map((m) => ({
  id: m.dataset.id,
  fromCode: m.dataset.fromCode !== undefined,
  claim: m.querySelector(".nbc-chat-code-claim")?.textContent ?? "",
  name: m.querySelector(".nbc-chat-name")?.textContent ?? "",
  unverified: m.querySelector(".nbc-chat-head .nbc-unverified")?.textContent ?? null,
  text: m.querySelector(".nbc-chat-text")?.textContent ?? "",
  elements: Array.from(m.querySelectorAll(".nbc-chat-text *")).map((e) => e.tagName),
  links: Array.from(m.querySelectorAll(".nbc-chat-text a")).map((a) => ({
    href: a.getAttribute("href"), rel: a.rel, target: a.target, text: a.textContent,
  })),
  code: Array.from(m.querySelectorAll(".nbc-chat-text code")).map((c) => ({
    text: c.textContent, font: getComputedStyle(c).fontFamily,
  })),
}))
"""

HANDS_JS = """
() => ({
  queue: Array.from(document.querySelectorAll(".nbc-root .nbc-hands-queue li")).map(
    (li) => li.dataset.peerId),
  note: document.querySelector(".nbc-root .nbc-hands-note")?.textContent ?? "",
  badges: Object.fromEntries(Array.from(document.querySelectorAll(".nbc-root .nbc-tile"))
    .filter((t) => t.dataset.hand).map((t) => [t.dataset.peerId, t.dataset.hand])),
})
"""

ICONS_JS = """
() => ({
  emoji: document.querySelector(".nbc-root").textContent.includes("\u270b"),
  button: ((b) => [b.querySelector("svg.nbc-icon")?.tagName ?? null, b.textContent])(
    document.querySelector('.nbc-root .nbc-button[data-action="hand"]')),
  badges: Array.from(document.querySelectorAll(".nbc-root .nbc-tile .nbc-hand"))
    .map((b) => [b.querySelector("svg.nbc-icon")?.tagName ?? null, b.textContent])
    .sort((a, b) => a[1].localeCompare(b[1])),
})
"""


def messages(person: Participant) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = person.js(CHAT_JS)
    return result


def unread(person: Participant) -> str:
    return str(person.page.locator('.nbc-button[data-action="chat"]').get_attribute("data-unread"))


def open_chat(person: Participant) -> None:
    person.page.locator('.nbc-button[data-action="chat"]').click()
    person.page.locator(".nbc-chat-input").wait_for(state="visible")


def type_chat(person: Participant, text: str) -> None:
    person.page.locator(".nbc-chat-input").fill(text)
    person.page.locator('.nbc-button[data-action="chat-send"]').click()


def notice(person: Participant) -> str:
    return str(person.page.locator(".nbc-root .nbc-notice").first.text_content() or "")


def kernel_chat(person: Participant) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = person.value("w.chat")
    return result


def test_chat_is_text_reaches_everyone_once_and_late_joiners_get_it(meeting: Meeting) -> None:
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])
    ada_name = ada.identity()["display_name"]

    # Ada writes HTML and script; Bob's closed panel counts it as unread.
    open_chat(ada)
    type_chat(ada, XSS)
    wait_until(lambda: unread(bob) == "1", TIMEOUT, "Bob's unread count")
    open_chat(bob)
    assert unread(bob) == "0"
    [shown] = wait_until(lambda: messages(bob) or None, TIMEOUT, "the message on Bob's page")
    # All of it shows as text; the backticks only mark the code.
    assert shown["text"] == XSS.replace("`", "") and shown["name"] == ada_name
    assert not shown["fromCode"] and shown["unverified"] is None
    assert sorted(set(shown["elements"])) == ["A", "CODE"], shown["elements"]
    assert shown["links"] == [
        {
            "href": "https://example.org/a?b=1",
            "rel": "noopener noreferrer",
            "target": "_blank",
            "text": "https://example.org/a?b=1",
        }
    ]
    assert [c["text"] for c in shown["code"]] == ["<b>code</b>"]
    assert "mono" in shown["code"][0]["font"].lower()
    for person in (ada, bob):
        assert person.js("() => window.__pwned ?? null") is None
        assert person.page.locator(".nbc-chat-text img, .nbc-chat-text script").count() == 0

    # From Python: once, through one viewer, marked as from code, into every kernel.
    ada.run("w.send_chat('accuracy `0.93`')")
    wait_until(lambda: len(messages(bob)) == 2, TIMEOUT, "the message from code")
    assert messages(bob)[1]["fromCode"] and messages(bob)[1]["code"][0]["text"] == "0.93"
    # The sender's claim, which nobody can check, is said as one.
    assert messages(bob)[1]["claim"] == "says it was sent from code"
    for person in (ada, bob):
        wait_until(
            lambda person=person: len(kernel_chat(person)) == 2, TIMEOUT, f"{person.name}'s w.chat"
        )
        records = kernel_chat(person)
        assert [(r["sender_id"], r["name"], r["from_code"]) for r in records] == [
            (ada.peer_id, ada_name, False),
            (ada.peer_id, ada_name, True),
        ]
        assert records[0]["text"] == XSS and records[0]["id"] == shown["id"]

    # Oversized and flooding messages get their errors; the room sees none of the refused.
    bob.run("w.send_chat('x' * 5000)")
    wait_until(lambda: "too long" in notice(bob), TIMEOUT, "the chat-too-long notice")
    bob.run("for n in range(14): w.send_chat(f'flood {n}')")
    wait_until(lambda: "too many chat" in notice(bob), TIMEOUT, "the chat-rate-limited notice")
    ada.page.wait_for_timeout(1000)
    floods = [m["text"] for m in messages(ada) if m["text"].startswith("flood")]
    assert 10 <= len(floods) <= 11, floods  # a burst of 10 (and what 1/s refilled)
    assert floods == [f"flood {n}" for n in range(len(floods))]
    total = len(messages(ada))
    assert [m["id"] for m in messages(bob)] == [m["id"] for m in messages(ada)]

    # A late joiner gets the history; Bob rejoining (a new peer) gets it again, and
    # neither page nor kernel shows anything twice.
    cy = meeting.open([("cy", widget_cells(room, "cy"))])[0]
    wait_for_join(cy)
    open_chat(cy)
    wait_until(lambda: len(messages(cy)) == total, TIMEOUT, "Cy's history")
    assert [m["id"] for m in messages(cy)] == [m["id"] for m in messages(ada)]
    bob.page.locator('.nbc-button[data-action="leave"]').click()
    wait_until(lambda: bob.value("w.status") == "left", TIMEOUT, "Bob to leave")
    bob.page.locator('.nbc-button[data-action="join"]').click()
    wait_for_join(bob)
    bob.page.wait_for_timeout(1500)
    ids = [m["id"] for m in messages(bob)]
    assert len(ids) == len(set(ids)) == total
    assert len(kernel_chat(bob)) == total
    assert len({json.dumps(r, sort_keys=True) for r in kernel_chat(bob)}) == total


LIMIT_JS = """
() => {
  const limit = document.querySelector(".nbc-root .nbc-chat-limit");
  return {
    shown: limit && !limit.hidden ? limit.textContent : "",
    over: limit?.dataset.over ?? null,
    invalid: document.querySelector(".nbc-root .nbc-chat-input")?.getAttribute("aria-invalid"),
  };
}
"""


def test_the_chat_box_counts_bytes_against_the_rooms_limit(meeting: Meeting) -> None:
    """The server counts UTF-8 bytes (4096 here): 2100 "é" are 2100 characters but 4200
    bytes. The box says how much is left near the limit and does not send a message over
    it, keeping the text; the server's own refusal is never needed."""
    room = meeting.room()
    [ada] = meeting.join(room, ["ada"])
    # Closed until its button opens it.
    assert ada.page.locator(".nbc-root .nbc-chat").is_hidden()
    open_chat(ada)
    box = ada.page.locator(".nbc-chat-input")
    assert ada.js(LIMIT_JS) == {"shown": "", "over": "false", "invalid": "false"}
    box.fill("\u00e9" * 2000)
    assert ada.js(LIMIT_JS) == {"shown": "96 bytes left", "over": "false", "invalid": "false"}
    box.fill("\u00e9" * 2100)
    assert ada.js(LIMIT_JS) == {
        "shown": "104 bytes over the limit of 4096",
        "over": "true",
        "invalid": "true",
    }
    ada.page.locator('.nbc-button[data-action="chat-send"]').click()
    refused = ada.js(LIMIT_JS)["shown"]
    assert refused.startswith(
        "Not sent: this message is 4200 bytes and the room takes at most 4096"
    )
    assert box.input_value() == "\u00e9" * 2100
    # Shortened to fit, it goes.
    type_chat(ada, "\u00e9" * 2048)
    [sent] = wait_until(lambda: messages(ada) or None, TIMEOUT, "the message that fits")
    assert sent["text"] == "\u00e9" * 2048
    assert ada.js(LIMIT_JS)["shown"] == "" and box.input_value() == ""
    assert "too long" not in notice(ada)


# A script in Ada's kernel that joins her room with the server's token only (no login
# cookie, so no identity), under her name, and posts a look-alike link.
FORGER = """
import json
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect
_forger = await websocket_connect(
    HTTPRequest({url!r}, headers={{"Authorization": "token {token}"}})
)
await _forger.write_message(json.dumps({{"type": "join", "room": {room!r}, "name": {name!r}}}))
_welcome = json.loads(await _forger.read_message())
await _forger.write_message(json.dumps({{"type": "chat", "text": {text!r}}}))
print(json.dumps({{"id": _welcome["id"], "name": _welcome["peer"]["name"]}}))
"""

TILE_MARKS_JS = """
() => Object.fromEntries(Array.from(document.querySelectorAll(".nbc-root .nbc-tile"))
  .filter((t) => t.dataset.kind === "camera")
  .map((t) => [t.dataset.peerId, t.querySelector(".nbc-label .nbc-unverified")?.textContent
    ?? null]))
"""


def test_a_forged_name_is_marked_unverified_and_a_look_alike_host_shows_in_punycode(
    meeting: Meeting,
) -> None:
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])
    ada_name = ada.identity()["display_name"]
    lab = meeting.lab
    text = "log in at https://\u0430pple.com/login\u202e now"
    code = FORGER.format(
        url=lab.signaling_url, token=lab.token, room=room, name=ada_name, text=text
    )
    forger = json.loads(ada.run(code).strip().splitlines()[-1])
    assert forger["name"] == f"{ada_name} (unverified)"
    open_chat(bob)
    [shown] = wait_until(lambda: messages(bob) or None, TIMEOUT, "the forged message")
    assert shown["name"] == forger["name"] and shown["unverified"] == "unverified"
    assert shown["text"] == "log in at https://xn--pple-43d.com/login now"
    assert shown["links"][0]["text"] == "https://xn--pple-43d.com/login"
    assert shown["links"][0]["href"] == "https://xn--pple-43d.com/login"
    # On the tiles too: the forger's is marked, Ada's (and Bob's own) are not.
    marks = wait_until(
        lambda: (lambda m: m if forger["id"] in m else None)(bob.js(TILE_MARKS_JS)),
        TIMEOUT,
        "the forger's tile",
    )
    assert marks == {forger["id"]: "unverified", ada.peer_id: None, bob.peer_id: None}, marks


def test_raised_hands_queue_and_a_host_lowers_them(meeting: Meeting) -> None:
    room = meeting.room()
    # Ada joins first: the room's first verified identity hosts it, and only a host may
    # lower another's hand.
    (ada,) = meeting.open([("ada", widget_cells(room, "ada"))])
    wait_for_join(ada)
    bob, cy = meeting.join(room, ["bob", "cy"])
    names = {p.name: p.identity()["display_name"] for p in (ada, bob, cy)}

    def hands(person: Participant) -> dict[str, Any]:
        result: dict[str, Any] = person.js(HANDS_JS)
        return result

    bob.page.locator('.nbc-button[data-action="hand"]').click()
    wait_until(lambda: hands(ada)["queue"] == [bob.peer_id], TIMEOUT, "Bob's hand at Ada's")
    cy.page.locator('.nbc-button[data-action="hand"]').click()
    order = [bob.peer_id, cy.peer_id]
    for person in (ada, bob, cy):
        wait_until(
            lambda person=person: hands(person)["queue"] == order,
            TIMEOUT,
            f"the queue on {person.name}'s page",
        )
    assert hands(ada)["badges"] == {bob.peer_id: "1", cy.peer_id: "2"}
    # The hand is drawn (an SVG), not the emoji, which needs an emoji font to show.
    assert cy.js(ICONS_JS) == {
        "emoji": False,
        "button": ["svg", "Lower hand"],
        "badges": [["svg", "1"], ["svg", "2"]],
    }
    assert hands(cy)["badges"] == {bob.peer_id: "1", cy.peer_id: "2"}  # her own tile too
    wait_until(lambda: [h["id"] for h in ada.value("w.hands")] == order, TIMEOUT, "Ada's w.hands")
    peers = {p["id"]: p["hand"] for p in ada.value("w.peers")}
    assert peers == {bob.peer_id: True, cy.peer_id: True}

    # Ada's kernel lowers Bob's hand: everyone hears that Ada did.
    ada.run(f"w.lower_hand({bob.peer_id!r})")
    wait_until(
        lambda: hands(bob)["note"] == f"{names['ada']} lowered your hand",
        TIMEOUT,
        "Bob to hear who lowered his hand",
    )
    wait_until(
        lambda: hands(cy)["note"] == f"{names['ada']} lowered {names['bob']}'s hand",
        TIMEOUT,
        "Cy to hear who lowered Bob's hand",
    )
    for person in (ada, bob, cy):
        wait_until(
            lambda person=person: hands(person)["queue"] == [cy.peer_id],
            TIMEOUT,
            f"Cy first on {person.name}'s page",
        )
    assert bob.page.locator('.nbc-button[data-action="hand"]').get_attribute("aria-pressed") == (
        "false"
    )
    wait_until(
        lambda: [h["id"] for h in bob.value("w.hands")] == [cy.peer_id], TIMEOUT, "Bob's w.hands"
    )

    # Leaving lowers a hand.
    cy.close()
    wait_until(lambda: ada.value("w.hands") == [], TIMEOUT, "Cy's hand gone with her")
    assert hands(ada)["queue"] == [] and hands(ada)["badges"] == {}
