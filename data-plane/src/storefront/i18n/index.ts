import { IntlMessageFormat } from 'intl-messageformat';
import { minorToDecimal } from '../money.ts';
import { en, type MessageKey, type Messages } from './en.ts';
import { fa } from './fa.ts';

export const storefrontLocales = ['en', 'fa'] as const;
export type Locale = (typeof storefrontLocales)[number];

export const isLocale = (value: unknown): value is Locale =>
  typeof value === 'string' && (storefrontLocales as readonly string[]).includes(value);

const catalogs: Record<Locale, Messages> = { en, fa };

/** Per locale: its name in itself (for the language switcher), direction and Open Graph locale. */
export const localeInfo: Record<Locale, { name: string; dir: 'ltr' | 'rtl'; og: string }> = {
  en: { name: 'English', dir: 'ltr', og: 'en_US' },
  fa: { name: 'فارسی', dir: 'rtl', og: 'fa_IR' },
};

type MessageValues = Record<string, string | number>;

/** Everything a page needs to speak one locale: messages (with their numbers and plurals), prices, lists, dates. */
export interface I18n {
  locale: Locale;
  dir: 'ltr' | 'rtl';
  t(key: MessageKey, values?: MessageValues): string;
  /** Integer minor units as a localised price in `currency` (Persian digits in fa). */
  price(minor: number, currency: string): string;
  list(items: string[]): string;
  year(date: Date, timeZone: string): string;
  /** A date and time of day in the shop's time zone (the solar hijri calendar and Persian digits in fa). */
  dateTime(date: Date, timeZone: string): string;
}

function createI18n(locale: Locale): I18n {
  const messages = catalogs[locale];
  const compiled = new Map<MessageKey, IntlMessageFormat>();
  const currencies = new Map<string, Intl.NumberFormat>();
  const lists = new Intl.ListFormat(locale, { style: 'short', type: 'unit' });
  // Intl formatters are costly to build and cheap to reuse: one per time zone, not per page.
  const years = new Map<string, Intl.DateTimeFormat>();
  const dateTimes = new Map<string, Intl.DateTimeFormat>();
  return {
    locale,
    dir: localeInfo[locale].dir,
    t(key, values) {
      let format = compiled.get(key);
      if (!format) {
        format = new IntlMessageFormat(messages[key], locale);
        compiled.set(key, format);
      }
      return String(format.format(values));
    },
    price(minor, currency) {
      let format = currencies.get(currency);
      if (!format) {
        format = new Intl.NumberFormat(locale, { style: 'currency', currency });
        currencies.set(currency, format);
      }
      return format.format(minorToDecimal(minor, currency));
    },
    list: (items) => lists.format(items),
    year(date, timeZone) {
      let format = years.get(timeZone);
      if (!format) {
        // Intl picks the locale's calendar: the solar hijri year in Persian. The shop's time
        // zone is free text in its settings; one Intl does not know must not break every page.
        try {
          format = new Intl.DateTimeFormat(locale, { year: 'numeric', timeZone });
        } catch {
          format = new Intl.DateTimeFormat(locale, { year: 'numeric', timeZone: 'UTC' });
        }
        years.set(timeZone, format);
      }
      return format.format(date);
    },
    dateTime(date, timeZone) {
      let format = dateTimes.get(timeZone);
      if (!format) {
        const style = { dateStyle: 'medium', timeStyle: 'short' } as const;
        try {
          format = new Intl.DateTimeFormat(locale, { ...style, timeZone });
        } catch {
          format = new Intl.DateTimeFormat(locale, { ...style, timeZone: 'UTC' });
        }
        dateTimes.set(timeZone, format);
      }
      return format.format(date);
    },
  };
}

const byLocale = new Map<Locale, I18n>(storefrontLocales.map((locale) => [locale, createI18n(locale)]));

export function i18n(locale: Locale): I18n {
  return byLocale.get(locale) as I18n;
}
