#!/usr/bin/env bash
# Re-fetches the vendored Swagger UI (swagger-ui-dist from the npm registry)
# into web/static/swagger/ and checks every file against
# web/static/swagger/SHA256SUMS.
#
#   scripts/vendor-swagger.sh            fetch the pinned version, verify the hashes
#   scripts/vendor-swagger.sh --update   fetch VERSION (default: the pinned one),
#                                        rewrite SHA256SUMS; review the diff
#
# Needs npm, tar and sha256sum. Only the files the binary serves (and the
# licence notices) are kept: swagger-ui.css, swagger-ui-bundle.js, LICENSE,
# NOTICE, swagger-ui-bundle.js.LICENSE.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=web/static/swagger
pinned=$(cat "$dir/VERSION")
version=${VERSION:-$pinned}
update=false
[ "${1:-}" = "--update" ] && update=true
if [ "$version" != "$pinned" ] && ! $update; then
  echo "VERSION=$version differs from the pinned $pinned: use --update to move the pin" >&2
  exit 2
fi

files=(swagger-ui.css swagger-ui-bundle.js LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's integrity hash.
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null)
tar -xzf "$tmp/swagger-ui-dist-$version.tgz" -C "$tmp"
for f in "${files[@]}"; do
  cp "$tmp/package/$f" "$dir/$f"
done

if $update; then
  (cd "$dir" && sha256sum "${files[@]}" >SHA256SUMS)
  echo "$version" >"$dir/VERSION"
  echo "vendored swagger-ui-dist $version; SHA256SUMS rewritten"
else
  (cd "$dir" && sha256sum --check --quiet SHA256SUMS)
  echo "swagger-ui-dist $version: hashes match"
fi
