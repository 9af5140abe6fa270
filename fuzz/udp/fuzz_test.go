// Package udpfuzz feeds the reference udp-upper and udp-pong servers, in-process on
// 127.0.0.1, with fuzzer-chosen datagrams from several client sockets, some of which leave
// (close their socket) before reading their replies. It checks that every datagram gets
// exactly its reply (upper-cased after cutting at max_datagram, or PONG), from the server's
// address, in order per client; that the servers never panic; and that the heap stays bounded.
//
// Run it:
//
//	go test -run='^$' -fuzz='^FuzzUDP$' -fuzztime=20s -fuzzminimizetime=1s ./fuzz/udp/
//
// Plain `go test ./fuzz/udp/` replays the committed corpus in testdata/fuzz/FuzzUDP/.
package udpfuzz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockspec/sockspec/servers/faulty"
	"github.com/sockspec/sockspec/servers/kit"
	"github.com/sockspec/sockspec/servers/udp"
	"github.com/sockspec/sockspec/wire"
)

const (
	clients     = 4
	maxOps      = 32              // datagrams per input
	window      = 8               // datagrams in flight before the replies are read
	windowBytes = 32 << 10        // ... or bytes: a burst must fit the server's receive buffer
	replyWait   = 2 * time.Second // per reply, on loopback
	heapBound   = 256 << 20       // the servers keep no per-client state: far below this
	maxDatagram = 2048            // the reference servers' default max_datagram
	hugeBase    = udp.MaxUDPPayload - 20 - 255
)

// fixture is one reference server and the client sockets reused across inputs.
type fixture struct {
	mode    udp.Mode
	addr    netip.AddrPort
	clients [clients]*net.UDPConn
	dirty   bool // an input failed half-way: replies may still be in flight
	buf     []byte
}

// Late replies to a client that left go to its address and port. So that no other client
// gets them, clients bind an address of 127.0.0.0/8 of this process's own (fuzzing runs
// several worker processes at once), and no new client socket of the process takes a port in
// recentPorts, the ports of recently closed ones.
var (
	clientAddr  = processLoopback()
	recentPorts = map[uint16]bool{}
)

// processLoopback is 127.P.P.P for this process's ID P (pid_max is at most 2^22).
func processLoopback() netip.Addr {
	pid := os.Getpid()
	return netip.AddrFrom4([4]byte{127, byte(pid >> 16), byte(pid >> 8), byte(pid)})
}

var (
	setupOnce sync.Once
	setupErr  error
	fixtures  [2]*fixture
	stopAll   func()
	execs     int
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stopAll != nil {
		stopAll()
	}
	os.Exit(code)
}

func setup() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stopAll = func() {
		cancel()
		wg.Wait()
		for _, fx := range fixtures {
			if fx != nil {
				fx.closeClients()
			}
		}
	}
	for i, mode := range []udp.Mode{udp.Upper, udp.Pong} {
		fixtures[i], setupErr = startFixture(ctx, &wg, mode, udp.New(udp.DefaultConfig(mode), kit.Discard()))
		if setupErr != nil {
			return
		}
	}
}

// startFixture serves srv on a free loopback port until ctx ends and opens the clients.
func startFixture(ctx context.Context, wg *sync.WaitGroup, mode udp.Mode, srv kit.Server) (*fixture, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	wg.Go(func() { srv.Serve(ctx, kit.Listener{Packet: pc}) })
	fx := &fixture{mode: mode, addr: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	for c := range fx.clients {
		if fx.clients[c], err = fx.newClient(); err != nil {
			fx.closeClients()
			return nil, err
		}
	}
	return fx, nil
}

func (fx *fixture) closeClients() {
	for _, c := range fx.clients {
		if c != nil {
			c.Close()
		}
	}
}

// newClient opens a client socket on a port no recently closed client had.
func (fx *fixture) newClient() (*net.UDPConn, error) {
	var spare []*net.UDPConn
	defer func() {
		for _, c := range spare {
			c.Close()
		}
	}()
	for range 16 {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(clientAddr, 0)))
		if err != nil {
			return nil, err
		}
		if !recentPorts[c.LocalAddr().(*net.UDPAddr).AddrPort().Port()] {
			return c, nil
		}
		spare = append(spare, c) // held open so the next try gets another port
	}
	return nil, errors.New("no fresh client port in 16 tries")
}

func (fx *fixture) replace(i int) error {
	port := fx.clients[i].LocalAddr().(*net.UDPAddr).AddrPort().Port()
	fx.clients[i].Close()
	if len(recentPorts) > 1024 {
		clear(recentPorts)
	}
	recentPorts[port] = true
	c, err := fx.newClient()
	if err != nil {
		return err
	}
	fx.clients[i] = c
	return nil
}

