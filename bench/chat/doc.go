// Package chatbench measures the reference chat server (servers/chat) run as a separate process
// (cmd/chatserver), so that the server's CPU time can be read from /proc/PID/stat apart from
// the load generator's. Beside it runs a yardstick under the same load: cchat/chat.c, a
// single-threaded C epoll relay that writes each line to every other client from the reading
// thread (built with gcc when gcc is there).
//
// BenchmarkLatency is the relay latency target of issue 2: 100 clients each sending 10
// lines/s, driven by cload/load.c, a lean load generator (one C thread over epoll, a process of
// its own). BenchmarkLatencyGoClients drives the same traffic from the test process with a
// sender and a receiver goroutine per client, as Go chat clients are written: it costs about
// as much CPU per delivery as the server, so on two cores it measures the pair. BenchmarkBroadcast
// is the throughput of 10 clients all sending at once. Each run starts a fresh server. On
// this shared 2-core machine, run several rounds (servers alternate within a round) and
// compare medians; -v shows the summary of medians and per-round ratios:
//
//	CHATBENCH_ROUNDS=5 go test -run='^$' -bench=Latency -benchtime=1x -v ./bench/chat/
//
// Environment:
//   - CHATBENCH_ROUNDS: rounds of runs (default 1).
//   - CHATBENCH_RUN: traffic time of one latency run after a 1 s warm-up (default 3s).
//   - CHATBENCH_RATE: lines per second per client in the latency benchmarks (default 10).
//   - CHATBENCH_SERVERS: more servers to compare with the one built from this tree, separated by
//     ';', each "name=[VAR=value ...] /path/to/binary [args]", for example
//     "base=/tmp/chat-base;procs1=GOMAXPROCS=1 /tmp/chat-base" (build the baseline with
//     go build -o /tmp/chat-base ./bench/chat/cmd/chatserver from another checkout).
//   - CHATBENCH_ONLY: run only the servers whose names are listed (comma separated).
package chatbench
