package scenarios

// lookup: the address book of seed 002. A request is a name, the reply that person's office.
// Requests go out as the seed's client sends them, the name alone with no newline, and the
// client waits; a reply is compared with its surrounding white space trimmed (a newline after
// the office is framing, not content).

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/profile"
)

func init() {
	add(engine.Suite{Protocol: "lookup", Probe: lookupProbe, Specs: lookupSpecs})
}

// lookupEntry is one line of the address book.
type lookupEntry struct{ name, office string }

// lookupProfile is the lookup knobs a spec needs.
type lookupProfile struct {
	many    bool          // per_connection=many: several requests on one connection
	unknown string        // the reply to a name that is not in the directory
	entries []lookupEntry // the directory, in a fixed order
	absent  string        // a name that is not in the directory
}

// lookupSeedDirectory is seed 002's address book, in the seed's order.
var lookupSeedDirectory = []lookupEntry{{"JOHN", "C45"}, {"DENISE", "C44"}, {"PHOEBE", "D52"}, {"ADAM", "B23"}}

// lookupMaxDirectory bounds the directory file read from the profile.
const lookupMaxDirectory = 1 << 20

func lookupProfileOf(p profile.Profile) (lookupProfile, error) {
	lp := lookupProfile{many: p.Get("per_connection") != "one", unknown: p.Get("unknown"), entries: lookupSeedDirectory}
	if lp.unknown == "" {
		lp.unknown = "UNKNOWN"
	}
	if path := p.Get("directory"); path != "" {
		entries, err := lookupReadDirectory(path)
		if err != nil {
			return lp, fmt.Errorf("knob directory=%q: %v", path, err)
		}
		lp.entries = entries
	}
	taken := map[string]bool{}
	for _, e := range lp.entries {
		taken[strings.ToUpper(e.name)] = true
	}
	lp.absent = "NOBODY"
	for i := 2; taken[lp.absent]; i++ {
		lp.absent = fmt.Sprintf("NOBODY%d", i)
	}
	return lp, nil
}

// lookupReadDirectory reads a JSON object {"name": "office"} or CSV lines name,office (an
// optional name,office header, # comments), sorted by name.
func lookupReadDirectory(path string) ([]lookupEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, lookupMaxDirectory+1))
	if err != nil {
		return nil, err
	}
	if len(data) > lookupMaxDirectory {
		return nil, fmt.Errorf("larger than %d bytes", lookupMaxDirectory)
	}
	var entries []lookupEntry
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".json" || ext != ".csv" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("not a JSON object of name -> office strings: %v", err)
		}
		for name, office := range m {
			entries = append(entries, lookupEntry{strings.TrimSpace(name), strings.TrimSpace(office)})
		}
	} else {
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord, r.Comment, r.TrimLeadingSpace = 2, '#', true
		for first := true; ; first = false {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("want CSV lines of name,office: %v", err)
			}
			if first && strings.EqualFold(rec[0], "name") && strings.EqualFold(strings.TrimSpace(rec[1]), "office") {
				continue
			}
			entries = append(entries, lookupEntry{strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])})
		}
	}
	for _, e := range entries {
		if e.name == "" || e.office == "" {
			return nil, fmt.Errorf("an entry with an empty name or office (%q, %q)", e.name, e.office)
		}
	}
	if len(entries) == 0 {
		return nil, errors.New("no entries")
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

// lookupProbe is the plain valid request of GEN-ALIVE-1: one known name gets a reply.
func lookupProbe(ctx context.Context, env *engine.Env, addr string) error {
	lp, err := lookupProfileOf(env.Profile)
	if err != nil {
		return err
	}
	c, err := peer.Dial(ctx, addr, peer.Name("probe"), peer.ReadLimit(64<<10))
	if err != nil {
		return err
	}
	defer c.Close()
	name := lp.entries[0].name
	if err := c.Send(peer.Whole{}, []byte(name)); err != nil {
		return err
	}
	if err := c.WaitFor(env.Scale(2*time.Second), func(b []byte) bool { return len(bytes.TrimSpace(b)) > 0 }); err != nil {
		return fmt.Errorf("no reply to the name %q: %v", name, err)
	}
	return nil
}

// lookupRun is the clients of one lookup spec.
type lookupRun struct {
	t     *engine.T
	lp    lookupProfile
	mu    sync.Mutex
	conns []*peer.Conn
	dials int
}

func newLookupRun(t *engine.T) *lookupRun {
	lp, err := lookupProfileOf(t.Env.Profile)
	if err != nil {
		t.Fail(engine.Failure{Expected: "a valid lookup profile", Got: err.Error()})
	}
	return &lookupRun{t: t, lp: lp}
}

// dial connects a new client, named A, B, C, ... in transcripts.
func (r *lookupRun) dial() (*peer.Conn, error) {
	r.mu.Lock()
	name := string(rune('A' + r.dials%26))
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

// mustDial connects or fails the spec.
func (r *lookupRun) mustDial() *peer.Conn {
	c, err := r.dial()
	if err != nil {
		r.t.Fail(engine.Failure{Expected: "to connect to the server", Got: err.Error(), Transcript: r.transcript(),
			Hint: "The server no longer accepts connections: did an earlier request end it?"})
	}
	return c
}

func (r *lookupRun) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
}

func (r *lookupRun) transcript() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ts := make([]peer.Transcript, 0, len(r.conns))
	for _, c := range r.conns {
		ts = append(ts, c.Transcript())
	}
	return peer.Merge(ts...).String()
}

