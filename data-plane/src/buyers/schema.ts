import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  foreignKey,
  index,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, tenantId, updatedAt } from '../db/columns.ts';

/**
 * The shop's own buyer accounts. Buyers are created only by registration with an email and
 * a password, or by a first sign-in from the shop's Telegram Mini App (guest checkout keeps
 * an email on the order, not an account). Emails are stored lower-cased and are unique per
 * tenant; a Telegram user is linked to at most one buyer per tenant.
 */
export const buyers = pgTable(
  'buyers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    /** Null for a buyer who has only ever signed in through Telegram (then so is the password). */
    email: text('email'),
    passwordHash: text('password_hash'),
    /** The Telegram user id the Mini App sign-in links to this buyer (see telegram.ts). */
    telegramUserId: bigint('telegram_user_id', { mode: 'number' }),
    displayName: text('display_name'),
    marketingOptIn: boolean('marketing_opt_in').notNull().default(false),
    /** When the buyer last opted in / out of marketing (null = never did). */
    marketingOptedInAt: timestamp('marketing_opted_in_at', { withTimezone: true }),
    marketingOptedOutAt: timestamp('marketing_opted_out_at', { withTimezone: true }),
    /** Set by shop staff: the buyer cannot log in and their sessions stop working. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /** Last time one of the buyer's sessions was used (updated at most every few minutes). */
    lastActiveAt: timestamp('last_active_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('buyers_tenant_id_unique').on(t.tenantId, t.id),
    uniqueIndex('buyers_tenant_email_unique').on(t.tenantId, sql`lower(${t.email})`),
    index('buyers_tenant_created_idx').on(t.tenantId, t.createdAt),
    uniqueIndex('buyers_tenant_telegram_user_unique').on(t.tenantId, t.telegramUserId),
    check('buyers_email_lower', sql`${t.email} = lower(${t.email})`),
    // Email and password come together; every buyer has at least one way to sign in.
    check(
      'buyers_sign_in_method',
      sql`(${t.email} IS NULL) = (${t.passwordHash} IS NULL) AND (${t.email} IS NOT NULL OR ${t.telegramUserId} IS NOT NULL)`,
    ),
  ],
);

/** Opaque session tokens live only in the buyer's cookie; the table keeps their SHA-256. */
export const buyerSessions = pgTable(
  'buyer_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    buyerId: uuid('buyer_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [
    unique('buyer_sessions_token_hash_unique').on(t.tenantId, t.tokenHash),
    index('buyer_sessions_buyer_idx').on(t.tenantId, t.buyerId),
    foreignKey({
      name: 'buyer_sessions_buyer_fk',
      columns: [t.tenantId, t.buyerId],
      foreignColumns: [buyers.tenantId, buyers.id],
    }).onDelete('cascade'),
  ],
);

/** Failed buyer logins, for the per-email and per-IP throttle (10 an hour each). */
export const buyerLoginFailures = pgTable(
  'buyer_login_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: tenantId(),
    email: text('email').notNull(),
    ip: text('ip').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('buyer_login_failures_email_idx').on(t.tenantId, t.email, t.at),
    index('buyer_login_failures_ip_idx').on(t.tenantId, t.ip, t.at),
  ],
);

/** A buyer's saved shipping addresses; each buyer sees and changes only their own. */
export const buyerAddresses = pgTable(
  'buyer_addresses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantId(),
    buyerId: uuid('buyer_id').notNull(),
    label: text('label'),
    recipientName: text('recipient_name').notNull(),
    line1: text('line1').notNull(),
    line2: text('line2'),
    city: text('city').notNull(),
    region: text('region'),
    postalCode: text('postal_code'),
    /** ISO 3166-1 alpha-2. */
    country: text('country').notNull(),
    phone: text('phone'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('buyer_addresses_buyer_idx').on(t.tenantId, t.buyerId),
    uniqueIndex('buyer_addresses_one_default').on(t.tenantId, t.buyerId).where(sql`${t.isDefault}`),
    foreignKey({
      name: 'buyer_addresses_buyer_fk',
      columns: [t.tenantId, t.buyerId],
      foreignColumns: [buyers.tenantId, buyers.id],
    }).onDelete('cascade'),
  ],
);

/**
 * Mini App initData already used to sign in, by its hash, so the same initData signs in at
 * most once. A row is needed only while its initData could still pass the age check; each
 * sign-in prunes rows older (by `auth_date`) than the largest maximum age allowed.
 */
export const telegramInitDataUses = pgTable(
  'telegram_init_data_uses',
  {
    tenantId: tenantId(),
    /** The initData's `hash` (hex HMAC-SHA256), unique for each payload Telegram signs. */
    hash: text('hash').notNull(),
    authDate: timestamp('auth_date', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.hash] }),
    index('telegram_init_data_uses_auth_date_idx').on(t.tenantId, t.authDate),
  ],
);
