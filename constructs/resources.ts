// Validated resource settings (see validation.ts) in the form cdk8s-plus renders.
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { cpuMillis, memoryMi, type Resources } from './validation';

export function toKplusResources(r: Resources): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(cpuMillis(r.requests.cpu)), limit: kplus.Cpu.millis(cpuMillis(r.limits.cpu)) },
    memory: { request: Size.mebibytes(memoryMi(r.requests.memory)), limit: Size.mebibytes(memoryMi(r.limits.memory)) },
  };
}

/** The same settings in Kubernetes API form, for L1 (`k8s.Kube*`) objects. */
export function toKubeResources(r: Resources) {
  return {
    requests: { cpu: k8s.Quantity.fromString(r.requests.cpu), memory: k8s.Quantity.fromString(r.requests.memory) },
    limits: { cpu: k8s.Quantity.fromString(r.limits.cpu), memory: k8s.Quantity.fromString(r.limits.memory) },
  };
}
