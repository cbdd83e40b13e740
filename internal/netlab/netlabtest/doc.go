// Package netlabtest wraps a netlab.Lab for tests: every step fails the
// test when it fails, and the lab's namespaces are deleted when the test
// ends. Linux only, as netlab.
package netlabtest