// ask sends req and waits (2 s, scaled) for a reply that, white space trimmed, is want. It
// returns early when the reply can no longer become want (other bytes, or a complete line)
// or the connection ends, and consumes what it returns.
func (r *lookupRun) ask(c *peer.Conn, req, want string) (reply string, err error) {
	if err := c.Send(peer.Whole{}, []byte(req)); err != nil {
		return "", err
	}
	err = c.WaitFor(r.t.Scale(2*time.Second), func(b []byte) bool {
		got := bytes.TrimSpace(b)
		if len(got) == 0 {
			return false
		}
		lineDone := bytes.IndexByte(bytes.TrimLeft(b, " \t\r\n"), '\n') >= 0
		return string(got) == want || !strings.HasPrefix(want, string(got)) || lineDone
	})
	got := c.Received()
	c.Consume(len(got))
	reply = string(bytes.TrimSpace(got))
	if err == nil && reply != want {
		err = errors.New("a different reply")
	}
	return reply, err
}

// lookupTimedOut reports whether a wait ran out of time (rather than the connection ending).
func lookupTimedOut(err error) bool {
	var we *peer.WaitError
	return errors.As(err, &we) && we.TimedOut
}

// gotReply describes a reply (or its absence) for a failure message.
func (r *lookupRun) gotReply(reply string, err error) string {
	switch {
	case reply != "":
		return fmt.Sprintf("the reply %q", reply)
	case lookupTimedOut(err):
		return "no reply within 2 s; the connection stayed open"
	case err != nil:
		return "no reply: " + err.Error()
	}
	return "an empty reply"
}

// hint names the classic cause of a wrong answer to a known name.
func (r *lookupRun) hint(reply string, err error) string {
	switch {
	case reply == r.lp.unknown || reply == "UNKNOWN":
		return "The server did not find the name. Look at the key you look up: strip the newline and spaces " +
			"(data.strip()), upper-case it (.upper()), and do not cut the last character with data[:-1]: the " +
			"seed's client sends the name with no newline at all."
	case reply != "":
		return "The reply is not the office. Send back the office text only (a newline after it is fine)."
	case lookupTimedOut(err):
		return "Nothing came back. The seed's client sends the name with no newline and then waits: a server " +
			"that reads until '\\n' (readline(), makefile()) never answers it. Answer what recv() returned. " +
			"A server busy with another client (one client at a time) also looks like this."
	}
	return "The server closed the connection without a reply. In Python that is usually an exception in " +
		"the handler, such as addresses[key] raising KeyError: use addresses.get(key, 'UNKNOWN') and keep " +
		"the handler going."
}

// expectOffice asks req on c and fails the spec unless the reply is want.
func (r *lookupRun) expectOffice(c *peer.Conn, req, want, context string) {
	reply, err := r.ask(c, req, want)
	if err != nil {
		r.t.Fail(engine.Failure{
			Expected:   fmt.Sprintf("the office %q for the request %q%s", want, req, context),
			Got:        r.gotReply(reply, err),
			Hint:       r.hint(reply, err),
			Transcript: r.transcript(),
		})
	}
}

