#!/usr/bin/env bash
# Install what Switchboard's real-service test suite needs; safe to run again and again.
#
#  * Debian packages for the servers the tests start on free loopback ports:
#    redis-server, dovecot-imapd, chromium, postgresql, npm, and libfaketime for the chaos
#    suite's clock_jump (only what is missing).
#  * axe-core from npm for the accessibility checks.
#  * The project's virtualenv at .venv with the `test` extra (pytest, playwright, ...).
#
# Never runs `playwright install`: it downloads a browser build, which these machines
# cannot fetch; the tests drive Debian's /usr/bin/chromium instead.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[install-test-deps] %s\n' "$*"; }

have_postgres() {
    command -v initdb >/dev/null 2>&1 && return 0
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

have_dovecot() {
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]
}

missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
have_dovecot || missing+=(dovecot-imapd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
have_postgres || missing+=(postgresql)
command -v npm >/dev/null 2>&1 || missing+=(npm)
compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || missing+=(libfaketime)

if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    say "missing: ${missing[*]}; installing Debian packages"
    "${sudo[@]}" apt-get update
    # only what is missing: asking for npm where Node.js came from elsewhere (NodeSource's
    # nodejs ships its own npm and conflicts with Debian's) would fail the whole install
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}"
else
    say "redis-server, dovecot, chromium, PostgreSQL, npm and libfaketime are already installed"
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    say "creating virtualenv .venv with $($python --version 2>&1)"
    "$python" -m venv .venv
else
    say "virtualenv .venv exists ($(.venv/bin/python --version 2>&1))"
fi

say "installing the project with its test extra: pip install -e '.[test]'"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# axe-core for the accessibility checks of the e2e suite (tests/e2e/test_accessibility_e2e.py)
if [ ! -f tests/e2e/axe/node_modules/axe-core/axe.min.js ]; then
    say "installing axe-core (npm) into tests/e2e/axe"
    npm install --prefix tests/e2e/axe --no-audit --no-fund --silent
fi

say "done"
