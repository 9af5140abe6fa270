// Package echobench measures the reference echo server (servers/echo), with each of its
// engines (goroutines, epoll), against a yardstick: a small single-threaded C epoll echo
// server (cecho/echo.c). All are built and started as separate processes (cmd/echoserver
// wraps servers/echo), and the same Go load generator drives each, so that each server's CPU
// time can be read from /proc/PID/stat.
//
// On a machine with few cores the load generator competes with the server for CPU, so
// requests per second alone mislead: compare the servers by server CPU per request.
//
//	go test -run='^$' -bench=. -count=3 ./bench/echo/
package echobench
