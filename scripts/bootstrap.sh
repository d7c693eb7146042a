# shellcheck shell=sh
# Shared by ./oneplan and scripts/test (sourced, POSIX sh): find or install uv, then sync the
# locked environment. Needs only Python 3.11+ on the machine.
#
# After `oneplan_bootstrap`, $UV names the uv binary and .venv/ holds the locked dependencies.

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
    for candidate in "$HOME/.local/bin/uv" "$ONEPLAN_ROOT/var/bootstrap/bin/uv"; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# pip --user first; where that is refused (PEP 668, or inside a virtualenv), a private venv
# under ./var/bootstrap that holds nothing but uv.
oneplan_install_uv() {
    python=$(oneplan_python) ||
        oneplan_die "Python 3.11 or newer is needed (found: $(python3 --version 2>&1 || echo none))"
    echo "oneplan: uv not found; installing it with: $python -m pip install --user uv" >&2
    if "$python" -m pip install --user --quiet uv >/dev/null 2>&1; then
        user_bin="$("$python" -m site --user-base)/bin"
        if [ -x "$user_bin/uv" ]; then
            echo "$user_bin/uv"
            return 0
        fi
    fi
    echo "oneplan: pip --user was refused; installing uv into ./var/bootstrap instead" >&2
    "$python" -m venv "$ONEPLAN_ROOT/var/bootstrap" >&2 ||
        oneplan_die "could not create a virtualenv (Debian/Ubuntu: apt-get install python3-venv)"
    "$ONEPLAN_ROOT/var/bootstrap/bin/python" -m pip install --quiet uv >&2 ||
        oneplan_die "could not install uv with pip; see https://docs.astral.sh/uv/ to install it"
    echo "$ONEPLAN_ROOT/var/bootstrap/bin/uv"
}

oneplan_bootstrap() {
    UV=$(oneplan_find_uv) || UV=$(oneplan_install_uv) || exit 1
    export UV
    "$UV" sync --frozen --quiet ||
        oneplan_die "\`uv sync --frozen\` failed: the environment in .venv could not be built"
}
