// Package oracle holds the native fuzz target of the broadcast oracle
// (conformance/oracle): FuzzOracle in fuzz_test.go. Run it with
//
//	go test -run='^$' -fuzz='^FuzzOracle$' -fuzztime=20s ./fuzz/oracle/
package oracle
