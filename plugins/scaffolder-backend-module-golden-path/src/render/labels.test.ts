import fc from 'fast-check';
import { nastyText, ownerText } from '../__testUtils__/arbitraries';
import {
  LABEL_VALUE_PATTERN,
  ownerLabelValue,
  sanitizeLabelValue,
} from './labels';

const labelValue = new RegExp(LABEL_VALUE_PATTERN);

describe('sanitizeLabelValue', () => {
  it('turns any text into a valid, non-empty label value', () => {
    fc.assert(
      fc.property(
        fc.oneof(nastyText, ownerText, fc.string({ maxLength: 200 })),
        text => {
          const value = sanitizeLabelValue(text);
          expect(value).toMatch(labelValue);
          expect(value.length).toBeGreaterThan(0);
          expect(value.length).toBeLessThanOrEqual(63);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps a value that is already a lowercase label value', () => {
    fc.assert(
      fc.property(
        fc
          .string({
            unit: fc.constantFrom(...'abcdefghij0123456789._-'.split('')),
            maxLength: 63,
          })
          .filter(
            s =>
              /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(s) && !s.includes('--'),
          ),
        value => {
          expect(sanitizeLabelValue(value)).toBe(value);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    ['Team A', 'team-a'],
    ['  ***  ', 'unknown'],
    ['', 'unknown'],
    ['a'.repeat(70), 'a'.repeat(63)],
    [`${'a'.repeat(62)}-b`, 'a'.repeat(62)],
    ['équipe', 'quipe'],
    ['x: "y" # z', 'x-y-z'],
  ])('sanitises %p to %p', (input, expected) => {
    expect(sanitizeLabelValue(input)).toBe(expected);
  });
});

describe('ownerLabelValue', () => {
  it.each([
    ['group:default/team-payments', 'team-payments'],
    ['user:default/jane.doe', 'jane.doe'],
    ['team-a', 'team-a'],
    ['group:team-a', 'team-a'],
    ['Group:Default/Team_A', 'team_a'],
    ['group:default/', 'unknown'],
    ['group:default/<script>', 'script'],
  ])('gives owner %p the label value %p', (owner, expected) => {
    expect(ownerLabelValue(owner)).toBe(expected);
  });
});
