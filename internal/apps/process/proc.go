package process

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// proc is one run of a program through its guard (GuardMain): the pipes
// of its standard streams, and the guard's life and status pipes.
type proc struct {
	guard  *exec.Cmd
	stdin  *os.File // the program's standard input, to write
	stdout *os.File // its standard output, to read
	stderr *os.File // its standard error, to read
	life   *os.File // closing it kills the program's whole group
	pid    int      // the program's
	status chan guardStatus
	done   chan struct{} // closed once the guard has been waited for
	ended  guardStatus   // how the program ended, once done
}

// spec is what to start.
type spec struct {
	guard []string // the guard command; nil means this binary's GuardCommand
	path  string   // the program, resolved
	argv  []string // its arguments, argv[0] as app.json gives it
	env   []string
	dir   string
}

// defaultGuard runs this very binary as the guard: /proc/self/exe stays
// the running binary even when the file is replaced (an update).
func defaultGuard() ([]string, error) {
	if runtime.GOOS == "linux" {
		return []string{"/proc/self/exe", GuardCommand}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find tether's binary for the guard: %w", err)
	}
	return []string{exe, GuardCommand}, nil
}

// pipes are the os.Pipe pairs of a start; close closes every end given.
type pipes [][2]*os.File

func (ps pipes) close(side int) {
	for _, p := range ps {
		if p[side] != nil {
			p[side].Close()
		}
	}
}

// startProc starts the guard, which starts the program, and waits for the
// guard to say the program runs (or why it cannot).
func startProc(s spec) (*proc, error) {
	var ps pipes
	for range 5 {
		r, w, err := os.Pipe()
		if err != nil {
			ps.close(0)
			ps.close(1)
			return nil, fmt.Errorf("start program: %w", err)
		}
		ps = append(ps, [2]*os.File{r, w})
	}
	in, out, errp, life, status := ps[0], ps[1], ps[2], ps[3], ps[4]
	guard := s.guard
	if guard == nil {
		var err error
		if guard, err = defaultGuard(); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(guard[0], append(append(guard[1:len(guard):len(guard)], s.path), s.argv...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in[0], out[1], errp[1]
	cmd.ExtraFiles = []*os.File{life[0], status[1]} // 3 and 4: lifeFD, statusFD
	cmd.Env, cmd.Dir = s.env, s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the guard leads the program's group
	err := cmd.Start()
	for _, f := range []*os.File{in[0], out[1], errp[1], life[0], status[1]} {
		f.Close() // the guard's ends
	}
	if err != nil {
		for _, f := range []*os.File{in[1], out[0], errp[0], life[1], status[0]} {
			f.Close()
		}
		return nil, fmt.Errorf("start program: %w", err)
	}
	p := &proc{guard: cmd, stdin: in[1], stdout: out[0], stderr: errp[0], life: life[1],
		status: make(chan guardStatus, 2), done: make(chan struct{})}
	go p.readStatus(status[0])
	go p.wait()
	return p, p.started()
}

// readStatus passes the guard's status lines on.
func (p *proc) readStatus(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var st guardStatus
		if json.Unmarshal(sc.Bytes(), &st) == nil {
			select {
			case p.status <- st:
			default:
			}
		}
	}
}

// started waits for the guard's first status line: the program's pid, or
// why it did not start.
func (p *proc) started() error {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case st := <-p.status:
		if st.Error != "" {
			<-p.done
			return fmt.Errorf("start program: %s", st.Error)
		}
		p.pid = st.PID
		return nil
	case <-p.done:
		return fmt.Errorf("start program: the guard ended first (%s)", p.ended.describe())
	case <-t.C:
		p.kill()
		return errors.New("start program: the guard did not say within 10 s")
	}
}

// wait waits for the guard, then takes the program's exit status from it.
func (p *proc) wait() {
	err := p.guard.Wait()
	p.life.Close()
	select {
	case st := <-p.status:
		p.ended = st
	case <-time.After(time.Second): // the guard itself was killed
		p.ended = guardStatus{Error: "the guard ended: " + fmt.Sprint(err)}
	}
	close(p.done)
}

// stop asks the program to stop: end of its input and SIGTERM to its
// group; after grace the whole group is killed. It returns once the guard
// has been waited for.
func (p *proc) stop(grace time.Duration) {
	p.stdin.Close()
	p.guard.Process.Signal(syscall.SIGTERM) // the guard passes it on to the group
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.kill()
	}
}

// kill kills the program's whole group at once and waits for the guard.
func (p *proc) kill() {
	p.life.Close() // the guard kills the group with SIGKILL
	select {
	case <-p.done:
		return
	case <-time.After(3 * time.Second):
	}
	p.guard.Process.Kill() // a guard that does not answer; its program has Pdeathsig
	<-p.done
}

// describe says how a program ended: "exited with status 1", "was killed
// by SIGKILL".
func (st guardStatus) describe() string {
	switch {
	case st.Exit != nil:
		return fmt.Sprintf("exited with status %d", *st.Exit)
	case st.Signal != "":
		return "was killed by " + st.Signal
	case st.Error != "":
		return strings.TrimPrefix(st.Error, "start program: ")
	}
	return "ended"
}
