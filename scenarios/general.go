package scenarios

import (
	"fmt"
	"time"

	"github.com/sockspec/sockspec/conformance/engine"
	"github.com/sockspec/sockspec/conformance/peer"
	"github.com/sockspec/sockspec/conformance/target"
)

// generalSpecs registers the GEN-* specs that every TCP protocol shares. activity is some
// client traffic of the protocol that ends with every client gone.
func generalSpecs(env *engine.Env, activity func(t *engine.T)) {
	idleSpec(env, activity, "A busy loop: when a client leaves, recv() returns b'' at once, forever. If your "+
		"loop does `if not data: continue`, it spins. On an empty recv(), close the socket and leave the loop.")
	leakSpec(env, activity, "Sockets of departed clients stay open, or their threads never end. Close the "+
		"connection when recv() returns b'' or raises, in a finally: block, and let the client's thread return.")
	env.It("GEN-BAD-1", must, "non-UTF-8 bytes, an overlong request and a connect-and-close do not take the server down", func(t *engine.T) {
		ctx := t
		for _, payload := range [][]byte{[]byte("\xff\xfe\xfd not text \xc3\n"), overlong()} {
			c, err := peer.Dial(ctx, t.Addr(), peer.FromIP(clientIP(220)))
			if err != nil {
				t.Fail(engine.Failure{
					Expected: "the server to accept a connection for each bad request",
					Got:      err.Error(),
					Hint: "The server stopped accepting after the first bad request: it probably crashed on it. " +
						"Catch errors per client (a try/except around one client's handling, then close that client).",
				})
			}
			c.Send(peer.Whole{}, payload) // the server may refuse it by closing: fine
			c.Close()
		}
		c, err := peer.Dial(ctx, t.Addr(), peer.FromIP(clientIP(221)))
		if err == nil {
			c.Close()
		}
		// The verdict: the server still answers a plain valid request afterwards.
		suite, _ := For(t.Env.Protocol)
		if err := suite.Probe(ctx, t.Env, t.Addr()); err != nil {
			t.Fail(engine.Failure{
				Expected: "the server to keep serving after bad input",
				Got:      err.Error(),
				Hint: "Bad input took the server down. Catch errors per client (a try/except around one client's " +
					"handling, then close that client) so that one bad client cannot end the whole server.",
			})
		}
	})
}

// overlong is a request far longer than any protocol expects: 1 MiB without a newline.
func overlong() []byte {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = 'x'
	}
	return b
}

// threadsBack: a Go runtime keeps its threads, so in-process targets are judged on
// descriptors only; launched targets may keep a couple of pooled threads.
func threadsBack(t *engine.T, base, now target.Sample) bool {
	if t.Env.Starter.Kind() == "in-process" {
		return true
	}
	return now.Threads <= base.Threads+2
}

// idleSpec registers GEN-IDLE-1: after activity, the server's CPU over a 1 s window.
func idleSpec(env *engine.Env, activity func(t *engine.T), hint string) {
	env.It("GEN-IDLE-1", must, "once clients have gone, CPU use returns to idle", func(t *engine.T) {
		h := t.Target.Health()
		activity(t)
		cpu, err := idleLoad(t, h)
		if err != nil {
			t.Fail(engine.Failure{Expected: "to read the server's CPU use", Got: err.Error()})
		}
		t.Info("CPU after clients left: %.1f%% of a core", cpu*100)
		if cpu > 0.10 {
			t.Fail(engine.Failure{
				Expected: "under 10% of a core over 1 s once every client has gone",
				Got:      fmt.Sprintf("%.0f%% of a core", cpu*100),
				Hint:     hint,
			})
		}
	})
}

// leakSpec registers GEN-LEAK-1: descriptors and threads back to their baseline after four
// rounds of activity.
func leakSpec(env *engine.Env, activity func(t *engine.T), hint string) {
	env.It("GEN-LEAK-1", should, "descriptors and threads return to their baseline after clients leave", func(t *engine.T) {
		h := t.Target.Health()
		// The baseline comes after a first round of clients: what a server sets up once, for
		// its first clients or just after it starts (an in-process server may still be setting
		// up when the spec begins), is not a leak. What each round leaves behind is.
		activity(t)
		base, err := h.Sample()
		if err != nil {
			t.Fail(engine.Failure{Expected: "to read the server's descriptors", Got: err.Error()})
		}
		for range 4 {
			activity(t)
		}
		// Closing is the server's job and takes it a moment: sample until back or out of time.
		wait := t.Scale(2 * time.Second)
		deadline := time.Now().Add(wait)
		var now target.Sample
		for {
			now, err = h.Sample()
			if err == nil && now.FDs <= base.FDs && threadsBack(t, base, now) {
				t.Info("descriptors %d -> %d, threads %d -> %d", base.FDs, now.FDs, base.Threads, now.Threads)
				return
			}
			if time.Now().After(deadline) {
				break
			}
			select { // sampling a measurement, not waiting for an event
			case <-t.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		t.Fail(engine.Failure{
			Expected: fmt.Sprintf("descriptors and threads back to %d and %d once clients left", base.FDs, base.Threads),
			Got:      fmt.Sprintf("%d descriptors and %d threads after %v", now.FDs, now.Threads, wait),
			Hint:     hint,
		})
	})
}

// idleLoad is the server's load over a 1 s window (a measurement, not a wait for an event), as
// a fraction of one core. For a launched process it also counts time spent waiting for a CPU
// (schedstat), so that a busy loop shows on a loaded machine too, where it gets little CPU.
// In-process, the tester's own threads share the process, so only CPU time counts.
func idleLoad(t *engine.T, h target.Health) (float64, error) {
	first, err := h.Sample()
	if err != nil {
		return 0, err
	}
	select {
	case <-t.Done():
		return 0, t.Err()
	case <-time.After(time.Second):
	}
	second, err := h.Sample()
	if err != nil {
		return 0, err
	}
	wall := float64(second.At.Sub(first.At))
	load := float64(second.CPU-first.CPU) / wall
	if t.Env.Starter.Kind() != "in-process" {
		load = max(load, float64(second.Runnable-first.Runnable)/wall)
	}
	return max(load, 0), nil
}
