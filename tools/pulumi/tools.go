//go:build tools

// Package tools pins the Pulumi CLI; pkg and sdk are required at the same version. The
// language host beside it (./pulumi-language-python) is ours: the module proxy does not serve
// Pulumi's own.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
