// Command vault is a test-only wrapper that builds a real current Vault server from
// the Go module proxy. It is never shipped: see README.md.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
