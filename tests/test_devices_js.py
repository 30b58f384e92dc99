"""The device rules of the front end, run in Node straight from js/ (what headless
Chromium cannot drive: a device unplugged mid-call, a device that comes back under a new
id). Switching in a real call is tests/browser/test_browser_devices.py."""

from __future__ import annotations

import json
from typing import Any

from support.node import module_url, needs_node, run_module

pytestmark = needs_node

# A laptop's devices as Chromium lists them (the "default" and "communications" aliases
# repeat a real device), after the camera and microphone were allowed.
LAPTOP = [
    {"kind": "audioinput", "deviceId": "default", "label": "Default - Built-in Microphone"},
    {"kind": "audioinput", "deviceId": "communications", "label": "Communications"},
    {"kind": "audioinput", "deviceId": "mic-builtin", "label": "Built-in Microphone"},
    {"kind": "audioinput", "deviceId": "mic-headset", "label": "Headset Microphone"},
    {"kind": "videoinput", "deviceId": "cam-builtin", "label": "FaceTime HD Camera"},
    {"kind": "videoinput", "deviceId": "cam-usb", "label": "Logitech BRIO"},
    {"kind": "audiooutput", "deviceId": "default", "label": "Default - Speakers"},
    {"kind": "audiooutput", "deviceId": "out-headset", "label": "Headset Earphones"},
]


def run_js(body: str) -> Any:
    imports = "".join(
        f"import * as {name.replace('-', '_')} from {json.dumps(module_url(name + '.js'))};\n"
        for name in ("devices", "prejoin")
    )
    # localStorage as a page has it: strings in, strings out, and a quota that may refuse.
    storage = """
        class PageStorage {
          constructor(full = false) { this.items = new Map(); this.full = full; }
          getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
          setItem(key, value) {
            if (this.full) throw new DOMException("quota exceeded", "QuotaExceededError");
            this.items.set(key, String(value));
          }
        }
    """
    return run_module(
        f"{imports}{storage}const LAPTOP = devices.listDevices({json.dumps(LAPTOP)});\n"
        f"{body}\nconsole.log(JSON.stringify(result));"
    )


def test_the_lists_keep_real_devices_and_the_default_alias() -> None:
    result = run_js("const result = LAPTOP;")
    assert [(d["kind"], d["deviceId"]) for d in result] == [
        ("microphone", "default"),
        ("microphone", "mic-builtin"),
        ("microphone", "mic-headset"),
        ("camera", "cam-builtin"),
        ("camera", "cam-usb"),
        ("speaker", "default"),
        ("speaker", "out-headset"),
    ]


def test_a_remembered_choice_is_found_by_id_then_by_label() -> None:
    """The id first; a browser that gave the device a new id (site data cleared, another
    profile) still finds it by its label; a device that is gone means the default."""
    result = run_js(
        """
        const storage = new PageStorage();
        const brio = { deviceId: "cam-usb", label: "Logitech BRIO" };
        const saved = devices.writeChoice(storage, "camera", brio);
        const chooser = new devices.Devices({ storage, onChange() {} });
        chooser.list = LAPTOP;
        const byId = chooser.preferred("camera");
        // The same camera under a new id.
        chooser.list = LAPTOP.map(
          (d) => d.deviceId === "cam-usb" ? { ...d, deviceId: "cam-usb-2" } : d,
        );
        const byLabel = chooser.preferred("camera");
        // Unplugged: the default.
        chooser.list = LAPTOP.filter((d) => d.deviceId !== "cam-usb");
        const gone = chooser.preferred("camera");
        // Before any list (the page has not enumerated yet): the remembered id.
        chooser.list = [];
        const early = chooser.preferred("camera");
        const result = {
          saved, byId, byLabel, gone, early,
          microphone: chooser.preferred("microphone"),
          stored: JSON.parse(storage.getItem(devices.STORAGE_KEY)),
        };
        """
    )
    assert result["saved"] == ""
    assert (result["byId"], result["byLabel"]) == ("cam-usb", "cam-usb-2")
    assert (result["gone"], result["early"]) == ("", "cam-usb")
    assert result["microphone"] == ""  # nothing chosen: the browser's default
    assert result["stored"] == {
        "camera": {"deviceId": "cam-usb", "label": "Logitech BRIO"},
        "microphone": None,
        "speaker": None,
    }


def test_choosing_remembers_in_the_page_storage_and_survives_junk_and_a_full_quota() -> None:
    result = run_js(
        """
        const storage = new PageStorage();
        const first = new devices.Devices({ storage, onChange() {} });
        first.list = LAPTOP;
        first.choose("microphone", "mic-headset");
        first.choose("speaker", "out-headset");
        first.choose("camera", "default");  // no such alias for cameras: back to the default
        // Another widget of the page, later: the same choices.
        const second = new devices.Devices({ storage, onChange() {} });
        second.list = LAPTOP;
        const remembered = ["camera", "microphone", "speaker"].map((k) => second.preferred(k));
        const junk = new PageStorage();
        junk.setItem(devices.STORAGE_KEY, "{not json");
        const fromJunk = devices.readChoices(junk);
        const full = devices.writeChoice(new PageStorage(true), "camera", LAPTOP[4]);
        const none = devices.writeChoice(null, "camera", null);
        const result = { remembered, fromJunk, full, none };
        """
    )
    assert result["remembered"] == ["", "mic-headset", "out-headset"]
    assert result["fromJunk"] == {"camera": None, "microphone": None, "speaker": None}
    assert result["full"].startswith("The browser would not remember the device: ")
    assert "quota exceeded" in result["full"]
    assert result["none"] == "This browser keeps no device choices for this page."


