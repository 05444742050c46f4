"""The seed's fake interface as a process app: the built-in demo's items
and keys (CMD hal, start_interface, stop_interface, send_message [text];
fake_interface/running, fake_interface/msg), so the device page drives it
as it drives the demo. It upper-cases what it is sent."""
import tetherapp

app = tetherapp.App()
app.key("fake_interface/running", "whether the interface is started")
running = False
NAME = "fake_interface"


def driver(req, first):
    """The driver a request names after its own arguments (none: ours)."""
    name = req.args[first] if len(req.args) > first else NAME
    if name != NAME:
        raise LookupError('no driver "%s"; have [%s]' % (name, NAME))


def set_running(on):
    global running
    running = on
    app.state({"fake_interface/running": on})


@app.cmd("hal", doc="lists the drivers and their state: hal/drivers")
def hal(req):
    return {"hal/drivers": [{"name": NAME, "kind": "fake", "running": running}]}


@app.cmd("start_interface", "driver:string?", doc="starts the fake interface")
def start(req):
    driver(req, 0)
    set_running(True)
    return {"info": NAME + " started"}


@app.cmd("stop_interface", "driver:string?", doc="stops the fake interface")
def stop(req):
    driver(req, 0)
    set_running(False)
    return {"info": NAME + " stopped"}


@app.cmd("send_message", "text:string", "driver:string?", doc="answers fake_interface/msg, upper-cased, to every client")
def send(req):
    driver(req, 1)
    if not running:
        raise RuntimeError(NAME + " is not running: start it first (CMD start_interface)")
    app.broadcast({"fake_interface/msg": req.args[0].upper()})


set_running(False)
app.run()
