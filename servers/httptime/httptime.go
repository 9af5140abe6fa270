// Package httptime is the reference server for the HTTP time page of seed 002: GET (or HEAD)
// of any path answers 200 with the text `Hello From Server at ` and the server's local date
// and time. It is net/http with every timeout and limit set.
package httptime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
)

const (
	// BodyPrefix starts every page.
	BodyPrefix = "Hello From Server at "
	// TimeLayout is Python's str(datetime) with the microseconds always shown.
	TimeLayout = "2006-01-02 15:04:05.000000"
	// ContentType is what the seed meant: it writes `charset-utf-8`, which is not valid.
	ContentType = "text/plain; charset=utf-8"
	// Allow lists the methods served, for 405 replies.
	Allow = "GET, HEAD"
)

// Config holds the knobs.
type Config struct {
	ReadHeaderTimeout time.Duration // read_header_timeout: the request line and headers
	ReadTimeout       time.Duration // read_timeout: the whole request
	WriteTimeout      time.Duration // write_timeout: the response
	Idle              time.Duration // idle: a keep-alive connection with no request (0: ReadTimeout)
	MaxHeaderBytes    int           // max_header_bytes: larger headers get 431
	ShutdownGrace     time.Duration // shutdown_grace: time for requests in flight at shutdown
	// Now is the clock (default time.Now); pages use the location of the time it returns.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		Idle:              5 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ShutdownGrace:     time.Second,
		Now:               time.Now,
	}
}

var knobs = []kit.Knob{
	{Name: "read_header_timeout", Default: "10s", Help: "time to read a request line and headers; a slower client is disconnected"},
	{Name: "read_timeout", Default: "30s", Help: "time to read a whole request"},
	{Name: "write_timeout", Default: "30s", Help: "time to write a response"},
	{Name: "idle", Default: "5m", Help: "close a keep-alive connection idle this long (0: read_timeout)"},
	{Name: "max_header_bytes", Default: "64KiB", Help: "largest request header; larger ones get 431"},
	{Name: "shutdown_grace", Default: "1s", Help: "at shutdown, time given to requests in flight before connections are closed"},
}

// Protocol is httptime (seed 002, port 8080).
var Protocol = kit.Protocol{
	Name:    "httptime",
	Network: "tcp",
	Port:    8080,
	Summary: "HTTP time page: GET any path, get \"Hello From Server at\" and the local time",
	Knobs:   knobs,
	New:     kit.Constructor(ParseConfig, New),
}

// ParseConfig reads knob values; missing knobs take the defaults. An unknown knob name is an
// error listing the valid ones; a bad value is a *kit.KnobError.
func ParseConfig(k map[string]string) (Config, error) {
	for name := range k {
		found := false
		for _, kn := range knobs {
			found = found || kn.Name == name
		}
		if !found {
			names := make([]string, len(knobs))
			for i, kn := range knobs {
				names[i] = kn.Name
			}
			sort.Strings(names)
			return Config{}, fmt.Errorf("httptime has no knob %q (knobs: %s)", name, strings.Join(names, ", "))
		}
	}
	cfg := DefaultConfig()
	v := kit.NewValues(k)
	cfg.ReadHeaderTimeout = v.Duration("read_header_timeout", cfg.ReadHeaderTimeout)
	cfg.ReadTimeout = v.Duration("read_timeout", cfg.ReadTimeout)
	cfg.WriteTimeout = v.Duration("write_timeout", cfg.WriteTimeout)
	cfg.Idle = v.Duration("idle", cfg.Idle)
	cfg.MaxHeaderBytes = int(v.Int("max_header_bytes", int64(cfg.MaxHeaderBytes), 1<<10, 16<<20))
	cfg.ShutdownGrace = v.Duration("shutdown_grace", cfg.ShutdownGrace)
	if v.Err != nil {
		return Config{}, v.Err
	}
	// Zero would mean "no limit" to net/http: refuse it for the limits that guard the server.
	for _, d := range []struct {
		knob string
		d    time.Duration
	}{{"read_header_timeout", cfg.ReadHeaderTimeout}, {"read_timeout", cfg.ReadTimeout}, {"write_timeout", cfg.WriteTimeout}} {
		if d.d <= 0 {
			return Config{}, &kit.KnobError{Knob: d.knob, Value: k[d.knob], Want: "a duration above zero, such as 10s"}
		}
	}
	return cfg, nil
}

// Server is an httptime server.
type Server struct {
	cfg Config
	log *slog.Logger
}

// New returns a server for cfg; zero fields take the defaults.
func New(cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig()
	for _, f := range []struct{ v, d *time.Duration }{
		{&cfg.ReadHeaderTimeout, &def.ReadHeaderTimeout}, {&cfg.ReadTimeout, &def.ReadTimeout},
		{&cfg.WriteTimeout, &def.WriteTimeout}, {&cfg.ShutdownGrace, &def.ShutdownGrace},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = def.MaxHeaderBytes
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if log == nil {
		log = kit.Discard()
	}
	return &Server{cfg: cfg, log: log}
}

// Page returns the body served at time t.
func Page(t time.Time) []byte {
	return t.AppendFormat([]byte(BodyPrefix), TimeLayout)
}

// ServeHTTP answers GET and HEAD of any path with the time page, anything else with 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		body := Page(s.cfg.Now())
		h := w.Header()
		h.Set("Content-Type", ContentType)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	default:
		s.log.Debug("method not allowed", "method", strconv.Quote(r.Method), "remote", r.RemoteAddr)
		w.Header().Set("Allow", Allow)
		http.Error(w, "405 method not allowed: use GET or HEAD", http.StatusMethodNotAllowed)
	}
}

// Serve serves HTTP on l.Stream until ctx ends; then it stops accepting, gives requests in
// flight ShutdownGrace to finish, closes every connection and returns nil.
func (s *Server) Serve(ctx context.Context, l kit.Listener) error {
	if l.Stream == nil {
		return errors.New("httptime: Serve needs a stream listener (kit.Listener.Stream), got none")
	}
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.Idle,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew || st == http.StateClosed || st == http.StateHijacked {
				s.log.Debug("connection "+st.String(), "remote", c.RemoteAddr().String())
			}
		},
	}
	s.log.Info("serving", "protocol", "httptime", "addr", l.Stream.Addr().String())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(l.Stream) }()
	select {
	case err := <-served:
		return fmt.Errorf("httptime: %w", err) // the listener failed under it
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(grace); err != nil {
		s.log.Info("requests still open after shutdown_grace, closing them", "shutdown_grace", s.cfg.ShutdownGrace)
		hs.Close()
	}
	<-served // http.ErrServerClosed
	return nil
}
