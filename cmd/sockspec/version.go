package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise the module's.
var version = ""

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return v
}

func init() {
	register(&command{
		name:    "version",
		summary: "print sockspec's version",
		usage:   "Usage: sockspec version",
		run: func(args []string, stdout, stderr io.Writer) int {
			fmt.Fprintf(stdout, "sockspec %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return exitOK
		},
	})
}
