// Pod Security "restricted" settings, shared by every workload this project renders.
// cdk8s-plus-28 adds runAsNonRoot and a read-only root filesystem by default but never a
// seccomp profile or a capability drop, so nothing it renders is "restricted" on its own.
import * as kplus from 'cdk8s-plus-28';

/** Container security context (cdk8s-plus form) that satisfies Pod Security "restricted". */
export function restrictedContainer(uid: number): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: uid,
    group: uid,
    privileged: false,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/** Pod security context (cdk8s-plus form): numeric non-root user, volumes owned by its group. */
export function restrictedPod(uid: number): kplus.PodSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: uid,
    group: uid,
    fsGroup: uid,
    fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
  };
}

/** The same container security context in Kubernetes API form, for L1 (`k8s.Kube*`) objects. */
export function restrictedContainerSpec(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    privileged: false,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The same pod security context in Kubernetes API form, for L1 (`k8s.Kube*`) objects. */
export function restrictedPodSpec(uid: number) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
