package fifo_test

import (
	"testing"

	"tether/internal/fifo"
)

func TestPopInOrderThenEmpty(t *testing.T) {
	q := [][]byte{[]byte("a"), []byte("b")}
	backing := q[:2:2]
	for _, want := range []string{"a", "b"} {
		v, ok := fifo.Pop(&q)
		if !ok || string(v) != want {
			t.Fatalf("Pop = %q, %v; want %q", v, ok, want)
		}
	}
	if backing[0] != nil || backing[1] != nil {
		t.Errorf("popped slots still hold %q: the queue keeps what it handed out alive", backing)
	}
	if q != nil {
		t.Errorf("drained queue keeps its backing array (cap %d)", cap(q))
	}
	if v, ok := fifo.Pop(&q); ok || v != nil {
		t.Errorf("Pop of an empty queue = %q, %v", v, ok)
	}
}
