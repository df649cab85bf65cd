// Package loopback holds what the programs under e2e/ (the failover proof
// and the load benchmarks) need to start servers on this machine's
// loopback interface and wait for them.
package loopback

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 nothing listened on a moment
// ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr is FreePort as a host:port address.
func FreeAddr() (string, error) {
	p, err := FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + strconv.Itoa(p), nil
}

// WaitHTTP polls url until it answers 200, for at most within.
func WaitHTTP(url string, within time.Duration) error {
	return Wait(http.DefaultClient, url, within)
}

// Wait polls url with c (an HTTPS client trusting a test's CA, say) until
// it answers 200, for at most within.
func Wait(c *http.Client, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within %v: %v", url, within, err)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, bounded by the deadline
	}
}
