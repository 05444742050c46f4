package tetherapp_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"tether/tetherapp"
)

// An app announces itself first, answers requests with replies to their
// client (errors as {"error": ...}), publishes state, and hears hello and
// gone; it asks for a driver's messages, hears them, and sends to the
// driver; a line it cannot read is skipped.
func TestApp(t *testing.T) {
	in := strings.NewReader(`{"type":"hello","app":"t","device":"Device_1","root":"/r","tether":"v1","config":{"x":1}}
not json
{"type":"request","from":"c1","kind":"CMD","item":"inc","args":[5]}
{"type":"request","from":"c2","kind":"CMD","item":"inc","args":["x"]}
{"type":"request","from":"c2","kind":"GET","item":"nosuch","args":[]}
{"type":"gone","client":"c1"}
{"type":"driver","msg":{"uart/line":"HELLO"}}
`)
	var out bytes.Buffer
	app := tetherapp.NewIO(in, &out)
	app.Key("t/n", "the count")
	n := 0
	var gone []string
	app.Gone = func(c string) { gone = append(gone, c) }
	var heard []tetherapp.Msg
	app.Hears = []string{"uart"}
	app.Heard = func(m tetherapp.Msg) { heard = append(heard, m) }
	app.Cmd("inc", "adds", func(r *tetherapp.Request) (tetherapp.Msg, error) {
		var by int
		if err := r.Arg(0, &by); err != nil {
			return nil, errors.New("want a number")
		}
		n += by
		app.Driver("uart", "send", "")
		return tetherapp.Msg{"info": "ok"}, app.State(tetherapp.Msg{"t/n": n})
	}, tetherapp.Arg{Name: "by", Type: "integer", Optional: true})
	if err := app.Run(); err != nil {
		t.Fatal(err)
	}
	want := `{"drivers":["uart"],"items":[{"kind":"CMD","name":"inc","args":[{"name":"by","type":"integer","optional":true}],"doc":"adds"}],"keys":[{"key":"t/n","doc":"the count"}],"type":"announce"}
{"driver":"uart","op":"send","text":"","type":"driver"}
{"state":{"t/n":5},"type":"state"}
{"msg":{"info":"ok"},"to":"c1","type":"reply"}
{"msg":{"error":"CMD inc: want a number"},"to":"c2","type":"reply"}
{"msg":{"error":"GET nosuch: no handler"},"to":"c2","type":"reply"}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if app.Hello.Device != "Device_1" || string(app.Hello.Config) != `{"x":1}` || len(gone) != 1 || gone[0] != "c1" ||
		len(heard) != 1 || heard[0]["uart/line"] != "HELLO" {
		t.Errorf("hello %+v, gone %v, heard %v", app.Hello, gone, heard)
	}
}
