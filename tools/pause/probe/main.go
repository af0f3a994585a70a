// Command probe is the node tier's test image: one static binary that checks, from inside a
// pod, what a real cluster gives pods, and a tiny server to be checked.
//
//	probe serve [PORT]          HTTP on PORT (default 8080): /healthz -> 200 "ok",
//	                            / -> "hello from <hostname>"; exits 0 on SIGTERM/SIGINT
//	probe [--within DURATION] CHECK ARG [CHECK ARG...]
//	  dns NAME                  resolve NAME with the pod's /etc/resolv.conf
//	  tcp HOST:PORT             open a TCP connection
//	  http URL                  GET URL, expect a 2xx answer
//	  apiserver NAMESPACE       the in-cluster API: token and CA of the mounted ServiceAccount,
//	                            KUBERNETES_SERVICE_HOST/PORT; POSTs a SelfSubjectReview and
//	                            expects system:serviceaccount:NAMESPACE:... as the user
//
// Each check is retried until it passes or DURATION (default 30s) has passed since the
// start; one line per check: "ok <check> <arg> <detail>" or "FAIL <check> <arg> <error>".
// Exits 1 if any check failed. Built by scripts/node-build.sh; standard library only.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const saDir = "/var/run/secrets/kubernetes.io/serviceaccount"

func main() {
	args := os.Args[1:]
	if len(args) >= 1 && args[0] == "serve" {
		port := "8080"
		if len(args) >= 2 {
			port = args[1]
		}
		serve(port)
		return
	}
	within := 30 * time.Second
	if len(args) >= 2 && args[0] == "--within" {
		d, err := time.ParseDuration(args[1])
		if err != nil {
			fail("bad --within: %v", err)
		}
		within, args = d, args[2:]
	}
	if len(args) == 0 || len(args)%2 != 0 {
		fail("usage: probe serve [PORT] | probe [--within DURATION] {dns NAME|tcp HOST:PORT|http URL|apiserver NAMESPACE}...")
	}
	deadline := time.Now().Add(within)
	failed := false
	for i := 0; i < len(args); i += 2 {
		check, arg := args[i], args[i+1]
		detail, err := retry(deadline, func() (string, error) { return run(check, arg) })
		if err != nil {
			failed = true
			fmt.Printf("FAIL %s %s %v\n", check, arg, err)
		} else {
			fmt.Printf("ok %s %s %s\n", check, arg, detail)
		}
	}
	if failed {
		os.Exit(1)
	}
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "probe: "+format+"\n", a...)
	os.Exit(2)
}

func retry(deadline time.Time, f func() (string, error)) (string, error) {
	for {
		detail, err := f()
		if err == nil || time.Now().After(deadline) {
			return detail, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func run(check, arg string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch check {
	case "dns":
		addrs, err := net.DefaultResolver.LookupHost(ctx, arg)
		if err != nil {
			return "", err
		}
		return strings.Join(addrs, ","), nil
	case "tcp":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", arg)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		return conn.RemoteAddr().String(), nil
	case "http":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, arg, nil)
		if err != nil {
			return "", err
		}
		return do(http.DefaultClient, req)
	case "apiserver":
		return inCluster(ctx, arg)
	default:
		return "", fmt.Errorf("unknown check %q", check)
	}
}

func do(client *http.Client, req *http.Request) (string, error) {
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	text := strings.TrimSpace(string(body))
	if res.StatusCode/100 != 2 {
		return "", fmt.Errorf("HTTP %d: %s", res.StatusCode, text)
	}
	return fmt.Sprintf("HTTP %d %s", res.StatusCode, strings.ReplaceAll(text, "\n", " ")), nil
}

// inCluster does what a client library's in-cluster configuration does: the Service
// address from the environment, the mounted token as bearer, the mounted CA as trust root.
func inCluster(ctx context.Context, namespace string) (string, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return "", errors.New("KUBERNETES_SERVICE_HOST/PORT not set")
	}
	token, err := os.ReadFile(saDir + "/token")
	if err != nil {
		return "", err
	}
	caPEM, err := os.ReadFile(saDir + "/ca.crt")
	if err != nil {
		return "", err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return "", errors.New("no certificate in ca.crt")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	url := "https://" + net.JoinHostPort(host, port) + "/apis/authentication.k8s.io/v1/selfsubjectreviews"
	body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	detail, err := do(client, req)
	if err != nil {
		return "", err
	}
	want := `"username":"system:serviceaccount:` + namespace + `:`
	if !strings.Contains(detail, want) {
		return "", fmt.Errorf("expected %s in %s", want, detail)
	}
	return detail, nil
}

func serve(port string) {
	hostname, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintf(w, "hello from %s\n", hostname) })
	server := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()
	fmt.Printf("probe serving on :%s as %s\n", port, hostname)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fail("serve: %v", err)
	}
}
