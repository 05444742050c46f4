package process

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// GuardCommand is the hidden tether subcommand that runs GuardMain: tether
// starts every program through it ("tether process-guard PATH ARGV...").
const GuardCommand = "process-guard"

// The guard's extra files, as tether hands them over.
const (
	lifeFD   = 3 // read end of a pipe tether holds open for as long as it wants the program
	statusFD = 4 // write end of a pipe for the program's pid and exit status
)

// guardStatus is one line the guard writes on its status pipe.
type guardStatus struct {
	PID    int    `json:"pid,omitempty"`    // the program started
	Exit   *int   `json:"exit,omitempty"`   // the program exited with this status
	Signal string `json:"signal,omitempty"` // the program was killed by this signal
	Error  string `json:"error,omitempty"`  // the program could not start
}

// GuardMain is the guard between tether and a program: a process of its
// own, the leader of the program's process group, that starts path with
// argv (its standard input, output and error are the guard's), reports the
// program's pid and how it ended on file 4, and makes sure the whole
// group dies:
//
//   - SIGTERM, SIGINT or SIGHUP to the guard is passed on to the group
//     once (the guard itself stays, to report how the program ended);
//   - when file 3 reaches its end (tether closed it to kill the program
//     after its grace, or tether died, even by SIGKILL, since the kernel
//     closes a dead process's files) the group is killed with SIGKILL;
//   - when the program ends, what is left of its group is killed with
//     SIGKILL after the status is written, the guard with it.
//
// The program gets PR_SET_PDEATHSIG SIGKILL on Linux, so it dies with the
// guard however the guard ends. GuardMain returns only on a failure to
// start; the exit status it returns is for the guard's own process.
func GuardMain(args []string) int {
	runtime.LockOSThread() // Pdeathsig follows the thread that started the program
	status := os.NewFile(statusFD, "status")
	life := os.NewFile(lifeFD, "life")
	if status == nil || life == nil || len(args) < 2 {
		fmt.Fprintln(os.Stderr, "tether process-guard: run by tether to start a process app's program; not for use by hand")
		return 2
	}
	syscall.CloseOnExec(statusFD)
	syscall.CloseOnExec(lifeFD)
	pgid := syscall.Getpgrp()
	if pgid != os.Getpid() {
		report(status, guardStatus{Error: "the guard is not the leader of its process group"})
		return 2
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	cmd := &exec.Cmd{Path: args[0], Args: args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: programAttr()}
	if err := cmd.Start(); err != nil {
		report(status, guardStatus{Error: err.Error()})
		return 127
	}
	report(status, guardStatus{PID: cmd.Process.Pid})
	exited := make(chan *os.ProcessState, 1)
	go func() {
		cmd.Wait()
		exited <- cmd.ProcessState
	}()
	lifeEnded := make(chan struct{})
	go func() {
		io.Copy(io.Discard, life)
		close(lifeEnded)
	}()
	return guard(pgid, cmd.Process.Pid, sigs, exited, lifeEnded, status)
}

// guard waits for the program, passing signals on, and kills the group at
// the end.
func guard(pgid, pid int, sigs chan os.Signal, exited chan *os.ProcessState, lifeEnded chan struct{}, status *os.File) int {
	passed := false
	for {
		select {
		case sig := <-sigs:
			if !passed { // passing it on sends it to the guard too: once
				passed = true
				syscall.Kill(-pgid, sig.(syscall.Signal))
			}
		case ps := <-exited:
			report(status, exitStatus(ps))
			syscall.Kill(-pgid, syscall.SIGKILL)
			return 0
		case <-lifeEnded:
			syscall.Kill(pid, syscall.SIGKILL) // first, to report how it ended
			select {
			case ps := <-exited:
				report(status, exitStatus(ps))
			case <-time.After(2 * time.Second): // stuck in the kernel (a device's I/O)
			}
			syscall.Kill(-pgid, syscall.SIGKILL)
			return 0
		}
	}
}

// exitStatus describes how a program ended.
func exitStatus(ps *os.ProcessState) guardStatus {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return guardStatus{Signal: signalName(ws.Signal())}
	}
	code := ps.ExitCode()
	return guardStatus{Exit: &code}
}

// report writes one status line.
func report(w io.Writer, s guardStatus) {
	b, _ := json.Marshal(s)
	w.Write(append(b, '\n'))
}
