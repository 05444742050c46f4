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
// gone; a line it cannot read is skipped.
func TestApp(t *testing.T) {
	in := strings.NewReader(`{"type":"hello","app":"t","device":"Device_1","root":"/r","tether":"v1","config":{"x":1}}
not json
{"type":"request","from":"c1","kind":"CMD","item":"inc","args":[5]}
{"type":"request","from":"c2","kind":"CMD","item":"inc","args":["x"]}
{"type":"request","from":"c2","kind":"GET","item":"nosuch","args":[]}
{"type":"gone","client":"c1"}
`)
	var out bytes.Buffer
	app := tetherapp.NewIO(in, &out)
	app.Key("t/n", "the count")
	n := 0
	var gone []string
	app.Gone = func(c string) { gone = append(gone, c) }
	app.Cmd("inc", "adds", func(r *tetherapp.Request) (tetherapp.Msg, error) {
		var by int
		if err := r.Arg(0, &by); err != nil {
			return nil, errors.New("want a number")
		}
		n += by
		return tetherapp.Msg{"info": "ok"}, app.State(tetherapp.Msg{"t/n": n})
	}, tetherapp.Arg{Name: "by", Type: "integer", Optional: true})
	if err := app.Run(); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"announce","items":[{"kind":"CMD","name":"inc","args":[{"name":"by","type":"integer","optional":true}],"doc":"adds"}],"keys":[{"key":"t/n","doc":"the count"}]}
{"type":"state","state":{"t/n":5}}
{"type":"reply","to":"c1","msg":{"info":"ok"}}
{"type":"reply","to":"c2","msg":{"error":"CMD inc: want a number"}}
{"type":"reply","to":"c2","msg":{"error":"GET nosuch: no handler"}}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if app.Hello.Device != "Device_1" || string(app.Hello.Config) != `{"x":1}` || len(gone) != 1 || gone[0] != "c1" {
		t.Errorf("hello %+v, gone %v", app.Hello, gone)
	}
}
