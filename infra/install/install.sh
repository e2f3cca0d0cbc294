#!/bin/sh
# Install, upgrade, roll back or remove CCM on one Debian/Ubuntu or RHEL-family host.
#
#   install.sh agent|hub --from <ccm-V-linux-x64.tar.gz> [--config <agent.yaml>] [--env <file>]
#                        [--start] [--force] [--root <dir>]
#   install.sh activate <version> [--root <dir>]       roll back (or forward) to an installed release
#   install.sh uninstall agent|hub [--purge] [--root <dir>]
#
# Layout: /opt/ccm/releases/<version> (one per release), /opt/ccm/current -> releases/<version>,
# /etc/ccm (config, 0750 root:ccm), /var/lib/ccm (state, 0750 ccm:ccm), system user `ccm`,
# /etc/systemd/system/ccm-<role>.service (+ drop-ins), /usr/local/bin/ccm.
# Idempotent: a second run with the same arguments changes nothing and says so.
# --root <dir>: install under a fake root (tests, image builds): no useradd, no chown, no systemctl.
# Docs: docs/install.md.
set -eu

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
umask 022

die() { echo "install.sh: error: $*" >&2; exit 1; }
say() { echo "$*"; }

changes=0
changed() { changes=$((changes + 1)); say "  changed: $*"; }
same() { say "  ok:      $*"; }
skipped() { say "  skipped: $*"; }

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

# ---- arguments -------------------------------------------------------------------------
action=""; role=""; from=""; config=""; envfile=""; root=""; start=0; force=0; purge=0; target=""
[ $# -gt 0 ] || { usage; exit 2; }
case "$1" in
  agent|hub) action=install; role=$1 ;;
  activate) action=activate; [ $# -ge 2 ] || die "activate needs a version"; target=$2; shift ;;
  uninstall) action=uninstall; [ $# -ge 2 ] || die "uninstall needs agent or hub"; role=$2; shift ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; die "first argument must be agent, hub, activate or uninstall, got '$1'" ;;
esac
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a tarball"; from=$2; shift 2 ;;
    --config) [ $# -ge 2 ] || die "--config needs a file"; config=$2; shift 2 ;;
    --env) [ $# -ge 2 ] || die "--env needs a file"; envfile=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || die "--root needs a folder"; root=$2; shift 2 ;;
    --start) start=1; shift ;;
    --force) force=1; shift ;;
    --purge) purge=1; shift ;;
    *) die "unknown argument '$1' (see install.sh --help)" ;;
  esac
done
case "$role" in agent|hub|"") ;; *) die "role must be agent or hub, got '$role'" ;; esac

if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(CDPATH='' cd -- "$root" && pwd -P)
  [ "$root" != / ] || die "--root / is the real root: leave --root out"
  say "fake root $root: no user created, no ownership set, no systemctl (--root)"
elif [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo), or use --root <dir> to install into a folder"
fi
R=$root
OPT="$R/opt/ccm"
ETC="$R/etc/ccm"
STATE="$R/var/lib/ccm"
UNITS="$R/etc/systemd/system"
BIN="$R/usr/local/bin/ccm"

