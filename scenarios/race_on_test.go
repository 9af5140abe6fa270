//go:build race

package scenarios

// raceScale stretches every timing threshold of the positive controls under the race
// detector, which slows servers and tester alike several times.
const raceScale = 2
