package logring_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"tether/internal/logring"
)

func TestKeepsLastLines(t *testing.T) {
	r := logring.New(3)
	fmt.Fprint(r, "one\ntwo\nthr")
	if got := r.Lines(); !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("Lines = %q", got)
	}
	fmt.Fprint(r, "ee\nfour\nfive\n")
	if got := r.Lines(); !slices.Equal(got, []string{"three", "four", "five"}) {
		t.Fatalf("Lines = %q, want the last three", got)
	}
}

func TestSlogAndConcurrency(t *testing.T) {
	r := logring.New(0)
	log := slog.New(slog.NewTextHandler(r, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				log.Info("hello", "g", i, "j", j)
			}
		}()
	}
	wg.Wait()
	lines := r.Lines()
	if len(lines) != 200 {
		t.Fatalf("kept %d lines, want the default 200", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, "msg=hello") {
			t.Fatalf("torn line %q", l)
		}
	}
}

func TestSplitterAnyCuts(t *testing.T) {
	stream := "one\n\ntwo words\nthree\nfour without its newline"
	want := []string{"one", "", "two words", "three"}
	for step := 1; step <= len(stream); step++ {
		var s logring.Splitter
		var got []string
		for i := 0; i < len(stream); i += step {
			s.Split([]byte(stream[i:min(i+step, len(stream))]), func(l string) { got = append(got, l) })
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pieces of %d bytes: got %q, want %q", step, got, want)
		}
	}
}
