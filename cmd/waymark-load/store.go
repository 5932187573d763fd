package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/waymark-atd/waymark/internal/config"
	"github.com/waymark-atd/waymark/internal/seal"
	"github.com/waymark-atd/waymark/internal/store"
	"github.com/waymark-atd/waymark/internal/store/bolt"
	redisstore "github.com/waymark-atd/waymark/internal/store/redis"
)

// openStore opens the store `waymark serve` would open with the same
// environment, and the seal box of its key.
func openStore(ctx context.Context, e env, dataDir string) (store.Store, *seal.Box, config.Config, error) {
	overrides := map[string]string{}
	if dataDir != "" {
		overrides["WAYMARK_DATA_DIR"] = dataDir
	}
	cfg, _, err := config.Load(e.getenv, nil, overrides)
	if err != nil {
		return nil, nil, cfg, fmt.Errorf("configuration is not valid:\n%w", err)
	}
	key, _, err := cfg.Key()
	if err != nil {
		return nil, nil, cfg, err
	}
	box, err := seal.New(key)
	if err != nil {
		return nil, nil, cfg, err
	}
	var st store.Store
	if cfg.RedisURL != "" {
		st, err = redisstore.Open(ctx, redisstore.Options{URL: cfg.RedisURL, Prefix: cfg.RedisPrefix,
			SentinelMaster: cfg.RedisSentinelMaster, Cluster: cfg.RedisCluster})
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, nil, cfg, fmt.Errorf("create data directory: %w", err)
		}
		st, err = bolt.Open(filepath.Join(cfg.DataDir, "waymark.db"))
	}
	if err != nil {
		return nil, nil, cfg, fmt.Errorf("open the store (for the embedded store, stop the server first): %w", err)
	}
	return st, box, cfg, nil
}

func storeKind(cfg config.Config) string {
	if cfg.RedisURL != "" {
		return "redis"
	}
	return "bolt"
}
