// The Memcached operator's entry point: flags and environment in controller-runtime's style,
// a manager (probes, metrics, informers, leader election, signals), the Memcached controller.
//   node build/operator.mjs --leader-elect --health-probe-bind-address=:8081 --metrics-bind-address=:8080
import { DEFAULT_GROUP_DOMAIN, DEFAULT_MEMCACHED_IMAGE, memcachedGroup } from '../constructs/memcached-api';
import { setupMemcachedController } from './memcached/setup';
import { FlagError, parseManagerFlags } from './runtime/flags';
import { Manager } from './runtime/manager/manager';

const NAME = 'memcached-operator';

async function main(): Promise<number> {
  const groupDomain = process.env.MEMCACHED_GROUP_DOMAIN || DEFAULT_GROUP_DOMAIN;
  const image = process.env.MEMCACHED_IMAGE || DEFAULT_MEMCACHED_IMAGE;
  const group = memcachedGroup(groupDomain);
  let options;
  try {
    options = parseManagerFlags(process.argv.slice(2), process.env, { leaderElectionId: `${NAME}.${group}` });
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${NAME}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const manager = new Manager({ name: NAME, options, startupFields: { image, group } });
  setupMemcachedController(manager, { groupDomain, image });
  return manager.start();
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${NAME}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
