package demo_test

// pyLib is shared by the Python peers: recv_until reads JSON objects until
// one matches, failing with the last few seen.
const pyLib = `
import asyncio, json, sys, socket
import websockets

async def recv_until(ws, pred, timeout=10):
    seen = []
    async def loop():
        while True:
            raw = await ws.recv()
            msg = json.loads(raw)
            seen.append(msg)
            if pred(msg):
                return msg
    try:
        return await asyncio.wait_for(loop(), timeout)
    except asyncio.TimeoutError:
        raise SystemExit("FAIL: timed out; last messages: %r" % (seen[-6:],))

async def collect_until(ws, pred, timeout=10):
    got = []
    await recv_until(ws, lambda m: got.append(m) or pred(m), timeout)
    return got

def req(kind, item, *args):
    return json.dumps([kind, item, list(args)])

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
