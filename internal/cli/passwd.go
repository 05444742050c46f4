package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"tether/internal/devauth"
)

// newPasswdCmd is "tether device passwd".
func newPasswdCmd(stdio Stdio) *cobra.Command {
	var root string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "passwd --root DIR [--stdin]",
		Short: "Set the device password of a device root (for someone with a shell on the device)",
		Long: `tether device passwd sets the password the device's page, command API and
recovery ask for, in the device root DIR: its bcrypt hash goes to
DIR/device.passwd (mode 0600). Without --stdin it makes a new random one and
prints it, once; with --stdin it takes the first line of standard input.

It needs no running device and no old password: whoever may write to the
device root may set it (physical access wins). A device running on DIR
takes the new password at its next request and ends every login.`,
		Example: `  tether device passwd --root /etc/tether
  printf '%s\n' "$NEW_PASSWORD" | tether device passwd --root ./dev1 --stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPasswd(stdio, root, fromStdin)
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "device root `DIR` (required)")
	cmd.Flags().BoolVar(&fromStdin, "stdin", false, "read the new password from the first line of standard input instead of making one")
	return cmd
}

func runPasswd(stdio Stdio, root string, fromStdin bool) error {
	usage := func(err error) error { return &UsageError{Err: err, Hint: "tether device passwd --root DIR"} }
	if root == "" {
		return usage(errors.New("passwd: want the device root, given as --root DIR"))
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return usage(fmt.Errorf("--root: want a device root folder, got %q", root))
	}
	pw := devauth.Generate()
	if fromStdin {
		line, err := bufio.NewReader(stdio.In).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("passwd: read the new password from standard input: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if err := devauth.SetPassword(root, pw); err != nil {
		return err
	}
	file := filepath.Join(root, devauth.File)
	if fromStdin {
		fmt.Fprintf(stdio.Out, "device password set (its hash is in %s); a running device takes it at its next request and ends every login\n", file)
		return nil
	}
	fmt.Fprintf(stdio.Out, "New device password (shown this once; its hash is in %s):\n\n    %s\n\n"+
		"A running device takes it at its next request and ends every login.\n", file, pw)
	return nil
}
