"""tetherapp: a tether process app in a few lines of Python (3.9+, standard
library only). Copy this file beside your program. docs/APPS.md has the
protocol it speaks: JSON lines on standard input and output.

    import tetherapp
    app = tetherapp.App()
    app.key("counter/value", "the count")
    n = 0

    @app.cmd("inc", "by:integer?", doc="adds by (1 when left out)")
    def inc(req):
        global n
        n += req.args[0] if req.args else 1
        app.state({"counter/value": n})
        return {"info": "now %d" % n}        # a reply to the client that asked

    app.run()
"""
import json
import sys
import threading

__all__ = ["App", "Request", "log"]


def log(*args):
    """Prints to standard error: the app's log on the device."""
    print(*args, file=sys.stderr, flush=True)


class Request:
    """A client's request: kind ("GET" or "CMD"), item, args (a list), and
    client, the id replies to it go to."""

    def __init__(self, app, line):
        self.app, self.client = app, line.get("from", "")
        self.kind, self.item = line.get("kind", ""), line.get("item", "")
        self.args = line.get("args") or []

    def reply(self, msg):
        """Sends msg (a dict of keys) to the client that asked, now or later."""
        self.app.send({"type": "reply", "to": self.client, "msg": msg})


def _arg(spec):
    """ "name:type" or "name:type?" (optional) as an announced argument."""
    name, _, typ = spec.partition(":")
    typ = typ or "string"
    optional = typ.endswith("?")
    arg = {"name": name, "type": typ.rstrip("?")}
    if optional:
        arg["optional"] = True
    return arg


class App:
    """A process app: declare items and state keys, then run()."""

    def __init__(self, stdin=None, stdout=None):
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._lock = threading.Lock()
        self._items, self._keys, self._handlers, self._hears = [], [], {}, []
        self.hello = {}  # tether's first line: app, device, root, tether, config
        self.on_gone = None  # called with a client's id when it has gone
        self.on_driver = None  # called with each driver message (a dict)

    def item(self, kind, name, *args, doc=""):
        """Declares an item; decorates its handler, called with a Request.
        args are "name:type" strings, type one of string, number, integer,
        boolean, json; "name:type?" is optional (last). The handler may
        return a dict (the reply to the client) or None, and raise to
        answer {"error": ...}."""
        def decorate(fn):
            self._items.append({"kind": kind, "name": name, "args": [_arg(a) for a in args], "doc": doc})
            self._handlers[(kind, name)] = fn
            return fn
        return decorate

    def get(self, name, *args, doc=""):
        """item("GET", ...)."""
        return self.item("GET", name, *args, doc=doc)

    def cmd(self, name, *args, doc=""):
        """item("CMD", ...)."""
        return self.item("CMD", name, *args, doc=doc)

    def key(self, key, doc="", type=""):
        """Declares a state key: the generated page shows it live."""
        self._keys.append({"key": key, "doc": doc, "type": type})

    def hear(self, *drivers):
        """Asks for the messages of these drivers (declared under the
        entry's "drivers"): on_driver gets each, {"uart/line": "HELLO"}."""
        self._hears.extend(drivers)

    def driver(self, name, op, text=None):
        """Has tether start, stop or send text to the driver name; the
        outcome comes to on_driver: {"info": ...} or {"error": ...}."""
        line = {"type": "driver", "driver": name, "op": op}
        if text is not None:
            line["text"] = text
        self.send(line)

    def send(self, msg):
        """Writes one protocol line; safe from any thread."""
        line = json.dumps(msg, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def state(self, values):
        """Merges values (a dict; None removes a key) into the state object
        every client gets, locally and through the hub."""
        self.send({"type": "state", "state": values})

    def broadcast(self, msg):
        """Sends msg (a dict of keys) to every client, once: an event."""
        self.send({"type": "broadcast", "msg": msg})

    def announce(self):
        """Tells tether the items and state keys; run() does it first."""
        self.send({"type": "announce", "items": self._items, "keys": self._keys, "drivers": self._hears})

    def run(self):
        """Announces, then handles requests until tether closes standard
        input. Requests are handled one at a time, in order."""
        self.announce()
        for raw in self._in:
            try:
                line = json.loads(raw)
            except ValueError:
                log("tetherapp: not JSON from tether:", raw[:80])
                continue
            kind = line.get("type")
            if kind == "hello":
                self.hello = line
            elif kind == "gone" and self.on_gone:
                self.on_gone(line.get("client"))
            elif kind == "request":
                self._handle(Request(self, line))
            elif kind == "driver" and self.on_driver:
                self.on_driver(line.get("msg") or {})

    def _handle(self, req):
        fn = self._handlers.get((req.kind, req.item))
        try:
            if fn is None:
                raise LookupError("no handler for %s %s" % (req.kind, req.item))
            answer = fn(req)
        except Exception as e:  # the app's error is the client's answer
            log("tetherapp: %s %s: %r" % (req.kind, req.item, e))
            answer = {"error": "%s %s: %s" % (req.kind, req.item, e)}
        if answer:
            req.reply(answer)