func (fx *fixture) want(payload []byte) []byte {
	if fx.mode == udp.Pong {
		return []byte("PONG")
	}
	return wire.Upper(wire.Unicode, payload[:min(len(payload), maxDatagram)])
}

// op is one datagram of an input: which client sends what, and whether it then leaves.
type op struct {
	client  int
	payload []byte
	leave   bool
}

// parse turns fuzzer bytes into a server choice (first byte, bit 0) and up to maxOps
// datagrams. Each op is a header byte (client: bits 0-1; leave after sending: bit 2; size
// form: bits 3-4), then by size form:
//
//	0: n, then n payload bytes
//	1: n, m, k, then k%16 pattern bytes repeated to n*32 + m%32 bytes (up to 8 KiB, around max_datagram)
//	2: n, k, then k%16 pattern bytes repeated to near the UDP limit (hugeBase + n)
//
// An input that runs short gives shorter payloads (or a pattern of "a").
func parse(data []byte) (server int, ops []op) {
	if len(data) == 0 {
		return 0, nil
	}
	server, data = int(data[0]&1), data[1:]
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	take := func(n int) []byte {
		b := data[:min(n, len(data))]
		data = data[len(b):]
		return b
	}
	for len(data) > 0 && len(ops) < maxOps {
		h := next()
		o := op{client: h & 3, leave: h>>2&1 == 1}
		switch h >> 3 & 3 {
		case 1:
			n := next()*32 + next()%32
			o.payload = repeat(take(next()%16), n)
		case 2:
			n := hugeBase + next()
			o.payload = repeat(take(next()%16), n)
		default:
			o.payload = append([]byte(nil), take(next())...)
		}
		ops = append(ops, o)
	}
	return server, ops
}

// repeat fills n bytes with pattern (with "a" when it is empty).
func repeat(pattern []byte, n int) []byte {
	if len(pattern) == 0 {
		pattern = []byte("a")
	}
	b := make([]byte, n)
	for i := 0; i < n; i += len(pattern) {
		copy(b[i:], pattern)
	}
	return b
}

func FuzzUDP(f *testing.F) {
	f.Add([]byte("\x00\x00\x05hello\x01\x03abc"))
	f.Add([]byte("\x01\x00\x04ping\x05\x00\x02\x00"))
	f.Add([]byte("\x00\x08\x40\x00\x0estra\xc3\x9fe caf\xc3\xa9 \xff\xfe"))
	f.Add([]byte("\x00\x10\x10ab\x13\x00\xc3"))
	f.Fuzz(func(t *testing.T, data []byte) {
		setupOnce.Do(setup)
		if setupErr != nil {
			t.Fatal(setupErr)
		}
		server, ops := parse(data)
		fx := fixtures[server]
		if fx.dirty {
			for i := range fx.clients {
				if err := fx.replace(i); err != nil {
					t.Fatal(err)
				}
			}
			fx.dirty = false
		}
		ok := false
		defer func() { fx.dirty = !ok }()

		if err := fx.run(ops); err != nil {
			t.Fatal(err)
		}
		execs++
		if execs%256 == 0 {
			checkHeap(t)
		}
		ok = true
	})
}

// run sends the datagrams of ops and checks every reply, a window at a time. A window counts
// every datagram sent, those of clients that leave included: each sits in the server's
// receive buffer until the server reads it, and a burst beyond that buffer is dropped (as
// UDP allows), replies and all. A window is closed by reading its replies: the server reads
// one socket in order, so once a reply arrives, everything sent before it has been read.
// When every sender of a window left, a probe datagram from client 0 closes it.
func (fx *fixture) run(ops []op) error {
	var pending [clients][][]byte // expected replies, in order, per client
	inFlight, inFlightBytes := 0, 0
	drain := func() error {
		probe := true
		for i := range pending {
			probe = probe && len(pending[i]) == 0
		}
		if probe && inFlight > 0 {
			if err := fx.send(0, probeDatagram); err != nil {
				return err
			}
			pending[0] = append(pending[0], fx.want(probeDatagram))
		}
		for i := range pending {
			for _, want := range pending[i] {
				if err := fx.expect(i, want); err != nil {
					return err
				}
			}
			pending[i] = nil
		}
		inFlight, inFlightBytes = 0, 0
		return nil
	}
	for _, o := range ops {
		if err := fx.send(o.client, o.payload); err != nil {
			return err
		}
		inFlight++
		inFlightBytes += len(o.payload)
		if o.leave { // the client goes without reading: its replies go nowhere
			pending[o.client] = nil
			if err := fx.replace(o.client); err != nil {
				return err
			}
		} else {
			pending[o.client] = append(pending[o.client], fx.want(o.payload))
		}
		if inFlight >= window || inFlightBytes >= windowBytes {
			if err := drain(); err != nil {
				return err
			}
		}
	}
	if err := drain(); err != nil {
		return err
	}
	return fx.expectNothing()
}

