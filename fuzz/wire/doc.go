// Package wirefuzz holds the Go native fuzz targets for package wire (in its _test.go files).
//
// Each target takes input bytes and a seed; the seed chooses the decoder's knobs and a
// segmentation of the input. A target decodes the input whole and segmented and fails if the
// two differ, if anything panics, if Pending ever exceeds header size + limit, or if what was
// decoded does not encode and decode back to itself.
//
// Run one target:
//
//	go test -run='^$' -fuzz='^FuzzLines$' -fuzztime=15s -fuzzminimizetime=1s ./fuzz/wire/
//
// (The default 60 s minimisation of each new input stalls short runs at 0 execs/s.)
//
// Plain `go test ./fuzz/wire/` replays the committed corpus in testdata/fuzz/ as regression tests.
package wirefuzz
