# The operator image: Node 24 LTS, one bundled file, non-root, works with a read-only root
# filesystem (it writes nothing to disk). The synthesized Deployment runs
#   node build/operator.mjs --leader-elect --health-probe-bind-address=:8081 ...
# from /app, exactly as the integration tests run the same bundle.
#   docker build -t ghcr.io/kube-tutorial-stack/memcached-operator:0.1.0 .
# (or `npm run image`, which uses docker, podman or buildah; see docs/images.md).
# NODE_IMAGE: the Node.js 24 base of both stages; the default is the upstream image at the
# Node.js version package-lock.json pins. Any image with `node` and `npm` on PATH and a uid
# 1000 will do (e.g. one built without a registry: cluster/images.ts).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are skipped: the bundler's platform binary comes as an optional dependency,
# and the project's pinned `node` package is not needed inside an image that is Node 24.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/
COPY constructs/ constructs/
COPY operator/ operator/
RUN node scripts/bundle.mjs operator/main.ts build/operator.mjs

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Everything is bundled, no node_modules in the image: operator.mjs (cdk8s, prom-client, the
# operator's own kubeconfig loader) and operator-client-node.mjs (@kubernetes/client-node, read
# only for kubeconfigs that loader does not handle, e.g. exec plugins).
COPY --from=build /src/build/operator.mjs /src/build/operator.mjs.map /src/build/operator-client-node.mjs /src/build/operator-client-node.mjs.map build/
# The `node` user of the base image, numeric so runAsNonRoot can be verified.
USER 1000:1000
EXPOSE 8080 8081
CMD ["node", "--enable-source-maps", "build/operator.mjs"]
