package faulty

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
)

// LookupBugs lists the broken lookup servers, by name, with the bug each carries.
var LookupBugs = map[string]string{
	"chops-last-char":   "strips the newline with data[:-1], which eats the last letter of a name sent without one",
	"waits-for-newline": "reads the request with readline(), so a name sent without a newline is never answered",
	"case-sensitive":    "looks the name up as sent, without upper-casing it",
	"no-strip":          "looks the name up with its trailing newline and spaces",
	"keyerror-exits":    "raises KeyError on an unknown name, which ends the whole server (seed 002's first server)",
	"keyerror-closes":   "closes the connection without a reply on an unknown name, and serves on (socketserver)",
	"keyerror-hangs":    "the handler dies on an unknown name and leaves the connection open",
	"one-recv":          "answers one recv() per connection, then closes (the socketserver version)",
	"sequential":        "serves one client at a time, until that client leaves",
	"busy-loop":         "spins on the empty recv() of a departed client instead of closing it",
	"keeps-departed":    "never closes the socket of a client that left",
	"crashes-non-utf8":  "decodes requests as UTF-8 without a guard: bytes that are not UTF-8 end the whole server",
}

// lookupDirectory is seed 002's address book.
var lookupDirectory = map[string]string{"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}

// Lookup is a seed-style lookup server (one recv() is one request, the office sent back with
// no newline, UNKNOWN for a name not found) carrying one bug.
type Lookup struct {
	Bug string
}

// NewLookup returns the broken lookup server, or an error for an unknown bug.
func NewLookup(bug string) (*Lookup, error) {
	if _, ok := LookupBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty lookup server %q", bug)
	}
	return &Lookup{Bug: bug}, nil
}

// Serve implements kit.Server.
func (s *Lookup) Serve(ctx context.Context, l kit.Listener) error {
	ctx, stop := context.WithCancel(ctx) // stop: the whole server ends, as an uncaught exception would
	defer stop()
	model := kit.Model{Kind: "per-conn"}
	if s.Bug == "sequential" {
		model.Kind = "sequential"
	}
	return kit.ServeTCP(ctx, l.Stream, model, kit.Discard(), func(ctx context.Context, conn net.Conn) {
		s.handle(ctx, conn, stop)
	})
}

func (s *Lookup) handle(ctx context.Context, conn net.Conn, stop context.CancelFunc) {
	if s.Bug == "waits-for-newline" {
		s.handleLines(conn)
		return
	}
	buf := make([]byte, 1024)
	for {
		n, err := conn.Read(buf) // one recv() is taken to be one whole request
		if n == 0 || err != nil {
			switch s.Bug {
			case "busy-loop":
				for ctx.Err() == nil { // the bug: recv() returns b'' at once, forever
					conn.Read(buf)
				}
			case "keeps-departed":
				<-ctx.Done() // the bug: the socket is never closed
			}
			return
		}
		data := buf[:n]
		if s.Bug == "crashes-non-utf8" && !utf8.Valid(data) {
			stop() // UnicodeDecodeError, uncaught
			return
		}
		var key string
		switch s.Bug {
		case "chops-last-char":
			key = strings.ToUpper(string(data[:n-1]))
		case "case-sensitive":
			key = strings.TrimSpace(string(data))
		case "no-strip":
			key = strings.ToUpper(string(data))
		default:
			key = strings.ToUpper(strings.TrimSpace(string(data)))
		}
		office, ok := lookupDirectory[key]
		if !ok {
			switch s.Bug {
			case "keyerror-exits":
				stop()
				return
			case "keyerror-closes":
				return
			case "keyerror-hangs":
				<-ctx.Done()
				return
			}
			office = "UNKNOWN"
		}
		if _, err := conn.Write([]byte(office)); err != nil {
			return
		}
		if s.Bug == "one-recv" {
			return
		}
	}
}

// handleLines answers newline-terminated requests only.
func (s *Lookup) handleLines(conn net.Conn) {
	br := bufio.NewReaderSize(conn, 1024)
	for {
		line, err := br.ReadSlice('\n') // bounded: a longer line ends the connection
		if err != nil {
			return
		}
		office, ok := lookupDirectory[strings.ToUpper(strings.TrimSpace(string(line)))]
		if !ok {
			office = "UNKNOWN"
		}
		if _, err := conn.Write([]byte(office + "\n")); err != nil {
			return
		}
	}
}
