# OpsOS user onboarding. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
FUNCTIONS := $(notdir $(wildcard functions/*))
# make invoke: the sample event, and the function to run it on (empty:
# the one the event is for).
EVENT     ?= events/api/create-user.json
FUNCTION  ?=
BENCHTIME ?= 1s
# The CDK CLI from package-lock.json; jsii runs the CDK in Node, whose
# end-of-life banner for Node 20 says nothing actionable here.
CDK       := node_modules/.bin/cdk
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
# Redocly CLI from package-lock.json lints the API's OpenAPI document;
# it sends no usage data from here.
REDOCLY   := node_modules/.bin/redocly
OPENAPI   := internal/httpapi/openapi.json
export REDOCLY_TELEMETRY := off
# Context for the offline synth in make test; a deployment sets its own.
SYNTH_CONTEXT ?= -c opsos:mailFrom=invites@ops.example.com -c opsos:slackTeamId=T0123ABCD

.PHONY: help run test build invoke lint bench bench-go fuzz clean emulators emulators-stop synth deploy

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## serve the whole product locally (embedded store, nothing to install)
	$(GO) run ./cmd/opsos serve

test: lint ## vet, format check, every test (race detector on) against DynamoDB Local, cognito-local, aws-ses-v2-local and headless Chromium it installs and starts itself, and an offline cdk synth
	scripts/browser.sh
	scripts/emulators.sh run -- $(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory synth CDK_ARGS="$(SYNTH_CONTEXT)"

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
	@ls -l build/*/bootstrap | awk '{printf "  %-28s %5.1f MB\n", $$NF, $$5/1048576}'

synth: build ## synthesise the CloudFormation template into cdk.out, offline, with cdk-nag's checks (CDK_ARGS="-c opsos:mailFrom=…")
	scripts/emulators.sh install
	$(CDK) synth --quiet $(CDK_ARGS)
	@echo "cdk.out/$$(ls cdk.out | grep -m1 '\.template\.json$$') synthesised; cdk-nag found no unsuppressed error"

deploy: build ## deploy to the AWS account and region of your credentials (CDK_ARGS="-c opsos:mailFrom=… …"; see README)
	scripts/emulators.sh install
	$(CDK) deploy $(CDK_ARGS)

invoke: ## run FUNCTION (api, slack, release, postauth; default: the one EVENT is for) on EVENT (default events/api/create-user.json) on the local data and print its answer; an event for another function is refused, naming it. events/slack/*.json need OPSOS_SLACK_SIGNING_SECRET and OPSOS_ADMIN_SLACK_ID=UADMIN0001
	$(GO) run ./cmd/opsos invoke $(if $(FUNCTION),-function $(FUNCTION)) $(EVENT)

lint: ## gofmt and go vet must be clean, and Redocly CLI (package-lock.json, rules in redocly.yaml) must find nothing in the OpenAPI document
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	scripts/emulators.sh install
	$(REDOCLY) lint $(OPENAPI)

bench: ## the measured figures (cold starts, sizes, Slack acknowledgement, HTTP at a fixed rate, 1,000 releases, recovery from SIGKILL, DynamoDB requests) as a table, also written to docs/BENCHMARKS.md
	scripts/emulators.sh run -- $(GO) run ./cmd/bench $(BENCH_ARGS)

# The fuzz targets: package and target, one per line.
FUZZ_TARGETS := \
	./internal/slackops:FuzzParse \
	./internal/httpapi:FuzzDecodeUser \
	./internal/httpapi:FuzzHandleUserBody \
	./internal/store/item:FuzzFromImage \
	./internal/release:FuzzHandleRecord
FUZZTIME ?= 60s

fuzz: ## run each fuzz target for FUZZTIME (default 60s); new failing inputs land in testdata/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== $$name ($$pkg, $(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s $$pkg || exit 1; \
	done

bench-go: ## every Go benchmark of the packages, on the emulators
	scripts/emulators.sh run -- $(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./internal/...

clean: ## remove build output (keeps local data in .opsos)
	rm -rf build bin cdk.out
