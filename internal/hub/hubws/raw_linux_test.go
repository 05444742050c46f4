package hubws

import (
	"syscall"
	"testing"
)

// BenchmarkEmptyPoll is the cost of polling an epoll set with nothing
// ready: the call a loop no longer makes after a round that read every
// socket to its end (docs/PERFORMANCE.md).
func BenchmarkEmptyPoll(b *testing.B) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		b.Fatal(err)
	}
	defer syscall.Close(epfd)
	events := make([]syscall.EpollEvent, 128)
	for b.Loop() {
		if n, errno := rawEpollPoll(epfd, events); n != 0 || errno != 0 {
			b.Fatalf("got %d events, errno %v, want none", n, errno)
		}
	}
}
