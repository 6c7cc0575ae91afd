import { randomBytes } from 'node:crypto';
import type { FieldError, ProblemError } from '@amanat/kit/http/problem';
import { Value } from 'typebox/value';
import type { CurrentBuyer } from '../buyers/session.ts';
import { CheckoutBodySchema } from '../checkout/routes.ts';
import type { CheckoutBody } from '../checkout/service.ts';
import type { MessageKey } from './i18n/en.ts';
import { asciiDigits } from './money.ts';

/**
 * The checkout page's form: what the buyer typed, read from a form post into the checkout
 * service's body, and the service's refusals turned into messages next to the fields.
 */

export const addressFields = [
  'recipient_name',
  'line1',
  'line2',
  'city',
  'region',
  'postal_code',
  'country',
  'phone',
] as const;
export type AddressField = (typeof addressFields)[number];

export interface CheckoutFormLine {
  variantId: string;
  quantity: number;
}

/** What the buyer sent, kept as typed so a refused form comes back filled in. */
export interface CheckoutFormValues {
  idempotencyKey: string;
  lines: CheckoutFormLine[];
  email: string;
  /** A saved address's id, or '' for the address typed in the form. */
  addressId: string;
  address: Record<AddressField, string>;
  note: string;
  rail: string;
}

/**
 * A problem to show: `field` is the form field it belongs to (`email`, an address field,
 * `rail`, `address_id`, `note`, or `line.<variant id>`), null when it is about the order as
 * a whole; every error is also named in the page's summary.
 */
export interface FormError {
  field: string | null;
  message: MessageKey;
  values?: Record<string, string | number>;
}

const IDEMPOTENCY_KEY = /^[!-~]{8,255}$/;
const LINE_FIELD = /^line\.(.+)$/;

/** One per rendered form: a retry or a double submit of that form places one order. */
export const newIdempotencyKey = () => randomBytes(24).toString('base64url');

export function emptyCheckoutForm(lines: CheckoutFormLine[]): CheckoutFormValues {
  return {
    idempotencyKey: newIdempotencyKey(),
    lines,
    email: '',
    addressId: '',
    address: Object.fromEntries(addressFields.map((field) => [field, ''])) as Record<AddressField, string>,
    note: '',
    rail: '',
  };
}

/** A quantity as typed (Persian digits too); anything but a whole number is NaN, refused later. */
function quantityOf(text: string): number {
  const plain = asciiDigits(text.trim());
  return /^-?\d{1,6}$/.test(plain) ? Number(plain) : Number.NaN;
}

export function readCheckoutForm(fields: Record<string, string>): CheckoutFormValues {
  const lines: CheckoutFormLine[] = [];
  for (const [name, value] of Object.entries(fields)) {
    const match = LINE_FIELD.exec(name);
    if (match?.[1]) lines.push({ variantId: match[1].toLowerCase(), quantity: quantityOf(value) });
  }
  const form = emptyCheckoutForm(lines);
  return {
    ...form,
    idempotencyKey: fields.idempotency_key ?? '',
    email: (fields.email ?? '').trim(),
    addressId: (fields.address_id ?? '').trim().toLowerCase(),
    address: Object.fromEntries(
      addressFields.map((field) => [field, (fields[field] ?? '').trim()]),
    ) as Record<AddressField, string>,
    note: (fields.note ?? '').trim(),
    rail: (fields.rail ?? '').trim(),
  };
}

/** The checkout service's body; fields left empty are left out (optional ones) or refused (required ones). */
export function checkoutBodyOf(form: CheckoutFormValues, buyer: CurrentBuyer | null): CheckoutBody {
  const { address } = form;
  const optional = (text: string) => text || null;
  return {
    lines: form.lines.map((line) => ({ variant_id: line.variantId, quantity: line.quantity })),
    // A signed-in buyer's email is the account's; the form shows it and sends none.
    email: buyer?.email ? undefined : form.email || undefined,
    rail: (form.rail || undefined) as CheckoutBody['rail'],
    ...(form.addressId
      ? { address_id: form.addressId }
      : {
          shipping_address: {
            recipient_name: address.recipient_name,
            line1: address.line1,
            line2: optional(address.line2),
            city: address.city,
            region: optional(address.region),
            postal_code: optional(asciiDigits(address.postal_code)),
            country: address.country.toUpperCase(),
            phone: optional(asciiDigits(address.phone)),
          },
        }),
    note: form.note || undefined,
  };
}

/**
 * A path into the checkout body (`email`, `shipping_address.city`, `lines.2.quantity`) as the
 * form field it came from and the message that explains it.
 */
function fieldError(path: string[], form: CheckoutFormValues): FormError {
  const [head, index, leaf] = path;
  if (head === 'email') return { field: 'email', message: 'checkout.error.email' };
  if (head === 'shipping_address' && (addressFields as readonly string[]).includes(index ?? '')) {
    const field = index as AddressField;
    return { field, message: `checkout.error.${field}` };
  }
  if (head === 'rail') return { field: 'rail', message: 'checkout.error.rail' };
  if (head === 'address_id') return { field: 'address_id', message: 'checkout.error.address_id' };
  if (head === 'note') return { field: 'note', message: 'checkout.error.note' };
  if (head === 'lines') {
    const line = index === undefined ? undefined : form.lines[Number(index)];
    if (line && leaf === 'variant_id') return { field: null, message: 'checkout.error.lineUnavailable' };
    return { field: line ? `line.${line.variantId}` : null, message: 'checkout.error.lines' };
  }
  return { field: null, message: 'checkout.error.other' };
}

/** One message per field (the first found), the order kept. */
function distinct(errors: FormError[]): FormError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const key = error.field ?? error.message;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The form's own checks, against the same schema the checkout API validates with. */
export function checkoutFormErrors(form: CheckoutFormValues, body: CheckoutBody): FormError[] {
  if (!IDEMPOTENCY_KEY.test(form.idempotencyKey))
    return [{ field: null, message: 'checkout.error.expiredForm' }];
  if (form.lines.length === 0) return [{ field: null, message: 'checkout.error.lines' }];
  return distinct(
    [...Value.Errors(CheckoutBodySchema, body)].map((error) =>
      fieldError(error.instancePath.split('/').filter(Boolean), form),
    ),
  );
}

const codeMessages: Partial<Record<string, FormError>> = {
  'idempotency-in-flight': { field: null, message: 'checkout.error.inFlight' },
  'idempotency-key-reused': { field: null, message: 'checkout.error.keyReused' },
  'mixed-currencies': { field: null, message: 'checkout.error.mixedCurrencies' },
  'total-too-large': { field: null, message: 'checkout.error.totalTooLarge' },
  'escrow-required': { field: 'rail', message: 'checkout.error.escrowRequired' },
};

/** The checkout service's refusal (a problem) as messages on the form. */
export function problemFormErrors(problem: ProblemError, form: CheckoutFormValues): FormError[] {
  const known = codeMessages[problem.code];
  if (known) return [known];
  if (problem.code === 'out-of-stock') {
    const variantId = String(problem.extensions.variant_id ?? '').toLowerCase();
    return [{ field: `line.${variantId}`, message: 'checkout.error.soldOut' }];
  }
  const fields = (problem.extensions.errors ?? []) as FieldError[];
  if (fields.length === 0) return [{ field: null, message: 'checkout.error.other' }];
  return distinct(
    fields.map((error) => {
      const path = error.field.split('.');
      return path[0] === 'body'
        ? fieldError(path.slice(1), form)
        : { field: null, message: 'checkout.error.other' };
    }),
  );
}
