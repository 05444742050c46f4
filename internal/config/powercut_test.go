package config

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writerEnv switches the test binary into the power-cut writer: it saves
// alternating versions of both files into the root it names, forever.
const writerEnv = "TETHER_CONFIG_POWERCUT_WRITER"

func TestMain(m *testing.M) {
	if root := os.Getenv(writerEnv); root != "" {
		runWriter(root)
		return
	}
	os.Exit(m.Run())
}

// cutVersions are the two versions of each file the writer alternates.
func cutVersions() map[string][2][]byte {
	app := `{"app": "demo", "demo": {"http": {"ip": "0.0.0.0", "port": %d}}, "pad": {"p": %q}}` + "\n"
	network := `{"device": {"iam": "Device_%d", "dev": "linux"}, "pad": {"p": %q}}` + "\n"
	pad := func(c string, n int) string { return strings.Repeat(c, n) }
	return map[string][2][]byte{
		AppFile:     {fmt.Appendf(nil, app, 8080, pad("a", 3000)), fmt.Appendf(nil, app, 9090, pad("b", 7000))},
		NetworkFile: {fmt.Appendf(nil, network, 1, pad("c", 5000)), fmt.Appendf(nil, network, 2, pad("d", 100))},
	}
}

// runWriter is the child: say ready, then save forever until killed.
func runWriter(root string) {
	versions := cutVersions()
	fmt.Println("ready")
	for i := rand.IntN(2); ; i++ {
		for _, name := range []string{AppFile, NetworkFile} {
			if err := Save(root, name, versions[name][i%2]); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
	}
}

// TestPowerCut kills a process saving both files with SIGKILL at random
// moments, hundreds of times, and checks after each kill that each file and
// its .bak are byte for byte one of the versions written and load.
//
// Four writers run side by side, half on the test's temporary folder (a
// disk: each fsync takes milliseconds, so kills land mostly around syncs)
// and half on /dev/shm when it exists (tmpfs: a save takes microseconds, so
// kills land all over the save's steps).
func TestPowerCut(t *testing.T) {
	trials := 300
	if testing.Short() {
		trials = 60
	}
	writer := writerBinary(t)
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		root := cutRoot(t, w%2 == 1)
		wg.Go(func() {
			midWrite := 0
			for trial := w; trial < trials; trial += workers {
				if err := cutOnce(writer, root, trial); err != nil {
					t.Error(err)
					return
				}
				if temps, _ := filepath.Glob(filepath.Join(root, ".*.tmp*")); len(temps) > 0 {
					midWrite++
				}
			}
			t.Logf("%s: %d of its kills landed mid-write (left a temporary file)", root, midWrite)
		})
	}
	wg.Wait()
}

// writerBinary returns the test binary to run as the writer: this one, or
// under -race a copy built without it, since the race runtime makes each
// start take some 100 ms and the writer has one goroutine to check.
func writerBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return os.Args[0]
	}
	bin := filepath.Join(t.TempDir(), "config.test")
	out, err := exec.Command("go", "test", "-c", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go test -c (the writer without -race): %v\n%s", err, out)
	}
	return bin
}

// cutRoot returns an empty folder holding the first version of both files,
// on tmpfs when shm and /dev/shm is there.
func cutRoot(t *testing.T, shm bool) string {
	t.Helper()
	root := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); shm && err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "tether-powercut-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			root = dir
		}
	}
	for name, v := range cutVersions() {
		if err := Save(root, name, v[0]); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// cutOnce runs the writer on root, kills it after 0-5 ms and checks root.
func cutOnce(writer, root string, trial int) error {
	after := time.Duration(rand.Int64N(int64(5 * time.Millisecond)))
	if err := killWriter(writer, root, after); err != nil {
		return fmt.Errorf("trial %d: %w", trial, err)
	}
	if err := checkCut(root); err != nil {
		return fmt.Errorf("trial %d, killed %v after start: %w", trial, after, err)
	}
	return nil
}

// killWriter starts the writer binary on root and SIGKILLs it once it has
// run for after.
func killWriter(writer, root string, after time.Duration) error {
	cmd := exec.Command(writer)
	cmd.Env = append(os.Environ(), writerEnv+"="+root)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line == "ready\n" {
		time.Sleep(after)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if line != "ready\n" || stderr.Len() > 0 {
		return fmt.Errorf("writer failed: %q %v %s", line, err, stderr.Bytes())
	}
	return nil
}

// checkCut checks that each file and .bak in root is one of the versions
// and validates, and that root loads.
func checkCut(root string) error {
	for name, v := range cutVersions() {
		for _, file := range []string{name, name + ".bak"} {
			data, err := os.ReadFile(filepath.Join(root, file))
			if file != name && os.IsNotExist(err) {
				continue
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(data, v[0]) && !bytes.Equal(data, v[1]) {
				return fmt.Errorf("%s is neither version (%d bytes): %.80q", file, len(data), data)
			}
			if problems := Validate(name, data); HasErrors(problems) {
				return fmt.Errorf("%s does not validate: %v", file, problems)
			}
		}
	}
	if _, _, err := Load(root); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}
