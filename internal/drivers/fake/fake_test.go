package fake_test

import (
	"context"
	"strings"
	"testing"

	"tether/internal/config"
	"tether/internal/drivers"
	_ "tether/internal/drivers/fake"
	"tether/internal/wire"
)

func TestFakeUpperCases(t *testing.T) {
	set, err := drivers.FromConfig(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Add(drivers.Spec{Config: config.Driver{Name: "fake_interface", Kind: "fake"}}); err == nil {
		t.Fatal("a duplicate name was accepted")
	}
	if err := set.Add(drivers.Spec{Config: config.Driver{Name: "x", Kind: "gpio"}}); err == nil || !strings.Contains(err.Error(), `unknown kind "gpio"; known: [fake]`) {
		t.Fatalf("unknown kind: %v", err)
	}
	d, err := set.Get("fake_interface")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.Send(ctx, "hi"); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("Send while stopped = %v", err)
	}
	var got []wire.Message
	if err := d.Start(ctx, func(m wire.Message) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	if st := set.State(); st["fake_interface/running"] != true {
		t.Fatalf("State = %v", st)
	}
	if err := d.Send(ctx, "hello tether"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["fake_interface/msg"] != "HELLO TETHER" {
		t.Fatalf("emitted %v", got)
	}
	set.StopAll(ctx)
	if l := set.List(); len(l) != 1 || l[0].Running || l[0].Kind != "fake" {
		t.Fatalf("List after StopAll = %+v", l)
	}
}

// Drivers app.json marks "start": true run when the app starts them.
func TestStartDeclared(t *testing.T) {
	set, err := drivers.FromConfig(config.Drivers{
		{Name: "on", Kind: "fake", Start: true},
		{Name: "off", Kind: "fake"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []wire.Message
	if err := set.StartDeclared(context.Background(), func(m wire.Message) { got = append(got, m) }); err != nil {
		t.Fatal(err)
	}
	st := set.State()
	if st["on/running"] != true || st["off/running"] != false || st["fake_interface/running"] != false {
		t.Fatalf("State after StartDeclared = %v", st)
	}
	d, _ := set.Get("on")
	if err := d.Send(context.Background(), "x"); err != nil || len(got) != 1 || got[0]["on/msg"] != "X" {
		t.Fatalf("Send = %v, emitted %v", err, got)
	}
}
