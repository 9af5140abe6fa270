package faulty

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"unicode/utf8"

	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/wire"
)

// Block32Bugs lists the broken block32 servers, by name, with the bug each carries. All speak
// the seed's profile: one block per connection, Unicode case, a 16 MiB limit.
var Block32Bugs = map[string]string{
	"raw-reply":                "sends the upper-cased text without its length prefix",
	"little-endian":            "packs the reply's length with '<I' instead of '!I'",
	"simple-case":              "upper-cases with a simple mapping that keeps ß (Go's bytes.ToUpper)",
	"one-recv-prefix":          "reads the length prefix with one recv(4); struct.error kills the thread, its socket left open",
	"one-recv-payload":         "reads the payload with one recv(n) and answers whatever came",
	"empty-block-closes":       "takes an empty payload for the client leaving and closes without a reply",
	"limit-64k":                "refuses (closes on) blocks over 64 KiB",
	"crash-mid-block":          "the seed: one client at a time, and recvall's EOFError mid-block ends the server",
	"no-limit":                 "waits for the payload of any declared length",
	"huge-length-kills-server": "allocates the declared length up front: over 1 GiB, MemoryError ends the server",
	"utf8-kills-thread":        "decode('utf-8') unguarded: a bad payload kills the thread and leaves its socket open",
	"utf8-kills-server":        "the seed: one client at a time, and decode('utf-8') of a bad payload ends the server",
	"sequential":               "serves one client at a time",
	"busy-loop":                "recvall's `if not block: continue`: spins when a client leaves mid-block",
	"keeps-departed":           "never closes a client's socket",
}

const (
	blkMax     = 16 << 20
	blkLimit64 = 64 << 10
	blkHuge    = 1 << 30 // where the allocation of huge-length-kills-server fails
)

// Block32 is a seed-style block32 server (one block per connection) carrying one bug.
type Block32 struct {
	Bug string
}

// NewBlock32 returns the broken block32 server, or an error for an unknown bug.
func NewBlock32(bug string) (*Block32, error) {
	if _, ok := Block32Bugs[bug]; !ok {
		return nil, fmt.Errorf("no faulty block32 server %q", bug)
	}
	return &Block32{Bug: bug}, nil
}

// Serve implements kit.Server.
func (s *Block32) Serve(ctx context.Context, l kit.Listener) error {
	ctx, crash := context.WithCancel(ctx) // crash: the whole server goes down
	defer crash()
	model := kit.Model{Kind: "per-conn"}
	switch s.Bug {
	case "sequential", "crash-mid-block", "utf8-kills-server":
		model.Kind = "sequential"
	}
	return kit.ServeTCP(ctx, l.Stream, model, kit.Discard(), func(ctx context.Context, conn net.Conn) {
		s.handle(ctx, conn, crash)
	})
}

// handle is the student's get_block / upper / put_block. Returning closes the connection.
func (s *Block32) handle(ctx context.Context, conn net.Conn, crash context.CancelFunc) {
	var prefix []byte
	var err error
	if s.Bug == "one-recv-prefix" {
		prefix, err = framedRecv(conn, 4)
		if len(prefix) > 0 && len(prefix) < 4 { // struct.unpack raises struct.error
			framedDie(ctx)
			return
		}
	} else {
		prefix, err = s.recvAll(ctx, conn, 4)
	}
	if err != nil || len(prefix) < 4 {
		if errors.Is(err, io.ErrUnexpectedEOF) && s.Bug == "crash-mid-block" {
			crash()
		}
		return
	}
	n := int64(binary.BigEndian.Uint32(prefix))
	switch {
	case s.Bug == "huge-length-kills-server" && n > blkHuge:
		crash() // MemoryError
		return
	case s.Bug == "limit-64k" && n > blkLimit64:
		return
	case s.Bug != "no-limit" && s.Bug != "huge-length-kills-server" && n > blkMax:
		return
	case s.Bug == "empty-block-closes" && n == 0:
		return
	}
	var payload []byte
	if s.Bug == "one-recv-payload" {
		payload, err = framedRecv(conn, int(n))
	} else {
		payload, err = s.recvAll(ctx, conn, n)
	}
	if err != nil || payload == nil {
		if s.Bug == "crash-mid-block" {
			crash() // recvall's EOFError, uncaught
		}
		return
	}
	if !utf8.Valid(payload) {
		switch s.Bug {
		case "utf8-kills-thread":
			framedDie(ctx)
			return
		case "utf8-kills-server":
			crash()
			return
		}
	}
	upper := wire.Upper(wire.Unicode, payload)
	if s.Bug == "simple-case" {
		upper = bytes.ToUpper(payload)
	}
	var reply []byte
	switch s.Bug {
	case "raw-reply":
		reply = upper
	case "little-endian":
		reply = append(binary.LittleEndian.AppendUint32(nil, uint32(len(upper))), upper...)
	default:
		reply = wire.AppendBlock(nil, upper)
	}
	conn.Write(reply)
	if s.Bug == "keeps-departed" {
		framedDie(ctx)
	}
}

// recvAll is the seed's recvall, or, for busy-loop, one that spins on b"".
func (s *Block32) recvAll(ctx context.Context, conn net.Conn, n int64) ([]byte, error) {
	if s.Bug != "busy-loop" {
		return framedRecvAll(conn, n)
	}
	out := make([]byte, 0, min(n, framedCap))
	for int64(len(out)) < n && ctx.Err() == nil {
		block, err := framedRecv(conn, int(n)-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, block...) // the bug: b"" is not the end, try again
	}
	return out, ctx.Err()
}
