import { AxeBuilder } from '@axe-core/playwright';
import type { Result } from 'axe-core';
import type { Page } from 'playwright-core';

/**
 * Runs axe-core in the page as it is now and returns the violations of `serious` or
 * `critical` impact, the ones a page must never ship with. The page must come from
 * `browser.newContext()`, which axe needs to check frames.
 */
export async function seriousAccessibilityViolations(page: Page): Promise<Result[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

/** One line per violation and offending element, for assertion messages. */
export function describeViolations(violations: Result[]): string {
  return violations
    .flatMap((violation) =>
      violation.nodes.map((node) => `${violation.id} (${violation.impact}): ${node.target.join(' ')}`),
    )
    .join('\n');
}
