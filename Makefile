# iamprune: build, test and package.
#
#   make package [ARCH=arm64|x86_64]   dist/bootstrap and dist/iamprune-$(ARCH).zip for Lambda
#   make test                          the whole suite (scripts/test)
#   make demo                          the offline demo
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

.PHONY: all package test demo clean

all: test

package: $(ZIP)

# Always rebuilt: go build is incremental, and make cannot see Go's inputs.
.PHONY: $(DIST)/bootstrap
$(DIST)/bootstrap:
ifeq ($(GOARCH),)
	$(error ARCH must be arm64 or x86_64, not "$(ARCH)")
endif
	@mkdir -p $(DIST)
	GOOS=linux GOARCH=$(GOARCH) CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags="-s -w" -o $@ ./cmd/iamprune

# zip(1) when installed, else the same archive from a small Go program.
$(ZIP): $(DIST)/bootstrap
	@rm -f $@
	@if command -v zip >/dev/null 2>&1; then \
		echo "zip -X -j $@ $<"; zip -q -X -j $@ $<; \
	else \
		echo "$(GO) run ./deploy/cloudformation/internal/zipit -o $@ $<"; \
		$(GO) run ./deploy/cloudformation/internal/zipit -o $@ $<; \
	fi

test:
	./scripts/test

demo:
	$(GO) run ./cmd/iamprune demo

clean:
	rm -rf $(DIST)
