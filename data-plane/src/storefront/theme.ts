import { createHash } from 'node:crypto';
import type { Brand } from '@amanat/kit/brand';
import { type Colord, colord, extend } from 'colord';
import a11yPlugin from 'colord/plugins/a11y';

extend([a11yPlugin]);

/** WCAG 2 AA for normal-size text. */
export const AA_CONTRAST = 4.5;

/** The page itself is light: dark text on white. Brand colours fill the header and buttons. */
export const PAGE_BACKGROUND = '#ffffff';

/** For a shop that has not set a brand yet: a neutral blue and amber. */
const DEFAULT_PRIMARY = '#1f3a5f';
const DEFAULT_ACCENT = '#b45309';
const SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Tahoma, sans-serif';

// The brand is validated when it is saved (BrandSchema); these checks are repeated because the
// values are written into a <style> element, where only these shapes are known to be inert.
const HEX_COLOR = /^#[0-9a-fA-F]{6}$/;
const FONT_FAMILY = /^[A-Za-z0-9 ,'-]{1,80}$/;

/**
 * Black or white text for a `background`, whichever contrasts more. One of the two always
 * reaches at least 4.58:1 against any colour, so the result always passes AA.
 */
export function foregroundOn(background: string): string {
  const fill = colord(background);
  return fill.contrast('#ffffff') >= fill.contrast('#000000') ? '#ffffff' : '#000000';
}

/**
 * `color` itself when it reads as text on `background` at AA, else the nearest shade of it
 * that does: towards black where black contrasts more with the background, towards white
 * otherwise, ending at black or white itself (which always passes). colord rounds contrast
 * to two decimals, so the bar is 4.51: nothing rounds up into a pass.
 */
export function readableOn(color: string, background: string): string {
  const extreme = foregroundOn(background);
  const readable = (shade: Colord) => shade.contrast(background) >= AA_CONTRAST + 0.01;
  let shade = colord(color);
  for (let step = 0; step < 20 && !readable(shade); step++) {
    // Measured as the hex colour it will be written as, not colord's unrounded channels.
    shade = colord((extreme === '#000000' ? shade.darken(0.05) : shade.lighten(0.05)).toHex());
  }
  return readable(shade) ? shade.toHex() : extreme;
}

export interface Theme {
  primary: string;
  onPrimary: string;
  accent: string;
  onAccent: string;
  /** Links and focus rings on the page background: the primary colour, made readable. */
  link: string;
  /** `:root { --brand-…: … }`, served inline in a <style> element. */
  css: string;
  /** The CSP source that allows exactly that <style> element: `'sha256-…'`. */
  cspHash: string;
}

export function themeFor(brand: Brand | null): Theme {
  const primary =
    brand && HEX_COLOR.test(brand.primary_color) ? brand.primary_color.toLowerCase() : DEFAULT_PRIMARY;
  const accent =
    brand && HEX_COLOR.test(brand.accent_color) ? brand.accent_color.toLowerCase() : DEFAULT_ACCENT;
  const font = brand?.font_family && FONT_FAMILY.test(brand.font_family) ? `${brand.font_family}, ` : '';
  const colors = {
    primary,
    onPrimary: foregroundOn(primary),
    accent,
    onAccent: foregroundOn(accent),
    link: readableOn(primary, PAGE_BACKGROUND),
  };
  const css =
    `:root{--brand-primary:${colors.primary};--brand-on-primary:${colors.onPrimary};` +
    `--brand-accent:${colors.accent};--brand-on-accent:${colors.onAccent};` +
    `--brand-link:${colors.link};--brand-font:${font}${SYSTEM_FONTS}}`;
  const cspHash = `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
  return { ...colors, css, cspHash };
}
