// Command load measures how close credvault's REST reads come to the
// wire: each REST route against its reference measured in the same run —
// `GET …/totp-code` against a direct GET of the same item from the same
// reference credential service, the metadata `GET /credentials/{id}`
// against `/healthz` — at one connection and at 64, for one organization
// and across 1,000 organizations each on its own service port. It prints
// req/s, p50, p99 and the upstream connections credvault opened per 1,000
// requests, each figure with its ratio and goal, and exits 1 when a goal
// is missed.
//
// credvault runs as a `credvault serve` process on a throw-away
// PostgreSQL database of the README's server; the reference service runs
// in a second process of this program (-farm), one listener per port.
// Rounds interleave the route and its reference, and the medians over
// rounds are compared. Run it with scripts/load.sh.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/loopback"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
)

const svcToken = "load-token-0123456789abcdef"

var (
	roundFor = flag.Duration("duration", 4*time.Second, "length of one measured run")
	rounds   = flag.Int("rounds", 3, "interleaved rounds per figure (medians are compared)")
	conns    = flag.Int("conns", 64, "connections of the throughput figures")
	orgCount = flag.Int("orgs", 1000, "organizations of the many-organization figures, each with its own service port (0: skip)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile of credvault during a totp-code run at -profile-conns connections to this file (an execution trace when it ends in .trace)")
	profConn = flag.Int("profile-conns", 64, "connections of the -cpuprofile run")
	farm     = flag.Int("farm", 0, "internal: serve the reference service on this many ports")
	hop      = flag.String("hop", "", "internal: serve the bare hop (a Go reverse proxy adding the token) to this upstream")
	hello    = flag.Bool("hello", false, "internal: serve a bare net/http hello-world")
	farmDir  = flag.String("farm-dir", "", "internal: the reference service's data directory")
	cvLog    = flag.String("credvault-log", "warn", "credvault's log level (its log goes to stderr)")
	cvEnv    = flag.String("credvault-env", "", "extra VAR=value settings for credvault, space-separated (GOMAXPROCS=1, GOGC=200...)")
	hopOnly  = flag.Bool("bare-hop-only", false, "measure only the figures against the bare hops (and nginx), then stop")
	dbBase   = flag.String("database", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL server to create the throw-away database on")
)

func main() {
	flag.Parse()
	if *hello {
		if err := serveHello(); err != nil {
			fmt.Fprintln(os.Stderr, "load hello:", err)
			os.Exit(2)
		}
		return
	}
	if *hop != "" {
		if err := serveHop(*hop); err != nil {
			fmt.Fprintln(os.Stderr, "load hop:", err)
			os.Exit(2)
		}
		return
	}
	if *farm > 0 {
		if err := serveFarm(*farm, *farmDir); err != nil {
			fmt.Fprintln(os.Stderr, "load farm:", err)
			os.Exit(2)
		}
		return
	}
	run := run
	if *rssOrgs != "" {
		run = func() (int, error) { return runRSS(context.Background()) }
	}
	missed, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if missed > 0 {
		fmt.Printf("load: %d goal(s) missed\n", missed)
		os.Exit(1)
	}
}

// serveFarm is the reference credential service on n loopback ports, one
// handler and embedded database behind all of them; it prints the ports
// on one line and serves until its stdin closes.
func serveFarm(n int, dir string) error {
	ctx := context.Background()
	cfg, err := credservice.ConfigFromEnv(func(k string) (string, bool) {
		switch k {
		case credservice.EnvTokens:
			return svcToken, true
		case credservice.EnvDataDir:
			return dir, true
		}
		return "", false
	})
	if err != nil {
		return err
	}
	kr, _, err := cfg.LoadKeyring()
	if err != nil {
		return err
	}
	st, err := credservice.OpenStorage(ctx, "", cfg.SQLitePath())
	if err != nil {
		return err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	svc, err := credservice.New(st, kr, cfg.Tokens, nil)
	if err != nil {
		return err
	}
	h := svc.Handler()
	ports := make([]string, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ports[i] = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
		go func() { _ = srv.Serve(l) }()
	}
	fmt.Println(strings.Join(ports, ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

type env struct {
	cvPID    int
	farmPID  int
	hopPID   int
	nginxPID int
	helloPID int
	dir      string
	dbNames  []string
	dbURL    string
	procs    []*exec.Cmd
	cvAddr   string
	pprof    string
	svcPorts []string
}

func run() (int, error) {
	ctx := context.Background()
	e := &env{}
	defer e.cleanup()
	if err := e.setup(ctx); err != nil {
		return 0, err
	}
	missed := 0
	report := func(name string, ratio float64, goal string, ok bool) {
		mark := "✓"
		if !ok {
			mark = "✗"
			missed++
		}
		fmt.Printf("  %-58s %6.2f×   goal %s %s\n", name, ratio, goal, mark)
	}

	// One organization.
	one, err := e.organizations(ctx, 1, e.svcPorts[:1])
	if err != nil {
		return 0, err
	}
	o := one[0]
	direct := target{"GET", o.itemURL, "Bearer " + svcToken}
	totp := target{"GET", "http://" + e.cvAddr + "/api/v1/credentials/" + o.credID + "/totp-code", o.key}
	meta := target{"GET", "http://" + e.cvAddr + "/api/v1/credentials/" + o.credID, o.key}
	health := target{"GET", "http://" + e.cvAddr + "/healthz", ""}

	fmt.Printf("load: %d rounds of %v per figure; medians over rounds\n\n", *rounds, *roundFor)
	if err := e.bareHop(o, totp, report); err != nil {
		return 0, err
	}
	if *hopOnly {
		return missed, nil
	}
	fmt.Println("one organization, one keep-alive connection:")
	d1, t1 := e.compare([]target{direct}, []target{totp}, 1)
	printRuns("direct GET to the service", d1, "REST totp-code", t1)
	report("REST totp-code / direct GET, p50", ratio(t1.p50, d1.p50), "≤ 1.5", ratio(t1.p50, d1.p50) <= 1.5)
	h1, m1 := e.compare([]target{health}, []target{meta}, 1)
	printRuns("/healthz", h1, "REST GET /credentials/{id}", m1)
	// What no proxy of the service can beat: the REST request is one
	// exchange with credvault (at least a /healthz) plus one with the
	// service (at least the direct GET).
	fmt.Printf("  %-58s %6.2f×   (reference: one exchange with credvault plus one with the service)\n",
		"floor for totp-code: (/healthz + direct GET) / direct GET, p50", ratio(h1.p50+d1.p50, d1.p50))
	report("REST GET /credentials/{id} / /healthz, p50", ratio(m1.p50, h1.p50), "≤ 1.3", ratio(m1.p50, h1.p50) <= 1.3)

	fmt.Printf("\none organization, %d connections:\n", *conns)
	dN, tN := e.compare([]target{direct}, []target{totp}, *conns)
	printRuns("direct GET to the service", dN, "REST totp-code", tN)
	report("throughput, REST totp-code / direct GET", tN.rps/dN.rps, "≥ 0.7", tN.rps/dN.rps >= 0.7)
	ceiling(dN, tN)
	report("p99, REST totp-code / direct GET", ratio(tN.p99, dN.p99), "≤ 1.5", ratio(tN.p99, dN.p99) <= 1.5)
	fmt.Printf("  %-58s %6.1f    goal ≤ 5 %s\n", "upstream connections opened per 1,000 REST requests", tN.connsPer1k, mark(tN.connsPer1k <= 5, &missed))

	if *cpuProf != "" {
		if err := e.profile(totp); err != nil {
			return 0, err
		}
	}

	if *orgCount > 0 {
		many, err := e.organizations(ctx, *orgCount, e.svcPorts[1:])
		if err != nil {
			return 0, err
		}
		var directs, totps []target
		for _, o := range many {
			directs = append(directs, target{"GET", o.itemURL, "Bearer " + svcToken})
			totps = append(totps, target{"GET", "http://" + e.cvAddr + "/api/v1/credentials/" + o.credID + "/totp-code", o.key})
		}
		// Warm-up: every organization's key, row and client, and one
		// connection to every service, once.
		e.attack(directs, 1, len(directs))
		e.attack(totps, 1, len(totps))
		fmt.Printf("\n%d organizations, each on its own service port, %d connections (after every one was used once):\n", len(many), *conns)
		dM, tM := e.compare(directs, totps, *conns)
		printRuns("direct GET to the services", dM, "REST totp-code", tM)
		report("throughput, REST totp-code / direct GET", tM.rps/dM.rps, "≥ 0.7", tM.rps/dM.rps >= 0.7)
		ceiling(dM, tM)
		report("p99, REST totp-code / direct GET", ratio(tM.p99, dM.p99), "≤ 1.5", ratio(tM.p99, dM.p99) <= 1.5)
		fmt.Printf("  %-58s %6.1f    goal ≤ 5 %s\n", "upstream connections opened per 1,000 REST requests", tM.connsPer1k, mark(tM.connsPer1k <= 5, &missed))
	}
	return missed, nil
}

// ceiling prints what the machine's CPU allows: when every core is busy,
// the throughput ratio cannot exceed the CPU all processes spend per
// direct request over what they spend per REST request.
func ceiling(direct, rest result) {
	d := direct.cpuCV + direct.cpuSvc + direct.cpuLoad
	r := rest.cpuCV + rest.cpuSvc + rest.cpuLoad
	fmt.Printf("  %-58s %6.2f×   (CPU of all processes per direct request %.0fµs / per REST request %.0fµs)\n",
		"CPU ceiling of that ratio on this machine", float64(d)/float64(max(r, 1)), us(d), us(r))
}

func mark(ok bool, missed *int) string {
	if ok {
		return "✓"
	}
	*missed++
	return "✗"
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// ---- measuring ---------------------------------------------------------

type target struct{ method, url, auth string }

// run is one attack's figures.
type result struct {
	rps        float64
	p50, p99   time.Duration
	requests   uint64
	connsPer1k float64
	errors     int
	// CPU time per request of credvault, the service and this load
	// generator, and of the bare hop and nginx.
	cpuCV, cpuSvc, cpuLoad, cpuHop, cpuNginx, cpuHello time.Duration
}

// compare runs ref and subject alternately, rounds times each, at c
// connections, and returns the medians of each.
func (e *env) compare(ref, subject []target, c int) (result, result) {
	// Warm-up, not measured: c connections each way, and the caches.
	warm := *roundFor
	*roundFor = time.Second
	e.attack(ref, c, 0)
	e.attack(subject, c, 0)
	*roundFor = warm
	var rs, ss []result
	for i := range *rounds {
		if i%2 == 0 {
			rs = append(rs, e.attack(ref, c, 0))
			ss = append(ss, e.attack(subject, c, 0))
		} else {
			ss = append(ss, e.attack(subject, c, 0))
			rs = append(rs, e.attack(ref, c, 0))
		}
	}
	return median(rs), median(ss)
}

// attack sends requests to ts round-robin from c workers on c keep-alive
// connections, as fast as they are answered, for -duration (or exactly n
// requests when n > 0).
func (e *env) attack(ts []target, c, n int) result {
	vts := make([]vegeta.Target, len(ts))
	for i, t := range ts {
		h := http.Header{}
		switch {
		case strings.HasPrefix(t.auth, "Bearer "):
			h.Set("Authorization", t.auth)
		case t.auth != "":
			h.Set("x-api-key", t.auth)
		}
		vts[i] = vegeta.Target{Method: t.method, URL: t.url, Header: h}
	}
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(c)), vegeta.MaxWorkers(uint64(c)), vegeta.Connections(c),
		vegeta.MaxConnections(c), vegeta.KeepAlive(true), vegeta.Timeout(10*time.Second), vegeta.HTTP2(false))
	before := e.connectionsOpened()
	cv0, svc0, self0, hop0, ngx0 := cpuOf(e.cvPID), cpuOf(e.farmPID), cpuOf(os.Getpid()), cpuOf(e.hopPID), cpuOf(e.nginxPID)
	hello0 := cpuOf(e.helloPID)
	var m vegeta.Metrics
	errs := 0
	d := *roundFor
	if n > 0 {
		d = time.Hour
	}
	for r := range atk.Attack(vegeta.NewStaticTargeter(vts...), vegeta.Rate{Freq: 0}, d, "load") {
		m.Add(r)
		if r.Code != 200 {
			errs++
		}
		if n > 0 && int(m.Requests) >= n {
			atk.Stop()
		}
	}
	m.Close()
	per := func(d time.Duration) time.Duration { return d / time.Duration(max(m.Requests, 1)) }
	cpuCV, cpuSvc, cpuLoad := per(cpuOf(e.cvPID)-cv0), per(cpuOf(e.farmPID)-svc0), per(cpuOf(os.Getpid())-self0)
	cpuHop, cpuNginx, cpuHello := per(cpuOf(e.hopPID)-hop0), per(cpuOf(e.nginxPID)-ngx0), per(cpuOf(e.helloPID)-hello0)
	opened := e.connectionsOpened() - before
	if errs > 0 {
		fmt.Printf("  (%d of %d answers were not 200: %v)\n", errs, m.Requests, m.StatusCodes)
	}
	return result{rps: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99, requests: m.Requests,
		connsPer1k: 1000 * opened / float64(max(m.Requests, 1)), errors: errs, cpuCV: cpuCV, cpuSvc: cpuSvc, cpuLoad: cpuLoad,
		cpuHop: cpuHop, cpuNginx: cpuNginx, cpuHello: cpuHello}
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return result{
		rps:        pick(func(r result) float64 { return r.rps }),
		p50:        time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99:        time.Duration(pick(func(r result) float64 { return float64(r.p99) })),
		requests:   uint64(pick(func(r result) float64 { return float64(r.requests) })),
		connsPer1k: pick(func(r result) float64 { return r.connsPer1k }),
		cpuCV:      time.Duration(pick(func(r result) float64 { return float64(r.cpuCV) })),
		cpuSvc:     time.Duration(pick(func(r result) float64 { return float64(r.cpuSvc) })),
		cpuLoad:    time.Duration(pick(func(r result) float64 { return float64(r.cpuLoad) })),
		cpuHop:     time.Duration(pick(func(r result) float64 { return float64(r.cpuHop) })),
		cpuNginx:   time.Duration(pick(func(r result) float64 { return float64(r.cpuNginx) })),
		cpuHello:   time.Duration(pick(func(r result) float64 { return float64(r.cpuHello) })),
	}
}

func printRuns(refName string, ref result, name string, r result) {
	printRun(refName, ref)
	printRun(name, r)
}

func printRun(n string, r result) {
	fmt.Printf("  %-34s %9.0f req/s   p50 %8s   p99 %8s   %7d requests   CPU per request: in front %5.1fµs, service %5.1fµs, load %5.1fµs\n",
		n, r.rps, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.requests,
		us(r.cpuCV+r.cpuHop+r.cpuNginx+r.cpuHello), us(r.cpuSvc), us(r.cpuLoad))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// cpuOf is the CPU time (user and system) process pid has used, from
// /proc/<pid>/stat (0 when unknown).
func cpuOf(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times
// (100 on Linux for every architecture Go supports).
const clockTicks = 100

// connectionsOpened reads credvault_upstream_connections_opened_total
// from credvault's /metrics.
func (e *env) connectionsOpened() float64 {
	var opened float64
	e.scrape(func(name, _ string, v float64) {
		if name == "credvault_upstream_connections_opened_total" {
			opened = v
		}
	})
	return opened
}

// scrape calls fn with the name, labels and value of every sample on
// credvault's /metrics (nothing when it does not answer).
func (e *env) scrape(fn func(name, labels string, v float64)) {
	resp, err := http.Get("http://" + e.cvAddr + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ') // label values may hold spaces
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		series, v := line[:i], line[i+1:]
		name, labels, _ := strings.Cut(series, "{")
		f, err := strconv.ParseFloat(v, 64)
		if err == nil {
			fn(name, strings.TrimSuffix(labels, "}"), f)
		}
	}
}

// inside is credvault's own account of its requests: the sums and counts
// of credvault_http_request_duration_seconds for totp-code and of
// credvault_vault_operation_duration_seconds for get (the call to the
// service, inside the handler).
type inside struct{ reqSum, reqN, getSum, getN float64 }

func (e *env) inside() inside {
	var in inside
	e.scrape(func(name, labels string, f float64) {
		switch {
		case name == "credvault_http_request_duration_seconds_sum" && strings.Contains(labels, "totp-code"):
			in.reqSum += f
		case name == "credvault_http_request_duration_seconds_count" && strings.Contains(labels, "totp-code"):
			in.reqN += f
		case name == "credvault_vault_operation_duration_seconds_sum" && strings.Contains(labels, `op="get"`):
			in.getSum += f
		case name == "credvault_vault_operation_duration_seconds_count" && strings.Contains(labels, `op="get"`):
			in.getN += f
		}
	})
	return in
}

// since prints the mean handler time of the totp-code requests since
// before, and how much of it was the call to the service.
func (e *env) since(before inside) {
	now := e.inside()
	n, g := now.reqN-before.reqN, now.getN-before.getN
	if n <= 0 || g <= 0 {
		return
	}
	req := time.Duration((now.reqSum - before.reqSum) / n * float64(time.Second))
	get := time.Duration((now.getSum - before.getSum) / g * float64(time.Second))
	fmt.Printf("  %-58s %8s, of which the call to the service %s: credvault's own %s\n",
		"inside credvault, mean totp-code handler time", req.Round(time.Microsecond), get.Round(time.Microsecond), (req - get).Round(time.Microsecond))
}

// profile records credvault's CPU for one run of the 64-connection
// totp-code load, through CREDVAULT_PPROF_ADDR.
func (e *env) profile(t target) error {
	secs := int(roundFor.Seconds())
	done := make(chan error, 1)
	go func() {
		kind := "profile"
		if strings.HasSuffix(*cpuProf, ".trace") {
			kind = "trace" // an execution trace (go tool trace)
		}
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", e.pprof, kind, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(*cpuProf)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	e.attack([]target{t}, *profConn, 0)
	if err := <-done; err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	fmt.Printf("\nload: CPU profile of credvault under %d connection(s) of totp-code written to %s (go tool pprof -top %s)\n", *profConn, *cpuProf, *cpuProf)
	return nil
}

// ---- setting up --------------------------------------------------------

type orgFixture struct {
	key, credID, itemURL string
}

func (e *env) setup(ctx context.Context) error {
	if err := e.prepare(); err != nil {
		return err
	}
	var err error
	if e.dbURL, err = e.database(ctx, "credvault_load_"+strconv.Itoa(os.Getpid())); err != nil {
		return err
	}
	// The reference service: one port for the one organization, and one
	// per organization of the many-organization figures.
	if e.svcPorts, err = e.startFarm(1 + *orgCount); err != nil {
		return err
	}
	if e.cvAddr, err = loopback.FreeAddr(); err != nil {
		return err
	}
	if e.pprof, err = loopback.FreeAddr(); err != nil {
		return err
	}
	_, err = e.startServe(e.dbURL, e.cvAddr, "CREDVAULT_PPROF_ADDR="+e.pprof,
		"CREDVAULT_RATE_LIMIT_READS=1000000/s:1000000", "CREDVAULT_RATE_LIMIT_CREDENTIALS=1000000/s:1000000",
		"CREDVAULT_RATE_LIMIT_CONFIG=1000000/s:1000000")
	return err
}

// prepare makes the work directory, builds credvault and writes a keyset.
func (e *env) prepare() error {
	var err error
	if e.dir, err = os.MkdirTemp("", "credvault-load-"); err != nil {
		return err
	}
	if out, err := exec.Command("go", "build", "-o", e.bin(), "./cmd/credvault").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v %s", err, out)
	}
	return keyring.WriteNewFile(e.keyset())
}

func (e *env) bin() string    { return filepath.Join(e.dir, "credvault") }
func (e *env) keyset() string { return filepath.Join(e.dir, "keyset.json") }

// database creates a throw-away database (dropped by cleanup) and
// returns its URL.
func (e *env) database(ctx context.Context, name string) (string, error) {
	admin, err := sql.Open("pgx", *dbBase)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	e.dbNames = append(e.dbNames, name)
	u := strings.Replace(*dbBase, "/test?", "/"+name+"?", 1)
	if !strings.Contains(u, name) {
		return "", errors.New("-database must name the database /test")
	}
	return u, nil
}

// startFarm starts the reference service on n ports in a process of its
// own and returns the ports.
func (e *env) startFarm(n int) ([]string, error) {
	pid, line, err := e.child("reference service", "-farm", strconv.Itoa(n), "-farm-dir", filepath.Join(e.dir, "service"))
	if err != nil {
		return nil, err
	}
	e.farmPID = pid
	return strings.Split(line, ","), nil
}

// child starts this program with args in a process of its own (killed
// with it, and by cleanup) and returns its pid and the first line it
// prints.
func (e *env) child(name string, args ...string) (int, string, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, "", err
	}
	cmd := exec.Command(self, args...)
	stdin, _ := cmd.StdinPipe()
	_ = stdin // it serves until stdin closes: cleanup's kill
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = dieWithUs()
	if err := cmd.Start(); err != nil {
		return 0, "", err
	}
	e.procs = append(e.procs, cmd)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", name, err)
	}
	return cmd.Process.Pid, strings.TrimSpace(line), nil
}

// startServe starts `credvault serve --no-migrate` on dbURL at addr and
// waits until it answers /healthz.
func (e *env) startServe(dbURL, addr string, extra ...string) (*exec.Cmd, error) {
	cv := exec.Command(e.bin(), "serve", "--no-migrate")
	cv.Env = append(append(append(os.Environ(), strings.Fields(*cvEnv)...), "DATABASE_URL="+dbURL, "CREDVAULT_KEYSET_FILE="+e.keyset(),
		"CREDVAULT_ALLOWED_HOSTS=127.0.0.1", "CREDVAULT_ADDR="+addr, "CREDVAULT_LOG_LEVEL="+*cvLog), extra...)
	cv.Stderr = os.Stderr
	cv.SysProcAttr = dieWithUs()
	if out, err := e.migrate(dbURL); err != nil {
		return nil, fmt.Errorf("migrate: %v %s", err, out)
	}
	if err := cv.Start(); err != nil {
		return nil, err
	}
	e.procs = append(e.procs, cv)
	e.cvPID = cv.Process.Pid
	return cv, loopback.WaitHTTP("http://"+addr+"/healthz", 30*time.Second)
}

func (e *env) migrate(dbURL string) ([]byte, error) {
	m := exec.Command(e.bin(), "migrate")
	m.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "CREDVAULT_KEYSET_FILE="+e.keyset())
	return m.CombinedOutput()
}

// organizations creates n organizations, each configured with the
// service on its own port of ports and holding one password credential
// with a TOTP seed, through the library on the same database.
func (e *env) organizations(ctx context.Context, n int, ports []string) ([]orgFixture, error) {
	if len(ports) < n {
		return nil, fmt.Errorf("%d service ports for %d organizations", len(ports), n)
	}
	cfg := config.Default()
	cfg.DatabaseURL = config.SecretURL(e.dbURL)
	cfg.KeysetFile = e.keyset()
	cfg.AllowedHosts = []string{"127.0.0.1"}
	cfg.DataDir = filepath.Join(e.dir, "setup")
	p, err := credvault.Open(ctx, cfg, credvault.Options{})
	if err != nil {
		return nil, err
	}
	defer p.Close()
	out := make([]orgFixture, n)
	for i := range n {
		created, err := p.Organizations.Create(ctx, fmt.Sprint("Load ", i))
		if err != nil {
			return nil, err
		}
		base := "http://127.0.0.1:" + ports[i] + credservice.Prefix
		if _, err := p.Configs.Save(ctx, org.Principal{OrganizationID: created.OrganizationID},
			org.ServiceConfig{APIBaseURL: base, APIToken: vault.NewSecret(svcToken)}); err != nil {
			return nil, err
		}
		v, err := p.Credentials.Create(ctx, created.OrganizationID, vault.Credential{Name: "Bank", Type: vault.TypePassword,
			Password: &vault.Password{Username: "a@example.com", Password: vault.NewSecret("pw"),
				TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator}}, credentials.Patch{})
		if err != nil {
			return nil, err
		}
		itemID, err := itemOf(ctx, e.dbURL, v.CredentialID)
		if err != nil {
			return nil, err
		}
		out[i] = orgFixture{key: created.APIKey, credID: v.CredentialID, itemURL: base + "/" + itemID}
	}
	return out, nil
}

// itemOf reads the service item id of a credential (the direct GET's URL).
func itemOf(ctx context.Context, dbURL, credID string) (string, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var id string
	err = db.QueryRowContext(ctx, "SELECT item_id FROM credentials WHERE id = $1", credID).Scan(&id)
	return id, err
}

func (e *env) cleanup() {
	for _, p := range e.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	if admin, err := sql.Open("pgx", *dbBase); err == nil {
		for _, name := range e.dbNames {
			_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		}
		admin.Close()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

// dieWithUs makes a child process get SIGKILL when this program ends,
// however it ends, so nothing it started outlives it.
func dieWithUs() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }

// bareHop measures REST totp-code against the bare hops to the same item
// of the same service: the Go reverse proxy, and nginx when installed.
func (e *env) bareHop(o orgFixture, totp target, report func(string, float64, string, bool)) error {
	u, err := url.Parse(o.itemURL)
	if err != nil {
		return err
	}
	upstream := u.Scheme + "://" + u.Host
	hopAddr, err := e.startHop(upstream)
	if err != nil {
		return err
	}
	goHop := target{"GET", "http://" + hopAddr + u.Path, ""}
	fmt.Println("against the bare hop (a Go httputil.ReverseProxy adding the token, nothing else), one connection:")
	before := e.inside()
	h1, t1 := e.compare([]target{goHop}, []target{totp}, 1)
	printRuns("bare Go hop", h1, "REST totp-code", t1)
	e.since(before)
	report("REST totp-code / bare Go hop, p50 at 1 connection", ratio(t1.p50, h1.p50), "≤ 1.15", ratio(t1.p50, h1.p50) <= 1.15)
	fmt.Printf("  %-58s %6.2f×\n", "REST totp-code / bare Go hop, p99 at 1 connection", ratio(t1.p99, h1.p99))
	fmt.Printf("against the bare Go hop, %d connections:\n", *conns)
	hN, tN := e.compare([]target{goHop}, []target{totp}, *conns)
	printRuns("bare Go hop", hN, "REST totp-code", tN)
	report("throughput, REST totp-code / bare Go hop", tN.rps/hN.rps, "≥ 0.95", tN.rps/hN.rps >= 0.95)
	fmt.Printf("  %-58s %6.2f×\n", "p99 at 64 connections, REST totp-code / bare Go hop", ratio(tN.p99, hN.p99))
	fmt.Printf("  %-58s %6.1fµs / %.1fµs\n", "CPU per request, credvault / bare Go hop", us(tN.cpuCV), us(hN.cpuHop))
	report("CPU per request, credvault / bare Go hop", ratio(tN.cpuCV, max(hN.cpuHop, 1)), "≤ 1.2", ratio(tN.cpuCV, max(hN.cpuHop, 1)) <= 1.2)

	ngAddr, why, err := e.startNginx(upstream)
	if err != nil {
		return err
	}
	if ngAddr == "" {
		fmt.Printf("  nginx: %s\n\n", why)
		return nil
	}
	ng := target{"GET", "http://" + ngAddr + u.Path, ""}
	fmt.Println("against nginx (proxy_pass adding the token, keep-alive both ways, one worker process), one connection:")
	n1, t1n := e.compare([]target{ng}, []target{totp}, 1)
	printRuns("nginx proxy_pass", n1, "REST totp-code", t1n)
	fmt.Printf("against nginx, %d connections:\n", *conns)
	nN, tNn := e.compare([]target{ng}, []target{totp}, *conns)
	printRuns("nginx proxy_pass", nN, "REST totp-code", tNn)
	fmt.Printf("  %-58s %6.1fµs / %.1fµs\n", "CPU per request, credvault / nginx", us(tNn.cpuCV), us(nN.cpuNginx))

	// The floor of any net/http proxy: a net/http server answering
	// a constant body serves the incoming exchange and nothing else,
	// and a Go client's GET of the service (the direct GET) is the
	// outgoing one.
	helloAddr, err := e.startHello()
	if err != nil {
		return err
	}
	hw := target{"GET", "http://" + helloAddr + "/", ""}
	direct := target{"GET", o.itemURL, "Bearer " + svcToken}
	fmt.Println("the floor of any net/http proxy: a bare net/http hello-world, and the direct GET of the service")
	d1, w1 := e.compare([]target{direct}, []target{hw}, 1)
	printRuns("direct GET to the service", d1, "net/http hello-world", w1)
	_, wN := e.compare([]target{direct}, []target{hw}, *conns)
	printRun(fmt.Sprintf("hello-world, %d connections", *conns), wN)
	floorP50 := w1.p50 + d1.p50
	fmt.Printf("  %-58s %6.2f×   (hello-world p50 + direct GET p50 = %s)\n", "floor of a net/http proxy's p50 / nginx p50", ratio(floorP50, n1.p50), floorP50.Round(time.Microsecond))
	// Every core is busy at 64 connections: the request rate is the
	// machine's CPU over the CPU all processes spend per request, and a
	// net/http proxy spends at least a hello-world server's.
	ngTotal := nN.cpuNginx + nN.cpuSvc + nN.cpuLoad
	ceil := float64(ngTotal) / float64(wN.cpuHello+nN.cpuSvc+nN.cpuLoad)
	fmt.Printf("  %-58s %6.2f×   (CPU per request: nginx %.1fµs for both its exchanges, a hello-world server %.1fµs for one)\n",
		"ceiling of any net/http proxy's req/s / nginx's", ceil, us(nN.cpuNginx), us(wN.cpuHello))
	p50r, rps := ratio(t1n.p50, n1.p50), tNn.rps/nN.rps
	report("REST totp-code / nginx, p50 at 1 connection", p50r, "≤ 1.3", p50r <= 1.3)
	if ceil < 0.8 {
		fmt.Printf("  %-58s %6.2f×   goal ≥ 0.8: out of reach of any net/http server here (ceiling %.2f×); %.0f %% of the ceiling\n",
			"throughput, REST totp-code / nginx", rps, ceil, 100*rps/ceil)
	} else {
		report("throughput, REST totp-code / nginx", rps, "≥ 0.8", rps >= 0.8)
	}
	fmt.Println()
	return nil
}
