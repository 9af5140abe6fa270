//go:build linux

package chatbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/chat"
	"github.com/sockspec/sockspec/wire"
)

// ioTimeout bounds dialling and reading the welcome.
const ioTimeout = 5 * time.Second

// lines is the framing every benchmark uses: one message per line.
var lines = []string{"-set", "framing=lines"}

// BenchmarkLatency is the relay latency target of issue 2: 100 clients each sending 10 lines/s
// (senders' phases spread over the period) for CHATBENCH_RUN after a 1 s warm-up whose relays
// are not counted, driven by the lean load generator cload/load.c (one C thread over epoll, a
// process of its own). Each line carries its send time; each relay read is timed. Metrics per
// run: percentiles over all deliveries (µs), p50/p99 of each line's last delivery (the
// fan-out's end), server and load-generator CPU per line sent, the server's run-queue wait
// (ms per s: time its threads were runnable but had no CPU) and the other load (cores).
func BenchmarkLatency(b *testing.B) {
	specs := servers(b)
	loadBin := buildC(b, filepath.Join("cload", "load.c"))
	if loadBin == "" {
		b.Skip("gcc not found: cannot build the load generator cload/load.c")
	}
	latencyRounds(b, specs, func(b *testing.B, p *proc, run time.Duration) metrics {
		return leanLatencyRun(b, p, loadBin, run)
	})
}

// BenchmarkLatencyGoClients is BenchmarkLatency's load from this process, written as Go chat
// clients would be: a sender and a receiver goroutine per client. It spends about as much CPU
// per delivery as the server, so on two cores its figures are the pair's, not the server's.
func BenchmarkLatencyGoClients(b *testing.B) {
	latencyRounds(b, servers(b), latencyRun)
}

// latencyRounds runs one latency run per server per round, each on a fresh server.
func latencyRounds(b *testing.B, specs []serverSpec, runOne func(*testing.B, *proc, time.Duration) metrics) {
	run := envDuration("CHATBENCH_RUN", 3*time.Second)
	results := map[string][]metrics{}
	for round := range envInt("CHATBENCH_ROUNDS", 1) {
		for _, s := range roundOrder(specs, round) {
			b.Run(s.name, func(b *testing.B) {
				p := launch(b, s, lines...)
				m := runOne(b, p, run)
				p.stop()
				m.report(b)
				results[s.name] = append(results[s.name], m)
			})
		}
	}
	summarise(b, specs, results)
}

// BenchmarkBroadcast is the throughput of 10 clients all sending 16-byte lines at once (256
// lines per write), each receiving the other 9's: 50M deliveries per run. Metrics per run:
// deliveries/s, server and load-generator CPU per delivery (ns) and the other load (cores).
func BenchmarkBroadcast(b *testing.B) {
	specs := servers(b)
	results := map[string][]metrics{}
	for round := range envInt("CHATBENCH_ROUNDS", 1) {
		for _, s := range roundOrder(specs, round) {
			b.Run(s.name, func(b *testing.B) {
				p := launch(b, s, lines...)
				m := broadcastRun(b, p, 50_000_000)
				p.stop()
				m.report(b)
				results[s.name] = append(results[s.name], m)
			})
		}
	}
	summarise(b, specs, results)
}

// TestHarness checks the benchmark's plumbing: the server builds, starts, relays a line between
// two clients and exits on SIGTERM within 2 s.
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/chatserver; skipped with -short")
	}
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			p := launch(t, s, lines...)
			conns := dial(t, p.addr, 2)
			defer closeAll(conns)
			for _, c := range conns {
				c.SetDeadline(time.Now().Add(ioTimeout))
			}
			if _, err := conns[0].Write([]byte("hello\n")); err != nil {
				t.Fatal(err)
			}
			want := "<127.0.0.1> hello\n"
			got := make([]byte, len(want))
			if _, err := io.ReadFull(conns[1], got); err != nil || string(got) != want {
				t.Fatalf("relay: want %q, got %q (%v)", want, got, err)
			}
			p.stop()
		})
	}
}

