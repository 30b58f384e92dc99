"""The harness itself, in real JupyterLab: a notebook runs, its kernel answers the test,
and a page reaches the signaling endpoint with the credentials Lab gave it."""

from __future__ import annotations

from support.meeting import Meeting, wait_for_join, widget_cells

# The page's own token, taken where the widget takes it, opens the signaling socket.
SIGNAL_FROM_PAGE_JS = """
async (room) => {
  const config = JSON.parse(document.getElementById("jupyter-config-data").textContent);
  const url = location.origin.replace(/^http/, "ws") + config.baseUrl
    + "nbconference/signal?token=" + encodeURIComponent(config.token);
  const socket = new WebSocket(url);
  const first = await new Promise((resolve, reject) => {
    socket.onopen = () => socket.send(JSON.stringify({ type: "join", room, name: "probe" }));
    socket.onmessage = (event) => resolve(JSON.parse(event.data));
    socket.onerror = () => reject(new Error("socket error"));
    setTimeout(() => reject(new Error("no answer in 10 s")), 10000);
  });
  socket.send(JSON.stringify({ type: "leave" }));
  socket.close(1000);
  return first;
}
"""


def test_notebook_runs_and_its_page_reaches_signaling(meeting: Meeting) -> None:
    (person,) = meeting.open([("solo", ["answer = 6 * 7\nprint('answer', answer)"])])
    person.page.locator(".jp-OutputArea-output:has-text('answer 42')").wait_for(timeout=30000)
    assert person.value("answer") == 42
    # Cells ran once: Run All clicked too early runs them twice.
    assert person.page.locator(".jp-InputPrompt").first.inner_text().strip() == "[1]:"

    room = meeting.room()
    welcome = person.js(SIGNAL_FROM_PAGE_JS, room)
    assert welcome["type"] == "welcome", welcome
    assert welcome["room"] == room
    assert welcome["peers"] == []
    assert welcome["id"]


# Every WebSocket URL the page opens.
SOCKETS_JS = """
(() => {
  const Native = WebSocket;
  window.__socketUrls = [];
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      window.__socketUrls.push(String(url));
    }
  };
})();
"""


def test_the_widget_joins_with_the_login_cookie_not_a_token_in_its_url(meeting: Meeting) -> None:
    room = meeting.room()
    (ada,) = meeting.open([("ada", widget_cells(room, "ada"))], init_script=SOCKETS_JS)
    wait_for_join(ada)
    urls = [u for u in ada.js("() => window.__socketUrls") if "nbconference/signal" in u]
    assert urls, "the widget opened its signaling socket"
    # Same origin: the cookie authenticates; a token in the URL would reach proxies' logs.
    assert all("token" not in url for url in urls), urls
