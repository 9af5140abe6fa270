package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sockspec/sockspec/clients/frame"
)

var frameCmd = &command{
	name:    "frame",
	summary: "show the bytes a framing puts on the wire, as a hex dump",
	usage: `Usage: sockspec frame header64|block32|lines [--header-size N] MESSAGE...

Encodes each MESSAGE (as UTF-8) with the framing and prints, per message, what each run of
bytes is, then a hex dump: offset, 16 bytes in hex, and the readable characters. It shows the
space padding of header64's 64-byte header, block32's length in network byte order
(big-endian), and the newline that ends a line. Offsets run on across messages, as the
frames would follow each other on one connection.

Example: sockspec frame header64 Hi '!DISCONNECT'`,
}

func init() {
	frameCmd.run = runFrame
	register(frameCmd)
}

func runFrame(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(frameCmd, stderr)
	headerSize := fs.Int("header-size", 64, "header64's header size in bytes")
	pos, status := parseFlags(fs, args)
	if status >= 0 {
		return status
	}
	if len(pos) < 2 || !slices.Contains(frame.Framings, pos[0]) {
		fmt.Fprintf(stderr, "sockspec frame: want a framing (%s) and at least one MESSAGE (see -h)\n", strings.Join(frame.Framings, ", "))
		return exitUsage
	}
	if *headerSize < 1 || *headerSize > 1024 {
		fmt.Fprintf(stderr, "sockspec frame: --header-size %d: want 1 to 1024\n", *headerSize)
		return exitUsage
	}
	frames, err := frame.Encode(pos[0], pos[1:], *headerSize)
	if err != nil {
		fmt.Fprintf(stderr, "sockspec frame: %s\n", oneLine(err.Error()))
		return exitUsage
	}
	frame.Write(stdout, pos[0], frames)
	return exitOK
}
