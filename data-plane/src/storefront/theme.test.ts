import { createHash } from 'node:crypto';
import { colord, extend } from 'colord';
import a11yPlugin from 'colord/plugins/a11y';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AA_CONTRAST, foregroundOn, PAGE_BACKGROUND, readableOn, themeFor } from './theme.ts';

extend([a11yPlugin]);

const hexColor = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
  .map(([r, g, b]) => `#${[r, g, b].map((part) => part.toString(16).padStart(2, '0')).join('')}`);

const brand = (primary: string, accent: string) => ({
  logo_url: 'https://img.example.com/logo.png',
  favicon_url: 'https://img.example.com/favicon.png',
  primary_color: primary,
  accent_color: accent,
  display_name: 'Sara Goods',
  tagline: '',
});

describe('theme from the brand', () => {
  it('text on any brand colour keeps WCAG AA contrast (4.5:1)', () => {
    fc.assert(
      fc.property(hexColor, hexColor, (primary, accent) => {
        const theme = themeFor(brand(primary, accent));
        expect(colord(theme.primary).contrast(theme.onPrimary)).toBeGreaterThanOrEqual(AA_CONTRAST);
        expect(colord(theme.accent).contrast(theme.onAccent)).toBeGreaterThanOrEqual(AA_CONTRAST);
        expect(colord(theme.link).contrast(PAGE_BACKGROUND)).toBeGreaterThanOrEqual(AA_CONTRAST);
      }),
      { numRuns: 2000 },
    );
  });

  it('readable shades work on dark backgrounds too', () => {
    fc.assert(
      fc.property(hexColor, hexColor, (color, background) => {
        expect(colord(readableOn(color, background)).contrast(background)).toBeGreaterThanOrEqual(
          AA_CONTRAST,
        );
        expect(colord(foregroundOn(background)).contrast(background)).toBeGreaterThanOrEqual(AA_CONTRAST);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps a brand colour that is already readable, and picks the obvious foregrounds', () => {
    expect(readableOn('#1f3a5f', PAGE_BACKGROUND)).toBe('#1f3a5f');
    expect(foregroundOn('#ffcc00')).toBe('#000000');
    expect(foregroundOn('#1f3a5f')).toBe('#ffffff');
  });

  it('writes the colours and font as CSS variables, and the CSP hash of exactly that text', () => {
    const theme = themeFor({ ...brand('#0A7CFF', '#ffcc00'), font_family: 'Vazirmatn' });
    expect(theme.css).toContain('--brand-primary:#0a7cff;');
    expect(theme.css).toContain('--brand-accent:#ffcc00;');
    expect(theme.css).toContain('--brand-on-accent:#000000;');
    expect(theme.css).toMatch(/--brand-font:Vazirmatn, system-ui/);
    expect(theme.cspHash).toBe(`'sha256-${createHash('sha256').update(theme.css).digest('base64')}'`);
  });

  it('has defaults without a brand, and never writes a value that is not a colour or a plain font name', () => {
    expect(themeFor(null).css).toMatch(/^:root\{--brand-primary:#[0-9a-f]{6};/);
    const hostile = themeFor({
      ...brand('red;}</style><script>', '#00000g'),
      font_family: 'x}body{display:none',
    });
    expect(hostile.css).not.toMatch(/[<>]|script|display:none/);
    expect(hostile.primary).toMatch(/^#[0-9a-f]{6}$/);
  });
});
