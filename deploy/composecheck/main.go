// Command composecheck loads a compose file the way `docker compose` v2
// does, with compose-go (the library inside it): the Compose Specification's
// JSON schema, interpolation, and the project model. No Docker engine runs
// where the tests run, so this and Debian's docker-compose 1.x (`config -q`)
// are how docker-compose.yml is checked for both generations of compose
// (make check-deploy). It is its own module so that compose-go's
// dependencies stay out of the app's go.mod.
//
// Usage: go run . FILE [SERVICE=REPLICAS...] [SERVICE...]
//
// Each SERVICE=REPLICAS argument also requires that service to declare that
// many replicas (deploy.replicas); a bare SERVICE requires it to be enabled
// (COMPOSE_PROFILES=monitoring enables the services of that profile, as
// `docker compose --profile monitoring` does). Every bind mount's source must
// exist, so a renamed file under deploy/ is caught here.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("usage: composecheck FILE [SERVICE=REPLICAS...] [SERVICE...]")
	}
	opts, err := cli.NewProjectOptions(args[:1], cli.WithOsEnv, cli.WithDefaultProfiles(), cli.WithName("boxoffice"))
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	for _, s := range project.Services {
		for _, v := range s.Volumes {
			if v.Type != "bind" {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				return fmt.Errorf("service %s: bind mount source: %w", s.Name, err)
			}
		}
	}
	for _, want := range args[1:] {
		name, n, ok := strings.Cut(want, "=")
		if !ok {
			if _, err := project.GetService(name); err != nil {
				return fmt.Errorf("service %s: %w (is its profile enabled?)", name, err)
			}
			continue
		}
		replicas, err := strconv.Atoi(n)
		if err != nil {
			return fmt.Errorf("%q: want SERVICE=REPLICAS or SERVICE", want)
		}
		s, err := project.GetService(name)
		if err != nil {
			return err
		}
		if s.Deploy == nil || s.Deploy.Replicas == nil || *s.Deploy.Replicas != replicas {
			return fmt.Errorf("service %s: want deploy.replicas %d", name, replicas)
		}
	}
	fmt.Printf("composecheck: %s loads as compose v2 does (%d services)\n", args[0], len(project.Services))
	return nil
}
