package oracle

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind classifies a violation. The order of the constants is the order in
// which violations are listed: framing problems first, since they make the
// rest hard to read, and the SHOULD-level total order last.
type Kind int

const (
	// Misformatted: a relay or line carries a sender's bytes but does not
	// follow the relay format.
	Misformatted Kind = iota + 1
	// Integrity (garbled): bytes that belong to no sender, a corrupted
	// relay, or a line that matches nothing.
	Integrity
	// SelfEcho: a sender received its own message back.
	SelfEcho
	// Loss: a receiver is missing a message (or bytes) it must have.
	Loss
	// Duplicate: a receiver got a message (or bytes) more than once.
	Duplicate
	// FIFO: a receiver got one sender's messages out of the order sent.
	FIFO
	// TotalOrder: two receivers saw messages of different senders in
	// different relative orders.
	TotalOrder
)

var kindNames = map[Kind]string{
	Misformatted: "misformatted",
	Integrity:    "integrity",
	SelfEcho:     "self-echo",
	Loss:         "loss",
	Duplicate:    "duplicate",
	FIFO:         "fifo",
	TotalOrder:   "total-order",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Requirement returns the PROTOCOLS.md requirement the kind violates.
func (k Kind) Requirement() string {
	switch k {
	case Misformatted, Loss:
		return "CHAT-RELAY-1"
	case SelfEcho:
		return "CHAT-RELAY-2"
	case Duplicate:
		return "CHAT-RELAY-3"
	case FIFO:
		return "CHAT-ORDER-1"
	case TotalOrder:
		return "CHAT-ORDER-2"
	case Integrity:
		return "CHAT-FRAME-1"
	}
	return ""
}

// Requirements lists every requirement the kind violates; a loss breaks both
// "reaches every client" (CHAT-RELAY-1) and "exactly once" (CHAT-RELAY-3).
func (k Kind) Requirements() []string {
	if k == Loss {
		return []string{"CHAT-RELAY-1", "CHAT-RELAY-3"}
	}
	if r := k.Requirement(); r != "" {
		return []string{r}
	}
	return nil
}

// Violation is one thing a correct server would not have done.
type Violation struct {
	Kind     Kind
	Receiver string // the client whose received bytes show the problem
	Sender   string // the client whose message is concerned; "" if unknown
	Message  int    // index into Sender's Sent; -1 if not about one message
	Offset   int    // Raw framing: byte offset into Sender's stream; else -1
	// Explanation names the clients, the message and the bytes concerned.
	Explanation string

	key [4]int // receiver, sender, position, tiebreak: for a stable order
}

// Error returns "<requirement> <kind>: <explanation>".
func (v Violation) Error() string {
	return v.Kind.Requirement() + " " + v.Kind.String() + ": " + v.Explanation
}

// ErrUnattributable means relays cannot be attributed to their senders: the
// format names no sender and the framing gives no other way to tell.
var ErrUnattributable = errors.New("relays cannot be attributed to senders")

// ErrInvalidHistory means the history breaks a precondition of the oracle
// (for example a raw payload containing a relay prefix).
var ErrInvalidHistory = errors.New("invalid history")

// Verdict is the result of Check.
type Verdict struct {
	Violations []Violation // in a deterministic order, most fundamental first
	Err        error       // set when the history could not be judged
}

// OK reports whether the history was judged and nothing was wrong.
func (v Verdict) OK() bool { return v.Err == nil && len(v.Violations) == 0 }

// First returns the first violation, or nil.
func (v Verdict) First() *Violation {
	if len(v.Violations) == 0 {
		return nil
	}
	return &v.Violations[0]
}

// Has reports whether some violation is of kind k.
func (v Verdict) Has(k Kind) bool {
	for _, x := range v.Violations {
		if x.Kind == k {
			return true
		}
	}
	return false
}

// Without returns the verdict with the given kinds removed, e.g.
// Without(TotalOrder) for a spec that checks MUST requirements only.
func (v Verdict) Without(kinds ...Kind) Verdict {
	out := Verdict{Err: v.Err}
	for _, x := range v.Violations {
		drop := false
		for _, k := range kinds {
			drop = drop || x.Kind == k
		}
		if !drop {
			out.Violations = append(out.Violations, x)
		}
	}
	return out
}

// String lists the violations, one per line, or says "ok".
func (v Verdict) String() string {
	if v.Err != nil {
		return "cannot judge: " + v.Err.Error()
	}
	if len(v.Violations) == 0 {
		return "ok"
	}
	var b strings.Builder
	for i, x := range v.Violations {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x.Error())
	}
	return b.String()
}

func sortViolations(vs []Violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		for n := range a.key {
			if a.key[n] != b.key[n] {
				return a.key[n] < b.key[n]
			}
		}
		return false
	})
}
