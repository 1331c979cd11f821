package app

import (
	"context"

	"strings"

	"github.com/iamprune/iamprune"
	"github.com/iamprune/iamprune/config"
)

// SyncPaths returns the exceptions file to sync and where to publish it:
// file (--exceptions), else the config's local file cfgPath; and publish
// (--publish), else the config's exceptions when they are on S3. The file
// must be local, and both must be of one format (*.txt or YAML).
func SyncPaths(file, publish string, cfg iamprune.Config, cfgPath string) (path, target string, err error) {
	path = cfgPath
	if file != "" {
		path = file
	}
	if path == "" {
		return "", "", iamprune.Errorf(iamprune.EINVALID, "no exceptions file: give --exceptions FILE, or --config with a local exceptions file")
	}
	if strings.HasPrefix(path, "s3://") {
		return "", "", iamprune.Errorf(iamprune.EINVALID, "--exceptions: sync reads the file in the repository, not %s; publish it there with --publish", path)
	}
	target = publish
	if target == "" && strings.HasPrefix(cfg.Exceptions, "s3://") {
		target = cfg.Exceptions
	}
	if target != "" && IsTXT(target) != IsTXT(path) {
		return "", "", iamprune.Errorf(iamprune.EINVALID, "--publish: %s would be read as %s, but %s is %s", target, formatOf(target), path, formatOf(path))
	}
	return path, target, nil
}

func formatOf(p string) string {
	if IsTXT(p) {
		return "an ARN list (*.txt)"
	}
	return "YAML"
}

// ConfigExceptions reads the config (LoadConfig) and returns it with its
// exceptions path made relative to the config file, as plan does. An
// s3:// path is not returned: the exceptions commands read local files.
func ConfigExceptions(ctx context.Context, opts InputOptions) (iamprune.Config, string, error) {
	cfg, path, err := LoadConfig(ctx, opts)
	if err != nil || strings.Contains(cfg.Exceptions, "://") {
		return cfg, "", err
	}
	return cfg, config.Resolve(path, cfg.Exceptions), nil
}
