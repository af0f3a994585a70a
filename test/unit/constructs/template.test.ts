import { fillTemplate } from '../../../constructs/template';

describe('fillTemplate', () => {
  it('fills every @NAME@ placeholder, as often as it occurs', () => {
    expect(fillTemplate('t', 'port @PORT@\nbind :@PORT@ @HOST@\n', { PORT: 6379, HOST: 'a.b' })).toBe(
      'port 6379\nbind :6379 a.b\n',
    );
  });

  it('leaves shell text alone ($@, ${X}, email-like words)', () => {
    const text = 'exec "$@"\necho "${HOSTNAME##*-}" user@example.com @lower@\n';
    expect(fillTemplate('t', text, {})).toBe(text);
  });

  it('fails on a placeholder without a value and on a value without a placeholder', () => {
    expect(() => fillTemplate('sentinel-start.sh', 'quorum @QUORUM@', {})).toThrow(
      'template sentinel-start.sh: @QUORUM@ has no value',
    );
    expect(() => fillTemplate('haproxy.cfg', 'x', { PORT: 1 })).toThrow(
      'template haproxy.cfg: value PORT has no @PORT@ placeholder',
    );
  });
});
