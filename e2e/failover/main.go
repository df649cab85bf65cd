// Command failover is the proof that credvault survives its faults with
// real processes: a PostgreSQL primary and a streaming standby, the
// reference credential service behind a TCP proxy, and two `credvault
// serve` processes on the multi-host URL, under mixed load (vegeta) across
// 20 organizations while it kills credvault mid-create, stops the primary
// and promotes the standby, kills the reference service and cuts it off
// for 10 seconds. Then, with no operator action, it waits for the outbox
// and the create recovery and checks that nothing acknowledged was lost
// and nothing was left behind. Run it with scripts/failover.sh.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/internal/loopback"
	"github.com/credvault/credvault/internal/tcpproxy"
	"github.com/credvault/credvault/store/sqlstore"
)

const (
	orgs     = 20
	svcToken = "failover-token-0123456789abcdef"
	loadFor  = 70 * time.Second
	// recovery bounds the wait for the outbox and the create recovery
	// once the load ends, with no operator action.
	recovery = 2 * time.Minute
	loadRate = 48
	dbName   = "credvault"
)

func main() {
	useTLS := flag.Bool("tls", false, "the HTTPS variant: every hop over TLS from a CA made for the run, mTLS to the service, and both processes' certificates rotated by SIGHUP under load")
	flag.Parse()
	code, err := run(*useTLS)
	if err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

// env is everything this run started, stopped at the end by PID.
type env struct {
	dir     string
	bin     string
	pgbin   string
	asUser  []string // runuser prefix when running as root
	ports   [2]int
	procs   []*exec.Cmd
	mu      sync.Mutex
	logs    *os.File
	proxy   *tcpproxy.Proxy
	svcCmd  *exec.Cmd
	svcAddr string
	trust   *trust // the HTTPS variant's PKI; nil for plain HTTP
	client  *http.Client
	// rotationFailed: a process did not present its new certificate
	// after SIGHUP (the HTTPS variant).
	rotationFailed atomic.Bool
}

func run(useTLS bool) (int, error) {
	ctx := context.Background()
	e := &env{}
	defer e.cleanup()
	if err := e.setup(ctx); err != nil {
		return 2, err
	}
	if useTLS {
		t, err := newTrust(e.dir)
		if err != nil {
			return 2, err
		}
		e.trust = t
	}
	e.client = e.httpClient()
	dbURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/credvault?target_session_attrs=read-write&connect_timeout=2", e.ports[0], e.ports[1])
	keyset := filepath.Join(e.dir, "keyset.json")
	if out, err := e.cmd(nil, filepath.Join(e.bin, "credvault"), "keys", "init", "--out", keyset).CombinedOutput(); err != nil {
		return 2, fmt.Errorf("keys init: %v %s", err, out)
	}
	cvEnv := []string{"DATABASE_URL=" + dbURL, "CREDVAULT_KEYSET_FILE=" + keyset, "CREDVAULT_ALLOWED_HOSTS=127.0.0.1",
		"CREDVAULT_OUTBOX_LEASE=5s", "CREDVAULT_RATE_LIMIT_CREDENTIALS=1000/s:1000", "CREDVAULT_RATE_LIMIT_READS=1000/s:1000",
		"CUSTOM_CREDENTIAL_TIMEOUT=3s", "CREDVAULT_CREATE_LEASE=30s", "CREDVAULT_LOG_LEVEL=warn"}
	if out, err := e.cmd(cvEnv, filepath.Join(e.bin, "credvault"), "migrate").CombinedOutput(); err != nil {
		return 2, fmt.Errorf("migrate: %v %s", err, out)
	}
	if err := e.startService(); err != nil {
		return 2, err
	}
	proxy, err := tcpproxy.New(e.svcAddr)
	if err != nil {
		return 2, err
	}
	e.proxy = proxy
	base := e.scheme() + "://" + proxy.Addr() + credservice.Prefix
	configTLS := ""
	if e.trust != nil {
		configTLS = e.trust.configTLS()
	}

	var servers [2]*serveProc
	for i := range servers {
		if servers[i], err = e.startServe(cvEnv); err != nil {
			return 2, err
		}
	}
	keys := make([]string, orgs)
	for i := range keys {
		out, err := e.cmd(cvEnv, filepath.Join(e.bin, "credvault"), "org", "create", "--name", fmt.Sprint("org", i)).Output()
		var created map[string]string
		if err != nil || json.Unmarshal(out, &created) != nil {
			return 2, fmt.Errorf("org create: %v %s", err, out)
		}
		keys[i] = created["api_key"]
		body := fmt.Sprintf(`{"config":{"api_base_url":%q,"api_token":%q%s}}`, base, svcToken, configTLS)
		if code := e.post(servers[i%2].addr(), "/api/v1/credentials/custom_credential/create", keys[i], body); code != 200 {
			return 2, fmt.Errorf("configure org %d: HTTP %d", i, code)
		}
	}

	ld := newLoad(keys, servers, e.scheme())
	go e.faults(servers, cvEnv)
	over := "HTTP"
	if e.trust != nil {
		over = "HTTPS (mTLS to the service)"
	}
	fmt.Printf("failover: load at %d req/s for %v across %d organizations over %s, faults injected meanwhile\n", loadRate, loadFor, orgs, over)
	ld.run(e.tlsConfig())
	loadEnd := time.Now()

	// Converge without an operator: outbox and create recovery.
	st, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: dbURL})
	if err != nil {
		return 2, err
	}
	defer st.Close()
	deadline := time.Now().Add(recovery)
	for {
		n, _, err1 := st.DeletionStats(ctx)
		cs, err2 := st.ListCreates(ctx, "", time.Now().Add(time.Hour), 10)
		if err1 == nil && err2 == nil && n == 0 && len(cs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			fmt.Printf("failover: not converged after %v: %d deletions pending, %d creates unsettled\n", recovery, n, len(cs))
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	recoveryS := time.Since(loadEnd).Seconds()
	rep, err := ld.check(ctx, st, e.svcDataDir(), cvEnv)
	if err != nil {
		return 2, err
	}
	fmt.Printf("failover: acked %d, lost %d, orphans %d, dangling %d, bad_5xx %d, recovery_s %.1f\n",
		rep.acked, rep.lost, rep.orphans, rep.dangling, ld.bad5xx, recoveryS)
	if rep.late > 0 {
		fmt.Printf("failover: %d credentials hold the secret of an update whose answer never came, sent before the one acknowledged: it landed late, which is not a loss\n", rep.late)
	}
	fmt.Printf("failover: %d requests; answers by status: %s\n", ld.hits, ld.codeSummary())
	for _, p := range rep.problems {
		fmt.Println("  ", p)
	}
	if e.rotationFailed.Load() {
		fmt.Println("failover: a certificate rotation by SIGHUP failed (above)")
		return 1, nil
	}
	if rep.lost+rep.orphans+rep.dangling+ld.bad5xx > 0 {
		e.showLogs(rep.ids)
		return 1, nil
	}
	return 0, nil
}

// ---- processes --------------------------------------------------------

func (e *env) setup(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "credvault-failover-")
	if err != nil {
		return err
	}
	e.dir = dir
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	e.logs, err = os.Create(filepath.Join(dir, "processes.log"))
	if err != nil {
		return err
	}
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return errors.New("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)")
	}
	sort.Strings(bins)
	e.pgbin = filepath.Dir(bins[len(bins)-1])
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		e.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	e.bin = filepath.Join(dir, "bin")
	for _, b := range []string{"credvault", "credential-service"} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(e.bin, b), "./cmd/"+b).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v %s", b, err, out)
		}
	}
	for i := range e.ports {
		if e.ports[i], err = loopback.FreePort(); err != nil {
			return err
		}
	}
	primary, standby := filepath.Join(dir, "primary"), filepath.Join(dir, "standby")
	if err := e.pg("initdb", "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return err
	}
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nwal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nfsync = off\n", e.ports[0], dir)
	if err := appendFile(filepath.Join(primary, "postgresql.conf"), conf); err != nil {
		return err
	}
	if err := appendFile(filepath.Join(primary, "pg_hba.conf"), "host replication all 127.0.0.1/32 trust\n"); err != nil {
		return err
	}
	if err := e.pg("pg_ctl", "-D", primary, "-l", filepath.Join(dir, "primary.log"), "-w", "start"); err != nil {
		return err
	}
	if err := e.pg("createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(e.ports[0]), "-U", "postgres", dbName); err != nil {
		return err
	}
	if err := e.pg("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(e.ports[0]), "-U", "postgres", "-D", standby, "-R", "-X", "stream"); err != nil {
		return err
	}
	if err := appendFile(filepath.Join(standby, "postgresql.conf"), fmt.Sprintf("port = %d\n", e.ports[1])); err != nil {
		return err
	}
	if err := e.pg("pg_ctl", "-D", standby, "-l", filepath.Join(dir, "standby.log"), "-w", "start"); err != nil {
		return err
	}
	// Synchronous replication: a commit is acknowledged once the standby
	// has it, so promoting the standby loses no committed transaction.
	// With asynchronous replication PostgreSQL itself may drop the last
	// commits before an immediate stop: a create recorded in that window
	// is forgotten while its item stays in the service (docs/RELIABILITY.md).
	// Set only now: the standby copied the configuration without it, so
	// once promoted it waits for no standby of its own.
	if err := appendFile(filepath.Join(primary, "postgresql.conf"), "synchronous_standby_names = '*'\nsynchronous_commit = on\n"); err != nil {
		return err
	}
	if err := e.pg("pg_ctl", "-D", primary, "reload"); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := e.pgOut("psql", "-h", "127.0.0.1", "-p", strconv.Itoa(e.ports[0]), "-U", "postgres", "-d", "postgres", "-tAc",
			"SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")
		if err == nil && strings.TrimSpace(out) == "1" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the standby did not become synchronous within 30 s (%v %s)", err, out)
		}
		time.Sleep(100 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

func (e *env) pg(tool string, args ...string) error {
	_, err := e.pgOut(tool, args...)
	return err
}

// pgOut runs one of PostgreSQL's programs and returns what it printed.
func (e *env) pgOut(tool string, args ...string) (string, error) {
	argv := append(append(append([]string{}, e.asUser...), filepath.Join(e.pgbin, tool)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = e.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %v: %s", tool, err, out)
	}
	return string(out), nil
}

func (e *env) cmd(extra []string, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), extra...)
	c.Dir = e.dir
	return c
}

