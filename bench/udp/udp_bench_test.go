//go:build linux

package udpbench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockspec/sockspec/bench/internal/benchproc"
)

const (
	clients     = 16
	runLength   = 3 * time.Second
	warmUp      = 300 * time.Millisecond
	runs        = 3                      // the median of these is reported
	lossTimeout = 100 * time.Millisecond // a reply later than this counts as lost
	payloadSize = 64
)

// BenchmarkUDPUpper measures replies/s and server CPU per reply for the C baseline and the
// reference server under the same load.
func BenchmarkUDPUpper(b *testing.B) {
	dir := b.TempDir()
	b.Run("server=c", func(b *testing.B) {
		bin := buildC(b, dir)
		measure(b, bin)
	})
	goBin := ""
	for _, v := range []struct {
		name string
		args []string
	}{
		{"server=go", nil}, // the defaults: batch=32, readers=1
		{"server=go-batch1", []string{"-set", "batch=1"}}, // one datagram per system call
	} {
		b.Run(v.name, func(b *testing.B) {
			if goBin == "" {
				goBin = buildGo(b, dir)
			}
			measure(b, goBin, v.args...)
		})
	}
}

// BenchmarkUDPUpperVsC is the comparison the issue asks for, made fair on a shared machine:
// short runs of the C peer and of the reference server (its defaults) alternate, so that both
// see the same background load, and the medians of the per-pair ratios go/C are reported
// (server CPU per reply: below 1, the Go server spends less; replies/s: above 1, it answers
// more).
func BenchmarkUDPUpperVsC(b *testing.B) {
	dir := b.TempDir()
	cBin, goBin := buildC(b, dir), buildGo(b, dir)
	cpu, rate := alternate(b, 8, func() sample { return runOnce(b, time.Second, cBin) },
		func() sample { return runOnce(b, time.Second, goBin) })
	b.ReportMetric(cpu, "go/c-server-µs/reply")
	b.ReportMetric(rate, "go/c-replies/s")
}

// BenchmarkUDPUpperBatchVsPlain is the evidence for the batch knob's default: short runs of
// the batched reader (batch=32, recvmmsg/sendmmsg) and the one-datagram reader (batch=1)
// alternate, and the medians of the per-pair ratios batch/plain are reported (below 1:
// batching costs less CPU per reply).
func BenchmarkUDPUpperBatchVsPlain(b *testing.B) {
	bin := buildGo(b, b.TempDir())
	cpu, rate := alternate(b, 6, func() sample { return runOnce(b, time.Second, bin, "-set", "batch=1") },
		func() sample { return runOnce(b, time.Second, bin, "-set", "batch=32") })
	b.ReportMetric(cpu, "batch/plain-server-µs/reply")
	b.ReportMetric(rate, "batch/plain-replies/s")
}

// alternate runs base and other in turn, pairs times, and returns the medians of the per-pair
// ratios other/base of server CPU per reply and of replies per second.
func alternate(b *testing.B, pairs int, base, other func() sample) (cpuRatio, rateRatio float64) {
	var cpu, rate []float64
	for i := range pairs {
		x, y := base(), other()
		cpu = append(cpu, y.serverUsPer/x.serverUsPer)
		rate = append(rate, y.repliesPerSec/x.repliesPerSec)
		b.Logf("pair %d: base %.2f µs/reply %.0f/s, other %.2f µs/reply %.0f/s, other load %.2f / %.2f cores",
			i+1, x.serverUsPer, x.repliesPerSec, y.serverUsPer, y.repliesPerSec, x.otherCores, y.otherCores)
	}
	slices.Sort(cpu)
	slices.Sort(rate)
	return cpu[pairs/2], rate[pairs/2]
}

// TestHarness checks the benchmark's plumbing: both servers build, start, answer a short run
// of the load and stop. (A reply later than 100 ms counts as lost, as UDP allows: a loaded CI
// machine may lose one, so losses are logged, not failed.)
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the benchmark's servers; skipped with -short")
	}
	dir := t.TempDir()
	for _, bin := range []string{buildC(t, dir), buildGo(t, dir)} {
		s := runOnce(t, 200*time.Millisecond, bin)
		t.Logf("%s: %.0f replies/s, %.0f lost", filepath.Base(bin), s.repliesPerSec, s.lost)
	}
}

func buildC(b testing.TB, dir string) string {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		b.Skip("gcc not found: no C baseline")
	}
	src, err := filepath.Abs(filepath.Join("cudp", "udp.c"))
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "cudp")
	if out, err := exec.Command(gcc, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		b.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

func buildGo(b testing.TB, dir string) string {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			b.Skip("go tool not found: cannot build cmd/udpserver")
		}
	}
	bin := filepath.Join(dir, "udpserver")
	if out, err := exec.Command(goTool, "build", "-o", bin, "./cmd/udpserver").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sample is one run's figures.
