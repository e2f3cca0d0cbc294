#!/bin/sh
# Build the release artefact: dist/ccm-<version>-linux-x64.tar.gz (+ the installer and SHA256SUMS).
#
#   infra/release/build.sh [--version V] [--out DIR]
#
# The tarball holds ccm-<version>/ with the workspace sources needed at runtime (apps/,
# packages/, supabase/migrations, pnpm files), production node_modules installed from the
# lockfile in a staging copy (`pnpm install --prod --frozen-lockfile`), bin/ccm, the systemd
# units, the installer and the Ansible role. It runs with `node` >= 20.10 on the target
# (not bundled) through tsx, a runtime dependency of @ccm/cli. Needs: node, pnpm, tar, gzip.
set -eu

repo=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd -P)
version=""
out="$repo/dist"

die() { echo "build.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || die "--version needs a value"; version=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (usage: build.sh [--version V] [--out DIR])" ;;
  esac
done

command -v pnpm >/dev/null || die "pnpm not found (corepack enable, or npm i -g pnpm)"
if [ -z "$version" ]; then
  version=$(node -p "require(process.argv[1]).version" "$repo/apps/cli/package.json")
fi
# The version names a folder under /opt/ccm/releases: keep it to a safe alphabet.
printf '%s' "$version" | grep -Eq '^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$' \
  || die "version '$version' must be letters, digits, '.', '_', '+', '-'"

name="ccm-$version"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
stage="$work/$name"
mkdir -p "$stage" "$out"
out=$(CDPATH='' cd -- "$out" && pwd -P)

echo "staging $name from $repo"
# Sources only: no node_modules (rebuilt below), no tests, no local state.
(cd "$repo" && tar --exclude=node_modules --exclude='*.test.ts' --exclude=.ccm -cf "$work/src.tar" \
  apps packages supabase/migrations package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc \
  tsconfig.base.json README.md docs infra/install infra/systemd infra/ansible) || die "could not copy the sources"
tar -C "$stage" -xf "$work/src.tar"

echo "installing production dependencies (frozen lockfile)"
# Only @ccm/cli and what it imports: the test and bench workspace packages are not shipped.
(cd "$stage" && pnpm install --prod --frozen-lockfile --filter '@ccm/cli...' --reporter=append-only) >"$work/pnpm.log" 2>&1 \
  || { cat "$work/pnpm.log" >&2; die "pnpm install failed"; }
[ -f "$stage/apps/cli/node_modules/tsx/dist/loader.mjs" ] \
  || die "tsx is missing from apps/cli/node_modules: it must be a dependency of @ccm/cli"

mkdir -p "$stage/bin"
cp "$repo/infra/release/ccm.sh" "$stage/bin/ccm"
chmod 0755 "$stage/bin/ccm" "$stage/infra/install/install.sh"
printf '%s\n' "$version" >"$stage/VERSION"

# pnpm links with relative symlinks; an absolute one would point into this staging folder.
bad=$(find "$stage" -type l -lname '/*' | head -n 3)
[ -z "$bad" ] || die "absolute symlinks in the release: $bad"

echo "smoke test: bin/ccm --help"
"$stage/bin/ccm" --help >/dev/null 2>"$work/smoke.log" || { cat "$work/smoke.log" >&2; die "bin/ccm --help failed"; }

tarball="$out/$name-linux-x64.tar.gz"
# Reproducible-ish: fixed owner, sorted names, mtime from SOURCE_DATE_EPOCH when set.
mtime="@${SOURCE_DATE_EPOCH:-$(date +%s)}"
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" -cf - "$name" | gzip -n -6 >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
cp "$repo/infra/install/install.sh" "$out/$name-install.sh"
chmod 0755 "$out/$name-install.sh"
(cd "$out" && sha256sum "$name-linux-x64.tar.gz" "$name-install.sh" >"$name-SHA256SUMS")

echo "built $tarball ($(du -h "$tarball" | cut -f1))"
echo "install: sudo sh $out/$name-install.sh agent --from $tarball --config agent.yaml"
