package cmdapi_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"tether/internal/cmdapi"
	"tether/internal/wire"
)

// lines is a Conn that reads requests from a list and prints what it is sent.
type lines struct{ in []string }

func (l *lines) Read(ctx context.Context) (bool, []byte, error) {
	if len(l.in) == 0 {
		return false, nil, io.EOF
	}
	s := l.in[0]
	l.in = l.in[1:]
	return true, []byte(s), nil
}

func (l *lines) Write(ctx context.Context, b []byte) error { fmt.Println(string(b)); return nil }
func (l *lines) Close(code int, reason string) error       { return nil }
func (l *lines) CloseNow() error                           { return nil }

func Example() {
	srv := cmdapi.New(cmdapi.Options{
		State: func() wire.Message { return wire.Message{"iam": "Device_1"} },
	})
	srv.Handle(wire.Cmd, "shout", func(ctx context.Context, req wire.Request, reply cmdapi.Reply) error {
		text, err := req.StringArg(0, "text")
		if err != nil {
			return err
		}
		reply(wire.Message{"shout/msg": strings.ToUpper(text)})
		return nil
	})
	srv.Serve(context.Background(), &lines{in: []string{`["CMD", "shout", ["hello"]]`, `["GET", "nope", []]`}})
	// Output:
	// {"iam":"Device_1"}
	// {"shout/msg":"HELLO"}
	// {"iam":"Device_1"}
	// {"error":"unknown item \"nope\" for GET; known: []"}
	// {"iam":"Device_1"}
}
