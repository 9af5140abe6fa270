package faulty

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
)

// DatetimeBugs lists the broken datetime servers, by name, with the bug each carries.
var DatetimeBugs = map[string]string{
	"date-european":          "answers Date as DD-MM-YYYY",
	"time-with-microseconds": "answers Time with str(datetime.now().time()), microseconds included",
	"isoformat":              "answers Date and Time with isoformat(): a T between date and time",
	"hour-off":               "uses a clock an hour off the local time (another time zone)",
	"no-dateandtime":         "does not accept DateAndTime",
	"unknown-as-sent":        "forgets to upper-case the request in the unknown-option reply",
	"sequential":             "serves one client at a time: a client that has not sent yet blocks everyone",
	"busy-loop":              "after replying, keeps calling recv() and spins on its empty reads once the client has gone",
	"keeps-departed":         "never closes a connection",
	"crashes-non-utf8":       "decodes the request as UTF-8 without a guard: bytes that are not UTF-8 end the whole server",
}

// Datetime is an exercise-style date-and-time server (one recv() is the request, one reply,
// close) carrying one bug.
type Datetime struct {
	Bug string
}

// NewDatetime returns the broken datetime server, or an error for an unknown bug.
func NewDatetime(bug string) (*Datetime, error) {
	if _, ok := DatetimeBugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty datetime server %q", bug)
	}
	return &Datetime{Bug: bug}, nil
}

// Serve implements kit.Server.
func (s *Datetime) Serve(ctx context.Context, l kit.Listener) error {
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

func (s *Datetime) handle(ctx context.Context, conn net.Conn, stop context.CancelFunc) {
	buf := make([]byte, 1024)
	n, err := conn.Read(buf) // one recv() is taken to be the whole request
	if s.Bug == "keeps-departed" {
		defer func() { <-ctx.Done() }() // the bug: the socket is never closed
	}
	if n == 0 || err != nil {
		return
	}
	if s.Bug == "crashes-non-utf8" && !utf8.Valid(buf[:n]) {
		stop() // UnicodeDecodeError, uncaught
		return
	}
	if _, err := conn.Write([]byte(s.answer(strings.TrimSpace(string(buf[:n]))))); err != nil {
		return
	}
	if s.Bug == "busy-loop" {
		for ctx.Err() == nil { // the bug: once the client has gone, recv() returns b'' at once, forever
			conn.Read(buf)
		}
	}
}

func (s *Datetime) answer(req string) string {
	now := time.Now()
	if s.Bug == "hour-off" {
		now = now.Add(-time.Hour)
	}
	switch {
	case req == "Date" && s.Bug == "date-european":
		return now.Format("02-01-2006")
	case req == "Date":
		return now.Format("2006-01-02")
	case req == "Time" && s.Bug == "time-with-microseconds":
		return now.Format("15:04:05.000000")
	case req == "Time":
		return now.Format("15:04:05")
	case req == "Date and Time" && s.Bug == "isoformat", req == "DateAndTime" && s.Bug == "isoformat":
		return now.Format("2006-01-02T15:04:05.000000")
	case req == "Date and Time", req == "DateAndTime" && s.Bug != "no-dateandtime":
		return now.Format("2006-01-02 15:04:05.000000")
	case s.Bug == "unknown-as-sent":
		return "UNKNOWN OPTION: " + req
	}
	return "UNKNOWN OPTION: " + strings.ToUpper(req)
}
