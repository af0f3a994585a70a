import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_OPTIONS,
  ENVIRONMENT,
  FlagError,
  parseCommandLine,
  parseDuration,
  parseManagerFlags,
  usage,
} from '../../../../operator/runtime/flags';

describe('parseManagerFlags', () => {
  it('returns controller-runtime defaults for no flags and no environment', () => {
    expect(parseManagerFlags([], {})).toEqual(DEFAULT_OPTIONS);
    expect(DEFAULT_OPTIONS).toMatchObject({
      leaderElect: false,
      healthProbeBindAddress: ':8081',
      metricsBindAddress: ':8080',
      logLevel: 0,
      maxConcurrentReconciles: 1,
      syncPeriodMs: 36_000_000,
      watchNamespaces: [],
    });
  });

  it('parses every flag in --flag=value and --flag value form', () => {
    const opts = parseManagerFlags(
      [
        '--leader-elect',
        '--leader-election-id=86f835c3.example.com',
        '--leader-election-namespace',
        'ops',
        '--health-probe-bind-address=127.0.0.1:9440',
        '--metrics-bind-address',
        '0',
        '--zap-log-level=debug',
        '--max-concurrent-reconciles=4',
        '--sync-period=1h30m',
      ],
      {},
    );
    expect(opts).toEqual({
      ...DEFAULT_OPTIONS,
      leaderElect: true,
      leaderElectionId: '86f835c3.example.com',
      leaderElectionNamespace: 'ops',
      healthProbeBindAddress: '127.0.0.1:9440',
      metricsBindAddress: '0',
      logLevel: -1,
      maxConcurrentReconciles: 4,
      syncPeriodMs: 5_400_000,
    });
  });

  it('accepts Go-style single-dash flags and --leader-elect=true|false', () => {
    expect(
      parseManagerFlags(['-leader-elect=true', '-leader-election-id=x'], { POD_NAMESPACE: 'ns' }).leaderElect,
    ).toBe(true);
    expect(parseManagerFlags(['--leader-elect=false'], {}, { leaderElect: true }).leaderElect).toBe(false);
    expect(parseManagerFlags(['--no-leader-elect'], {}, { leaderElect: true }).leaderElect).toBe(false);
  });

  it('lets the program supply defaults (e.g. its leader election ID)', () => {
    const opts = parseManagerFlags(
      ['--leader-elect'],
      { POD_NAMESPACE: 'memcached-operator-system' },
      { leaderElectionId: 'id.example.com' },
    );
    expect(opts.leaderElectionId).toBe('id.example.com');
    expect(opts.leaderElectionNamespace).toBe('memcached-operator-system');
  });

  it('reads WATCH_NAMESPACE (empty = all, comma-separated for several) and POD_NAMESPACE', () => {
    expect(parseManagerFlags([], { WATCH_NAMESPACE: '' }).watchNamespaces).toEqual([]);
    expect(parseManagerFlags([], { WATCH_NAMESPACE: 'a' }).watchNamespaces).toEqual(['a']);
    expect(parseManagerFlags([], { WATCH_NAMESPACE: ' a, b,,a ,c ' }).watchNamespaces).toEqual(['a', 'b', 'c']);
    expect(parseManagerFlags([], { POD_NAMESPACE: 'ops' }).podNamespace).toBe('ops');
    expect(parseManagerFlags([], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace).toBe('ops');
    expect(parseManagerFlags(['--leader-election-namespace=x'], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace).toBe(
      'x',
    );
  });

  it('accepts numeric zap levels', () => {
    expect(parseManagerFlags(['--zap-log-level=error'], {}).logLevel).toBe(2);
    expect(parseManagerFlags(['--zap-log-level=info'], {}).logLevel).toBe(0);
    expect(parseManagerFlags(['--zap-log-level=3'], {}).logLevel).toBe(-3);
  });

  it.each([
    [['--bogus'], /bogus/],
    [['--metrics-addr=:8080'], /metrics-addr/],
    [['positional'], /positional/i],
    [['--zap-log-level=loud'], /--zap-log-level/],
    [['--max-concurrent-reconciles=0'], /--max-concurrent-reconciles/],
    [['--max-concurrent-reconciles=two'], /--max-concurrent-reconciles/],
    [['--sync-period=10'], /--sync-period/],
    [['--health-probe-bind-address=8081'], /--health-probe-bind-address/],
    [['--metrics-bind-address=:99999'], /--metrics-bind-address/],
    [['--leader-election-id'], /argument missing/],
  ])('rejects %j with a clear FlagError', (argv, message) => {
    expect(() => parseManagerFlags(argv, {})).toThrow(FlagError);
    expect(() => parseManagerFlags(argv, {})).toThrow(message);
  });

  it('requires an ID and a namespace for leader election', () => {
    expect(() => parseManagerFlags(['--leader-elect'], { POD_NAMESPACE: 'ns' })).toThrow(/--leader-election-id/);
    expect(() => parseManagerFlags(['--leader-elect', '--leader-election-id=x'], {})).toThrow(/POD_NAMESPACE/);
  });
});

describe('parseCommandLine: --help and --version', () => {
  it.each([['--help'], ['-h'], ['-help'], ['--zap-log-level=loud', '--help'], ['--bogus', '-h']])(
    '%j asks for help (even next to a bad flag)',
    (...argv) => {
      expect(parseCommandLine(argv, {})).toEqual({ action: 'help' });
    },
  );

  it.each([['--version'], ['-version'], ['--leader-elect', '--version']])('%j asks for the version', (...argv) => {
    expect(parseCommandLine(argv, {})).toEqual({ action: 'version' });
  });

  it('otherwise parses the flags as parseManagerFlags does, errors included', () => {
    expect(parseCommandLine(['--max-concurrent-reconciles=3'], { WATCH_NAMESPACE: 'a' })).toEqual({
      action: 'run',
      options: parseManagerFlags(['--max-concurrent-reconciles=3'], { WATCH_NAMESPACE: 'a' }),
    });
    expect(() => parseCommandLine(['--bogus'], {})).toThrow(FlagError);
    expect(() => parseCommandLine(['--max-concurrent-reconciles=0'], {})).toThrow(/--max-concurrent-reconciles/);
  });
});

describe('usage', () => {
  const text = usage('memcached-operator', { leaderElectionId: 'lease-id' }, { MEMCACHED_IMAGE: 'memcached:1' });
  const listed = [...text.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]);

  it('lists every flag the parser accepts, and only those (plus --help and --version)', () => {
    const accepted = listed.filter((f) => f !== 'help' && f !== 'version');
    for (const flag of accepted) {
      expect(() => parseManagerFlags([`--${flag}${flag === 'leader-elect' ? '=false' : '=1'}`], {})).not.toThrow(
        /Unknown option/,
      );
    }
    expect(accepted).toEqual([
      'leader-elect',
      'leader-election-id',
      'leader-election-namespace',
      'health-probe-bind-address',
      'metrics-bind-address',
      'zap-log-level',
      'max-concurrent-reconciles',
      'sync-period',
    ]);
    expect(listed).toEqual([...accepted, 'help', 'version']);
  });

  it("shows the defaults in effect (the program's own included) and every environment variable", () => {
    expect(text).toMatch(/^Usage: memcached-operator \[flags\]$/m);
    expect(text).toMatch(/--leader-election-id <name> .*\(default lease-id\)$/m);
    expect(text).toMatch(/--health-probe-bind-address <addr> .*\(default :8081\)$/m);
    expect(text).toMatch(/--sync-period <duration> .*\(default 10h\)$/m);
    expect(text).toMatch(/--max-concurrent-reconciles <n> .*\(default 1\)$/m);
    for (const [variable] of ENVIRONMENT) expect(text).toMatch(new RegExp(`^  ${variable} `, 'm'));
    expect(ENVIRONMENT.map(([v]) => v)).toEqual(
      expect.arrayContaining([
        'WATCH_NAMESPACE',
        'POD_NAMESPACE',
        'MEMCACHED_IMAGE',
        'MEMCACHED_GROUP_DOMAIN',
        'KUBECONFIG',
      ]),
    );
    expect(text).toMatch(/^ {2}MEMCACHED_IMAGE .*\(default memcached:1\)$/m);
  });
});

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['10h', 36_000_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1.5s', 1500],
    ['250ms', 250],
    ['500us', 0.5],
    ['2m3s', 123_000],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '10', 'h', '1d', '1h 30m', '-5s'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow();
  });
});
