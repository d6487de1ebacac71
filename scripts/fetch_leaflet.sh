#!/bin/sh
# Fetch Leaflet from the npm registry into static/vendor/leaflet (git-ignored), where Streamlit
# serves it at /app/static/vendor/leaflet/ (enableStaticServing). The maps never load a CDN.
# Usage: sh scripts/fetch_leaflet.sh VERSION INTEGRITY DEST
#   INTEGRITY is the registry's "sha512-<base64>" of the package tarball; a mismatch stops here.
set -eu
version=$1 integrity=$2 dest=$3
command -v npm >/dev/null 2>&1 || { echo "fetch_leaflet: npm is needed once to fetch Leaflet $version (apt-get install npm)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --loglevel=error "leaflet@$version" >/dev/null)
tarball="$tmp/leaflet-$version.tgz"
got=$(python3 -c 'import base64, hashlib, sys
print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tarball")
if [ "$got" != "$integrity" ]; then
  echo "fetch_leaflet: leaflet-$version.tgz has integrity $got, expected $integrity"
  exit 1
fi
tar -xzf "$tarball" -C "$tmp"
rm -rf "$dest" && mkdir -p "$dest"
# only what the maps use: the script, the stylesheet, its control images, and the licence (BSD-2-Clause)
cp -r "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$tmp/package/dist/images" "$tmp/package/LICENSE" "$dest/"
echo "Leaflet $version in $dest (served at /app/static/vendor/leaflet/)"
