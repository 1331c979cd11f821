package config

import (
	"path"
	"path/filepath"
	"strings"
)

// Resolve makes p, a path written in the config file at configPath (the
// exceptions file, the propose repository, the templates folder), relative
// to that file: to its folder, or to its S3 prefix when the config was read
// from s3://bucket/key. Absolute paths, URLs (s3://, https://) and scp-like
// git addresses stay as they are, and so does p when there is no config
// file (defaults, or inline YAML: relative to the working directory).
func Resolve(configPath, p string) string {
	if p == "" || configPath == "" || filepath.IsAbs(p) || strings.Contains(p, ":") {
		return p
	}
	if rest, ok := strings.CutPrefix(configPath, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		return "s3://" + bucket + "/" + strings.TrimPrefix(path.Join(path.Dir(key), p), "/")
	}
	return filepath.Join(filepath.Dir(configPath), p)
}