// TestLoadGenerator checks cload/load.c both ways: against the Go server it completes and
// prints every figure; against a server whose relays lose the line's text (relay={ip}) it
// fails, naming the relay it could not read.
func TestLoadGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/chatserver and cload/load.c; skipped with -short")
	}
	loadBin := buildC(t, filepath.Join("cload", "load.c"))
	if loadBin == "" {
		t.Skip("gcc not found")
	}
	goChat := servers(t)[0]
	loadArgs := func(p *proc) []string {
		_, port, _ := net.SplitHostPort(p.addr)
		return []string{port, "4", "20", "0.3", "0.1", strconv.Itoa(len(chat.DefaultWelcome))}
	}

	p := launch(t, goChat, lines...)
	out, err := exec.Command(loadBin, loadArgs(p)...).CombinedOutput()
	p.stop()
	if err != nil {
		t.Fatalf("against the reference server: %v\n%s", err, out)
	}
	for _, k := range []string{"p50=", "p99=", "last-p99=", "cpu_us="} {
		if !strings.Contains(string(out), k) {
			t.Errorf("output has no %s: %q", k, out)
		}
	}

	p = launch(t, goChat, append(slices.Clone(lines), "-set", "relay={ip}")...)
	out, err = exec.Command(loadBin, loadArgs(p)...).CombinedOutput()
	p.stop()
	if err == nil || !strings.Contains(string(out), "unexpected relay") {
		t.Fatalf("against relays without the text: want a failure naming an unexpected relay, got %v: %q", err, out)
	}
}

// metrics is one run's named figures, in report order.
type metrics struct {
	names  []string
	values []float64
}

func (m *metrics) add(name string, v float64) {
	m.names = append(m.names, name)
	m.values = append(m.values, v)
}

func (m metrics) report(b *testing.B) {
	for i, n := range m.names {
		b.ReportMetric(m.values[i], n)
	}
}

// summarise logs each server's median of every metric over its runs and, beside the first
// server, the median over rounds of each metric's ratio to the first server's in the same
// round: on a shared machine, runs next to each other see closer loads than medians do.
func summarise(b *testing.B, specs []serverSpec, results map[string][]metrics) {
	first := results[specs[0].name]
	for _, s := range specs {
		runs := results[s.name]
		if len(runs) == 0 {
			continue
		}
		line := fmt.Sprintf("median of %d runs, %s:", len(runs), s.name)
		for i, n := range runs[0].names {
			line += fmt.Sprintf(" %s=%.4g", n, median(runs, func(j int) float64 { return runs[j].values[i] }))
		}
		if s.name != specs[0].name && len(runs) == len(first) {
			line += fmt.Sprintf("\n\tmedian per-round ratio %s/%s:", s.name, specs[0].name)
			for i, n := range runs[0].names {
				if n == "other-cores" { // a ratio of small loads says nothing
					continue
				}
				ratio := median(runs, func(j int) float64 { return runs[j].values[i] / first[j].values[i] })
				line += fmt.Sprintf(" %s=%.3g", n, ratio)
			}
		}
		b.Log(line)
	}
}

