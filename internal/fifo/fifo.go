// Package fifo is the slice-backed queue of the per-connection send queues
// (cmdapi's clients, a process app's standard input): a queue that grows
// with a burst and gives the burst's memory back once it is drained. It
// has no lock: its owner's guards it.
package fifo

// Pop removes and returns the oldest element of *q, if any. It clears the
// slot it empties, so the queue does not keep what it handed out alive,
// and lets the backing array go when the queue becomes empty.
func Pop[T any](q *[]T) (T, bool) {
	var zero T
	if len(*q) == 0 {
		return zero, false
	}
	v := (*q)[0]
	(*q)[0] = zero
	*q = (*q)[1:]
	if len(*q) == 0 {
		*q = nil
	}
	return v, true
}