// caseVariants returns name in lower case, capitalised and upper case (distinct ones).
func caseVariants(name string) []string {
	lower := strings.ToLower(name)
	title := lower
	if r, size := utf8.DecodeRuneInString(lower); size > 0 {
		title = string(unicode.ToUpper(r)) + lower[size:]
	}
	var out []string
	for _, v := range []string{lower, title, strings.ToUpper(name)} {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func lookupSpecs(env *engine.Env) {
	env.It("LOOK-RESP-1", must, "each known name, sent as written in the directory, gets its office", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		for _, e := range r.lp.entries[:min(len(r.lp.entries), 8)] {
			c := r.mustDial()
			r.expectOffice(c, e.name, e.office, "")
			c.Close()
		}
	})

	env.It("LOOK-CASE-1", must, "a name in lower case, capitalised and upper case gets the same office", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		e := r.lp.entries[0]
		for _, v := range caseVariants(e.name) {
			c := r.mustDial()
			reply, err := r.ask(c, v, e.office)
			if err != nil {
				hint := r.hint(reply, err)
				if reply == r.lp.unknown {
					hint = "Names are case-insensitive: upper-case the request before you look it up " +
						"(key = data.strip().upper()), and keep the directory's keys in upper case."
				}
				t.Fail(engine.Failure{
					Expected:   fmt.Sprintf("%q to get %q, as %q does (names are case-insensitive)", v, e.office, e.name),
					Got:        r.gotReply(reply, err),
					Hint:       hint,
					Transcript: r.transcript(),
				})
			}
			c.Close()
		}
	})

	env.It("LOOK-WS-1", should, "a trailing newline or trailing spaces (as nc sends) are ignored", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		for i, suffix := range []string{"\n", "   ", "\r\n"} {
			e := r.lp.entries[i%len(r.lp.entries)]
			c := r.mustDial()
			reply, err := r.ask(c, e.name+suffix, e.office)
			if err != nil {
				t.Fail(engine.Failure{
					Expected: fmt.Sprintf("%q to get %q: white space after a name is not part of it", e.name+suffix, e.office),
					Got:      r.gotReply(reply, err),
					Hint: "nc and telnet send the name with a newline (\\r\\n from telnet). Strip the request " +
						"before the lookup: key = data.decode().strip().upper().",
					Transcript: r.transcript(),
				})
			}
			c.Close()
		}
	})

	env.It("LOOK-UNK-1", should, "an unknown name gets the profile's unknown reply, not a silent close", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		c := r.mustDial()
		// No other connection is opened while this one waits: a dead handler's socket may
		// stay open until the next accept (PROTOCOLS.md).
		reply, err := r.ask(c, r.lp.absent, r.lp.unknown)
		if err == nil {
			return
		}
		f := engine.Failure{
			Expected:   fmt.Sprintf("the reply %q to the unknown name %q", r.lp.unknown, r.lp.absent),
			Got:        r.gotReply(reply, err),
			Transcript: r.transcript(),
		}
		switch {
		case reply != "":
			f.Hint = fmt.Sprintf("Your server has its own reply for unknown names. If that is intended, tell the "+
				"checker: --set unknown=%q.", reply)
		case lookupTimedOut(err):
			f.Hint = "No reply and no close: the handler probably died on the unknown name (a KeyError in a " +
				"thread) and left the socket open, so the client waits forever. Use addresses.get(key, 'UNKNOWN')."
		default:
			f.Hint = "The server closed the connection without a word: addresses[key] raised KeyError and the " +
				"handler ended. Reply with a text for unknown names instead: addresses.get(key, 'UNKNOWN')."
		}
		t.Fail(f)
	})

	env.It("LOOK-UNK-1", must, "after an unknown name, the server goes on serving others", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		a := r.mustDial()
		r.ask(a, r.lp.absent, r.lp.unknown) // any outcome: this spec judges what follows
		a.Close()
		e := r.lp.entries[0]
		b, err := r.dial()
		if err != nil {
			t.Fail(engine.Failure{
				Expected:   fmt.Sprintf("a new client to be served after one asked for the unknown name %q", r.lp.absent),
				Got:        "the server no longer accepts connections: " + err.Error(),
				Hint:       lookupCrashHint,
				Transcript: r.transcript(),
			})
		}
		// Served means answered; whether the answer is right is LOOK-RESP-1's business.
		if reply, err := r.ask(b, e.name, e.office); reply == "" {
			t.Fail(engine.Failure{
				Expected:   fmt.Sprintf("a reply to %q after another client asked for the unknown name %q", e.name, r.lp.absent),
				Got:        r.gotReply(reply, err),
				Hint:       lookupCrashHint,
				Transcript: r.transcript(),
			})
		}
	})

	env.It("LOOK-MULTI-1", must, "several requests on one connection are each answered", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		if !r.lp.many {
			t.Skip("the profile answers one request per connection (per_connection=one)")
		}
		c := r.mustDial()
		n := min(len(r.lp.entries), 4)
		reqs := append(append([]lookupEntry(nil), r.lp.entries[:n]...), r.lp.entries[0])
		for i, e := range reqs {
			reply, err := r.ask(c, e.name, e.office)
			if reply != "" {
				continue // answered; whether rightly is LOOK-RESP-1's business
			}
			hint := r.hint(reply, err)
			if i > 0 {
				hint = "The server answered the first request and then stopped: read in a loop (while True: data = " +
					"recv(1024); if not data: break; ...) until the client closes. If your server is meant to " +
					"answer one request per connection, as the socketserver version does, check it with " +
					"--set per_connection=one (profile socketserver)."
			}
			t.Fail(engine.Failure{
				Expected:   fmt.Sprintf("request %d of %d on the same connection, %q, to be answered", i+1, len(reqs), e.name),
				Got:        r.gotReply(reply, err),
				Hint:       hint,
				Transcript: r.transcript(),
			})
		}
	})

	env.It("LOOK-CONC-1", should, "a client that stays connected does not stop a second one being served", func(t *engine.T) {
		r := newLookupRun(t)
		defer r.closeAll()
		a := r.mustDial()
		if r.lp.many {
			// A is being served: its request is answered, and it stays connected.
			r.ask(a, r.lp.entries[0].name, r.lp.entries[0].office)
		} // per_connection=one: A stays connected without a word (a request would end it)
		e := r.lp.entries[len(r.lp.entries)-1]
		b := r.mustDial()
		if reply, err := r.ask(b, e.name, e.office); reply == "" {
			t.Fail(engine.Failure{
				Expected:   fmt.Sprintf("B's request %q to be answered within 2 s while A stays connected", e.name),
				Got:        r.gotReply(reply, err),
				Hint:       "One client at a time: while A is connected, your server waits in A's recv() and nobody else is served. Serve each client in its own thread (threading.Thread, or socketserver.ThreadingTCPServer instead of TCPServer).",
				Transcript: r.transcript(),
			})
		}
	})

	generalSpecs(env, lookupActivity)
}

const lookupCrashHint = "The unknown name took the server down. In the seed's server, addresses[key] raises " +
	"KeyError, the exception leaves the accept loop and the program ends. Look names up with " +
	"addresses.get(key, 'UNKNOWN'), and catch errors per client."

// lookupActivity is the client traffic of GEN-IDLE-1 and GEN-LEAK-1: clients ask and leave in
// every way (FIN, RST, half-close, connect-and-close), concurrently.
func lookupActivity(t *engine.T) {
	r := newLookupRun(t)
	defer r.closeAll()
	var conns []*peer.Conn
	for range 4 {
		if c, err := r.dial(); err == nil {
			conns = append(conns, c)
		}
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		e := r.lp.entries[i%len(r.lp.entries)]
		wg.Go(func() {
			switch i {
			case 0:
				r.ask(c, e.name, e.office)
				c.Close()
			case 1:
				r.ask(c, e.name, e.office)
				c.Reset()
			case 2:
				r.ask(c, e.name, e.office)
				c.HalfClose()
				c.WaitEOF(t.Scale(500 * time.Millisecond)) // not judged here: CPU and descriptors are
				c.Close()
			default:
				c.Close() // connects and leaves without a word
			}
		})
	}
	wg.Wait()
}
