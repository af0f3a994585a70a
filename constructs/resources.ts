// Validated resource settings (see validation.ts) in the form cdk8s-plus renders.
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { cpuMillis, memoryMi, type Resources } from './validation';

export function toKplusResources(r: Resources): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(cpuMillis(r.requests.cpu)), limit: kplus.Cpu.millis(cpuMillis(r.limits.cpu)) },
    memory: { request: Size.mebibytes(memoryMi(r.requests.memory)), limit: Size.mebibytes(memoryMi(r.limits.memory)) },
  };
}
