package localcluster

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// StartEtcd starts an embedded etcd in this process, its data in dir/etcd and its log
// in dir/etcd.log. It serves clients at clientURL ("http://127.0.0.1:port" or
// "unix:///path/to/socket"), or on a free loopback port when clientURL is empty, and
// returns the URL clients reach it at and a function that stops it. No etcd binary is
// needed, which is why berth-local, every berth test and the benchmark get their etcd
// from here.
func StartEtcd(dir, clientURL string) (string, func(), error) {
	client, err := freeLoopbackURL()
	if clientURL != "" {
		client, err = url.Parse(clientURL)
	}
	if err != nil {
		return "", nil, err
	}
	peer, err := freeLoopbackURL()
	if err != nil {
		return "", nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(dir, "etcd.log")}
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return "", nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return "", nil, fmt.Errorf("embedded etcd not ready after 60s")
	}
	return client.String(), e.Close, nil
}

func freeLoopbackURL() (*url.URL, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}, nil
}
