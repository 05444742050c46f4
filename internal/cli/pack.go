package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"tether/internal/artifact"
	"tether/internal/atomicfile"
)

func init() { subcommands = append(subcommands, newPackCmd) }

type packFlags struct {
	app, binary          string
	name, version, key   string
	goos, goarch, minVer string
	out                  string
}

func newPackCmd(stdio Stdio) *cobra.Command {
	var f packFlags
	cmd := &cobra.Command{
		Use:   "pack (--app DIR --name NAME | --binary PATH) --version V --key KEY -o FILE",
		Short: "Pack a process app's folder or a tether binary into a signed update",
		Long: `tether pack makes one update file (an artifact): a manifest (name, version,
kind, SHA-256 and size of the payload, OS and architecture of a binary, the
least tether version it needs), the payload (the app's folder as tar.gz, or
the binary) and an ed25519 signature over the manifest, made with KEY (from
tether keys init). Devices check all of it before they stage anything.

--app packs a process app's folder; NAME is the app's section in app.json,
and devices install the folder as apps/NAME in their root. --binary packs a
tether binary; its OS and architecture are read from its ELF header unless
--os and --arch say them. tether push sends the file to a hub
(docs/UPDATES.md).`,
		Example: `  tether pack --app ./weather --name weather --version 2.0.1 --key ~/.tether/update.key -o weather-2.0.1.tether
  tether pack --binary dist/tether-linux-arm --version v0.5.0 --key ~/.tether/update.key -o tether-v0.5.0-arm.tether`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPack(stdio, cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.app, "app", "", "a process app's folder to pack")
	fl.StringVar(&f.binary, "binary", "", "a tether binary to pack")
	fl.StringVar(&f.name, "name", "", "the app's name: its section in app.json (with --app)")
	fl.StringVar(&f.version, "version", "", "the version packed (required): letters, digits, '.', '_', '+', '-'")
	fl.StringVar(&f.key, "key", "", "the private signing key, from tether keys init (required)")
	fl.StringVar(&f.goos, "os", "", "the binary's GOOS; empty reads it from its ELF header")
	fl.StringVar(&f.goarch, "arch", "", "the binary's GOARCH; empty reads it from its ELF header")
	fl.StringVar(&f.minVer, "min-tether", "", "the least tether version that may install it (v0.4.0); empty means any")
	fl.StringVarP(&f.out, "output", "o", "", "the file to write (required)")
	for _, req := range []string{"version", "key", "output"} {
		_ = cmd.MarkFlagRequired(req)
	}
	return cmd
}

func runPack(stdio Stdio, cmd *cobra.Command, f packFlags) error {
	usage := func(format string, args ...any) error {
		return &UsageError{Err: fmt.Errorf(format, args...), Hint: "tether pack --help"}
	}
	switch {
	case (f.app == "") == (f.binary == ""):
		return usage("want one of --app DIR or --binary PATH")
	case f.app != "" && f.name == "":
		return usage("--app: want --name, the app's section in app.json")
	case f.binary != "" && f.name != "" && f.name != artifact.BinaryName:
		return usage("--binary: a binary's name is always %q", artifact.BinaryName)
	}
	key, err := artifact.LoadPrivateKey(f.key)
	if err != nil {
		return err
	}
	o := artifact.PackOptions{Name: f.name, Version: f.version, MinTether: f.minVer, OS: f.goos, Arch: f.goarch, Key: key}
	if f.binary != "" && (o.OS == "" || o.Arch == "") {
		if o.OS, o.Arch, err = detect(f.binary, o.OS, o.Arch); err != nil {
			return err
		}
	}
	var m *artifact.Manifest
	sum := sha256.New()
	var size countingWriter
	err = atomicfile.ReplaceWith(f.out, 0o644, func(w io.Writer) (err error) { // signed, not secret
		w = io.MultiWriter(w, sum, &size)
		if f.app != "" {
			m, err = artifact.PackApp(w, f.app, o)
		} else {
			m, err = artifact.PackBinary(w, f.binary, o)
		}
		return err
	})
	if err != nil {
		return err
	}
	// The file's SHA-256 is its name on a hub (tether push, /api/rollouts).
	fmt.Fprintf(stdio.Out, "wrote %s: %s, %d bytes, sha256 %s (payload %d bytes, sha256 %s)\n",
		f.out, m, size, hex.EncodeToString(sum.Sum(nil)), m.Size, m.SHA256)
	return nil
}

// detect fills in the OS and architecture the flags left out from the
// binary's ELF header.
func detect(path, goos, goarch string) (string, string, error) {
	bf, err := os.Open(path)
	if err != nil {
		return "", "", fmt.Errorf("pack binary: %w", err)
	}
	defer bf.Close()
	dOS, dArch, err := artifact.DetectPlatform(bf)
	if err != nil {
		return "", "", fmt.Errorf("pack binary %s: %w", path, err)
	}
	if goos == "" {
		goos = dOS
	}
	if goarch == "" {
		goarch = dArch
	}
	if goos != dOS || goarch != dArch {
		return "", "", errors.New("pack binary: --os/--arch " + goos + "/" + goarch + " but its ELF header says " + dOS + "/" + dArch)
	}
	return goos, goarch, nil
}

// countingWriter counts the bytes written to it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
