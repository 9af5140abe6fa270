// Package faulty holds deliberately broken servers, one classic student bug each. They are the
// negative controls of the conformance suites (ARCHITECTURE.md decision 3): every spec is shown
// failing on the server whose bug it exists to catch. Never use them for anything else.
package faulty
