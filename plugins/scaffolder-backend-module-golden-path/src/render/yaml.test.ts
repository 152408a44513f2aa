import fc from 'fast-check';
import { NASTY_FRAGMENTS, nastyText } from '../__testUtils__/arbitraries';
import { fromYaml, toYaml } from './yaml';

const bothVersions = ['1.1', '1.2'] as const;

describe('toYaml', () => {
  it.each(NASTY_FRAGMENTS.map(f => [JSON.stringify(f), f]))(
    'reads %s back unchanged under YAML 1.1 and 1.2',
    (_shown, text) => {
      const object = { metadata: { annotations: { text } }, list: [text] };
      for (const version of bothVersions) {
        expect(fromYaml(toYaml(object), version)).toStrictEqual(object);
      }
    },
  );

  it('reads any text back unchanged under YAML 1.1 and 1.2', () => {
    fc.assert(
      fc.property(nastyText, fc.string({ unit: 'binary' }), (a, b) => {
        const object = { a, nested: { b, list: [a, b] } };
        const text = toYaml(object);
        for (const version of bothVersions) {
          expect(fromYaml(text, version)).toStrictEqual(object);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never writes characters go-yaml rejects or reads as line breaks', () => {
    fc.assert(
      fc.property(nastyText, text => {
        expect(toYaml({ text })).not.toMatch(
          // Lone surrogates only: the u flag keeps surrogate pairs (emoji) whole.
          // eslint-disable-next-line no-control-regex
          /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]/u,
        );
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    'yes',
    'no',
    'on',
    'off',
    'y',
    'n',
    'NO',
    '0o17',
    '1_000',
    '12:30',
    '<<',
    'e9',
    'E10',
    '=',
  ])(
    'quotes %p, which YAML 1.1 would read as something other than a string',
    text => {
      expect(toYaml({ text })).toBe(`text: "${text}"\n`);
    },
  );

  it('keeps image references plain so CI can find them with sed', () => {
    const image =
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.0.0';
    expect(toYaml({ image })).toBe(`image: ${image}\n`);
  });

  it('writes multi-line text as a literal block', () => {
    expect(toYaml({ json: '{\n  "a": 1\n}\n' })).toBe(
      'json: |\n  {\n    "a": 1\n  }\n',
    );
  });

  it('writes an object used twice in full, without anchors', () => {
    const labels = { a: 'b' };
    const text = toYaml({ one: labels, two: labels });
    expect(text).not.toMatch(/[&*]/);
    expect(fromYaml(text)).toEqual({ one: labels, two: labels });
  });

  it('keeps key order, so output is stable', () => {
    expect(toYaml({ b: 1, a: 2 })).toBe('b: 1\na: 2\n');
  });
});