// probeDatagram closes a window whose senders all left.
var probeDatagram = []byte("probe")

// send sends payload from client i to the server.
func (fx *fixture) send(i int, payload []byte) error {
	c := fx.clients[i]
	c.SetWriteDeadline(time.Now().Add(replyWait))
	if _, err := c.WriteToUDPAddrPort(payload, fx.addr); err != nil {
		return fmt.Errorf("sending a %d-byte datagram: %v", len(payload), err)
	}
	return nil
}

// expect reads client i's next datagram and checks it is want, from the server.
func (fx *fixture) expect(i int, want []byte) error {
	c := fx.clients[i]
	c.SetReadDeadline(time.Now().Add(replyWait))
	n, from, err := c.ReadFromUDPAddrPort(fx.buffer())
	if err != nil {
		return fmt.Errorf("%v server: client %d: no reply %s within %v: %v", fx.mode, i, wire.Quote(want, 40), replyWait, err)
	}
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	if from != fx.addr {
		return fmt.Errorf("%v server: reply from %s, not from the server's address %s", fx.mode, from, fx.addr)
	}
	if !bytes.Equal(fx.buf[:n], want) {
		return fmt.Errorf("%v server: client %d: reply %s, want %s", fx.mode, i, wire.Quote(fx.buf[:n], 80), wire.Quote(want, 80))
	}
	return nil
}

// expectNothing checks that no client holds a datagram beyond its replies, without waiting:
// a reply sent twice leaves right after the first, so it is nearly always queued already (and
// the next input's first read finds it otherwise).
func (fx *fixture) expectNothing() error {
	for i, c := range fx.clients {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		n, rerr := -1, error(nil)
		err = rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), fx.buffer(), unix.MSG_DONTWAIT)
			return true // one look, never a wait
		})
		if err == nil && rerr == nil {
			return fmt.Errorf("%v server: client %d: an extra datagram %s beyond one reply per datagram", fx.mode, i, wire.Quote(fx.buf[:n], 80))
		}
	}
	return nil
}

func (fx *fixture) buffer() []byte {
	if fx.buf == nil {
		fx.buf = make([]byte, udp.MaxUDPPayload+1)
	}
	return fx.buf
}

func checkHeap(t *testing.T) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() > heapBound {
		t.Fatalf("heap holds %d bytes, over the bound of %s", s[0].Value.Uint64(), fmt.Sprint(heapBound))
	}
}

// The checker itself is shown failing: servers with classic bugs break the run.
func TestCheckerCatchesBrokenServers(t *testing.T) {
	ops := []op{
		{client: 0, payload: []byte("hello")},
		{client: 1, payload: bytes.Repeat([]byte("x"), 1500)},
		{client: 0, payload: nil},
		{client: 2, payload: []byte("caf\xc3\xa9 \xff")},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, bug := range []string{"other-socket", "replies-twice", "recv-1024", "stops-on-empty", "echoes-non-utf8", "keyed-by-ip"} {
		srv, err := faulty.NewUDP("udp-upper", bug)
		if err != nil {
			t.Fatal(err)
		}
		fx, err := startFixture(ctx, &wg, udp.Upper, srv)
		if err != nil {
			t.Fatal(err)
		}
		err = fx.run(ops)
		fx.closeClients()
		if err == nil {
			t.Errorf("%s: the fuzz check passed a broken server", bug)
		} else {
			t.Logf("%s: %v", bug, err)
		}
	}
	srv := udp.New(udp.DefaultConfig(udp.Upper), kit.Discard())
	fx, err := startFixture(ctx, &wg, udp.Upper, srv)
	if err != nil {
		t.Fatal(err)
	}
	defer fx.closeClients()
	if err := fx.run(ops); err != nil {
		t.Errorf("reference server: %v", err)
	}
}

func TestParseSizeForms(t *testing.T) {
	server, ops := parse([]byte("\x01" + "\x05\x02ab" + "\x09\x40\x05\x03abc" + "\x12\xff\x00" + "\x03\x00" + "\x00\x09xy"))
	want := []struct {
		client, size int
		leave        bool
	}{{1, 2, true}, {1, 64*32 + 5, false}, {2, 65507, false}, {3, 0, false}, {0, 2, false}}
	if server != 1 || len(ops) != len(want) {
		t.Fatalf("server %d, %d ops; want 1, %d", server, len(ops), len(want))
	}
	for i, w := range want {
		if o := ops[i]; o.client != w.client || len(o.payload) != w.size || o.leave != w.leave {
			t.Errorf("op %d: client %d, %d bytes, leave %v; want %+v", i, o.client, len(o.payload), o.leave, w)
		}
	}
	if !bytes.HasPrefix(ops[1].payload, []byte("abcabc")) || ops[2].payload[0] != 'a' {
		t.Errorf("patterns: %q, %q", ops[1].payload[:8], ops[2].payload[:4])
	}
}
