# OpsOS user onboarding. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
EVENT     ?= events/api/create-user.json
BENCHTIME ?= 1s

.PHONY: help run test build invoke lint bench clean emulators emulators-stop

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## serve the whole product locally (embedded store, nothing to install)
	$(GO) run ./cmd/opsos serve

test: lint ## vet, format check, and every test (race detector on), against DynamoDB Local, cognito-local, aws-ses-v2-local and headless Chromium it installs and starts itself
	scripts/browser.sh
	scripts/emulators.sh run -- $(GO) test -race -count=1 ./...

emulators: ## start the AWS emulators in .emulators/ for manual use; prints their endpoints
	scripts/emulators.sh up

emulators-stop: ## stop what make emulators started
	scripts/emulators.sh stop .emulators

build: ## compile each Lambda function (linux/arm64) into build/<name>/bootstrap, and bin/opsos
	@for f in $(FUNCTIONS); do \
	  echo "build/$$f/bootstrap"; \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -tags lambda.norpc \
	    -o build/$$f/bootstrap ./functions/$$f; \
	done
	$(GO) build -trimpath -o bin/opsos ./cmd/opsos

invoke: ## feed EVENT (default events/api/create-user.json; events/slack/*.json need OPSOS_SLACK_SIGNING_SECRET and OPSOS_ADMIN_SLACK_ID=UADMIN0001) to its handler on the local data
	$(GO) run ./cmd/opsos invoke $(EVENT)

lint: ## gofmt and go vet must be clean
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: ## store and API benchmarks
	scripts/emulators.sh run -- $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./internal/...

clean: ## remove build output (keeps local data in .opsos)
	rm -rf build bin
