package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sockspec/sockspec/clients/resolve"
)

var resolveCmd = &command{
	name:    "resolve",
	summary: "show what getaddrinfo gives for a host and service, IPv4 and IPv6",
	usage: `Usage: sockspec resolve [--family 4|6] [--type stream|dgram] HOST [SERVICE]

Resolves HOST (a name or a numeric address) and SERVICE (a port number or a service name
such as http) as Python's socket.getaddrinfo does in seed 004, and prints one line per result:
its address family (AF_INET, AF_INET6), socket type (SOCK_STREAM, SOCK_DGRAM), protocol
(IPPROTO_TCP, IPPROTO_UDP) and socket address. Without SERVICE the port is left out.

Exit status: 0 resolved; 1 the name or service did not resolve; 2 usage error.`,
}

func init() {
	resolveCmd.run = runResolve
	register(resolveCmd)
}

func runResolve(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(resolveCmd, stderr)
	var opt resolve.Options
	fs.StringVar(&opt.Family, "family", "", "only this address family: 4 or 6")
	fs.StringVar(&opt.Type, "type", "", "only this socket type: stream or dgram")
	timeout := fs.Duration("timeout", 10*time.Second, "the longest wait for the resolver")
	pos, status := parseFlags(fs, args)
	if status >= 0 {
		return status
	}
	if len(pos) < 1 || len(pos) > 2 {
		fmt.Fprintln(stderr, "sockspec resolve: want HOST [SERVICE] (see -h)")
		return exitUsage
	}
	if (opt.Family != "" && opt.Family != "4" && opt.Family != "6") || (opt.Type != "" && opt.Type != "stream" && opt.Type != "dgram") {
		fmt.Fprintln(stderr, "sockspec resolve: want --family 4 or 6 and --type stream or dgram")
		return exitUsage
	}
	service := ""
	if len(pos) == 2 {
		service = pos[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	infos, err := resolve.Lookup(ctx, nil, pos[0], service, opt)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec resolve: %s\n", oneLine(err.Error()))
		return exitFail
	}
	resolve.Write(stdout, infos)
	return exitOK
}
