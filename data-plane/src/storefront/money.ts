/**
 * Prices are stored in integer minor units of their currency; buyers read and type major
 * units. The number of minor digits is the one Intl formats the currency with (2 for USD, 0
 * for JPY and IRR, 3 for KWD), so what a buyer types means what the page shows.
 */
export function fractionDigits(currency: string): number {
  let digits = digitsByCurrency.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
    digitsByCurrency.set(currency, digits);
  }
  return digits;
}

/** Building an Intl.NumberFormat costs far more than rendering a price: once per currency. */
const digitsByCurrency = new Map<string, number>();

/**
 * `12345` USD → `"123.45"`: an exact decimal string (Intl formats strings without going
 * through binary floating point, so even a trillion minor units keep every digit).
 */
export function minorToDecimal(minor: number, currency: string): `${number}` {
  const digits = fractionDigits(currency);
  if (digits === 0) return `${minor}`;
  const text = String(Math.abs(minor)).padStart(digits + 1, '0');
  const sign = minor < 0 ? '-' : '';
  return `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}` as `${number}`;
}

/** Persian (U+06F0…) and Arabic-Indic (U+0660…) digits and the Arabic decimal separator, as typed on phones. */
export function asciiDigits(text: string): string {
  return text
    .replace(/[\u06F0-\u06F9]/g, (digit) => String(digit.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (digit) => String(digit.charCodeAt(0) - 0x0660))
    .replace(/\u066B/g, '.');
}

/**
 * A price a buyer typed in major units (`12.5`, `۱۲٫۵`) as minor units, or undefined when it
 * is not a plain non-negative amount. Digits beyond the currency's minor unit are dropped.
 */
export function parseMajorUnits(input: string, currency: string): number | undefined {
  const match = /^(\d{1,12})(?:\.(\d*))?$/.exec(asciiDigits(input.trim()));
  if (!match) return undefined;
  const digits = fractionDigits(currency);
  const fraction = (match[2] ?? '').slice(0, digits).padEnd(digits, '0');
  return Number(`${match[1]}${fraction}`);
}
