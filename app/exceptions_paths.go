package app

import (
	"strings"

	"github.com/iamprune/iamprune"
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
