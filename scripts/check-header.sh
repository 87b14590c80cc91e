#!/usr/bin/env bash
# Fail (showing a diff) when the committed include/ftpc.h differs from what
# scripts/gen-header.sh generates from the current src/capi/.
#
# Usage: scripts/check-header.sh
# Needs the pinned cbindgen (see gen-header.sh); CBINDGEN is honoured.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
committed=$root/include/ftpc.h

if [ ! -f "$committed" ]; then
    echo "check-header: error: $committed does not exist; run scripts/gen-header.sh and commit it" >&2
    exit 1
fi

tmpdir=$(mktemp -d)
trap 'rm -rf "$tmpdir"' EXIT

"$root/scripts/gen-header.sh" --output "$tmpdir/ftpc.h"

if diff -u --label "include/ftpc.h (committed)" --label "include/ftpc.h (generated)" \
        "$committed" "$tmpdir/ftpc.h"; then
    echo "check-header: include/ftpc.h is up to date"
else
    echo "check-header: error: include/ftpc.h is stale; run scripts/gen-header.sh and commit the result" >&2
    exit 1
fi

# `cbindgen --crate ftpc` parses the whole crate, not only src/capi/: a `pub const` of the
# core would leak into the header that way. It must give the same header.
cbindgen=${CBINDGEN:-cbindgen}
(cd "$root" && "$cbindgen" --quiet --config cbindgen.toml --crate ftpc --output "$tmpdir/crate.h")
if diff -u --label "include/ftpc.h (committed)" --label "include/ftpc.h (cbindgen --crate ftpc)" \
        "$committed" "$tmpdir/crate.h"; then
    echo "check-header: cbindgen --crate ftpc gives the same header"
else
    echo "check-header: error: cbindgen --crate ftpc gives another header: make the item not pub, or add it to [export] exclude in cbindgen.toml" >&2
    exit 1
fi