// median of f(0), ..., f(len(runs)-1).
func median(runs []metrics, f func(run int) float64) float64 {
	vs := make([]float64, len(runs))
	for j := range runs {
		vs[j] = f(j)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// dial connects n clients and reads each one's welcome, after which each is in the room.
func dial(tb testing.TB, addr string, n int) []net.Conn {
	tb.Helper()
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			closeAll(conns)
			tb.Fatal(err)
		}
		conns = append(conns, c)
		c.SetReadDeadline(time.Now().Add(ioTimeout))
		w := make([]byte, len(chat.DefaultWelcome))
		if _, err := io.ReadFull(c, w); err != nil || string(w) != chat.DefaultWelcome {
			closeAll(conns)
			tb.Fatalf("welcome: want %q, got %q (%v)", chat.DefaultWelcome, w, err)
		}
	}
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// latencyRun drives p with the latency load and returns its metrics.
func latencyRun(b *testing.B, p *proc, run time.Duration) metrics {
	const (
		clients = 100
		warm    = time.Second
	)
	rate := envInt("CHATBENCH_RATE", 10) // lines per second per client
	period := time.Second / time.Duration(rate)
	perSender := int((warm + run) / period)
	warmMsgs := int(warm / period)
	// lat[r][s*perSender+n] is the latency of sender s's n-th line at receiver r (-1: none).
	lat := make([][]int64, clients)
	for i := range lat {
		lat[i] = slices.Repeat([]int64{-1}, clients*perSender)
	}
	conns := dial(b, p.addr, clients)
	defer closeAll(conns)
	before := sample(p.pid)
	err := load(conns, period, perSender, lat, time.Now().Add(warm+run+10*time.Second))
	d := sample(p.pid).Since(before)
	if err != nil {
		b.Fatal(err)
	}

	var all, last []int64
	for s := range clients {
		for n := warmMsgs; n < perSender; n++ {
			worst := int64(-1)
			for r := range clients {
				if v := lat[r][s*perSender+n]; v >= 0 {
					all = append(all, v)
					worst = max(worst, v)
				} else if r != s {
					b.Fatalf("receiver %d has no relay of sender %d's line %d", r, s, n)
				}
			}
			last = append(last, worst)
		}
	}
	slices.Sort(all)
	slices.Sort(last)
	msgs := float64(clients * perSender)
	var m metrics
	m.add("p50-µs", quantile(all, 0.5))
	m.add("p90-µs", quantile(all, 0.9))
	m.add("p99-µs", quantile(all, 0.99))
	m.add("p99.9-µs", quantile(all, 0.999))
	m.add("max-µs", quantile(all, 1))
	m.add("last-p50-µs", quantile(last, 0.5))
	m.add("last-p99-µs", quantile(last, 0.99))
	m.add("server-µs/msg", d.Server.Seconds()*1e6/msgs)
	m.add("client-µs/msg", d.Client.Seconds()*1e6/msgs)
	m.add("server-runq-ms/s", d.RunQ.Seconds()*1e3/d.Wall.Seconds())
	m.add("other-cores", d.OtherCores())
	return m
}

// leanLatencyRun drives p with the load generator at loadBin and returns its metrics, in the
// names and units latencyRun uses.
func leanLatencyRun(b *testing.B, p *proc, loadBin string, run time.Duration) metrics {
	const (
		clients = 100
		warm    = time.Second
	)
	rate := envInt("CHATBENCH_RATE", 10)
	_, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), warm+run+20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, loadBin, port, strconv.Itoa(clients), strconv.Itoa(rate),
		strconv.FormatFloat(run.Seconds(), 'f', -1, 64), strconv.FormatFloat(warm.Seconds(), 'f', -1, 64),
		strconv.Itoa(len(chat.DefaultWelcome)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	before := sample(p.pid)
	out, err := cmd.Output()
	d := sample(p.pid).Since(before)
	if err != nil {
		b.Fatalf("%s: %v\n%s", loadBin, err, stderr.Bytes())
	}
	figures := map[string]float64{}
	for _, kv := range strings.Fields(string(out)) {
		k, v, _ := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			b.Fatalf("%s printed %q", loadBin, out)
		}
		figures[k] = f
	}
	msgs := float64(clients * int((warm+run)/(time.Second/time.Duration(rate))))
	d.Client = time.Duration(figures["cpu_us"]) * time.Microsecond // the load generator is the child
	var m metrics
	for _, q := range []string{"p50", "p90", "p99", "p99.9", "max", "last-p50", "last-p99"} {
		v, ok := figures[q]
		if !ok {
			b.Fatalf("%s printed no %s: %q", loadBin, q, out)
		}
		m.add(q+"-µs", v)
	}
	m.add("server-µs/msg", d.Server.Seconds()*1e6/msgs)
	m.add("client-µs/msg", d.Client.Seconds()*1e6/msgs)
	m.add("server-runq-ms/s", d.RunQ.Seconds()*1e3/d.Wall.Seconds())
	m.add("other-cores", d.OtherCores())
	return m
}

