// What a release is, in one place: the operator image's repository (here) and its version
// (package.json's `version`, which the operator's --version reports too). The default
// `memcached.operator.image` is built from both, so bumping package.json's version changes
// the image dist/ deploys, the app.kubernetes.io/version labels (the image's tag), the OLM
// CSV's version (the same tag) and what .github/workflows/release.yml checks a tag against
// and pushes. See docs/release.md.
//
// package.json is imported, not read at run time: the synth runs as an esbuild bundle under
// .build/, where no path relative to this file exists, and esbuild inlines the JSON.
import pkg from '../package.json' with { type: 'json' };

/** Where the release workflow pushes the operator image (GitHub's container registry). */
export const OPERATOR_IMAGE_REPOSITORY = 'ghcr.io/kube-tutorial-stack/memcached-operator';

/** The release version: package.json's `version`, a semantic version without a leading `v`. */
export const RELEASE_VERSION: string = pkg.version;

/** The git tag that releases RELEASE_VERSION (the workflow runs on tags `v*.*.*`). */
export const RELEASE_TAG = `v${RELEASE_VERSION}`;

/** The operator image dist/ deploys unless `memcached.operator.image` says otherwise. */
export const DEFAULT_OPERATOR_IMAGE = `${OPERATOR_IMAGE_REPOSITORY}:${RELEASE_VERSION}`;
