// Package config turns the process environment into one typed, validated
// Config. It is parsed once at start-up and passed explicitly to whatever
// needs it; nothing in credvault reads the environment on its own.
//
// Every error names the variable that caused it, and all problems are
// reported together rather than one per restart. Secret-bearing variables
// also accept a *_FILE variant naming a file that holds the value (for
// Docker and Kubernetes secrets).
//
// This package must not know about databases, HTTP or Tink: it only reads
// and checks values.
package config
