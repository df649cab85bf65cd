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
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		_ = n
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}