def test_an_unplugged_device_in_use_falls_back_to_the_default_with_a_notice() -> None:
    result = run_js(
        """
        const inUse = { camera: "cam-usb", microphone: "mic-headset", speaker: "out-headset" };
        // The headset is unplugged: its microphone and earphones go; the USB camera stays.
        const unplugged = LAPTOP.filter((d) => !d.deviceId.endsWith("headset"));
        const headset = devices.planDeviceChange(LAPTOP, unplugged, inUse);
        // Plugged in again: offered, nothing falls back.
        const back = devices.planDeviceChange(unplugged, LAPTOP, { camera: "cam-usb" });
        // The default alias follows the system by itself: never "lost".
        const alias = devices.planDeviceChange(LAPTOP, unplugged, { microphone: "default" });
        // A device not in use going away changes nothing.
        const other = devices.planDeviceChange(LAPTOP, unplugged, { microphone: "mic-builtin" });
        const result = { headset, back, alias, other };
        """
    )
    assert result["headset"]["fallback"] == ["microphone", "speaker"]
    assert result["headset"]["notice"] == (
        "Your microphone “Headset Microphone” is gone: now using the default microphone. "
        "Your speaker “Headset Earphones” is gone: now using the default speaker."
    )
    assert result["back"]["fallback"] == []
    assert result["back"]["notice"] == (
        "New: microphone “Headset Microphone”, speaker “Headset Earphones”. "
        "Choose it in the device menu."
    )
    assert result["alias"] == {"fallback": [], "notice": ""}
    assert result["other"] == {"fallback": [], "notice": ""}


def test_the_notebook_names_a_camera_by_id_label_or_a_unique_part_of_it() -> None:
    result = run_js(
        """
        const find = (text) => devices.findRequested(LAPTOP, "camera", text)?.deviceId ?? null;
        const result = {
          id: find("cam-usb"), label: find("FaceTime HD Camera"), part: find("brio"),
          ambiguous: find("e"), microphone: find("Headset Microphone"), blank: find("  "),
        };
        """
    )
    assert (result["id"], result["label"], result["part"]) == ("cam-usb", "cam-builtin", "cam-usb")
    assert result["ambiguous"] is None  # both labels contain it: not a choice
    assert result["microphone"] is None and result["blank"] is None


def test_the_kernel_hears_the_devices_in_use_and_counts_never_the_lists() -> None:
    result = run_js(
        """
        const result = devices.deviceReport(LAPTOP, [
          { kind: "camera", deviceId: "cam-usb", label: "Logitech BRIO" },
          { kind: "microphone", deviceId: "default", label: "Default - Built-in Microphone" },
        ]);
        """
    )
    assert result == {
        "in_use": [
            {"kind": "camera", "label": "Logitech BRIO"},
            {"kind": "microphone", "label": "Default - Built-in Microphone"},
        ],
        "counts": {"camera": 2, "microphone": 2, "speaker": 1},
    }


def test_the_panel_shows_by_default_once_a_day_per_call_and_browser() -> None:
    result = run_js(
        """
        const storage = new PageStorage();
        const call = "http://127.0.0.1:8888||lab";
        const morning = new Date(2026, 11, 7, 9, 0).getTime();
        const evening = new Date(2026, 11, 7, 21, 0).getTime();
        const tomorrow = new Date(2026, 11, 8, 9, 0).getTime();
        const before = prejoin.joinedToday(storage, call, morning);
        prejoin.rememberJoin(storage, call, morning);
        prejoin.rememberJoin(storage, "http://127.0.0.1:8888||other", morning);
        const later = prejoin.joinedToday(storage, call, evening);
        const nextDay = prejoin.joinedToday(storage, call, tomorrow);
        prejoin.rememberJoin(storage, call, tomorrow);  // yesterday's other call is dropped
        const kept = Object.keys(JSON.parse(storage.getItem(prejoin.JOINED_KEY)));
        const shows = (facts) =>
          prejoin.showsPrejoin({ prejoin: true, joinedToday: false, done: false, ...facts });
        const result = {
          before, later, nextDay, kept,
          byDefault: shows({}), off: shows({ prejoin: false }),
          today: shows({ joinedToday: true }), done: shows({ done: true }),
          junk: (() => { const s = new PageStorage(); s.setItem(prejoin.JOINED_KEY, "[1]");
                         return prejoin.joinedToday(s, call, morning); })(),
        };
        """
    )
    assert (result["before"], result["later"], result["nextDay"]) == (False, True, False)
    assert result["kept"] == ["http://127.0.0.1:8888||lab"]
    assert result["byDefault"] is True
    assert (result["off"], result["today"], result["done"]) == (False, False, False)
    assert result["junk"] is False
