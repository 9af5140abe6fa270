package chat

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockspec/sockspec/servers/kit"
)

// benchServer runs a chat server for a benchmark and returns its address and a stop func.
func benchServer(b *testing.B, knobs map[string]string) (string, func()) {
	b.Helper()
	cfg, err := ParseConfig(knobs)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, kit.Discard()).Serve(ctx, kit.Listener{Stream: ln}) }()
	return ln.Addr().String(), func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				b.Error(err)
			}
		case <-time.After(2 * time.Second):
			b.Error("Serve did not return within 2 s")
		}
	}
}

// benchDial connects n clients and reads each one's welcome, after which each is in the room.
func benchDial(b *testing.B, addr string, n int) []net.Conn {
	b.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(ioTimeout))
		w := make([]byte, len(DefaultWelcome))
		if _, err := io.ReadFull(c, w); err != nil || string(w) != DefaultWelcome {
			b.Fatalf("welcome: %q, %v", w, err)
		}
		conns[i] = c
	}
	return conns
}

// BenchmarkBroadcast: 10 clients all sending 16-byte lines at once (batches of 256 lines per
// write), each receiving the other 9's. One op is one delivery (a relay received by one
// client); deliveries/s counts relays read by the receivers.
func BenchmarkBroadcast(b *testing.B) {
	const clients, batchLines = 10, 256
	addr, stop := benchServer(b, map[string]string{"framing": "lines"})
	defer stop()
	conns := benchDial(b, addr, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	msgs := max(batchLines, (b.N+clients*(clients-1)-1)/(clients*(clients-1))/batchLines*batchLines)
	batch := bytes.Repeat([]byte("0123456789abcde\n"), batchLines)
	wantPerReader := int64(msgs * (clients - 1))

	var wg sync.WaitGroup
	var received atomic.Int64
	deadline := time.Now().Add(60 * time.Second)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for _, c := range conns {
		c.SetDeadline(deadline)
		wg.Go(func() {
			for sent := 0; sent < msgs; sent += batchLines {
				if _, err := c.Write(batch); err != nil {
					b.Error(err)
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
					b.Errorf("reader: %d of %d relays: %v", got, wantPerReader, err)
					break
				}
			}
			received.Add(got)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	total := received.Load()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(total), "cpu-ns/delivery")
}

// BenchmarkLatency: 100 clients each sending 10 lines/s (ticker, phases spread over the
// period) for 3 s; each line carries its send time, each receiver measures the relay latency.
// Run it with -benchtime=1x: one op is the whole 3 s run. The load generator shares this process
// with the server; bench/chat measures the server in a process of its own.
func BenchmarkLatency(b *testing.B) {
	const (
		clients = 100
		rate    = 10 // lines per second per client
		run     = 3 * time.Second
	)
	addr, stop := benchServer(b, map[string]string{"framing": "lines"})
	defer stop()
	conns := benchDial(b, addr, clients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	period := time.Second / rate
	perSender := int(run / period)
	wantPerReader := perSender * (clients - 1)
	base := time.Now()
	samples := make([][]int64, clients)
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	b.ResetTimer()
	for i, c := range conns {
		c.SetDeadline(time.Now().Add(run + 10*time.Second))
		wg.Go(func() { // sender
			phase := time.NewTimer(period * time.Duration(i) / clients)
			<-phase.C
			tick := time.NewTicker(period)
			defer tick.Stop()
			var line []byte
			for n := 0; n < perSender; n++ {
				if n > 0 {
					<-tick.C
				}
				line = strconv.AppendInt(append(line[:0], "t="...), int64(time.Since(base)), 10)
				line = append(line, " padding-padding\n"...)
				if _, err := c.Write(line); err != nil {
					b.Error(err)
					return
				}
			}
		})
		wg.Go(func() { // receiver
			lat := make([]int64, 0, wantPerReader)
			r := bufio.NewReader(c)
			for len(lat) < wantPerReader {
				l, err := r.ReadSlice('\n')
				if err != nil {
					b.Errorf("receiver %d: %d of %d relays: %v", i, len(lat), wantPerReader, err)
					break
				}
				now := int64(time.Since(base))
				j := bytes.Index(l, []byte("t="))
				k := bytes.IndexByte(l[j+2:], ' ')
				if j < 0 || k < 0 {
					b.Errorf("receiver %d: unexpected relay %q", i, l)
					break
				}
				sent, _ := strconv.ParseInt(string(l[j+2:j+2+k]), 10, 64)
				lat = append(lat, now-sent)
			}
			samples[i] = lat
		})
	}
	wg.Wait()
	b.StopTimer()
	cpu := cpuTime() - cpu0
	all := slices.Concat(samples...)
	if len(all) == 0 {
		b.Fatal("no samples")
	}
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1e3 }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(1), "max-µs")
	b.ReportMetric(float64(len(all)), "deliveries")
	b.ReportMetric(float64(cpu.Microseconds())/float64(clients*perSender), "cpu-µs/msg")
	if testing.Verbose() {
		fmt.Printf("latency: %d deliveries, p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, p99.9 %.0f µs, max %.0f µs\n",
			len(all), q(0.5), q(0.9), q(0.99), q(0.999), q(1))
	}
}
