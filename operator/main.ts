// The Memcached operator's entry point: flags and environment in controller-runtime's style,
// a manager (probes, metrics, informers, leader election, signals), the Memcached controller.
//   node build/operator.mjs --leader-elect --health-probe-bind-address=:8081 --metrics-bind-address=:8080
import { DEFAULT_GROUP_DOMAIN, DEFAULT_MEMCACHED_IMAGE, memcachedGroup } from '../constructs/memcached-api';
import { setupMemcachedController } from './memcached/setup';
import { FlagError, parseCommandLine, usage } from './runtime/flags';
import { Manager } from './runtime/manager/manager';
import { VERSION } from './runtime/version';

const NAME = 'memcached-operator';

async function main(): Promise<number> {
  const groupDomain = process.env.MEMCACHED_GROUP_DOMAIN || DEFAULT_GROUP_DOMAIN;
  const image = process.env.MEMCACHED_IMAGE || DEFAULT_MEMCACHED_IMAGE;
  const group = memcachedGroup(groupDomain);
  const defaults = { leaderElectionId: `${NAME}.${group}` };
  let command;
  try {
    command = parseCommandLine(process.argv.slice(2), process.env, defaults);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`${NAME}: ${err.message}\nRun '${NAME} --help' for the flags.\n`);
      return 2;
    }
    throw err;
  }
  if (command.action === 'help') {
    const envDefaults = { MEMCACHED_IMAGE: DEFAULT_MEMCACHED_IMAGE, MEMCACHED_GROUP_DOMAIN: DEFAULT_GROUP_DOMAIN };
    process.stdout.write(
      `${NAME} ${VERSION}: reconciles Memcached objects (${group}) into a Deployment and a Service each.\n\n`,
    );
    process.stdout.write(usage(NAME, defaults, envDefaults));
    return 0;
  }
  if (command.action === 'version') {
    process.stdout.write(`${NAME} ${VERSION}\n`);
    return 0;
  }
  const manager = new Manager({
    name: NAME,
    options: command.options,
    startupFields: { version: VERSION, image, group },
  });
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
