// Package stream is the reference client of the byte-stream protocols upper and echo
// (PROTOCOLS.md "upper", "echo"; seeds 003 and 004), a small netcat: stdin goes to the server
// and the server's bytes to stdout; at the end of stdin the client half-closes and prints
// everything until the server closes.
package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockspec/sockspec/clients/session"
)

// Config is a stream session.
type Config struct {
	Addr string
	// Timeouts.IO bounds each write, and, once stdin has ended, each wait for the server's
	// next bytes or its close.
	Timeouts session.Timeouts
}

// NoCloseError is a server that kept the connection open after the client half-closed.
type NoCloseError struct {
	Addr     string
	Wait     time.Duration
	Received int64 // bytes received in the whole session
}

func (e *NoCloseError) Error() string {
	return fmt.Sprintf("%s neither sent more nor closed the connection within %v after we half-closed (the end of our input); %d bytes received in all",
		e.Addr, e.Wait, e.Received)
}

// Run copies stdin to the server and the server's bytes to stdout until the server closes
// (nil), ctx ends (nil), or something fails. While stdin is open the client waits for the
// server without a deadline (a person may be typing); after stdin's end, each wait is
// bounded by the timeout.
func Run(ctx context.Context, cfg Config, stdin io.Reader, stdout, stderr io.Writer) error {
	conn, err := session.Dial(ctx, cfg.Addr, cfg.Timeouts)
	if err != nil {
		return err
	}
	defer conn.Close()
	nc := conn.Net()
	wait := conn.Timeout()

	var (
		halfClosed atomic.Bool
		writeErr   error
		writeOnce  sync.Once
		done       = make(chan struct{})
	)
	defer close(done)
	failWrite := func(err error) {
		writeOnce.Do(func() {
			writeErr = err
			nc.Close() // unblocks the read below, which then reports writeErr
		})
	}
	// The stdin pump ends at stdin's end, at a write error, or at the next read after done.
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, rerr := stdin.Read(buf)
			select {
			case <-done:
				return
			default:
			}
			if n > 0 {
				if err := conn.Send(buf[:n], fmt.Sprintf("%d bytes of input", n)); err != nil {
					failWrite(err)
					return
				}
			}
			if rerr == io.EOF {
				halfClosed.Store(true)
				if err := conn.CloseWrite(); err != nil {
					failWrite(err)
					return
				}
				nc.SetReadDeadline(time.Now().Add(wait))
				return
			}
			if rerr != nil {
				failWrite(fmt.Errorf("reading stdin: %v", rerr))
				return
			}
		}
	}()

	buf := make([]byte, 32<<10)
	var received int64
	for {
		n, err := nc.Read(buf)
		if n > 0 {
			received += int64(n)
			if _, werr := stdout.Write(buf[:n]); werr != nil {
				return fmt.Errorf("writing stdout: %v", werr)
			}
			if halfClosed.Load() {
				nc.SetReadDeadline(time.Now().Add(wait))
			}
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			return nil
		case ctx.Err() != nil:
			return nil
		}
		// A failed write closed the connection to get here: report the write. Do waits for
		// a failWrite in progress, and stops any later one, so writeErr is stable after it.
		writeOnce.Do(func() {})
		if writeErr != nil {
			return writeErr
		}
		rerr := session.Wrap("read", cfg.Addr, "the reply", wait, nil, err)
		if errors.Is(rerr, session.ErrTimeout) {
			return &NoCloseError{Addr: cfg.Addr, Wait: wait, Received: received}
		}
		return rerr
	}
}