func (e *env) svcDataDir() string { return filepath.Join(e.dir, "service") }

// startService starts (or restarts, on the same port) the reference
// credential service on its embedded database.
func (e *env) startService() error {
	if e.svcAddr == "" {
		p, err := loopback.FreePort()
		if err != nil {
			return err
		}
		e.svcAddr = "127.0.0.1:" + strconv.Itoa(p)
	}
	vars := []string{"CREDENTIAL_SERVICE_TOKENS=" + svcToken, "CREDENTIAL_SERVICE_ADDR=" + e.svcAddr,
		"CREDENTIAL_SERVICE_DATA_DIR=" + e.svcDataDir()}
	if e.trust != nil {
		vars = append(vars, e.trust.serviceEnv()...)
	}
	c := e.cmd(vars, filepath.Join(e.bin, "credential-service"))
	c.Stdout, c.Stderr = e.logs, e.logs
	if err := c.Start(); err != nil {
		return err
	}
	e.track(c)
	e.svcCmd = c
	return loopback.Wait(e.client, e.scheme()+"://"+e.svcAddr+"/healthz", 30*time.Second)
}

// serveProc is one `credvault serve` process; restart keeps its port.
type serveProc struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	port string
}

func (s *serveProc) addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "127.0.0.1:" + s.port
}

