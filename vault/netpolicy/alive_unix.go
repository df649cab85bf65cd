//go:build unix

package netpolicy

import (
	"net"
	"syscall"
)

// alive reports whether an idle connection is still open: a peek that
// must not block finds nothing to read. The service closing it (EOF) or
// sending anything unasked (an idle connection owes nothing) makes it
// unusable — what http.Transport learns from its reading goroutine.
func alive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var b [1]byte
	// Control, not Read: the peek never blocks, and Read would first
	// refuse a connection whose last exchange's deadline has passed while
	// it waited idle (every connection idle longer than the timeout).
	err = rc.Control(func(fd uintptr) {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	})
	return err == nil && open
}
