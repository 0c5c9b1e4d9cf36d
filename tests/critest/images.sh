# shellcheck shell=bash
# Stand-ins for every image critest pulls (cri-tools pkg/validate, pkg/framework), built from
# busybox-static and three static C programs (webserver.c, nnp.c, pause.c) and pushed to the loopback
# registry. Sourced by tests/critest/run.sh after tests/e2e/lib.sh (sha256_of, put_blob, oci_arch).
#
# All images share one layer: busybox and its applets in /bin, the web server as
# /usr/local/bin/nginx and /usr/local/bin/httpd, /usr/local/bin/nnp setuid root, and the users
# and groups the image tests look for (www-data 33, default-user 1000 in group
# group-defined-in-image 50000). Their configs differ the way the real images do (command,
# user, a label that makes test-image-1/2/3 three different images).
#
# The image's PATH starts with a directory of the NODE (CRITEST_NODE_BIN) holding the same
# programs: runc finds nothing there inside the image and uses the image's /bin, while Reaper,
# which runs every command on the node by design, finds the image's programs there. Without it
# critest's default command `top` would be the node's procps top, which exits at once without a
# terminal; busybox's keeps running, as in the image.
#
# Not reproducible offline: gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9...,
# which names one upstream manifest by digest (its spec is skipped for both runtimes).