type sample struct {
	repliesPerSec float64
	serverUsPer   float64 // server CPU µs per reply
	serverCores   float64 // server CPU time / wall time
	clientCores   float64 // this process (the load generator)
	otherCores    float64 // everything else on the machine
	lost          float64
}

func measure(b *testing.B, bin string, args ...string) {
	var samples []sample
	for i := range runs {
		s := runOnce(b, runLength, bin, args...)
		b.Logf("run %d: %.0f replies/s, server %.2f µs/reply (%.2f cores), client %.2f cores, other load %.2f cores, lost %.0f",
			i+1, s.repliesPerSec, s.serverUsPer, s.serverCores, s.clientCores, s.otherCores, s.lost)
		samples = append(samples, s)
	}
	med := func(f func(sample) float64) float64 {
		v := make([]float64, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rps := med(func(s sample) float64 { return s.repliesPerSec })
	b.ReportMetric(1e9/rps, "ns/op") // wall time per reply across all clients
	b.ReportMetric(rps, "replies/s")
	b.ReportMetric(med(func(s sample) float64 { return s.serverUsPer }), "server-µs/reply")
	b.ReportMetric(med(func(s sample) float64 { return s.serverCores }), "server-cores")
	b.ReportMetric(med(func(s sample) float64 { return s.clientCores }), "client-cores")
	b.ReportMetric(med(func(s sample) float64 { return s.otherCores }), "other-cores")
	b.ReportMetric(med(func(s sample) float64 { return s.lost }), "lost/run")
}

// runOnce starts the server, warms it up, and measures one run of length d.
func runOnce(b testing.TB, d time.Duration, bin string, args ...string) sample {
	p := benchproc.Launch(b, filepath.Base(bin), nil, append([]string{bin}, args...)...)
	defer p.Stop()
	addr, err := netip.ParseAddrPort(p.Addr)
	if err != nil {
		b.Fatalf("%s: %v", p.Name, err)
	}
	if _, err := load(addr, warmUp); err != nil {
		b.Fatalf("warm-up: %v\nserver stderr: %s", err, p.Stderr())
	}
	before := benchproc.Sample(p.PID)
	res, err := load(addr, d)
	delta := benchproc.Sample(p.PID).Since(before)
	if err != nil {
		b.Fatalf("load: %v\nserver stderr: %s", err, p.Stderr())
	}
	if res.replies == 0 {
		b.Fatalf("no replies at all\nserver stderr: %s", p.Stderr())
	}
	sec := delta.Wall.Seconds()
	return sample{
		repliesPerSec: float64(res.replies) / sec,
		serverUsPer:   delta.Server.Seconds() * 1e6 / float64(res.replies),
		serverCores:   delta.Server.Seconds() / sec,
		clientCores:   delta.Client.Seconds() / sec,
		otherCores:    delta.OtherCores(),
		lost:          float64(res.lost),
	}
}

type loadResult struct{ replies, lost int64 }

// load runs the 16 closed-loop clients against addr for d. Each sends a 64-byte lowercase
// datagram carrying its sequence number, then waits for the matching upper-cased reply; a
// stale reply (to a request already counted lost) is skipped.
func load(addr netip.AddrPort, d time.Duration) (loadResult, error) {
	var (
		replies, lost atomic.Int64
		wg            sync.WaitGroup
		errOnce       sync.Once
		firstErr      error
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	end := time.Now().Add(d)
	for range clients {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
		if err != nil {
			return loadResult{}, err
		}
		wg.Go(func() {
			defer c.Close()
			req := bytes.Repeat([]byte("abcdefgh"), payloadSize/8)
			wantTail := bytes.ToUpper(req[16:])
			buf := make([]byte, 2048)
			for seq := uint64(0); time.Now().Before(end); seq++ {
				seqDigits := len(strconv.AppendUint(req[:0], seq, 10)) // digits survive upper-casing
				if _, err := c.Write(req); err != nil {
					fail(fmt.Errorf("send: %w", err))
					return
				}
				c.SetReadDeadline(time.Now().Add(lossTimeout))
				for {
					n, err := c.Read(buf)
					if err != nil {
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							lost.Add(1)
							break
						}
						fail(fmt.Errorf("receive: %w", err))
						return
					}
					if n == payloadSize && bytes.Equal(buf[:seqDigits], req[:seqDigits]) && bytes.Equal(buf[16:n], wantTail) {
						replies.Add(1)
						break
					}
				}
			}
		})
	}
	wg.Wait()
	return loadResult{replies: replies.Load(), lost: lost.Load()}, firstErr
}
