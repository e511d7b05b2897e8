#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests
# (chromedp drives it headless). Installs it with apt-get when missing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "browser: Chromium is needed for the browser tests: install the chromium package" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "browser: Chromium is needed for the browser tests: run 'apt-get install chromium' as root" >&2
		exit 1
	fi
	sudo="sudo"
fi
echo "browser: installing Chromium (apt-get install chromium)" >&2
$sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
chromium --version >&2
