package kit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Model is how a TCP server spreads clients over workers (the variants of seed 004).
type Model struct {
	Kind string // "per-conn" (default), "sequential" or "pool"
	N    int    // pool size
}

// ParseModel reads "per-conn", "sequential" or "pool=N".
func ParseModel(s string) (Model, error) {
	switch {
	case s == "" || s == "per-conn":
		return Model{Kind: "per-conn"}, nil
	case s == "sequential":
		return Model{Kind: "sequential"}, nil
	case strings.HasPrefix(s, "pool="):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "pool="))
		if err != nil || n < 1 || n > 10000 {
			return Model{}, &KnobError{Knob: "model", Value: s, Want: "pool=N with 1 <= N <= 10000"}
		}
		return Model{Kind: "pool", N: n}, nil
	}
	return Model{}, &KnobError{Knob: "model", Value: s, Want: "sequential, pool=N or per-conn"}
}

func (m Model) String() string {
	if m.Kind == "pool" {
		return fmt.Sprintf("pool=%d", m.N)
	}
	if m.Kind == "" {
		return "per-conn"
	}
	return m.Kind
}

// Handler serves one client connection. It must return when ctx ends (ServeTCP also closes
// the connection then, which unblocks any read or write).
type Handler func(ctx context.Context, conn net.Conn)

// ServeTCP accepts connections and runs handle for each under the model, until ctx ends. Then
// it closes the listener and every open connection and waits for all handlers to return.
// ServeTCP closes each connection after its handler returns.
func ServeTCP(ctx context.Context, ln net.Listener, model Model, log *slog.Logger, handle Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = struct{}{}
		} else {
			delete(conns, c)
		}
	}
	run := func(c net.Conn) {
		defer func() {
			c.Close()
			track(c, false)
		}()
		handle(ctx, c)
	}

	// On shutdown: stop accepting, then unblock every handler by closing its connection.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()

	var queue chan net.Conn
	if model.Kind == "pool" {
		queue = make(chan net.Conn) // unbuffered: a busy pool leaves clients in the backlog
		for range model.N {
			wg.Go(func() {
				for {
					select {
					case c := <-queue:
						run(c)
					case <-ctx.Done():
						return
					}
				}
			})
		}
	}

	var err error
	backoff := 5 * time.Millisecond
	for {
		c, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(aerr, &ne) && !errors.Is(aerr, net.ErrClosed) {
				// Out of descriptors and the like: wait and retry rather than spin or die.
				log.Warn("accept failed, retrying", "err", aerr, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				backoff = min(2*backoff, time.Second)
				continue
			}
			err = aerr
			break
		}
		backoff = 5 * time.Millisecond
		track(c, true)
		if ctx.Err() != nil { // raced with shutdown: the closer may have missed it
			c.Close()
			track(c, false)
			break
		}
		log.Debug("client connected", "remote", c.RemoteAddr().String())
		switch model.Kind {
		case "sequential":
			run(c)
		case "pool":
			select {
			case queue <- c:
			case <-ctx.Done():
				c.Close()
				track(c, false)
			}
		default:
			wg.Go(func() { run(c) })
		}
	}
	cancel()
	<-stopped
	wg.Wait()
	return err
}

// IdleReader reads from conn with a fresh read deadline of idle before each Read (0: none).
type IdleReader struct {
	Conn net.Conn
	Idle time.Duration
}

func (r IdleReader) Read(p []byte) (int, error) {
	if r.Idle > 0 {
		r.Conn.SetReadDeadline(time.Now().Add(r.Idle))
	}
	return r.Conn.Read(p)
}

// WriteAll writes b under a deadline of timeout (0: none).
func WriteAll(conn net.Conn, b []byte, timeout time.Duration) error {
	if timeout > 0 {
		conn.SetWriteDeadline(time.Now().Add(timeout))
	}
	_, err := conn.Write(b)
	return err
}

// LogEnd logs why a connection of a framed protocol ended without a refusal: the client closed
// (between messages or in the middle of one), the idle timeout, shutdown, or a lost connection.
// unit names the protocol's messages ("blocks", "messages"); count is how many were served.
func LogEnd(log *slog.Logger, remote, unit string, count, pending int, idle time.Duration, err error) {
	switch {
	case errors.Is(err, io.EOF) && pending == 0:
		log.Debug("client closed", "remote", remote, unit, count)
	case errors.Is(err, io.EOF):
		log.Debug("client closed in the middle of a message", "remote", remote, unit, count, "pending_bytes", pending)
	case errors.Is(err, os.ErrDeadlineExceeded):
		log.Info("idle timeout: closing", "remote", remote, "idle", idle.String(), unit, count)
	case errors.Is(err, net.ErrClosed):
		log.Debug("closed by shutdown", "remote", remote, unit, count)
	default:
		log.Debug("connection lost", "remote", remote, unit, count, "err", err)
	}
}
