// Command release builds everything a release publishes, offline and
// without Docker, into one folder (`make release`; see docs/releasing.md):
//
//   - iamprune_VERSION_OS_ARCH.tar.gz for linux and darwin on amd64 and
//     arm64: the static binary, README.md and LICENSE (when there is one);
//   - iamprune_VERSION_lambda_ARCH.zip for arm64 and x86_64: the Lambda
//     bootstrap, built as `make package` builds it (-tags lambda.norpc);
//   - iamprune_VERSION_sbom.cdx.json: a CycloneDX SBOM of the linux/amd64
//     binary, written by cyclonedx-gomod (installed by `make release-tools`);
//   - oci/ and iamprune_VERSION_oci.tar: the `iamprune worker` container
//     image for linux/amd64 and linux/arm64, as an OCI image layout folder
//     and the same folder as one tar file;
//   - checksums.txt: the SHA-256 of every file above, in sha256sum's format.
//
// Every binary is built with CGO_ENABLED=0 and -trimpath, with the version,
// commit and date stamped by -ldflags -X (internal/version). Every archive
// entry carries the commit's date (or SOURCE_DATE_EPOCH), so the same commit
// gives the same files.
//
//	go run ./internal/release -out dist/release [-version v1.2.3]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// options are the command's flags.
type options struct {
	out       string // the release folder, emptied first
	version   string // default: git describe --tags --always --dirty
	commit    string // default: git rev-parse HEAD
	cyclonedx string // the cyclonedx-gomod binary
	caCerts   string // the CA bundle put in the image
	source    string // org.opencontainers.image.source
	license   string // org.opencontainers.image.licenses (SPDX)
	goCmd     string
	epoch     string // default: SOURCE_DATE_EPOCH, else the commit's date
	root      string // the module root (default: the working folder)
	trimpath  bool
	// dynamic leaves CGO_ENABLED as the environment has it (tests).
	dynamic bool
	// targets narrows the build, for a quick local check (e.g. linux/amd64);
	// empty is every target.
	targets string
	noImage bool
	noSBOM  bool
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", filepath.Join("dist", "release"), "the release folder, emptied first (refused unless it is new, empty or an earlier release)")
	flag.StringVar(&o.version, "version", os.Getenv("VERSION"), "the version to stamp (default: $VERSION, else git describe --tags --always --dirty)")
	flag.StringVar(&o.commit, "commit", os.Getenv("COMMIT"), "the commit to stamp (default: $COMMIT, else git rev-parse HEAD)")
	flag.StringVar(&o.cyclonedx, "cyclonedx", filepath.Join(".cache", "bin", "cyclonedx-gomod"), "the cyclonedx-gomod binary (make release-tools installs it)")
	flag.StringVar(&o.caCerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "the PEM bundle of CA certificates for the image (the build machine's)")
	flag.StringVar(&o.source, "source", "https://github.com/iamprune/iamprune", "the source repository, for the image's labels")
	flag.StringVar(&o.license, "license", "NOASSERTION", "the SPDX license expression, for the image's labels")
	flag.StringVar(&o.goCmd, "go", "go", "the go command")
	flag.StringVar(&o.epoch, "source-date-epoch", os.Getenv("SOURCE_DATE_EPOCH"), "the release date as a Unix time (default: $SOURCE_DATE_EPOCH, else the commit's date)")
	flag.BoolVar(&o.trimpath, "trimpath", true, "build with -trimpath")
	flag.BoolVar(&o.dynamic, "dynamic", false, "leave CGO_ENABLED as the environment has it, instead of 0 (never for the image, which has no dynamic loader)")
	flag.StringVar(&o.targets, "targets", "", "comma-separated OS/ARCH archives to build (default: all), for a quick check")
	flag.BoolVar(&o.noImage, "no-image", false, "skip the container image")
	flag.BoolVar(&o.noSBOM, "no-sbom", false, "skip the SBOM")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "release: no arguments expected; see -h")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}
