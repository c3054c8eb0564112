//go:build tools

// Package tools pins etcd's server (its main package is the etcd binary); a wrapper
// module because the server's go.mod has relative replaces that forbid `go install …@version`.
package tools

import _ "go.etcd.io/etcd/server/v3"
