import { IntlMessageFormat } from 'intl-messageformat';
import { describe, expect, it } from 'vitest';
import { en } from './i18n/en.ts';
import { fa } from './i18n/fa.ts';
import { i18n } from './i18n/index.ts';
import { minorToDecimal, parseMajorUnits } from './money.ts';

const PERSIAN_DIGIT = /[۰-۹]/;
const ASCII_DIGIT = /[0-9]/;

describe('message catalogs', () => {
  it('English and Persian have the same keys, and every message parses in its locale', () => {
    expect(Object.keys(fa).sort()).toEqual(Object.keys(en).sort());
    for (const [key, message] of Object.entries(en))
      expect(() => new IntlMessageFormat(message, 'en'), key).not.toThrow();
    for (const [key, message] of Object.entries(fa))
      expect(() => new IntlMessageFormat(message, 'fa'), key).not.toThrow();
  });

  it('formats plurals and numbers per locale, with Persian digits in Persian', () => {
    expect(i18n('en').t('results.count', { count: 0 })).toBe('No products');
    expect(i18n('en').t('results.count', { count: 1 })).toBe('1 product');
    expect(i18n('en').t('results.count', { count: 1234 })).toBe('1,234 products');
    expect(i18n('fa').t('results.count', { count: 1234 })).toBe('۱٬۲۳۴ محصول');
    expect(i18n('fa').t('pagination.status', { page: 2, pages: 12 })).toBe('صفحه ۲ از ۱۲');
  });
});

describe('prices', () => {
  it('turn minor units into major units of the currency, exactly', () => {
    expect(minorToDecimal(1_250_000, 'USD')).toBe('12500.00');
    expect(minorToDecimal(5, 'USD')).toBe('0.05');
    expect(minorToDecimal(1_250_000, 'JPY')).toBe('1250000');
    expect(minorToDecimal(1_234, 'KWD')).toBe('1.234');
    expect(minorToDecimal(999_999_999_999, 'USD')).toBe('9999999999.99');
  });

  it('are formatted by Intl: Latin digits in English, Persian digits in Persian', () => {
    expect(i18n('en').price(1_250_000, 'USD')).toBe('$12,500.00');
    const persian = i18n('fa').price(1_250_000, 'USD');
    expect(persian).toContain('۱۲٬۵۰۰٫۰۰');
    expect(persian).not.toMatch(ASCII_DIGIT);
    expect(i18n('fa').price(125_000, 'IRR')).toMatch(PERSIAN_DIGIT);
    expect(i18n('fa').price(125_000, 'IRR')).toContain('۱۲۵٬۰۰۰');
  });

  it('typed by a buyer in major units, Latin or Persian digits, become minor units', () => {
    expect(parseMajorUnits('12.5', 'USD')).toBe(1250);
    expect(parseMajorUnits('۱۲٫۵', 'USD')).toBe(1250);
    expect(parseMajorUnits('٣', 'USD')).toBe(300);
    expect(parseMajorUnits('12.999', 'USD')).toBe(1299);
    expect(parseMajorUnits('1500', 'JPY')).toBe(1500);
    for (const bad of ['', '-1', '1e3', '12,5', 'abc', '1234567890123'])
      expect(parseMajorUnits(bad, 'USD'), bad).toBeUndefined();
  });

  it('dates use the locale calendar and digits', () => {
    const date = new Date('2025-06-01T00:00:00Z');
    expect(i18n('en').year(date, 'UTC')).toBe('2025');
    expect(i18n('fa').year(date, 'Asia/Tehran')).toBe('۱۴۰۴');
    expect(i18n('en').year(date, 'Not/A_Zone')).toBe('2025');
  });
});
