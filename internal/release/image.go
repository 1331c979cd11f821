package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image runs as this user and group, which owns nothing but its home:
// the same id as the "nonroot" user of distroless images.
const (
	imageUID  = 65532
	imageUser = "65532:65532"
	// workerPort is where the image's command serves /healthz and /metrics.
	workerPort = "9090"
	// imageCACerts is where Go (crypto/x509) looks first on Linux.
	imageCACerts = "etc/ssl/certs/ca-certificates.crt"
)

// imageSpec is what the container image is made of, besides its binaries.
type imageSpec struct {
	stamp   stamp
	source  string
	license string
	caCerts []byte // PEM bundle
}

// labels are the OCI annotations (image-spec annotations.md), set both as
// the config's labels and as the manifests' annotations.
func (s imageSpec) labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "iamprune",
		"org.opencontainers.image.description": "iamprune worker: acts on IAM Access Analyzer unused-access finding events from an SQS queue",
		"org.opencontainers.image.version":     s.stamp.version,
		"org.opencontainers.image.revision":    s.stamp.commit,
		"org.opencontainers.image.created":     s.stamp.date.Format(time.RFC3339),
		"org.opencontainers.image.source":      s.source,
		"org.opencontainers.image.licenses":    s.license,
	}
}

// imageConfig runs `iamprune worker` as the non-root user, serving
// /healthz and /metrics on every interface of the container.
func (s imageSpec) imageConfig() v1.Config {
	return v1.Config{
		User:         imageUser,
		Entrypoint:   []string{"/iamprune"},
		Cmd:          []string{"worker", "--listen", ":" + workerPort},
		Env:          []string{"HOME=/home/nonroot", "SSL_CERT_FILE=/" + imageCACerts},
		WorkingDir:   "/home/nonroot",
		ExposedPorts: map[string]struct{}{workerPort + "/tcp": {}},
		// Docker's HEALTHCHECK (other runtimes use their own probes on
		// /healthz): the image has no shell or curl, the binary probes.
		Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/iamprune", "worker", "--probe", "--listen", "127.0.0.1:" + workerPort},
			Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		Labels: s.labels(),
	}
}

// writeImage writes an OCI image layout at dir whose index.json names one
// image index (tagged with the version in org.opencontainers.image.ref.name)
// with an image per binary: bins maps each linux target to its static
// binary.
func writeImage(dir string, spec imageSpec, targets []target, bins map[target]string) error {
	var adds []mutate.IndexAddendum
	for _, t := range targets {
		img, err := platformImage(spec, t, bins[t])
		if err != nil {
			return fmt.Errorf("image for %s: %w", t, err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: t.goos, Architecture: t.goarch}}})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	idx = mutate.Annotations(idx, spec.labels()).(v1.ImageIndex)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": spec.stamp.version}))
}

// platformImage is one layer on an empty base: the binary, the CA
// certificates, /etc/passwd and /etc/group. No shell, no package manager.
func platformImage(spec imageSpec, t target, bin string) (v1.Image, error) {
	rootfs, err := rootFS(spec, bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: spec.stamp.date}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: created, CreatedBy: "iamprune internal/release", Comment: "iamprune " + spec.stamp.version}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created, cf.Config = t.goos, t.goarch, created, spec.imageConfig()
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, spec.labels()).(v1.Image), nil
}

// rootFS is the layer's tar: every entry owned by root except the user's
// home, every time the release date.
func rootFS(spec imageSpec, bin string) ([]byte, error) {
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", imageUID, imageUID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", imageUID)
	type item struct {
		name string
		mode int64
		uid  int
		data []byte // nil for a folder
	}
	items := []item{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: imageCACerts, mode: 0o644, data: spec.caCerts},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: imageUID},
		{name: "iamprune", mode: 0o755, data: exe},
		{name: "tmp/", mode: 0o1777},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, it := range items {
		h := &tar.Header{Name: it.name, Mode: it.mode, Uid: it.uid, Gid: it.uid, ModTime: spec.stamp.date, Format: tar.FormatPAX, Typeflag: tar.TypeDir}
		if it.data != nil {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(it.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(it.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
