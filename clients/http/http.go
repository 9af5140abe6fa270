// Package http is the reference client of the HTTP time page (PROTOCOLS.md "httptime", seed
// 002): it GETs (or HEADs) one path over a plain HTTP/1.1 connection and prints the body, or
// with Include the status line and headers exactly as the server sent them.
package http

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sockspec/sockspec/clients/session"
	"github.com/sockspec/sockspec/wire"
)

// Limits.
const (
	maxHead        = 64 << 10
	DefaultMaxBody = 16 << 20
)

// Config is one request.
type Config struct {
	Addr     string
	Timeouts session.Timeouts // IO: the status line and headers as a whole, then each body read
	Path     string           // "/" when empty
	Head     bool             // HEAD instead of GET; implies Include
	Include  bool             // print the status line and headers before the body
	MaxBody  int64            // 0 means DefaultMaxBody
}

// DefaultConfig is a GET of / on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", Path: "/", MaxBody: DefaultMaxBody}
}

// ParseTarget reads a path ("/x") or a URL ("http://host:port/x") into addr and path; addr
// keeps def when the target is only a path.
func ParseTarget(target, def string) (addr, path string, err error) {
	if target == "" {
		return def, "/", nil
	}
	if strings.HasPrefix(target, "/") {
		return def, target, nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", "", fmt.Errorf("want a path such as /time or a URL such as http://127.0.0.1:8080/time, not %q", target)
	}
	addr = u.Host
	if u.Port() == "" {
		addr = u.Host + ":80"
	}
	path = u.RequestURI()
	return addr, path, nil
}

// StatusError is a response whose status is not 2xx.
type StatusError struct {
	Addr   string
	Status string // e.g. "404 Not Found"
	Code   int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %s", e.Addr, e.Status)
}

// Run sends the request and prints the response. A status other than 2xx is a *StatusError,
// returned after the body is printed.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	method := nethttp.MethodGet
	if cfg.Head {
		method, cfg.Include = nethttp.MethodHead, true
	}
	if strings.ContainsAny(cfg.Path, " \r\n") || !strings.HasPrefix(cfg.Path, "/") {
		return fmt.Errorf("path %q: want an absolute path without spaces", cfg.Path)
	}
	conn, err := session.Dial(ctx, cfg.Addr, cfg.Timeouts)
	if err != nil {
		return err
	}
	defer conn.Close()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sockspec\r\nAccept: */*\r\nConnection: close\r\n\r\n", method, cfg.Path, cfg.Addr)
	if err := conn.Send([]byte(req), "the request"); err != nil {
		return err
	}

	in := &idleReader{conn: conn}
	head, rest, err := readHead(conn, in)
	if err != nil {
		return err
	}
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(head), bytes.NewReader(rest), in))
	resp, err := nethttp.ReadResponse(br, &nethttp.Request{Method: method})
	if err != nil {
		return fmt.Errorf("the response from %s is not valid HTTP/1.x (%v); it begins %s", cfg.Addr, err, wire.Quote(head, 64))
	}
	defer resp.Body.Close()
	if cfg.Include {
		stdout.Write(bytes.ReplaceAll(head, []byte("\r\n"), []byte("\n")))
	}
	n, err := io.Copy(stdout, io.LimitReader(resp.Body, cfg.MaxBody+1))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the body from %s ended after %d bytes, short of the %d its Content-Length declares", cfg.Addr, n, resp.ContentLength)
	case err != nil:
		return session.Wrap("read", cfg.Addr, "the body", conn.Timeout(), nil, err)
	case n > cfg.MaxBody:
		return fmt.Errorf("the body from %s is longer than the limit of %d bytes", cfg.Addr, cfg.MaxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Addr: cfg.Addr, Status: resp.Status, Code: resp.StatusCode}
	}
	return nil
}

// readHead reads the status line and headers (up to the blank line) within the timeout.
// rest is what came after them.
func readHead(conn *session.Conn, in *idleReader) (head, rest []byte, err error) {
	in.deadline = time.Now().Add(conn.Timeout())
	buf := make([]byte, 4096)
	var got []byte
	for {
		n, rerr := in.Read(buf)
		got = append(got, buf[:n]...)
		for _, end := range []string{"\r\n\r\n", "\n\n"} {
			if i := bytes.Index(got, []byte(end)); i >= 0 {
				in.deadline = time.Time{}
				return got[:i+len(end)], got[i+len(end):], nil
			}
		}
		if len(got) > maxHead {
			return nil, nil, fmt.Errorf("the status line and headers from %s are longer than %d bytes: %s", conn.Addr(), maxHead, wire.Quote(got, 64))
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) && len(got) > 0 {
				return nil, nil, fmt.Errorf("%s closed the connection before the end of the headers (no blank line); it sent %s", conn.Addr(), wire.Quote(got, 64))
			}
			return nil, nil, session.Wrap("read", conn.Addr(), "the response", conn.Timeout(), got, rerr)
		}
	}
}

// idleReader reads the connection under a deadline: a fixed one while set, else a fresh
// one of the timeout before each read.
type idleReader struct {
	conn     *session.Conn
	deadline time.Time
}

func (r *idleReader) Read(p []byte) (int, error) {
	d := r.deadline
	if d.IsZero() {
		d = time.Now().Add(r.conn.Timeout())
	}
	r.conn.Net().SetReadDeadline(d)
	return r.conn.Net().Read(p)
}
