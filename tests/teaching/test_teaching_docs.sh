#!/usr/bin/env bash
# docs/architectures.md against the models: scripts/docs.sh --check runs every demo model traced
# and fails if one no longer has the shape its section shows (who accepts, who reads, whether the
# accepts concentrate on one thread), or if a model has no section, or a section no model.
. "$(dirname "$0")/../lib.sh"
require_bpf
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
ACCEPTSCOPE_BIN=$BIN timeout -s KILL 600 bash "$ROOT/scripts/docs.sh" --check >"$TMP/docs.out" 2>"$TMP/docs.err" || rc=$?
cat "$TMP/docs.out"
grep -v ' traced$' "$TMP/docs.err" || true
assert_eq "scripts/docs.sh --check: exit status" 0 "$rc"
assert_eq "models checked" "$("$BIN/acceptscope-demo" --list-models | wc -l)" "$(grep -c 'as the guide says$' "$TMP/docs.out")"

# The check itself: a guide whose shape is wrong for one model fails, naming it.
sed 's/<!-- shape: accepts=one reads=others skew=n\/a -->/<!-- shape: accepts=one reads=accepting skew=n\/a -->/' \
	"$ROOT/docs/architectures.md" >"$TMP/wrong.md"
cmp -s "$TMP/wrong.md" "$ROOT/docs/architectures.md" && fail "no dispatch shape in the guide to alter"
rc=0
ACCEPTSCOPE_BIN=$BIN ACCEPTSCOPE_GUIDE=$TMP/wrong.md timeout -s KILL 600 bash "$ROOT/scripts/docs.sh" --check \
	>"$TMP/wrong.out" 2>"$TMP/wrong.err" || rc=$?
assert_eq "scripts/docs.sh --check on a wrong guide: exit status" 1 "$rc"
grep -q '^  dispatch: the guide says <!-- shape: accepts=one reads=accepting' "$TMP/wrong.err" ||
	fail "the wrong shape is not named: $(grep -v ' traced$' "$TMP/wrong.err")"
cmp -s "$TMP/wrong.md" <(sed 's/<!-- shape: accepts=one reads=others skew=n\/a -->/<!-- shape: accepts=one reads=accepting skew=n\/a -->/' "$ROOT/docs/architectures.md") ||
	fail "--check changed the guide"
log "the guide's captured shapes are what the models do"
