// Command notes is a process app in Go (package tetherapp): it keeps the
// last notes people send it. Build it into its device root, then run it:
//
//	go build -o examples/apps/goapp/notes ./examples/apps/goapp
//	tether device --root examples/apps/goapp --net sim
package main

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"tether/tetherapp"
)

func main() {
	app := tetherapp.New()
	app.Key("notes/count", "notes kept")
	app.Key("notes/last", "the last note")
	var mu sync.Mutex
	var notes []string
	publish := func() error {
		last := ""
		if len(notes) > 0 {
			last = notes[len(notes)-1]
		}
		return app.State(tetherapp.Msg{"notes/count": len(notes), "notes/last": last})
	}
	app.Cmd("add", "keeps a note (the last 100)", func(r *tetherapp.Request) (tetherapp.Msg, error) {
		var text string
		if err := r.Arg(0, &text); err != nil || strings.TrimSpace(text) == "" {
			return nil, errors.New("want a note")
		}
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes[max(0, len(notes)-99):], fmt.Sprintf("%s %s", time.Now().Format(time.TimeOnly), text))
		app.Broadcast(tetherapp.Msg{"notes/msg": text})
		return nil, publish()
	}, tetherapp.Arg{Name: "text", Type: "string"})
	app.Cmd("clear", "forgets every note", func(*tetherapp.Request) (tetherapp.Msg, error) {
		mu.Lock()
		defer mu.Unlock()
		notes = nil
		return tetherapp.Msg{"info": "notes cleared"}, publish()
	})
	app.Get("notes", "every note, to the client that asks", func(*tetherapp.Request) (tetherapp.Msg, error) {
		mu.Lock()
		defer mu.Unlock()
		return tetherapp.Msg{"notes/all": append([]string{}, notes...)}, nil
	})
	if err := publish(); err != nil {
		log.Fatal(err)
	}
	if err := app.Run(); err != nil {
		log.Fatal(err)
	}
}
