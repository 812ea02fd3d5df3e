// The one polling helper of the tests: a condition the system reaches by
// itself (a scrape, a watch event, a write) is awaited, not slept for.

/**
 * Polls `probe` until it returns a value (not undefined), every 150 ms; after
 * `timeoutMs` fails naming `what` and the probe's last error.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, 150));
  }
}
