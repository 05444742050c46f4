"""A sensor-style process app: a reading published every interval (a
simulated temperature; read your sensor instead), and a CMD that changes
the interval. Its "interval" setting comes from its entry in app.json."""
import json
import math
import os
import random
import threading
import time

import tetherapp

app = tetherapp.App()
app.key("sensor/reading", "the temperature, °C")
app.key("sensor/interval", "seconds between readings")
app.key("sensor/count", "readings since the app started")
settings = json.loads(os.environ.get("TETHER_CONFIG", "{}"))
interval = float(settings.get("interval", 1.0))
count = 0
changed = threading.Event()


def read():
    """A made-up temperature: swap in your sensor here."""
    return round(21 + 2 * math.sin(time.time() / 60) + random.uniform(-0.1, 0.1), 2)


def publish():
    global count
    while True:
        count += 1
        app.state({"sensor/reading": read(), "sensor/count": count, "sensor/interval": interval})
        changed.wait(interval)
        changed.clear()


@app.get("reading", doc="a reading now, to the client that asks")
def reading(req):
    return {"sensor/now": read()}


@app.cmd("set_interval", "seconds:number", doc="sets the seconds between readings (0.1-3600)")
def set_interval(req):
    global interval
    seconds = req.args[0]
    if not 0.1 <= seconds <= 3600:
        raise ValueError("want 0.1 to 3600 seconds, got %s" % seconds)
    interval = seconds
    changed.set()
    return {"info": "a reading every %s s" % seconds}


threading.Thread(target=publish, daemon=True).start()
app.run()
