package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/internal/loopback"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
)

var (
	rssOrgs    = flag.String("rss", "", "measure memory and start-up instead: comma-separated organization counts, such as 10000,100000")
	rotate     = flag.Duration("rotate", 3*time.Minute, "rotating traffic before each memory figure")
	heapProf   = flag.String("heapprofile", "", "with -rss: write credvault's heap profile after each count's rotating traffic to FILE.<count>")
	rotateLong = flag.Duration("rotate-long", 10*time.Minute, "total rotating traffic of the first count's second memory figure (0: none)")
)

// runRSS measures, for each organization count, credvault's resident
// memory once every organization was used and after rotating traffic
// over all of them, and its start-up time against the same on an empty
// database (measured in the same run).
func runRSS(ctx context.Context) (int, error) {
	e := &env{}
	defer e.cleanup()
	if err := e.prepare(); err != nil {
		return 0, err
	}
	ports, err := e.startFarm(1)
	if err != nil {
		return 0, err
	}
	base := "http://127.0.0.1:" + ports[0] + credservice.Prefix
	missed := 0
	fmt.Println("memory and start-up (credvault serve with its default cache sizes, every organization on its own configuration):")
	for i, field := range strings.Split(*rssOrgs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return 0, fmt.Errorf("-rss: %q is not an organization count", field)
		}
		dbURL, err := e.database(ctx, fmt.Sprintf("credvault_rss_%d_%d", os.Getpid(), n))
		if err != nil {
			return 0, err
		}
		addr, err := loopback.FreeAddr()
		if err != nil {
			return 0, err
		}
		if e.pprof, err = loopback.FreeAddr(); err != nil {
			return 0, err
		}
		// The reference: start-up and memory on the empty database.
		emptyStart, cv, err := e.medianStart(dbURL, addr)
		if err != nil {
			return 0, err
		}
		idle := rss(cv)
		var idleLive float64
		if ms, err := memStats(e.pprof); err == nil {
			idleLive = ms["live"]
		}
		stop(cv)
		keys, credIDs, err := e.fill(ctx, dbURL, base, n)
		if err != nil {
			return 0, err
		}
		fullStart, cv, err := e.medianStart(dbURL, addr)
		if err != nil {
			return 0, err
		}
		fmt.Printf("  %d organizations (and %d credential rows):\n", n, n)
		fmt.Printf("    %-60s %8v   (empty database: %v)   %.2f×   goal ≤ 1.5 %s\n", "start-up to the first /healthz (median of 3)",
			fullStart.Round(time.Millisecond), emptyStart.Round(time.Millisecond), ratio(fullStart, emptyStart), mark(ratio(fullStart, emptyStart) <= 1.5, &missed))
		var ts []target
		for j := range keys {
			ts = append(ts, target{"GET", "http://" + addr + "/api/v1/credentials/" + credIDs[j] + "/totp-code", keys[j]})
		}
		e.attack(ts, 16, len(ts)) // every organization once
		goal := 64.0
		if n > 10_000 {
			goal = 110
		}
		e.cvPID = cv.Process.Pid // rotateFor's CPU per request
		once := rss(cv)
		fmt.Printf("    %-60s %6.1f MiB   (the same process idle on the empty database: %.1f MiB)\n", "resident memory, every organization used once", once, idle)
		start := time.Now()
		rotateFor(e, ts, *rotate)
		r := rss(cv)
		fmt.Printf("    %-60s %6.1f MiB   goal ≤ %.0f MiB %s\n", fmt.Sprintf("after %v of rotating traffic", rotate.Round(time.Second)), r, goal, mark(r <= goal, &missed))
		if i == 0 && *rotateLong > *rotate {
			rotateFor(e, ts, *rotateLong-time.Since(start))
			r := rss(cv)
			fmt.Printf("    %-60s %6.1f MiB   goal ≤ %.0f MiB %s\n", fmt.Sprintf("after %v of rotating traffic", rotateLong.Round(time.Second)), r, goal, mark(r <= goal, &missed))
		}
		if ms, err := memStats(e.pprof); err == nil {
			fmt.Printf("    %-60s %6.1f MiB live after the last collection, %.1f MiB heap goal, %.1f MiB free heap not returned, %.1f MiB stacks, %.1f MiB runtime\n",
				"where it is (runtime.MemStats)", ms["live"], ms["goal"], ms["idle"], ms["stacks"], ms["runtime"])
			fmt.Printf("    %-60s %6.0f B\n", "live heap per organization, less the idle process's", (ms["live"]-idleLive)*(1<<20)/float64(n))
			fmt.Printf("    %-60s %6.1f %%   (%.0f collections)\n", "the collector's share of credvault's CPU since it started", 100*ms["gc_cpu"], ms["gcs"])
		}
		if *heapProf != "" {
			if err := save(fmt.Sprintf("http://%s/debug/pprof/heap", e.pprof), fmt.Sprintf("%s.%d", *heapProf, n)); err != nil {
				return 0, err
			}
		}
		stop(cv)
	}
	return missed, nil
}

// rotateFor sends totp-code requests round-robin over every organization
// from 16 connections for d, a minute at a time, and prints what the last
// minute served: the price of the memory figure that follows (the
// collector's headroom is paid in CPU under this load).
func rotateFor(e *env, ts []target, d time.Duration) {
	var r result
	for d > 0 {
		step := min(d, time.Minute)
		saved := *roundFor
		*roundFor = step
		r = e.attack(ts, 16, 0)
		*roundFor = saved
		d -= step
	}
	if r.requests > 0 {
		fmt.Printf("    %-60s %8.0f req/s, credvault CPU %v per request\n", "rotating traffic (16 connections)", r.rps, r.cpuCV.Round(100*time.Nanosecond))
	}
}

