// Gateway-side arithmetic over the signal catalogue (src/shared/signals/catalogue.ts,
// ADR 0100): the catalogue names the metrics and recipes, this says how far
// back a rate looks at each step.

/**
 * The window a rate looks back over at each step: Grafana's $__rate_interval
 * rule, so a step never falls between two scrapes and reads as a gap.
 */
export const rateWindowMs = (stepMs: number, scrapeMs: number) =>
  Math.max(stepMs + scrapeMs, 4 * scrapeMs);