has_systemd() { [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# ---- idempotent primitives --------------------------------------------------------------

# ensure_dir <path> <mode> <owner:group>
ensure_dir() {
  if [ -d "$1" ]; then
    [ "$(stat -c %a "$1")" = "$2" ] || { chmod "$2" "$1"; changed "mode $2 on $1"; }
  else
    mkdir -p "$1"; chmod "$2" "$1"; changed "created $1 (mode $2)"
  fi
  set_owner "$1" "$3"
}

# set_owner <path> <owner:group>: skipped under --root, where the names may not exist.
set_owner() {
  [ -z "$root" ] || return 0
  [ "$(stat -c %U:%G "$1")" = "$2" ] || { chown "$2" "$1"; changed "owner $2 on $1"; }
}

# put_file <src> <dest> <mode> <owner:group>: copy when missing or different; fix mode/owner.
put_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then
    if [ "$(stat -c %a "$2")" != "$3" ]; then chmod "$3" "$2"; changed "mode $3 on $2"; fi
    same "$2"
  else
    mkdir -p "$(dirname "$2")"
    verb=created; [ -e "$2" ] && verb=updated
    cp "$1" "$2.ccm-new"; chmod "$3" "$2.ccm-new"; mv -f "$2.ccm-new" "$2"
    changed "$verb $2"
    last_put_changed=1
  fi
  set_owner "$2" "$4"
}

# flip_current <version>: atomically point /opt/ccm/current at releases/<version>.
flip_current() {
  want="releases/$1"
  have=$(readlink "$OPT/current" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then same "$OPT/current -> $want"; return 0; fi
  ln -sfn "$want" "$OPT/.current.new"
  mv -T "$OPT/.current.new" "$OPT/current"
  if [ -n "$have" ]; then ln -sfn "$have" "$OPT/previous"; fi
  changed "$OPT/current -> $want${have:+ (was $have; kept as $OPT/previous)}"
  release_changed=1
}

systemd_version() {
  if [ -n "${CCM_SYSTEMD_VERSION:-}" ]; then echo "$CCM_SYSTEMD_VERSION"; return; fi
  command -v systemctl >/dev/null 2>&1 || { echo 0; return; }
  systemctl --version 2>/dev/null | awk 'NR==1 { print $2 + 0 }'
}

# ---- steps ---------------------------------------------------------------------------------

check_node() {
  node_bin=$(command -v node 2>/dev/null || true)
  if [ -z "$node_bin" ]; then
    msg="node not found: install Node.js >= 20.10 (NodeSource, or the official tarball; Debian 12's nodejs is 18)"
    if [ -n "$root" ]; then skipped "$msg"; return 0; fi
    die "$msg"
  fi
  v=$("$node_bin" -p 'process.versions.node')
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 10 ]; }; then
    die "node $v at $node_bin is too old: CCM needs Node.js >= 20.10"
  fi
  same "node $v ($node_bin)"
}

ensure_user() {
  if [ -n "$root" ]; then skipped "system user ccm (--root)"; return 0; fi
  if getent passwd ccm >/dev/null; then same "system user ccm"; return 0; fi
  nologin=/usr/sbin/nologin; [ -x "$nologin" ] || nologin=/sbin/nologin
  if getent group ccm >/dev/null; then
    useradd --system --gid ccm --home-dir /var/lib/ccm --no-create-home --shell "$nologin" ccm
  else
    useradd --system --user-group --home-dir /var/lib/ccm --no-create-home --shell "$nologin" ccm
  fi
  changed "created system user ccm (shell $nologin)"
}