// medianStart starts serve three times and returns the median start-up
// time and the last process, still running.
func (e *env) medianStart(dbURL, addr string) (time.Duration, *exec.Cmd, error) {
	var ds []time.Duration
	var cv *exec.Cmd
	for i := range 3 {
		d, c, err := e.timedStart(dbURL, addr)
		if err != nil {
			return 0, nil, err
		}
		ds = append(ds, d)
		if i < 2 {
			stop(c)
		}
		cv = c
	}
	slices.Sort(ds)
	return ds[1], cv, nil
}

// timedStart starts serve on dbURL and returns how long it took to answer
// /healthz (polled every 2 ms).
func (e *env) timedStart(dbURL, addr string) (time.Duration, *exec.Cmd, error) {
	if out, err := e.migrate(dbURL); err != nil {
		return 0, nil, fmt.Errorf("migrate: %v %s", err, out)
	}
	cv := exec.Command(e.bin(), "serve", "--no-migrate")
	cv.Env = append(append(os.Environ(), strings.Fields(*cvEnv)...), "DATABASE_URL="+dbURL, "CREDVAULT_KEYSET_FILE="+e.keyset(),
		"CREDVAULT_ALLOWED_HOSTS=127.0.0.1", "CREDVAULT_ADDR="+addr, "CREDVAULT_LOG_LEVEL="+*cvLog,
		"CREDVAULT_RATE_LIMIT_READS=1000000/s:1000000", "CREDVAULT_PPROF_ADDR="+e.pprof)
	cv.Stderr = os.Stderr
	cv.SysProcAttr = dieWithUs()
	start := time.Now()
	if err := cv.Start(); err != nil {
		return 0, nil, err
	}
	e.procs = append(e.procs, cv)
	c := &http.Client{Timeout: time.Second}
	for {
		if resp, err := c.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), cv, nil
			}
		}
		if time.Since(start) > 30*time.Second {
			return 0, nil, fmt.Errorf("serve did not answer within 30s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// fill creates n organizations, each with its own saved configuration of
// the service at base and one password credential with a TOTP seed (all
// pointing at one item, stored once), through the library and one SQL
// insert.
func (e *env) fill(ctx context.Context, dbURL, base string, n int) (keys, credIDs []string, err error) {
	cfg := config.Default()
	cfg.DatabaseURL = config.SecretURL(dbURL)
	cfg.KeysetFile = e.keyset()
	cfg.AllowedHosts = []string{"127.0.0.1"}
	cfg.DataDir = e.dir + "/setup"
	p, err := credvault.Open(ctx, cfg, credvault.Options{})
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	u, _ := url.Parse(base)
	cl, err := contract.New(u, vault.NewSecret(svcToken), contract.Options{})
	if err != nil {
		return nil, nil, err
	}
	ref, err := cl.Create(ctx, "rss", vault.Credential{Name: "Bank", Type: vault.TypePassword, Password: &vault.Password{Username: "u",
		Password: vault.NewSecret("pw"), TOTP: vault.NewSecret("JBSWY3DPEHPK3PXP"), TOTPType: vault.TOTPAuthenticator}})
	if err != nil {
		return nil, nil, err
	}
	keys, credIDs = make([]string, n), make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				created, err := p.Organizations.Create(ctx, fmt.Sprint("Org ", i))
				if err == nil {
					_, err = p.Configs.Save(ctx, org.Principal{OrganizationID: created.OrganizationID},
						org.ServiceConfig{APIBaseURL: base, APIToken: vault.NewSecret(svcToken)})
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				keys[i], credIDs[i] = created.APIKey, "cred_"+created.OrganizationID
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO credentials (id, organization_id, name, credential_type, vault_type, item_id,
			vault_source, username, totp_type, secret_label, version, created_at, modified_at)
		SELECT 'cred_' || organization_id, organization_id, 'Bank', 'password', 'custom', $1, id, 'u', 'authenticator', '', 1, now(), now()
		  FROM org_auth_tokens WHERE valid`, ref.ID); err != nil {
		return nil, nil, err
	}
	return keys, credIDs, nil
}

// memStats reads the runtime.MemStats that /debug/pprof/heap?debug=1
// prints, in MiB, right after the collection it asks for (gc=1): the
// live heap, the next collection's goal, the free heap not yet returned
// to the system, stacks and the runtime's own structures.
func memStats(addr string) (map[string]float64, error) {
	// A collection first, so HeapAlloc is what is live.
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	v := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(val + " 0")[0], 64)
		if err != nil {
			continue
		}
		v[name] = f
	}
	const mib = 1 << 20 // the sizes in MiB; the collector's share and count as they are
	return map[string]float64{"live": v["HeapAlloc"] / mib, "goal": v["NextGC"] / mib, "idle": (v["HeapIdle"] - v["HeapReleased"]) / mib,
		"stacks": v["StackSys"] / mib, "runtime": (v["MSpanSys"] + v["MCacheSys"] + v["BuckHashSys"] + v["GCSys"] + v["OtherSys"]) / mib,
		"gc_cpu": v["GCCPUFraction"], "gcs": v["NumGC"]}, nil
}

// save writes what url answers to file.
func save(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rss is the process's resident memory in MiB (VmRSS).
func rss(c *exec.Cmd) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func stop(c *exec.Cmd) {
	_ = c.Process.Signal(os.Interrupt)
	_ = c.Wait()
}
