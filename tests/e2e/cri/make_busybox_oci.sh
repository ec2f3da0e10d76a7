#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds an OCI image layout tar from Debian's busybox-static, for `ctr images import`: no
# registry is reachable from the test machines. The rootfs is /bin/busybox and its applet links
# (sh, sleep, nc, httpd, ip, ...); PATH=/bin.
#
#   make_busybox_oci.sh OUT.tar REFERENCE [CMD ARG...]
#
# REFERENCE is the full name the runtime will know it by ("docker.io/flowwall-test/web:1").
set -euo pipefail
out=$1 ref=$2
shift 2
cmd=("$@")
((${#cmd[@]})) || cmd=(/bin/sh)
[[ -x /bin/busybox ]] || { echo "make_busybox_oci: /bin/busybox missing: apt-get install busybox-static" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/tmp" "$work/rootfs/proc" "$work/rootfs/sys" \
    "$work/rootfs/dev" "$work/rootfs/etc" "$work/layout/blobs/sha256"
cp /bin/busybox "$work/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -s busybox "$work/rootfs/bin/$applet"
done
# Fixed times and owners: the same busybox gives the same digest, so re-imports are no-ops.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" \
    -cf "$work/layer.tar" .
blob() { # file -> "sha256 size", copied into the layout
    local sum size
    sum=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    cp "$1" "$work/layout/blobs/sha256/$sum"
    echo "$sum $size"
}
read -r layer_sum layer_size < <(blob "$work/layer.tar")
cmd_json=$(printf '"%s",' "${cmd[@]}")
cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":[${cmd_json%,}]},"rootfs":{"type":"layers","diff_ids":["sha256:$layer_sum"]}}
JSON
read -r config_sum config_size < <(blob "$work/config.json")
cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config_sum","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:$layer_sum","size":$layer_size}]}
JSON
read -r manifest_sum manifest_size < <(blob "$work/manifest.json")
cat >"$work/layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest_sum","size":$manifest_size,"annotations":{"io.containerd.image.name":"$ref","org.opencontainers.image.ref.name":"${ref##*:}"}}]}
JSON
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
tar -C "$work/layout" -cf "$out" .
