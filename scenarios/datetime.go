package scenarios

// datetime: the date-and-time exercise of seed 002. One request per connection, sent as the
// exercise's client sends it (the option alone, no newline); the reply is judged against the
// checker's own clock, within 2 s. A trailing newline after a reply is accepted as framing.

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/wire"
)

func init() {
	add(engine.Suite{Protocol: "datetime", Probe: dtProbe, Specs: dtSpecs})
}

// dtTolerance is how far a reported time may be from the checker's clock (PROTOCOLS.md).
const dtTolerance = 2 * time.Second

// Reply layouts (Go reference time), as Python's date, time and datetime print.
const (
	dtDateLayout     = "2006-01-02"
	dtTimeLayout     = "15:04:05"
	dtDateTimeLayout = "2006-01-02 15:04:05" // Go parses an optional fraction after the seconds
	dtUnknownPrefix  = "UNKNOWN OPTION: "
)

var (
	dtDateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	dtTimeRe = regexp.MustCompile(`^\d{2}:\d{2}:\d{2}$`)
	// Python's str(datetime) leaves the fraction out when the microseconds are zero.
	dtDateTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?$`)
)

// dtWindow is when a correct clock reading may lie: from the request, less the tolerance, to
// the reply, plus it. Readings are the checker's local time.
type dtWindow struct{ lo, hi time.Time }

func dtWindowOf(sent, got time.Time) dtWindow {
	return dtWindow{lo: sent.Add(-dtTolerance), hi: got.Add(dtTolerance)}
}

// date reports whether s (YYYY-MM-DD) is the local date at some moment of the window.
func (w dtWindow) date(s string) bool {
	return s == w.lo.Format(dtDateLayout) || s == w.hi.Format(dtDateLayout)
}

// clock reports whether s (HH:MM:SS, truncated to the second) is a local time of day within
// the window.
func (w dtWindow) clock(s string) bool {
	tod, err := time.Parse(dtTimeLayout, s)
	if err != nil {
		return false
	}
	for _, day := range []time.Time{w.lo, w.hi} {
		y, m, d := day.Date()
		at := time.Date(y, m, d, tod.Hour(), tod.Minute(), tod.Second(), 0, time.Local)
		if !at.Before(w.lo.Truncate(time.Second)) && !at.After(w.hi) {
			return true
		}
	}
	return false
}

// dateTime reports whether s (YYYY-MM-DD HH:MM:SS[.ffffff]) is a local time within the window.
func (w dtWindow) dateTime(s string) bool {
	at, err := time.ParseInLocation(dtDateTimeLayout, s, time.Local)
	return err == nil && !at.Before(w.lo) && !at.After(w.hi)
}

// now describes the checker's clock over the window, for failure messages.
func (w dtWindow) now() string {
	mid := w.lo.Add(w.hi.Sub(w.lo) / 2)
	return mid.Format("2006-01-02 15:04:05 MST")
}

// dtExchange is one connection of a datetime spec: a request and what came back.
type dtExchange struct {
	conn      *peer.Conn
	req       string
	reply     string // received, trailing newline removed
	sent, got time.Time
	err       error // nil: a complete reply; else why the wait ended (closed, timed out)
}

// dtRun is the clients of one datetime spec.
type dtRun struct {
	t     *engine.T
	mu    sync.Mutex
	conns []*peer.Conn
	dials int
}

func (r *dtRun) dial() (*peer.Conn, error) {
	r.mu.Lock()
	name := fmt.Sprintf("%c%d", 'A'+r.dials%26, r.dials/26)
	if r.dials < 26 {
		name = name[:1]
	}
	r.dials++
	r.mu.Unlock()
	c, err := peer.Dial(r.t, r.t.Addr(), peer.Name(name), peer.ReadLimit(64<<10))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.conns = append(r.conns, c)
	r.mu.Unlock()
	return c, nil
}

func (r *dtRun) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
}

func (r *dtRun) transcript() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := make([]peer.Transcript, 0, len(r.conns))
	for _, c := range r.conns {
		ts = append(ts, c.Transcript())
	}
	return peer.Merge(ts...).String()
}

// dtTrim removes the newline a server may put after its reply.
func dtTrim(b []byte) []byte { return bytes.TrimRight(b, "\r\n") }

// ask sends req on a new connection and waits (2 s, scaled) until the reply is complete (the
// server closes, or the bytes satisfy complete), then briefly for the close, so that a reply
// sent in pieces is judged whole.
func (r *dtRun) ask(req string, complete func(reply []byte) bool) dtExchange {
	x := dtExchange{req: req}
	c, err := r.dial()
	if err != nil {
		x.err = err
		return x
	}
	x.conn = c
	x.sent = time.Now()
	if err := c.Send(peer.Whole{}, []byte(req)); err != nil {
		x.err = err
		return x
	}
	x.err = c.WaitFor(r.t.Scale(2*time.Second), func(b []byte) bool { return complete(dtTrim(b)) })
	x.got = time.Now()
	if x.err == nil {
		c.WaitEOF(r.t.Scale(500 * time.Millisecond)) // a correct server closes now; judge either way
	}
	x.reply = string(dtTrim(c.Received()))
	if x.err != nil && !lookupTimedOut(x.err) && x.reply != "" {
		x.err = nil // the server replied and closed: the reply is complete
	}
	return x
}

// dtMatches returns a completion test: the reply matches re.
func dtMatches(re *regexp.Regexp) func([]byte) bool {
	return func(b []byte) bool { return re.Match(b) }
}

// gotText describes what came back, for failure messages.
func (x dtExchange) gotText() string {
	switch {
	case x.reply != "":
		return fmt.Sprintf("%q", x.reply)
	case x.conn == nil:
		return "no connection: " + x.err.Error()
	case lookupTimedOut(x.err):
		return "no reply within 2 s; the connection stayed open"
	case x.err != nil:
		return "no reply, the server closed the connection (" + x.err.Error() + ")"
	}
	return "an empty reply"
}

// noReplyHint names the classic causes of a missing reply.
func (x dtExchange) noReplyHint() string {
	if lookupTimedOut(x.err) {
		return "Nothing came back. The exercise's client sends the option with no newline and then waits: a " +
			"server that reads until '\\n' (readline()) never answers it. Answer what one recv() returned."
	}
	return "The server closed the connection without answering: an exception in the handler? Compare the " +
		"request after .strip(): the exercise's client sends no newline, nc and telnet send one."
}

// dtOption checks one of the three options: form (re) and currency (current).
func dtOption(t *engine.T, req, form string, re *regexp.Regexp, current func(dtWindow, string) bool, formHint, staleHint string) {
	r := &dtRun{t: t}
	defer r.closeAll()
	x := r.ask(req, dtMatches(re))
	w := dtWindowOf(x.sent, x.got)
	switch {
	case x.reply == "":
		t.Fail(engine.Failure{Expected: fmt.Sprintf("a reply %s to %q", form, req), Got: x.gotText(),
			Hint: x.noReplyHint(), Transcript: r.transcript()})
	case !re.MatchString(x.reply):
		t.Fail(engine.Failure{Expected: fmt.Sprintf("a reply %s to %q", form, req), Got: x.gotText(),
			Hint: formHint, Transcript: r.transcript()})
	case !current(w, x.reply):
		t.Fail(engine.Failure{
			Expected:   fmt.Sprintf("the current local %s, within 2 s of the checker's clock (%s)", form, w.now()),
			Got:        x.gotText(),
			Hint:       staleHint,
			Transcript: r.transcript(),
		})
	}
}

const dtStaleHint = "The value is not the current local time. Compute it for each request (datetime.now() inside " +
	"the handler, not once at start-up), in the server's local time zone, on a 24-hour clock (%H, not %I)."

func dtSpecs(env *engine.Env) {
	env.It("DT-DATE-1", must, "Date gets today's date as YYYY-MM-DD", func(t *engine.T) {
		dtOption(t, "Date", "YYYY-MM-DD", dtDateRe, dtWindow.date,
			"Send the date as YYYY-MM-DD and nothing else: str(date.today()) or strftime('%Y-%m-%d') (four-digit "+
				"year, then month, then day, zero-padded).", dtStaleHint)
	})

	env.It("DT-TIME-1", must, "Time gets the current time as HH:MM:SS", func(t *engine.T) {
		dtOption(t, "Time", "HH:MM:SS", dtTimeRe, dtWindow.clock,
			"Send the time as HH:MM:SS: strftime('%H:%M:%S'). str(datetime.now().time()) adds the microseconds.",
			dtStaleHint)
	})

	env.It("DT-DT-1", must, "Date and Time gets the current YYYY-MM-DD HH:MM:SS.ffffff", func(t *engine.T) {
		dtOption(t, "Date and Time", "YYYY-MM-DD HH:MM:SS.ffffff", dtDateTimeRe, dtWindow.dateTime,
			"Send str(datetime.now()): the date, one space, the time with microseconds. isoformat() puts a 'T' "+
				"between date and time.", dtStaleHint)
	})

	env.It("DT-DT-2", should, "DateAndTime is answered as Date and Time is", func(t *engine.T) {
		// Accepted means answered like the third option; whether that answer is right is
		// DT-DT-1's business, so the two replies are compared by shape (digits aside).
		r := &dtRun{t: t}
		defer r.closeAll()
		third := r.ask("Date and Time", dtMatches(dtDateTimeRe))
		x := r.ask("DateAndTime", dtMatches(dtDateTimeRe))
		if x.reply != "" && !strings.HasPrefix(x.reply, dtUnknownPrefix) && dtShape(x.reply) == dtShape(third.reply) {
			return
		}
		hint := "The exercise's own example sends DateAndTime: accept it as well as 'Date and Time'."
		if x.reply == "" {
			hint = x.noReplyHint()
		}
		t.Fail(engine.Failure{
			Expected:   fmt.Sprintf("\"DateAndTime\" to be answered as \"Date and Time\" is (%s)", third.gotText()),
			Got:        x.gotText(),
			Hint:       hint,
			Transcript: r.transcript(),
		})
	})

	env.It("DT-UNK-1", must, "any other request gets exactly UNKNOWN OPTION: and the request upper-cased", func(t *engine.T) {
		r := &dtRun{t: t}
		defer r.closeAll()
		for _, req := range []string{"Tomorrow", "what day is it?"} {
			want := dtUnknownPrefix + string(wire.Upper(wire.Unicode, []byte(req)))
			x := r.ask(req, func(b []byte) bool { return string(b) == want || !strings.HasPrefix(want, string(b)) })
			if x.reply == want {
				continue
			}
			hint := "Build the reply as 'UNKNOWN OPTION: ' + request.upper(): the words, a colon, one space, then " +
				"the request (stripped of its newline) in upper case."
			if x.reply == "" {
				hint = x.noReplyHint()
			}
			t.Fail(engine.Failure{Expected: fmt.Sprintf("exactly %q for the request %q", want, req), Got: x.gotText(),
				Hint: hint, Transcript: r.transcript()})
		}
	})

	env.It("DT-CONC-1", should, "20 concurrent clients are all answered while another has yet to send", func(t *engine.T) {
		r := &dtRun{t: t}
		defer r.closeAll()
		// A connects first and sends its request only at the end, as a person typing would.
		a, err := r.dial()
		if err != nil {
			t.Fail(engine.Failure{Expected: "a connection", Got: err.Error()})
		}
		options := []string{"Date", "Time", "Date and Time"}
		const n = 20
		results := make([]dtExchange, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i] = r.ask(options[i%3], func(b []byte) bool { return len(b) >= len("00:00:00") })
			})
		}
		wg.Wait()
		unanswered := 0
		var first dtExchange
		for _, x := range results {
			if x.reply == "" {
				if unanswered == 0 {
					first = x
				}
				unanswered++
			}
		}
		if unanswered > 0 {
			t.Fail(engine.Failure{
				Expected: fmt.Sprintf("all %d concurrent clients to be answered within 2 s while client A, connected first, had not sent yet", n),
				Got:      fmt.Sprintf("%d of %d had no reply; the first: %s", unanswered, n, first.gotText()),
				Hint: "One client at a time: your server waits in recv() for the client it accepted first, and " +
					"nobody else is answered until that one is done. Serve each client in its own thread " +
					"(threading.Thread, or socketserver.ThreadingTCPServer).",
				Transcript: dtTranscript(a, first.conn),
			})
		}
		// A's turn: it is answered too.
		if err := a.Send(peer.Whole{}, []byte("Date")); err == nil {
			err = a.WaitFor(t.Scale(2*time.Second), func(b []byte) bool { return len(b) >= len(dtDateLayout) })
			if err != nil {
				t.Fail(engine.Failure{Expected: "client A, which connected first and sent last, to be answered too",
					Got: err.Error(), Transcript: r.transcript()})
			}
		}
	})

	generalSpecs(env, dtActivity)
}

// dtShape is s with every digit replaced by 0: two readings of the clock have one shape.
func dtShape(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '0'
		}
		return r
	}, s)
}

// dtTranscript merges the transcripts of some connections (nil ones left out).
func dtTranscript(conns ...*peer.Conn) string {
	var ts []peer.Transcript
	for _, c := range conns {
		if c != nil {
			ts = append(ts, c.Transcript())
		}
	}
	return peer.Merge(ts...).String()
}

// dtProbe is the plain valid request of GEN-ALIVE-1: Date gets a reply.
func dtProbe(ctx context.Context, env *engine.Env, addr string) error {
	c, err := peer.Dial(ctx, addr, peer.Name("probe"), peer.ReadLimit(64<<10))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Send(peer.Whole{}, []byte("Date")); err != nil {
		return err
	}
	if err := c.WaitFor(env.Scale(2*time.Second), func(b []byte) bool { return len(bytes.TrimSpace(b)) > 0 }); err != nil {
		return fmt.Errorf("no reply to \"Date\": %v", err)
	}
	return nil
}

// dtActivity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1: clients ask and leave in
// every way (FIN after the reply, RST before it, half-close, connect-and-close), concurrently.
func dtActivity(t *engine.T) {
	r := &dtRun{t: t}
	defer r.closeAll()
	var conns []*peer.Conn
	for range 4 {
		if c, err := r.dial(); err == nil {
			conns = append(conns, c)
		}
	}
	wait := t.Scale(500 * time.Millisecond) // not judged here: CPU and descriptors are
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			switch i {
			case 0:
				c.Send(peer.Whole{}, []byte("Date"))
				c.WaitFor(wait, func(b []byte) bool { return len(b) > 0 })
				c.Close()
			case 1:
				c.Send(peer.Whole{}, []byte("Time"))
				c.Reset()
			case 2:
				c.Send(peer.Whole{}, []byte("Date and Time"))
				c.HalfClose()
				c.WaitEOF(wait)
				c.Close()
			default:
				c.Close() // connects and leaves without a word
			}
		})
	}
	wg.Wait()
}
