#!/usr/bin/env bash
# Entering a project whose 5 packages are realised vs one with none: the core as the hook calls it, timed by
# hyperfine in one run. Usage: bench/enter_packages.sh [PYTHON_WITH_ENVR] (default: .venv/bin/python)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
py=${1:-$repo/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_DATA_HOME=$work/data XDG_CACHE_HOME=$work/cache XDG_STATE_HOME=$work/state
export ENVR_STORE=$work/store
mkdir -p "$HOME"
envr() { "$py" -m envr "$@"; }
mkdir -p "$work/none" "$work/five"
printf '[env]\nA = "1"\n[path]\nprepend = ["bin"]\n' >"$work/none/envr.toml"
{
  printf '[env]\nA = "1"\n[path]\nprepend = ["bin"]\n[packages]\n'
  for i in 1 2 3 4 5; do
    mkdir -p "$work/five/tool$i/bin"
    printf '#!/bin/sh\necho tool%s\n' "$i" >"$work/five/tool$i/bin/tool$i"
    chmod +x "$work/five/tool$i/bin/tool$i"
    printf 'tool%s = { path = "./tool%s" }\n' "$i" "$i"
  done
} >"$work/five/envr.toml"
for p in none five; do
  (cd "$work/$p" && envr allow >/dev/null 2>&1 && envr sync >/dev/null 2>&1)
done
eval "$("$py" -m envr hook bash)"
# shellcheck disable=SC2154 # set by the eval above
core="$(printf %q "$_envr_py") -I -c '$_envr_boot' $(printf %q "$_envr_lib") bash"
hyperfine -N --warmup 5 --runs 40 --style basic \
  -n "no packages" "env -C $work/none PWD=$work/none $core" \
  -n "5 packages" "env -C $work/five PWD=$work/five $core"
