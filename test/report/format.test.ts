import { formatFixed } from '../../src/report/format';
import pythonCases from './python-format-cases.json';

describe('formatFixed matches Python format(x, ".Nf")', () => {
  test.each([
    [0.8125, 3, '0.812'], // exact binary tie -> even digit (toFixed gives 0.813)
    [2.675, 2, '2.67'], // stored below the tie
    [0.0005, 3, '0.001'], // stored above the tie
    [1e-7, 3, '0.000'],
    [97.75, 1, '97.8'], // exact tie, 7 is odd -> up
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [2.5, 0, '2'],
    [3.5, 0, '4'],
    [-2.5, 0, '-2'],
    [-0, 3, '-0.000'],
    [-0.0001, 3, '-0.000'],
    [1e22, 2, '10000000000000000000000.00'],
    [62.900000000000006, 1, '62.9'],
  ])('formatFixed(%p, %p) = %p', (x, digits, expected) => {
    expect(formatFixed(x, digits)).toBe(expected);
  });

  test('non-finite values print like Python', () => {
    expect([formatFixed(NaN, 3), formatFixed(Infinity, 1), formatFixed(-Infinity, 1)]).toEqual(['nan', 'inf', '-inf']);
  });

  test('176 values formatted by CPython 3 (ties, random fractions, random magnitudes) agree', () => {
    const cases = pythonCases as [number, number, string][];
    expect(cases.length).toBeGreaterThan(150);
    const mismatches = cases.filter(([x, d, s]) => formatFixed(x, d) !== s);
    expect(mismatches).toEqual([]);
  });

  test('rejects digit counts Python would not take here', () => {
    expect(() => formatFixed(1, -1)).toThrow(RangeError);
    expect(() => formatFixed(1, 1.5)).toThrow(RangeError);
  });
});
