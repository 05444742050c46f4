package demo_test

import "tether/internal/tethertest"

// pyLib is shared by the Python peers: tethertest.PyLib and demo_flow,
// the seed's page's requests in order.
const pyLib = tethertest.PyLib + `
async def demo_flow(ws, iam="Device_1"):
    state = await recv_until(ws, lambda m: "iam" in m)
    assert state["iam"] == iam and state["dev"] == "ESP32", state
    assert state["fake_interface/running"] is False, state
    await ws.send(req("GET", "wifi"))
    got = await collect_until(ws, lambda m: m.get("info") == "wifi status done")
    assert "info" in got[0], got[0]
    keys = {k for m in got for k in m}
    for k in ["wifi/ap/active", "wifi/ap/ssid", "wifi/net/active", "wifi/net/mac", "wifi/net/ap",
              "wifi/net/connected", "wifi/net/ip", "wifi/net/gw", "wifi/net/dns"]:
        assert k in keys, (k, got)
    await recv_until(ws, lambda m: "iam" in m)
    await ws.send(req("CMD", "start_interface"))
    await recv_until(ws, lambda m: m.get("fake_interface/running") is True)
    await ws.send(req("CMD", "send_message", "hello"))
    got = await recv_until(ws, lambda m: "fake_interface/msg" in m)
    assert got == {"fake_interface/msg": "HELLO"}, got
    await ws.send(req("CMD", "stop_interface"))
    await recv_until(ws, lambda m: m.get("fake_interface/running") is False)
    return "flow ok"
`
