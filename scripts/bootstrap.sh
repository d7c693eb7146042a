# shellcheck shell=sh
# Shared by ./oneplan and scripts/test (sourced, POSIX sh): find or install uv, then sync the
# locked environment. Needs only Python 3.11+ on the machine, and writes only inside the
# checkout (./var/bootstrap for uv when it is missing, .venv for the environment) and to uv's
# download cache.
#
# After `oneplan_bootstrap`, $UV names the uv binary and .venv/ holds the locked dependencies.
# Messages go to stderr, so `TOKEN=$(./oneplan token ...)` captures the token alone.

oneplan_die() {
    echo "oneplan: $*" >&2
    exit 1
}

# The first python on PATH that is 3.11 or newer.
oneplan_python() {
    for candidate in python3.13 python3.12 python3.11 python3 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# uv on PATH, or where an earlier bootstrap put it.
oneplan_find_uv() {
    if command -v uv >/dev/null 2>&1; then
        command -v uv
        return 0
    fi
    for candidate in "$ONEPLAN_ROOT/var/bootstrap/bin/uv" "$HOME/.local/bin/uv"; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# uv from PyPI into ./var/bootstrap, which holds nothing but uv: a virtualenv where Python has
# ensurepip; else (Debian's python3 without python3-venv) pip's --target, where pip exists.
oneplan_install_uv() {
    python=$(oneplan_python) ||
        oneplan_die "Python 3.11 or newer is needed (found: $(python3 --version 2>&1 || echo none))"
    target="${ONEPLAN_ROOT:?}/var/bootstrap"
    pip_options="--quiet --disable-pip-version-check --no-cache-dir"
    # pip warns about running as root; here it installs into the checkout only.
    PIP_ROOT_USER_ACTION=ignore
    export PIP_ROOT_USER_ACTION
    echo "oneplan: uv not found; installing it from PyPI into ./var/bootstrap (nothing outside" \
        "this checkout)" >&2
    rm -rf "$target"
    # shellcheck disable=SC2086  # pip_options is a list of words
    if "$python" -m venv "$target" >/dev/null 2>&1 &&
        "$target/bin/python" -m pip install $pip_options uv >&2; then
        echo "$target/bin/uv"
        return 0
    fi
    rm -rf "$target"
    # shellcheck disable=SC2086
    if "$python" -m pip install $pip_options --target "$target" uv >&2 &&
        [ -x "$target/bin/uv" ]; then
        echo "$target/bin/uv"
        return 0
    fi
    rm -rf "$target"
    oneplan_die "could not install uv into ./var/bootstrap: $python has neither venv with pip" \
        "(Debian/Ubuntu: python3-venv) nor pip, or PyPI cannot be reached. Install uv" \
        "yourself (https://docs.astral.sh/uv/) and run this again."
}

# Quiet when .venv already matches uv.lock; otherwise says what it is doing while it syncs.
oneplan_bootstrap() {
    UV=$(oneplan_find_uv) || UV=$(oneplan_install_uv) || exit 1
    export UV
    if "$UV" sync --all-packages --frozen --check --quiet >/dev/null 2>&1; then
        return 0
    fi
    echo "oneplan: installing the locked environment (uv.lock) into .venv with uv; a first" \
        "run downloads the packages and takes a minute or so, later runs skip this" >&2
    started=$(date +%s)
    "$UV" sync --all-packages --frozen --quiet ||
        oneplan_die "\`uv sync --frozen\` failed: the environment in .venv could not be built"
    echo "oneplan: environment ready in .venv ($(($(date +%s) - started)) s)" >&2
}
