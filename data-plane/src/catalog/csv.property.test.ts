import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatOptions,
  type ImportColumn,
  importColumns,
  parseOptions,
  parseTags,
  validateRow,
} from './csv.ts';
import { limits, OPTION_KEY_PATTERN, OPTION_VALUE_PATTERN } from './schemas.ts';

const columns = Object.keys(importColumns) as ImportColumn[];

/** Strings the JSON API accepts as option names and values (the same patterns). */
const optionKey = fc
  .string({ minLength: 1, maxLength: limits.optionKey, unit: 'grapheme' })
  .filter((key) => new RegExp(OPTION_KEY_PATTERN).test(key) && key.length <= limits.optionKey);
const optionValue = fc
  .string({ minLength: 1, maxLength: limits.optionValue, unit: 'grapheme' })
  .filter((value) => new RegExp(OPTION_VALUE_PATTERN).test(value) && value.length <= limits.optionValue);
const options = fc.dictionary(optionKey, optionValue, { maxKeys: limits.options, noNullPrototype: true });

/** Cells as a hostile spreadsheet might fill them: any text, any Unicode, control characters. */
const anyCell = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-1',
    '1.5',
    '1e3',
    '99999999999999999999',
    'https://x',
    'a=b;c',
    '\u0000',
    'NaN',
  ),
);

describe('CSV row parsing (property)', () => {
  it('options survive format → parse unchanged', () => {
    fc.assert(
      fc.property(options, (value) => {
        const parsed = parseOptions(formatOptions(value));
        expect(parsed).toEqual({ ok: true, value });
      }),
      { numRuns: 500 },
    );
  });

  it('parseOptions never throws, and what it accepts formats back to an equivalent string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        const parsed = parseOptions(text);
        if (parsed.ok) expect(parseOptions(formatOptions(parsed.value))).toEqual(parsed);
      }),
      { numRuns: 1000 },
    );
  });

  it('validateRow never throws: it returns a row or errors naming a column and the line', () => {
    fc.assert(
      fc.property(
        fc.record(
          Object.fromEntries(columns.map((column) => [column, anyCell])) as Record<
            ImportColumn,
            typeof anyCell
          >,
          {
            requiredKeys: [],
          },
        ),
        fc.integer({ min: 2, max: 1_000_000 }),
        (cells, line) => {
          const result = validateRow(cells, line);
          if (result.row) {
            expect(result.errors).toEqual([]);
            expect(result.row.line).toBe(line);
            expect(result.row.sku.length).toBeGreaterThan(0);
            expect(JSON.stringify(result.row)).not.toContain('\\u0000');
          } else {
            expect(result.errors.length).toBeGreaterThan(0);
            for (const error of result.errors) {
              expect(error.line).toBe(line);
              expect(columns).toContain(error.field);
              expect(error.message.length).toBeGreaterThan(0);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a well-formed row is accepted with every value as given', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{1,10}(?:-[a-z0-9]{1,10}){0,3}$/),
        fc.stringMatching(/^[A-Z0-9][A-Z0-9._-]{0,20}$/),
        options,
        fc.integer({ min: 0, max: limits.price }),
        fc.option(fc.integer({ min: 0, max: limits.stock }), { nil: undefined }),
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,12}$/), { maxLength: 5 }),
        (slug, sku, optionValues, price, stock, tags) => {
          const result = validateRow(
            {
              product_slug: slug,
              sku: ` ${sku} `,
              title: 'A title',
              options: formatOptions(optionValues),
              price_minor: String(price),
              stock: stock === undefined ? '' : String(stock),
              tags: tags.join(';'),
            },
            7,
          );
          expect(result.errors).toEqual([]);
          expect(result.row).toMatchObject({
            productSlug: slug,
            sku,
            options: optionValues,
            priceMinor: price,
          });
          expect(result.row?.stock).toBe(stock);
          expect(result.row?.tags).toEqual(tags.length === 0 ? undefined : tags);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('an option named __proto__ is kept as an ordinary option', () => {
    const parsed = parseOptions('__proto__=x;size=M');
    expect(parsed.ok && Object.keys(parsed.value)).toEqual(['__proto__', 'size']);
    expect(parsed.ok && Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
  });

  it('tags split on semicolons, trimmed and de-duplicated', () => {
    expect(parseTags(' a ; b;;a ')).toEqual({ ok: true, value: ['a', 'b'] });
  });
});
