package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"tether/internal/artifact"
)

func init() { subcommands = append(subcommands, newKeysCmd) }

func newKeysCmd(stdio Stdio) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Make the signing keys of updates",
		Long: `tether keys makes the ed25519 key pair that signs updates (tether pack).
The private key (NAME.key, mode 0600) stays with whoever packs updates; the
public key (NAME.pub) goes into each device root's keys/ folder. A device
trusts every *.pub there, so a new key can be added before an old one is
removed. A device with no key in keys/ refuses every update
(docs/UPDATES.md).`,
		Example: `  tether keys init --dir ~/.tether
  cp ~/.tether/update.pub /etc/tether/keys/`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeysInitCmd(stdio))
	return cmd
}

func newKeysInitCmd(stdio Stdio) *cobra.Command {
	var dir, name string
	cmd := &cobra.Command{
		Use:     "init --dir DIR",
		Short:   "Make a signing key pair: DIR/NAME.key (private, 0600) and DIR/NAME.pub",
		Example: `  tether keys init --dir ~/.tether --name update-2026`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, id, err := artifact.GenerateKeys(dir, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdio.Out, "wrote %s (private: keep it safe, never on a device)\nwrote %s (public: copy it into each device root's keys/)\nkey id %s\n", priv, pub, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the key pair (required; made if missing)")
	cmd.Flags().StringVar(&name, "name", "update", "file name of the pair, without .key or .pub")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}
