package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"time"

	"github.com/credvault/credvault/config"
)

// The bare hop: what any proxy in front of the customer's service costs —
// an httputil.ReverseProxy adding the Bearer token and nothing else (no
// authentication, no database, no decoding, no metrics), on a transport
// sized as credvault's (config.DefaultConnsPerHost connections per host,
// all kept alive). It runs in a process of its own, as credvault does, so
// its CPU is read from /proc the same way.

// serveHop serves the bare hop on a free loopback port to upstream,
// prints the address and serves until stdin closes.
func serveHop(upstream string) error {
	u, err := url.Parse(upstream)
	if err != nil {
		return err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Header.Set("Authorization", "Bearer "+svcToken)
		},
		Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: config.DefaultConnsPerHost,
			MaxConnsPerHost: config.DefaultConnsPerHost, IdleConnTimeout: 90 * time.Second},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go func() { _ = srv.Serve(l) }()
	fmt.Println(l.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// serveHello serves a bare net/http hello-world (a constant JSON body of
// the size of the service's item answer) on a free loopback port, prints
// the address and serves until stdin closes.
func serveHello() error {
	body := []byte(`{"name":"Bank","type":"password","username":"a@example.com","password":"pw","totp":"JBSWY3DPEHPK3PXP","totp_type":"authenticator"}`)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go func() { _ = srv.Serve(l) }()
	fmt.Println(l.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// startHello starts the hello-world in a process of this program and
// returns its address.
func (e *env) startHello() (string, error) {
	pid, addr, err := e.child("hello-world", "-hello")
	e.helloPID = pid
	return addr, err
}

// startHop starts the bare hop to upstream in a process of this program
// and returns its address.
func (e *env) startHop(upstream string) (string, error) {
	pid, addr, err := e.child("bare hop", "-hop", upstream)
	e.hopPID = pid
	return addr, err
}

// startNginx starts Debian's nginx as a proxy_pass hop to upstream with
// the Bearer token added, keep-alive both ways, and returns its address
// ("" with the reason when nginx is not installed).
func (e *env) startNginx(upstream string) (string, string, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/sbin/nginx"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		return "", "nginx is not installed here (apt-get install nginx-light): its anchor is skipped", nil
	}
	addr, err := freeAddr()
	if err != nil {
		return "", "", err
	}
	dir := e.dir + "/nginx"
	if err := os.MkdirAll(dir+"/logs", 0o755); err != nil {
		return "", "", err
	}
	u, _ := url.Parse(upstream)
	// One process (no master), so /proc of its pid holds all its CPU.
	conf := fmt.Sprintf(`master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  upstream service { server %[2]s; keepalive 128; }
  server {
    listen %[3]s;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer %[4]s";
    }
  }
}
`, dir, u.Host, addr, svcToken)
	if err := os.WriteFile(dir+"/nginx.conf", []byte(conf), 0o600); err != nil {
		return "", "", err
	}
	cmd := exec.Command(bin, "-p", dir, "-c", dir+"/nginx.conf", "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = dieWithUs()
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	e.procs = append(e.procs, cmd)
	e.nginxPID = cmd.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, "", nil
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("nginx did not listen on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
