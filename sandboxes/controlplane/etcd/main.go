// Command etcd is the upstream etcd server, built from the Go module proxy at the version
// pinned in ../versions.json. etcd's own module carries replace directives, so it cannot be
// `go install`ed directly; this wrapper is the documented way around that.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
