// compose-config validates a compose file the way `docker compose config` does, for machines that
// have no Docker client: it loads the file with compose-go (the loader docker compose itself uses:
// interpolation, the compose-spec JSON schema, normalisation) and prints the resolved project.
//
//	go run ./tools/compose-config docker-compose.temporal.yml
//
// Exit 0 with the resolved YAML on stdout, 1 with compose-go's message when the file is invalid,
// 2 on bad usage.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-config <compose file>...")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions(os.Args[1:], cli.WithOsEnv, cli.WithDotEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	project, err := cli.ProjectFromOptions(context.Background(), opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
}