func (e *env) startServe(extra []string) (*serveProc, error) {
	p, err := loopback.FreePort()
	if err != nil {
		return nil, err
	}
	s := &serveProc{port: strconv.Itoa(p)}
	return s, e.restartServe(s, extra)
}

func (e *env) restartServe(s *serveProc, extra []string) error {
	vars := append(append([]string{}, extra...), "CREDVAULT_ADDR=127.0.0.1:"+s.port)
	if e.trust != nil {
		vars = append(vars, e.trust.serveEnv()...)
	}
	c := e.cmd(vars, filepath.Join(e.bin, "credvault"), "serve", "--no-migrate")
	c.Stdout, c.Stderr = e.logs, e.logs
	if err := c.Start(); err != nil {
		return err
	}
	e.track(c)
	s.mu.Lock()
	s.cmd = c
	s.mu.Unlock()
	return loopback.Wait(e.client, e.scheme()+"://127.0.0.1:"+s.port+"/healthz", 30*time.Second)
}

func (e *env) track(c *exec.Cmd) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.procs = append(e.procs, c)
}

func kill9(c *exec.Cmd) {
	_ = c.Process.Signal(syscall.SIGKILL)
	_, _ = c.Process.Wait()
}

// faults injects the faults one after another while the load runs.
func (e *env) faults(servers [2]*serveProc, cvEnv []string) {
	step := func(at time.Duration, start time.Time) { time.Sleep(time.Until(start.Add(at))) }
	start := time.Now()
	say := func(f string, a ...any) {
		fmt.Printf("failover: %5.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(f, a...))
	}

	step(8*time.Second, start)
	servers[0].mu.Lock()
	c := servers[0].cmd
	servers[0].mu.Unlock()
	say("kill -9 credvault A (creates in flight)")
	kill9(c)
	step(13*time.Second, start)
	if err := e.restartServe(servers[0], cvEnv); err != nil {
		say("restart of A failed: %v", err)
	}
	say("credvault A restarted")

	step(22*time.Second, start)
	say("pg_ctl stop -m immediate (primary)")
	_ = e.pg("pg_ctl", "-D", filepath.Join(e.dir, "primary"), "-m", "immediate", "stop")
	step(27*time.Second, start)
	if err := e.pg("pg_ctl", "-D", filepath.Join(e.dir, "standby"), "-w", "promote"); err != nil {
		say("promote failed: %v", err)
	}
	say("standby promoted")

	step(38*time.Second, start)
	say("kill -9 the reference service")
	kill9(e.svcCmd)
	step(43*time.Second, start)
	if err := e.startService(); err != nil {
		say("restart of the reference service failed: %v", err)
	}
	say("reference service restarted")

	step(50*time.Second, start)
	say("cut the service off (TCP proxy) for 10 s")
	e.proxy.Cut()
	step(60*time.Second, start)
	e.proxy.Restore()
	say("service link restored")

	if e.trust == nil {
		return
	}
	step(64*time.Second, start)
	say("new certificates for the service and both credvault processes, SIGHUP under load")
	if err := e.trust.rotate("service", []*os.Process{e.svcCmd.Process}, []string{e.svcAddr}); err != nil {
		say("service certificate rotation failed: %v", err)
		e.rotationFailed.Store(true)
	}
	var procs []*os.Process
	var addrs []string
	for _, s := range servers {
		s.mu.Lock()
		procs = append(procs, s.cmd.Process)
		s.mu.Unlock()
		addrs = append(addrs, s.addr())
	}
	if err := e.trust.rotate("credvault", procs, addrs); err != nil {
		say("credvault certificate rotation failed: %v", err)
		e.rotationFailed.Store(true)
	}
	say("the new certificates are presented; the processes kept running")
}

// showLogs prints what the processes logged at warn and above (their
// level in this run), the lines naming ids first, at most 80 in all.
func (e *env) showLogs(ids []string) {
	b, err := os.ReadFile(filepath.Join(e.dir, "processes.log"))
	if err != nil {
		return
	}
	var named, rest []string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(line, id) }):
			named = append(named, line)
		case strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`):
			rest = append(rest, line)
		}
	}
	lines := append(named, rest...)
	if len(lines) > 80 {
		lines = lines[:80]
	}
	fmt.Printf("failover: %d log lines name a problem's id, %d more are warnings or errors; the first %d:\n", len(named), len(rest), len(lines))
	for _, l := range lines {
		fmt.Println("   ", l)
	}
}

func (e *env) cleanup() {
	if e.proxy != nil {
		_ = e.proxy.Close()
	}
	e.mu.Lock()
	for _, c := range e.procs {
		if c.Process != nil {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, c := range e.procs {
		if c.Process != nil {
			done := make(chan struct{})
			go func() { _, _ = c.Process.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = c.Process.Kill()
			}
		}
	}
	e.mu.Unlock()
	if e.dir != "" {
		for _, d := range []string{"primary", "standby"} {
			_ = e.pg("pg_ctl", "-D", filepath.Join(e.dir, d), "-m", "immediate", "stop")
		}
		if os.Getenv("FAILOVER_KEEP") == "" {
			_ = os.RemoveAll(e.dir)
		} else {
			fmt.Println("failover: kept", e.dir)
		}
	}
}

// ---- load ------------------------------------------------------------

// cred is what the load knows of a credential it created.
type cred struct {
	org, id, name string
	secret        string // the acknowledged secret
	pending       string // the secret of the update in flight
	// unanswered are the secrets of updates whose answer never came (or
	// came as a 5xx): each may still land, even after a later update was
	// acknowledged, since its request may have been held up in the
	// server past the client's timeout.
	unanswered   []string
	deleted      bool     // acknowledged delete
	maybeDeleted bool     // a delete whose answer never came
	history      []string // what was sent and answered, for a report
}

type load struct {
	keys      []string
	servers   [2]*serveProc
	scheme    string
	mu        sync.Mutex
	creds     map[string]*cred // by credential id
	idle      map[int][]*cred
	seq       int
	hits      int
	codes     map[uint16]int // answers by status (0: no answer)
	bad5xx    int
	badSample []string
}

func newLoad(keys []string, servers [2]*serveProc, scheme string) *load {
	return &load{keys: keys, servers: servers, scheme: scheme, creds: map[string]*cred{}, idle: map[int][]*cred{}, codes: map[uint16]int{}}
}

var credPath = regexp.MustCompile(`/api/v1/credentials/([^/?]+)(/update)?$`)

// target builds the next request: a create when an organization has few
// idle credentials, else a read, an update or a delete of an idle one.
func (l *load) target(t *vegeta.Target) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	org := l.seq % orgs
	srv := l.scheme + "://" + l.servers[(l.seq/orgs)%2].addr()
	t.Header = http.Header{"x-api-key": {l.keys[org]}, "Content-Type": {"application/json"}}
	idle := l.idle[org]
	if len(idle) < 3 || rand.IntN(10) < 3 {
		name := fmt.Sprintf("o%d-c%d", org, l.seq)
		t.Method, t.URL = "POST", srv+"/api/v1/credentials"
		t.Body = []byte(fmt.Sprintf(`{"name":%q,"credential_type":"secret","credential":{"secret_value":%q}}`, name, "sec-"+name+"-v0"))
		return nil
	}
	i := rand.IntN(len(idle))
	c := idle[i]
	l.idle[org] = append(idle[:i], idle[i+1:]...)
	switch r := rand.IntN(4); {
	case r < 2:
		t.Method, t.URL, t.Body = "GET", srv+"/api/v1/credentials/"+c.id, nil
	case r == 2:
		c.pending = fmt.Sprintf("sec-%s-v%d", c.name, l.seq)
		t.Method, t.URL = "POST", srv+"/api/v1/credentials/"+c.id+"/update"
		t.Body = []byte(fmt.Sprintf(`{"name":%q,"credential_type":"secret","credential":{"secret_value":%q}}`, c.name, c.pending))
	default:
		t.Method, t.URL, t.Body = "DELETE", srv+"/api/v1/credentials/"+c.id, nil
	}
	return nil
}

// record folds a result into what the load knows.
func (l *load) record(r *vegeta.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hits++
	l.codes[r.Code]++
	if r.Code >= 500 && !acceptable5xx(r) {
		l.bad5xx++
		if len(l.badSample) < 5 {
			l.badSample = append(l.badSample, fmt.Sprintf("%s %s → %d %s", r.Method, r.URL, r.Code, truncate(string(r.Body), 160)))
		}
	}
	u, _ := url.Parse(r.URL)
	if r.Method == "POST" && u.Path == "/api/v1/credentials" {
		if r.Code == 201 {
			var v struct {
				ID   string `json:"credential_id"`
				Name string `json:"name"`
			}
			_ = json.Unmarshal(r.Body, &v)
			id, name := v.ID, v.Name
			org, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(name, "-", 2)[0], "o"))
			c := &cred{org: fmt.Sprint(org), id: id, name: name, secret: "sec-" + name + "-v0",
				history: []string{fmt.Sprintf("created at %s", r.Timestamp.Format("15:04:05.000"))}}
			l.creds[id] = c
			l.idle[org] = append(l.idle[org], c)
		}
		return
	}
	m := credPath.FindStringSubmatch(u.Path)
	if m == nil {
		return
	}
	c := l.creds[m[1]]
	if c == nil {
		return
	}
	op := r.Method
	if m[2] != "" {
		op = "update to " + version(c.pending)
	}
	c.history = append(c.history, fmt.Sprintf("%s sent %s, answered %d after %v",
		op, r.Timestamp.Format("15:04:05.000"), r.Code, r.Latency.Round(time.Millisecond)))
	org, _ := strconv.Atoi(c.org)
	switch {
	case r.Method == "DELETE" && r.Code == 204:
		c.deleted = true
		return
	case r.Method == "DELETE" && (r.Code == 0 || r.Code >= 500):
		c.maybeDeleted = true // its answer never came, or came late
	case r.Method == "POST" && r.Code == 200:
		c.secret, c.pending = c.pending, ""
	case r.Method == "POST" && r.Code != 0 && r.Code < 500:
		c.pending = "" // refused: nothing changed
	case r.Method == "POST":
		c.unanswered, c.pending = append(c.unanswered, c.pending), ""
	}
	if !c.deleted && !c.maybeDeleted {
		l.idle[org] = append(l.idle[org], c)
	}
}

// codeSummary lists the answers by status ("none": the connection was
// refused or dropped, so no answer came).
func (l *load) codeSummary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	codes := make([]int, 0, len(l.codes))
	for c := range l.codes {
		codes = append(codes, int(c))
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "none"
		}
		parts = append(parts, fmt.Sprintf("%s × %d", name, l.codes[uint16(c)]))
	}
	return strings.Join(parts, ", ")
}

func acceptable5xx(r *vegeta.Result) bool {
	switch r.Code {
	case 503:
		return r.Headers.Get("Retry-After") != ""
	case 502:
		// An answer the customer's service gave (its error, or garbage).
		b := string(r.Body)
		return strings.Contains(b, "returned HTTP") || strings.Contains(b, "violated the contract")
	}
	return false
}

func (l *load) run(tc *tls.Config) {
	atk := vegeta.NewAttacker(vegeta.Timeout(10*time.Second), vegeta.Workers(16), vegeta.KeepAlive(true), vegeta.TLSConfig(tc))
	for r := range atk.Attack(l.target, vegeta.Rate{Freq: loadRate, Per: time.Second}, loadFor, "failover") {
		l.record(r)
	}
}

type report struct {
	acked, lost, orphans, dangling int
	// late counts credentials that hold the secret of an update whose
	// answer never came, not the one acknowledged after it: not a loss.
	late     int
	problems []string
	// ids are the items and credentials named in problems, to find in the
	// processes' logs.
	ids []string
}

// check compares what was acknowledged with what the database and the
// service hold, reading secrets as an embedding backend does.
func (l *load) check(ctx context.Context, st *sqlstore.Store, svcDir string, cvEnv []string) (report, error) {
	var rep report
	cfg, err := config.Parse(func(k string) (string, bool) {
		for _, kv := range cvEnv {
			if n, v, _ := strings.Cut(kv, "="); n == k {
				return v, true
			}
		}
		return "", false
	})
	if err != nil {
		return rep, err
	}
	p, err := credvault.Open(ctx, cfg, credvault.Options{})
	if err != nil {
		return rep, err
	}
	defer p.Close()
	live := map[string]string{} // item id → credential id
	after := ""
	for {
		rows, err := st.ScanCredentials(ctx, "", after, 1000)
		if err != nil {
			return rep, err
		}
		for _, r := range rows {
			live[r.ItemID] = r.ID
		}
		if len(rows) < 1000 {
			break
		}
		after = rows[len(rows)-1].ID
	}
	svc, err := credservice.OpenStorage(ctx, "", filepath.Join(svcDir, "credential-service.db"))
	if err != nil {
		return rep, err
	}
	defer svc.Close()
	items := map[string]bool{}
	rs, err := svc.SQLDB().QueryContext(ctx, "SELECT id FROM service_items")
	if err != nil {
		return rep, err
	}
	for rs.Next() {
		var id string
		_ = rs.Scan(&id)
		items[id] = true
	}
	rs.Close()
	for item := range items {
		if _, ok := live[item]; !ok {
			rep.orphans++
			rep.problems = append(rep.problems, "orphan item "+item)
			rep.ids = append(rep.ids, item)
		}
	}
	for item, id := range live {
		if !items[item] {
			rep.dangling++
			rep.problems = append(rep.problems, "dangling credential "+id)
			rep.ids = append(rep.ids, id)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.creds {
		rep.acked++
		_, err := p.Credentials.Get(ctx, orgOf(ctx, p, c), c.id)
		switch {
		case c.deleted:
			if err == nil {
				rep.lost++ // a delete acknowledged but the credential is back
				rep.problems = append(rep.problems, "deleted credential still listed "+c.id)
			}
		case c.maybeDeleted && err != nil:
			// its delete may have happened
		case err != nil:
			rep.lost++
			rep.problems = append(rep.problems, fmt.Sprintf("credential %s: %v", c.id, err))
		default:
			got, err := p.Credentials.GetWithSecret(ctx, orgOf(ctx, p, c), c.id)
			if err != nil {
				rep.lost++
				rep.problems = append(rep.problems, fmt.Sprintf("credential %s unreadable: %v", c.id, err))
				continue
			}
			s := got.Credential.Secret.Value.Reveal()
			switch {
			case s == c.secret:
			case slices.Contains(c.unanswered, s):
				// An update the client gave up on landed after all.
				rep.late++
			default:
				rep.lost++
				rep.problems = append(rep.problems, fmt.Sprintf("credential %s holds another secret than acknowledged (%s, acknowledged %s); its history: %s",
					c.id, version(s), version(c.secret), strings.Join(c.history, "; ")))
				rep.ids = append(rep.ids, c.id)
			}
		}
	}
	for _, b := range l.badSample {
		rep.problems = append(rep.problems, "bad 5xx: "+b)
	}
	return rep, nil
}

// version names a secret the load made by its version ("v12"), so a
// report shows which write a credential holds without printing it.
func version(secret string) string {
	if i := strings.LastIndex(secret, "-v"); i >= 0 {
		return secret[i+1:]
	}
	return "another value"
}

var orgIDs sync.Map // org index → organization id

// orgOf finds the organization id of a credential's organization index
// (the load knows keys, the store knows ids).
func orgOf(ctx context.Context, p *credvault.Platform, c *cred) string {
	if v, ok := orgIDs.Load(c.org); ok {
		return v.(string)
	}
	os, _ := p.Organizations.List(ctx)
	for _, o := range os {
		orgIDs.Store(strings.TrimPrefix(o.Name, "org"), o.OrganizationID)
	}
	v, _ := orgIDs.Load(c.org)
	s, _ := v.(string)
	return s
}

// ---- helpers ---------------------------------------------------------

func (e *env) post(addr, path, key, body string) int {
	req, _ := http.NewRequest("POST", e.scheme()+"://"+addr+path, strings.NewReader(body))
	req.Header.Set("x-api-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(text)
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
