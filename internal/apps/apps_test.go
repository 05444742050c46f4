package apps_test

import (
	"context"
	"slices"
	"testing"

	"tether/internal/apps"
)

func TestRegisterLookup(t *testing.T) {
	apps.Register("test-noop", func() apps.App {
		return apps.Func(func(ctx context.Context, env *apps.Env) error { return nil })
	})
	c, ok := apps.Lookup("test-noop")
	if !ok || c == nil {
		t.Fatal("Lookup did not find a registered app")
	}
	if err := c().Run(context.Background(), &apps.Env{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := apps.Lookup("nosuchapp"); ok {
		t.Fatal("Lookup found an unregistered app")
	}
	if !slices.Contains(apps.Names(), "test-noop") {
		t.Fatalf("Names = %v", apps.Names())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a second Register with the same name did not panic")
		}
	}()
	apps.Register("test-noop", func() apps.App { return nil })
}
