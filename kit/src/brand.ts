import { type Static, Type } from 'typebox';
import { Strict } from './http/schemas.ts';

const HttpsUrl = Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048 });
const HexColor = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: 'hex colour, e.g. #0a7cff' });

/**
 * A shop's brand as buyers see it. The control plane keeps it in the tenants registry and
 * the data plane renders it, so both validate it with this one schema. URLs must be https.
 */
export const BrandSchema = Strict(
  {
    // Optional: without a logo the shop's name is set as a wordmark, without a favicon none is shown.
    logo_url: Type.Optional(HttpsUrl),
    favicon_url: Type.Optional(HttpsUrl),
    primary_color: HexColor,
    accent_color: HexColor,
    display_name: Type.String({ minLength: 1, maxLength: 80 }),
    tagline: Type.String({ maxLength: 160 }),
    font_family: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9 ,'-]{1,80}$" })),
  },
  "The shop's brand as buyers see it. URLs must be https.",
);

export type Brand = Static<typeof BrandSchema>;
