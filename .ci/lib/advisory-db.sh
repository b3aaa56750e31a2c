# shellcheck shell=bash
# Prepares the offline RustSec advisory database for `cargo deny --offline`.
# Sourced by .ci/run; defines prepare_advisory_db.
#
# cargo-deny --offline opens (never fetches) the advisory db at
#   <db-path>/<last url path segment>-<XxHash64(lower-cased url, seed 0xca80de71)>
# deny.toml sets db-path to $TRESOR_ADVISORY_DB_ROOT and db-urls to the url
# below, which gives the directory name below. cargo-deny also wants a git
# checkout, so the snapshot is copied into a scratch repository.

ADVISORY_DB_URL='https://github.com/RustSec/advisory-db'
ADVISORY_DB_DIRNAME='advisory-db-3157b0e258782691'

# prepare_advisory_db SNAPSHOT_DIR SCRATCH_DIR: prints nothing on stdout but
# the db root to export as TRESOR_ADVISORY_DB_ROOT; progress goes to stderr.
prepare_advisory_db() {
  local snapshot="$1" scratch="$2"
  grep -qF "db-urls = [\"$ADVISORY_DB_URL\"]" deny.toml || {
    echo "deny.toml's db-urls is no longer [\"$ADVISORY_DB_URL\"]: update ADVISORY_DB_DIRNAME in .ci/lib/advisory-db.sh" >&2
    return 1
  }
  [[ -d "$snapshot/crates" ]] || { echo "advisory snapshot not found at $snapshot" >&2; return 1; }
  snapshot="$(cd "$snapshot" && pwd)"

  local snapshot_date snapshot_epoch age_days
  snapshot_date="$(tr -d '[:space:]' <"$snapshot/SNAPSHOT_DATE")"
  echo "RustSec advisory snapshot: $snapshot (SNAPSHOT_DATE $snapshot_date)" >&2
  if snapshot_epoch="$(date -u -d "$snapshot_date" +%s 2>/dev/null)"; then
    age_days=$((($(date +%s) - snapshot_epoch) / 86400))
    echo "snapshot age: $age_days days ($(find "$snapshot/crates" "$snapshot/rust" -name 'RUSTSEC-*.md' | wc -l) advisories)" >&2
    if ((age_days > 90)); then
      echo "WARNING: the advisory snapshot is $age_days days old; advisories published after $snapshot_date are not checked." >&2
    fi
  fi

  local dbroot="$scratch/advisory-dbs"
  local db="$dbroot/$ADVISORY_DB_DIRNAME"
  mkdir -p "$db"
  cp -a "$snapshot/." "$db/"
  rm -rf "$db/.git"
  (
    cd "$db"
    git init -q
    git add -A
    git -c user.name=tresor-ci -c user.email=ci@localhost -c commit.gpgsign=false \
      commit -q --no-verify -m snapshot
  ) >&2
  echo "advisory db checkout: $db" >&2
  printf '%s\n' "$dbroot"
}
