// Command pulumi-resource-random is the platform's stand-in for pulumi-random's provider plugin,
// whose Go module the module proxy does not serve. It implements RandomPassword, the only
// pulumi-random resource the program declares, with upstream's inputs, defaults and outputs.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is the pulumi-random release whose RandomPassword this implements (set by ldflags).
var version = "0.0.0"

func main() {
	err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &randomProvider{version: version}, nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
