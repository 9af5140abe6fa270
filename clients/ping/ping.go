// Package ping is the reference client of udp-pong (PROTOCOLS.md "udp-upper and udp-pong",
// the seed's "TTL estimator"): it sends COUNT datagrams, one per interval, prints each round
// trip, and sums up in ping(8)'s words. A reply that does not come within the timeout is
// counted lost, and the run goes on.
package ping

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/sockspec/sockspec/clients/udp"
)

// Config is a ping run.
type Config struct {
	Addr     string
	Count    int           // probes to send; 0 means 5
	Interval time.Duration // from one probe to the next; 0 means 1 s
	Timeout  time.Duration // wait for each reply (ping -W); 0 means 1 s
	Payload  string        // each probe's bytes; "" means "PING"
}

// DefaultConfig is the seed's pinger on the seed's port.
func DefaultConfig() Config {
	return Config{Addr: "127.0.0.1:1234", Count: 5, Interval: time.Second, Timeout: time.Second, Payload: "PING"}
}

// Stats are a run's figures.
type Stats struct {
	Transmitted, Received int
	RTTs                  []time.Duration // one per reply
	Elapsed               time.Duration
}

// Loss is the share of probes lost, in percent.
func (s Stats) Loss() float64 {
	if s.Transmitted == 0 {
		return 0
	}
	return float64(s.Transmitted-s.Received) * 100 / float64(s.Transmitted)
}

// Summary returns min, avg, max and mdev of the round trips, as ping(8) computes them.
func (s Stats) Summary() (minRTT, avg, maxRTT, mdev time.Duration) {
	if len(s.RTTs) == 0 {
		return
	}
	minRTT, maxRTT = s.RTTs[0], s.RTTs[0]
	var sum, sum2 float64
	for _, r := range s.RTTs {
		minRTT, maxRTT = min(minRTT, r), max(maxRTT, r)
		f := float64(r)
		sum += f
		sum2 += f * f
	}
	n := float64(len(s.RTTs))
	mean := sum / n
	return minRTT, time.Duration(mean), maxRTT, time.Duration(math.Sqrt(max(0, sum2/n-mean*mean)))
}

// NoReplyError is a run in which no probe got a reply.
type NoReplyError struct {
	Addr string
	Sent int
}

func (e *NoReplyError) Error() string {
	return fmt.Sprintf("no reply from %s to any of %d probes", e.Addr, e.Sent)
}

// Run pings until Count probes are sent or ctx ends, then prints the summary. It returns a
// *NoReplyError when no reply came.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) (Stats, error) {
	def := DefaultConfig()
	if cfg.Count <= 0 {
		cfg.Count = def.Count
	}
	if cfg.Interval <= 0 {
		cfg.Interval = def.Interval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	if cfg.Payload == "" {
		cfg.Payload = def.Payload
	}
	var st Stats
	conn, err := udp.Dial(ctx, cfg.Addr)
	if err != nil {
		return st, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	fmt.Fprintf(stdout, "PING %s (udp): %d data bytes\n", cfg.Addr, len(cfg.Payload))
	buf := make([]byte, udp.MaxDatagram+1)
	start := time.Now()
	next := start
	pace := time.NewTimer(0)
	defer pace.Stop()
	for seq := 1; seq <= cfg.Count; seq++ {
		if seq > 1 {
			pace.Reset(time.Until(next))
			select {
			case <-pace.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		next = time.Now().Add(cfg.Interval)
		st.Transmitted++
		sent := time.Now()
		// No retries: PONG carries no sequence number, so a late reply is dropped as stale
		// before the next probe rather than taken for its reply.
		reply, err := udp.Exchange(ctx, conn, []byte(cfg.Payload), buf, cfg.Timeout, 0)
		rtt := time.Since(sent)
		switch {
		case err == nil:
			st.Received++
			st.RTTs = append(st.RTTs, rtt)
			fmt.Fprintf(stdout, "%d bytes from %s: seq=%d time=%s ms\n", len(reply), cfg.Addr, seq, ms(rtt))
		case ctx.Err() != nil:
			// interrupted while waiting: transmitted, and lost
		case errors.Is(err, os.ErrDeadlineExceeded):
			fmt.Fprintf(stdout, "no reply for seq=%d within %v\n", seq, cfg.Timeout)
		case errors.Is(err, udp.ErrRefused):
			fmt.Fprintf(stdout, "seq=%d: %s refused it (ICMP port unreachable: is the server running?)\n", seq, cfg.Addr)
		default:
			return st, fmt.Errorf("ping %s: %v", cfg.Addr, err)
		}
	}
	st.Elapsed = time.Since(start)
	writeSummary(stdout, cfg.Addr, st)
	if st.Received == 0 {
		return st, &NoReplyError{Addr: cfg.Addr, Sent: st.Transmitted}
	}
	return st, nil
}

func writeSummary(w io.Writer, addr string, st Stats) {
	fmt.Fprintf(w, "\n--- %s ping statistics ---\n", addr)
	fmt.Fprintf(w, "%d packets transmitted, %d received, %s%% packet loss, time %dms\n",
		st.Transmitted, st.Received, strconv.FormatFloat(st.Loss(), 'g', 6, 64), st.Elapsed.Milliseconds())
	if st.Received > 0 {
		mn, avg, mx, mdev := st.Summary()
		fmt.Fprintf(w, "rtt min/avg/max/mdev = %s/%s/%s/%s ms\n", ms(mn), ms(avg), ms(mx), ms(mdev))
	}
}

// ms formats a duration in milliseconds with three decimals, as ping(8).
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}
