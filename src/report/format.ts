/**
 * Fixed-point formatting that matches Python's `format(x, '.Nf')` bit for bit.
 *
 * The published tables were produced by Python, which rounds the *exact* binary value of the
 * double and sends exact ties to the even digit. `Number.prototype.toFixed` rounds exact ties up
 * (2.5 -> "3", 0.8125 -> "0.813"), so it cannot reproduce them; this formatter expands the double
 * into its exact decimal value with BigInt and rounds that.
 */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 100) {
    throw new RangeError(`formatFixed: digits must be an integer in 0..100, got ${digits}`);
  }
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const negative = x < 0 || Object.is(x, -0);
  const { mantissa, exponent } = decompose(Math.abs(x));
  // |x| = mantissa * 2^exponent exactly; as a decimal: numerator / 10^scale.
  let numerator: bigint;
  let scale: number;
  if (exponent >= 0) {
    numerator = mantissa << BigInt(exponent);
    scale = 0;
  } else {
    numerator = mantissa * 5n ** BigInt(-exponent);
    scale = -exponent;
  }
  let scaled: bigint;
  if (scale <= digits) {
    scaled = numerator * 10n ** BigInt(digits - scale);
  } else {
    const divisor = 10n ** BigInt(scale - digits);
    const quotient = numerator / divisor;
    const twiceRemainder = 2n * (numerator % divisor);
    const roundUp = twiceRemainder > divisor || (twiceRemainder === divisor && quotient % 2n === 1n);
    scaled = roundUp ? quotient + 1n : quotient;
  }
  let text = scaled.toString();
  if (digits > 0) {
    text = text.padStart(digits + 1, '0');
    text = `${text.slice(0, text.length - digits)}.${text.slice(text.length - digits)}`;
  }
  return negative ? `-${text}` : text;
}

/** Splits a finite non-negative double into an integer mantissa and a power-of-two exponent. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biasedExponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  if (biasedExponent === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: biasedExponent - 1075 };
}
