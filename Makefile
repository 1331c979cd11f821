# iamprune: build, test and package.
#
#   make package [ARCH=arm64|x86_64]   dist/bootstrap and dist/iamprune-$(ARCH).zip for Lambda
#   make release-tools                 install cyclonedx-gomod (pinned) into .cache/bin: needs the network once
#   make release [VERSION=v1.2.3]      dist/release: archives, Lambda zips, SBOM, OCI image, checksums.txt (offline)
#   make man                           dist/man: a man page per command (cobra's generator)
#   make test                          the whole suite (scripts/test)
#   make demo                          the offline demo
#
# make release builds offline once the modules and tools are in place
# (`go mod download && make release-tools`), which
#   GOFLAGS=-mod=readonly GOPROXY=off make release
# proves; see docs/releasing.md. VERSION defaults to `git describe`, and
# every date in the release to the commit's (or SOURCE_DATE_EPOCH).
#
# ARCH uses Lambda's names (the stack's Architecture parameter); Go calls
# x86_64 amd64.

ARCH ?= arm64
GO ?= go
GOARCH_arm64 := arm64
GOARCH_x86_64 := amd64
GOARCH := $(GOARCH_$(ARCH))

DIST := dist
ZIP := $(DIST)/iamprune-$(ARCH).zip

# Pinned release tools, installed with go install into .cache/bin.
CYCLONEDX_GOMOD_VERSION := v1.10.0
TOOLS := $(CURDIR)/.cache/bin
CYCLONEDX_GOMOD := $(TOOLS)/cyclonedx-gomod
CYCLONEDX_GOMOD_STAMP := $(TOOLS)/.cyclonedx-gomod-$(CYCLONEDX_GOMOD_VERSION)

# The version `make package` stamps (make release stamps its own).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_PKG := github.com/iamprune/iamprune/internal/version
STAMP := $(if $(VERSION),-X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT))

.PHONY: all package release release-tools man test demo clean

all: test

package: $(ZIP)

# Always rebuilt: go build is incremental, and make cannot see Go's inputs.
.PHONY: $(DIST)/bootstrap
$(DIST)/bootstrap:
ifeq ($(GOARCH),)
	$(error ARCH must be arm64 or x86_64, not "$(ARCH)")
endif
	@mkdir -p $(DIST)
	GOOS=linux GOARCH=$(GOARCH) CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags="-s -w $(STAMP)" -o $@ ./cmd/iamprune

# zip(1) when installed, else the same archive from a small Go program.
$(ZIP): $(DIST)/bootstrap
	@rm -f $@
	@if command -v zip >/dev/null 2>&1; then \
		echo "zip -X -j $@ $<"; zip -q -X -j $@ $<; \
	else \
		echo "$(GO) run ./deploy/cloudformation/internal/zipit -o $@ $<"; \
		$(GO) run ./deploy/cloudformation/internal/zipit -o $@ $<; \
	fi

release-tools: $(CYCLONEDX_GOMOD_STAMP)

$(CYCLONEDX_GOMOD_STAMP):
	@mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$(CYCLONEDX_GOMOD_VERSION)
	@touch $@

# Everything a GitHub release publishes, into dist/release (internal/release).
release:
	@test -f $(CYCLONEDX_GOMOD_STAMP) || { echo "make release: run 'make release-tools' first (cyclonedx-gomod $(CYCLONEDX_GOMOD_VERSION))" >&2; exit 2; }
	VERSION=$(VERSION) COMMIT=$(COMMIT) $(GO) run ./internal/release -out $(DIST)/release -cyclonedx $(CYCLONEDX_GOMOD)

# The man pages, from cobra's doc generator (generated, not committed).
man:
	@rm -rf $(DIST)/man
	$(GO) run ./cmd/iamprune man-pages $(DIST)/man

test:
	./scripts/test

demo:
	$(GO) run ./cmd/iamprune demo

clean:
	rm -rf $(DIST)