// load runs BenchmarkLatency's traffic on conns: a sender and a receiver goroutine per client,
// as a Go chat client would be written. Sender i sends perSender lines, at i*period/len(conns)
// into each period; lat[r][s*perSender+n] gets the latency of sender s's n-th line at r.
// (A lean load generator, raw sockets read by one epoll thread per core, was tried: it made
// both the server and itself use more CPU per message, and the tail longer.)
func load(conns []net.Conn, period time.Duration, perSender int, lat [][]int64, deadline time.Time) error {
	clients := len(conns)
	var firstErr atomic.Pointer[error]
	fail := func(err error) { firstErr.CompareAndSwap(nil, &err) }
	var wg sync.WaitGroup
	base := time.Now()
	for i, c := range conns {
		c.SetDeadline(deadline)
		wg.Go(func() { // sender
			phase := time.NewTimer(period * time.Duration(i) / time.Duration(clients))
			<-phase.C
			tick := time.NewTicker(period)
			defer tick.Stop()
			var line []byte
			for n := range perSender {
				if n > 0 {
					<-tick.C
				}
				line = fmt.Appendf(line[:0], "s=%d n=%d t=", i, n)
				line = strconv.AppendInt(line, int64(time.Since(base)), 10)
				line = append(line, " padding-padding\n"...)
				if _, err := c.Write(line); err != nil {
					fail(fmt.Errorf("sender %d, line %d: %w", i, n, err))
					return
				}
			}
		})
		wg.Go(func() { // receiver
			r := bufio.NewReader(c)
			for got := 0; got < perSender*(clients-1); got++ {
				l, err := r.ReadSlice('\n')
				if err != nil {
					fail(fmt.Errorf("receiver %d: %d of %d relays: %w", i, got, perSender*(clients-1), err))
					return
				}
				now := int64(time.Since(base))
				s, n, t, ok := parseLine(l)
				if !ok || s == i || s >= clients || n >= perSender {
					fail(fmt.Errorf("receiver %d: unexpected relay %s", i, wire.Quote(l, 80)))
					return
				}
				lat[i][s*perSender+n] = now - t
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		return *err
	}
	return nil
}

// parseLine reads "... s=SENDER n=SEQ t=NANOS ..." from a relay, without allocating (it runs
// for every delivery, in the load generator).
func parseLine(l []byte) (s, n int, t int64, ok bool) {
	i := bytes.Index(l, []byte("s="))
	if i < 0 {
		return 0, 0, 0, false
	}
	l = l[i:]
	var v [3]int64
	for k, key := range [3]string{"s=", "n=", "t="} {
		rest, found := bytes.CutPrefix(l, []byte(key))
		if !found {
			return 0, 0, 0, false
		}
		digits := 0
		for digits < len(rest) && digits < 19 && '0' <= rest[digits] && rest[digits] <= '9' {
			v[k] = v[k]*10 + int64(rest[digits]-'0')
			digits++
		}
		if digits == 0 || digits == len(rest) || rest[digits] != ' ' {
			return 0, 0, 0, false
		}
		l = rest[digits+1:]
	}
	return int(v[0]), int(v[1]), v[2], true
}

// quantile of sorted nanoseconds, in µs.
func quantile(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))]) / 1e3
}

// broadcastRun sends about deliveries relays' worth of lines from 10 clients at once.
func broadcastRun(b *testing.B, p *proc, deliveries int) metrics {
	const clients, batchLines = 10, 256
	conns := dial(b, p.addr, clients)
	defer closeAll(conns)
	msgs := max(batchLines, deliveries/(clients*(clients-1))/batchLines*batchLines)
	batch := bytes.Repeat([]byte("0123456789abcde\n"), batchLines)
	wantPerReader := int64(msgs * (clients - 1))

	var wg sync.WaitGroup
	var received atomic.Int64
	var firstErr atomic.Pointer[error]
	fail := func(err error) { firstErr.CompareAndSwap(nil, &err) }
	deadline := time.Now().Add(60 * time.Second)
	before := sample(p.pid)
	for _, c := range conns {
		c.SetDeadline(deadline)
		wg.Go(func() {
			for sent := 0; sent < msgs; sent += batchLines {
				if _, err := c.Write(batch); err != nil {
					fail(err)
					return
				}
			}
		})
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			var got int64
			for got < wantPerReader {
				n, err := c.Read(buf)
				got += int64(bytes.Count(buf[:n], []byte{'\n'}))
				if err != nil {
					fail(fmt.Errorf("reader: %d of %d relays: %w", got, wantPerReader, err))
					break
				}
			}
			received.Add(got)
		})
	}
	wg.Wait()
	d := sample(p.pid).Since(before)
	if err := firstErr.Load(); err != nil {
		b.Fatal(*err)
	}
	total := float64(received.Load())
	var m metrics
	m.add("deliveries/s", total/d.Wall.Seconds())
	m.add("server-ns/delivery", float64(d.Server.Nanoseconds())/total)
	m.add("client-ns/delivery", float64(d.Client.Nanoseconds())/total)
	m.add("server-runq-ms/s", d.RunQ.Seconds()*1e3/d.Wall.Seconds())
	m.add("other-cores", d.OtherCores())
	return m
}
