// Command pulumi-language-python is the platform's stand-in for Pulumi's Python language host,
// whose Go module the module proxy does not serve. It runs Python programs through
// pulumi-language-python-exec (shipped in the sdk module, installed beside this binary) and
// Python policy packs, with the interpreter of the virtualenv that Pulumi.yaml or
// PulumiPolicy.yaml names. It installs no dependencies: scripts/install does that. It is built
// beside the CLI (tools/pulumi), so the engine finds it as a bundled plugin.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is the Pulumi release this host pairs with (set by ldflags).
var version = "0.0.0"

func main() {
	// The engine starts a language host as `pulumi-language-python [-flag=value...] ENGINE_ADDRESS`;
	// the flags (tracing, root, runtime options) carry nothing this host needs.
	engine := ""
	for _, arg := range os.Args[1:] {
		if !strings.HasPrefix(arg, "-") {
			engine = arg
			break
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
	host := &pythonHost{engine: engine, version: version,
		exec: filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintln(os.Stderr, "pulumi-language-python:", err)
		os.Exit(1)
	}
}
