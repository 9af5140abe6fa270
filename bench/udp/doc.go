// Package udpbench compares the reference udp-upper server (servers/udp, run as a process of
// its own from cmd/udpserver) with a minimal C recvfrom/sendto loop (cudp/udp.c), under the
// same Go load generator: 16 clients, each a closed loop (send a 64-byte datagram, wait for
// the reply under a 100 ms deadline, count a lost reply and go on).
//
// Run it with:
//
//	go test -run='^$' -bench=. ./bench/udp
//
// BenchmarkUDPUpper runs each server three times for 3 s and reports the medians of
// replies/s and of the server's CPU time per reply (µs, from /proc/PID/stat), with the load
// generator's and the rest of the machine's CPU use: the machine is shared, and both sides
// compete for two cores, so CPU per reply is the figure to compare.
//
// BenchmarkUDPUpperVsC alternates eight 1 s runs of the C peer and of the Go server and
// reports the medians of the per-pair ratios go/C: the fair comparison on a shared machine.
//
// BenchmarkUDPUpperBatchVsPlain alternates short runs of the batched reader and the
// one-datagram reader, and reports the median ratios between them: the evidence for the
// batch knob's default.
package udpbench
