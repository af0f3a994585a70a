#!/usr/bin/env bash
# Everything the test suite needs beyond `npm ci`, installed or built only when missing:
# real redis-server/redis-sentinel binaries (Debian packages) for the replication tests, and
# the test control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok) built
# from Go modules, and Flux's source-controller and kustomize-controller for the GitOps test
# (scripts/flux-build.sh), OLM for the bundle test (scripts/olm-build.sh), and actionlint for
# the release workflow's check (scripts/actionlint-build.sh), the real node's containerd,
# CNI, CoreDNS and pause image (scripts/node-build.sh), and the local images a real node runs
# (buildah/podman from Debian, then cluster/images.ts: Debian base, Node 24, the operator
# from the Dockerfile, memcached, Redis, HAProxy). Each step is a no-op on a machine that
# already has what it makes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-redis.sh
bash scripts/actionlint-build.sh
bash scripts/cluster-build.sh
bash scripts/flux-build.sh
bash scripts/olm-build.sh
bash scripts/node-build.sh
bash scripts/images-install.sh
node scripts/run-ts.mjs scripts/image.ts --all