install_release() {
  [ -n "$from" ] || die "--from <ccm-<version>-linux-x64.tar.gz> is required"
  [ -f "$from" ] || die "--from $from: no such file"
  top=$(tar -tzf "$from" 2>/dev/null | head -n 1 || true)
  top=${top%%/*}
  case "$top" in ccm-*) ;; *) die "$from is not a CCM release tarball (its top folder is '$top', expected ccm-<version>)" ;; esac
  version=${top#ccm-}
  printf '%s' "$version" | grep -Eq '^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$' || die "unsafe release version '$version'"
  sum=$(sha256sum "$from" | cut -d' ' -f1)
  rel="$OPT/releases/$version"
  if [ -d "$rel" ] && [ -f "$rel/.complete" ]; then
    if [ "$(cat "$rel/.tarball.sha256" 2>/dev/null)" = "$sum" ]; then
      same "release $version in $rel"
      return 0
    fi
    [ "$force" = 1 ] || die "release $version is installed from a different tarball: build with a new --version, or pass --force to replace it"
  fi
  incoming="$OPT/releases/.incoming-$$"
  rm -rf "$incoming"; mkdir -p "$incoming"
  tar -xzf "$from" -C "$incoming" || { rm -rf "$incoming"; die "could not extract $from"; }
  [ "$(cat "$incoming/$top/VERSION" 2>/dev/null)" = "$version" ] \
    || { rm -rf "$incoming"; die "$from: VERSION inside does not say $version"; }
  printf '%s\n' "$sum" >"$incoming/$top/.tarball.sha256"
  : >"$incoming/$top/.complete"
  if [ -d "$rel" ]; then mv "$rel" "$incoming/old"; fi
  mv "$incoming/$top" "$rel"
  rm -rf "$incoming"
  changed "installed release $version in $rel"
  release_changed=1
}

install_config() {
  if [ "$role" = agent ]; then
    if [ -n "$config" ]; then
      [ -f "$config" ] || die "--config $config: no such file"
      put_file "$config" "$ETC/agent.yaml" 640 root:ccm
    elif [ -f "$ETC/agent.yaml" ]; then
      same "$ETC/agent.yaml (kept; pass --config to replace it)"
      set_owner "$ETC/agent.yaml" root:ccm
    else
      put_file "$rel/infra/install/agent.example.yaml" "$ETC/agent.yaml" 640 root:ccm
      say "           $ETC/agent.yaml is the example, in dry-run: edit it"
    fi
  elif [ -n "$config" ]; then
    die "the hub is configured by its environment: pass --env <hub.env>, not --config"
  fi
  if [ -n "$envfile" ]; then
    [ -f "$envfile" ] || die "--env $envfile: no such file"
    put_file "$envfile" "$ETC/$role.env" 600 root:root
  elif [ -f "$ETC/$role.env" ]; then
    same "$ETC/$role.env (kept; pass --env to replace it)"
  else
    put_file "$rel/infra/install/$role.env.example" "$ETC/$role.env" 600 root:root
    if [ "$role" = agent ]; then say "           $ETC/agent.env is the example: set DATABASE_URL and CCM_AGENT_TOKEN"
    else say "           $ETC/hub.env is the example: set DATABASE_URL, or SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY_FILE"; fi
  fi
}

install_cli_wrapper() {
  put_file "$rel/infra/install/ccm-wrapper.sh" "$BIN" 755 root:root
}

install_units() {
  unit="ccm-$role.service"
  dropins="$UNITS/$unit.d"
  last_put_changed=0
  put_file "$rel/infra/systemd/$unit" "$UNITS/$unit" 644 root:root
  sv=$(systemd_version); sv=${sv:-0}
  if [ "$sv" -ge 254 ]; then
    put_file "$rel/infra/systemd/restart-backoff.conf" "$dropins/10-restart-backoff.conf" 644 root:root
  elif [ -f "$dropins/10-restart-backoff.conf" ]; then
    rm -f "$dropins/10-restart-backoff.conf"; changed "removed $dropins/10-restart-backoff.conf (systemd $sv < 254)"
    last_put_changed=1
  else
    skipped "exponential restart back-off: systemd ${sv:-unknown} < 254 keeps RestartSec=5s with StartLimitBurst"
  fi
  # The unit runs `node` from systemd's PATH; a node elsewhere (nvm, /opt/node) is pinned here.
  node_bin=$(command -v node 2>/dev/null || true)
  case "$(dirname "${node_bin:-/usr/bin/node}")" in
    /usr/local/sbin|/usr/local/bin|/usr/sbin|/usr/bin|/sbin|/bin)
      if [ -f "$dropins/05-node.conf" ]; then rm -f "$dropins/05-node.conf"; changed "removed $dropins/05-node.conf"; last_put_changed=1; fi ;;
    *)
      tmp=$(mktemp)
      printf '# node is not on systemd'"'"'s PATH on this host: written by install.sh\n[Service]\nEnvironment=CCM_NODE=%s\n' "$node_bin" >"$tmp"
      put_file "$tmp" "$dropins/05-node.conf" 644 root:root
      rm -f "$tmp" ;;
  esac
  units_changed=$last_put_changed
}

start_service() {
  unit="ccm-$role.service"
  if [ -n "$root" ]; then skipped "systemctl enable/restart $unit (--root)"; return 0; fi
  if ! has_systemd; then
    skipped "systemd is not running here: $unit installed, not enabled; run /opt/ccm/current/bin/ccm $role yourself"
    return 0
  fi
  if [ "$units_changed" = 1 ]; then systemctl daemon-reload; say "  systemctl daemon-reload"; fi
  if systemctl is-enabled --quiet "$unit" 2>/dev/null; then same "$unit enabled"; else
    systemctl enable --quiet "$unit"; changed "enabled $unit"
  fi
  if systemctl is-active --quiet "$unit"; then
    if [ "$changes" -gt 0 ]; then systemctl restart "$unit"; changed "restarted $unit"; else same "$unit running"; fi
  elif [ "$start" = 1 ]; then
    systemctl start "$unit"; changed "started $unit"
  else
    say "  not started: check it, then start it:"
    if [ "$role" = agent ]; then say "    sudo ccm agent check && sudo systemctl start $unit"
    else say "    sudo systemctl start $unit && curl -fsS localhost:8080/readyz"; fi
  fi
}

# ---- actions ---------------------------------------------------------------------------------

do_install() {
  release_changed=0; units_changed=0
  say "ccm install.sh: $role"
  check_node
  ensure_user
  ensure_dir "$OPT" 755 root:root
  ensure_dir "$OPT/releases" 755 root:root
  ensure_dir "$ETC" 750 root:ccm
  ensure_dir "$STATE" 750 ccm:ccm
  install_release
  flip_current "$version"
  install_config
  install_cli_wrapper
  install_units
  start_service
  if [ "$changes" -eq 0 ]; then say "nothing changed: ccm $version ($role) is already installed as asked"
  else say "done: ccm $version ($role), $changes change(s)"; fi
}

do_activate() {
  say "ccm install.sh: activate $target"
  [ -f "$OPT/releases/$target/.complete" ] || die "release $target is not installed (see $OPT/releases)"
  release_changed=0
  flip_current "$target"
  for r in agent hub; do
    [ -f "$UNITS/ccm-$r.service" ] || continue
    if [ "$release_changed" = 1 ] && has_systemd && systemctl is-active --quiet "ccm-$r.service"; then
      systemctl restart "ccm-$r.service"; changed "restarted ccm-$r.service"
    fi
  done
  if [ "$changes" -eq 0 ]; then say "nothing changed: $target is already active"; else say "done: $target active"; fi
}

do_uninstall() {
  [ -n "$role" ] || die "uninstall needs agent or hub"
  unit="ccm-$role.service"
  say "ccm install.sh: uninstall $role"
  if has_systemd && systemctl list-unit-files "$unit" >/dev/null 2>&1; then
    if systemctl disable --now --quiet "$unit" 2>/dev/null; then changed "stopped and disabled $unit"; fi
  fi
  if [ -e "$UNITS/$unit" ] || [ -d "$UNITS/$unit.d" ]; then
    rm -rf "${UNITS:?}/$unit" "${UNITS:?}/$unit.d"; changed "removed $UNITS/$unit"
    if has_systemd; then systemctl daemon-reload; fi
  fi
  other=hub; [ "$role" = hub ] && other=agent
  if [ "$purge" = 1 ]; then
    for f in "$ETC/$role.env" "$ETC/$role.yaml"; do
      if [ -e "$f" ]; then rm -f "$f"; changed "removed $f"; fi
    done
  fi
  if [ ! -e "$UNITS/ccm-$other.service" ]; then
    if [ -e "$BIN" ]; then rm -f "$BIN"; changed "removed $BIN"; fi
    if [ "$purge" = 1 ]; then
      for d in "$OPT" "$STATE" "$ETC"; do
        if [ -e "$d" ]; then rm -rf "$d"; changed "removed $d"; fi
      done
      if [ -z "$root" ] && getent passwd ccm >/dev/null; then userdel ccm; changed "removed user ccm"; fi
    else
      say "  kept $OPT, $ETC and $STATE (pass --purge to remove them and the ccm user)"
    fi
  fi
  if [ "$changes" -eq 0 ]; then say "nothing changed: $role is not installed"; else say "done"; fi
}

case "$action" in
  install) do_install ;;
  activate) do_activate ;;
  uninstall) do_uninstall ;;
esac