CRITEST_IMAGES_DIR=${BASH_SOURCE[0]%/*}

# critest_build_programs <dir>: the static stand-in programs (webserver, nnp, pause) in <dir>.
critest_build_programs() {
  local out=$1 p
  mkdir -p "$out"
  for p in webserver nnp pause; do
    gcc -static -Os -s -Wall -Wextra -o "$out/$p" "$CRITEST_IMAGES_DIR/$p.c" ||
      die "cannot build tests/critest/$p.c (gcc, static glibc)"
  done
}

# critest_fill_bin <dir> <programs-dir>: busybox applets (hard links, as in the busybox image:
# masking /bin/ls must not mask the shell), an ipcs that lists the IPC namespace's shared memory
# and a pgrep (Debian's busybox has neither), nginx/httpd and setuid nnp in <dir>.
critest_fill_bin() {
  local dir=$1 progs=$2 bb a
  bb=$(command -v busybox) || die "busybox-static not installed"
  mkdir -p "$dir"
  cp "$bb" "$dir/busybox"
  for a in $("$bb" --list); do
    [[ $a == busybox ]] || ln -f "$dir/busybox" "$dir/$a"
  done
  rm -f "$dir/ipcs" "$dir/pgrep"
  printf '#!/bin/sh\n# ipcs -m stand-in: the shared memory segments of this IPC namespace\ncat /proc/sysvipc/shm\n' >"$dir/ipcs"
  # shellcheck disable=SC2016 # a script for the image
  printf '#!/bin/sh\n# pgrep NAME stand-in: pids whose name contains NAME\nrc=1\nfor d in /proc/[0-9]*; do\n  read -r n <"$d/comm" 2>/dev/null || continue\n  case $n in *"$1"*) echo "${d#/proc/}"; rc=0 ;; esac\ndone\nexit $rc\n' >"$dir/pgrep"
  chmod 0755 "$dir/ipcs" "$dir/pgrep"
  # busybox has an httpd applet: replace the link, never write through it
  rm -f "$dir/nginx" "$dir/httpd" "$dir/nnp"
  cp "$progs/webserver" "$dir/nginx"
  cp "$progs/webserver" "$dir/httpd"
  install -m 4755 -o 0 -g 0 "$progs/nnp" "$dir/nnp"
}

# critest_image_layout <layout-dir> <layer.tar.gz> <diffid> <config-fragment>: an OCI layout
# with one image: the layer and a config whose "config" object is <config-fragment> plus Env.
critest_image_layout() {
  local layout=$1 layer=$2 diffid=$3 frag=$4 arch work lsize ldig cdig csize mdig msize
  arch=$(oci_arch)
  work=$layout.work
  mkdir -p "$layout/blobs/sha256" "$work"
  cp "$layer" "$work/layer.tar.gz"
  lsize=$(stat -c %s "$work/layer.tar.gz")
  ldig=$(put_blob "$layout" "$work/layer.tar.gz")
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"reaper tests/critest/images.sh"}]}' \
    "$arch" "$CRITEST_NODE_BIN" "$frag" "$diffid" >"$work/config.json"
  csize=$(stat -c %s "$work/config.json")
  cdig=$(put_blob "$layout" "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" >"$work/manifest.json"
  msize=$(stat -c %s "$work/manifest.json")
  mdig=$(put_blob "$layout" "$work/manifest.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}]}' \
    "$mdig" "$msize" "$arch" >"$layout/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  rm -rf "$work"
}

# The images: "<kind> <repository:tag in the loopback registry>..." (the registry serves
# registry.k8s.io, k8s.gcr.io and gcr.io alike, so the paths are the upstream ones). The
# references of one line are one image; every line is a different image (its kind is a label of
# the config), so that no image carries another test's tags.
critest_image_list() {
  local s=k8s-staging-cri-tools
  cat <<EOF
busybox e2e-test-images/busybox:1.29-2
nginx e2e-test-images/nginx:1.14-2
httpd e2e-test-images/httpd:2.4.39-4
nonewprivs e2e-test-images/nonewprivs:1.3
hostnet $s/hostnet-nginx-$(oci_arch):latest
pause pause:3.9
sandbox pause:3.10.2
latest $s/test-image-latest:latest
tag $s/test-image-tag:test
tagall $s/test-image-tag:all
tags $s/test-image-tags:1 $s/test-image-tags:2 $s/test-image-tags:3
one $s/test-image-1:latest
two $s/test-image-2:latest
three $s/test-image-3:latest
uid $s/test-image-user-uid:latest
username $s/test-image-user-username:latest
uidgroup $s/test-image-user-uid-group:latest
usernamegroup $s/test-image-user-username-group:latest
predefined $s/test-image-predefined-group:latest
EOF
}

critest_image_config() { # <kind>: the "config" fragment (without Env)
  printf '"Labels":{"reaper.test/image":"%s"},' "$1"
  case $1 in
    busybox | latest | tag | tagall | tags | one | two | three) echo '"Cmd":["sh"]' ;;
    # nginx's master names itself "nginx: master process" (critest looks for it in /proc/1/cmdline)
    nginx) echo '"Cmd":["nginx","80","master process"],"ExposedPorts":{"80/tcp":{}}' ;;
    httpd) echo '"Cmd":["httpd","80"],"ExposedPorts":{"80/tcp":{}}' ;;
    hostnet) echo '"Cmd":["nginx","12003"]' ;;
    nonewprivs) echo '"Cmd":["nnp"]' ;;
    pause | sandbox) echo '"Entrypoint":["/pause"]' ;;
    uid) echo '"Cmd":["sh"],"User":"1002"' ;;
    username) echo '"Cmd":["sh"],"User":"www-data"' ;;
    uidgroup) echo '"Cmd":["sh"],"User":"1003:1004"' ;;
    usernamegroup) echo '"Cmd":["sh"],"User":"www-data:1004"' ;;
    predefined) echo '"Cmd":["sh"],"User":"1000"' ;;
    *) die "no config for image kind $1" ;;
  esac
}

# critest_images_push <work-dir> <registry host:port>: builds the layer and every image and
# pushes them with skopeo. Needs CRITEST_NODE_BIN (filled by critest_fill_bin).
critest_images_push() {
  local work=$1 reg=$2 rootfs diffid kind refs ref n=0
  rootfs=$work/rootfs
  mkdir -p "$rootfs/tmp" "$rootfs/etc" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" \
    "$rootfs/var/run" "$rootfs/usr/local/bin" "$rootfs/root" "$rootfs/home/default-user"
  chmod 1777 "$rootfs/tmp"
  critest_fill_bin "$rootfs/bin" "$work/programs"
  for n in nginx httpd nnp; do mv "$rootfs/bin/$n" "$rootfs/usr/local/bin/$n"; done
  cp "$work/programs/pause" "$rootfs/pause"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'www-data:x:33:33:www-data:/var/www:/bin/sh' \
    'default-user:x:1000:1000:default-user:/home/default-user:/bin/sh' \
    'nobody:x:65534:65534:nobody:/home:/bin/false' >"$rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'www-data:x:33:' 'default-user:x:1000:' \
    'group-defined-in-image:x:50000:default-user' 'nogroup:x:65534:' >"$rootfs/etc/group"
  tar -C "$rootfs" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/layer.tar" .
  diffid=$(sha256_of "$work/layer.tar")
  gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
  n=0
  while read -r kind refs; do
    critest_image_layout "$work/layout-$kind" "$work/layer.tar.gz" "$diffid" "$(critest_image_config "$kind")"
    for ref in $refs; do
      skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/layout-$kind" \
        "docker://$reg/$ref" >>"$work/skopeo.log" 2>&1 ||
        { tail -n 5 "$work/skopeo.log" >&2; die "skopeo copy to $reg/$ref failed"; }
      n=$((n + 1))
    done
  done < <(critest_image_list)
  log "pushed $n stand-in image references to $reg"
}
