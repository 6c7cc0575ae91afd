// The etcd server binary: etcd's own entry point, built from its published server module
// because the repository root that holds etcd's main package is not a module one can require.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
