/**
 * Rewrites DS01's PromQL so it can be judged on its real inputs at once, without waiting for
 * every rule group's interval (DS01's groups run every 30 s, 1 m and 5 m).
 */

const FALLBACK = /\s*\bor\s+vector\(\s*0\s*\)/g;

/** The expression without its `or vector(0)` fallbacks: what is left has data only from real series. */
export function withoutFallback(expr: string): string {
  return expr.replace(FALLBACK, "");
}

export function hasFallback(expr: string): boolean {
  return new RegExp(FALLBACK.source).test(expr);
}

const RECORDED_NAME = /\b([a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]+)(\{[^}]*\})?(\[[^\]]+\])?/g;

/**
 * Every reference to a series recorded by `rules` replaced by the recording's own expression
 * (recursively, fallbacks removed): a plain reference becomes `(expr)`, a range `name[1h]` a
 * subquery `(expr)[1h:step]`. A reference with label matchers cannot be inlined and throws.
 */
export function inlineRecordings(expr: string, rules: ReadonlyMap<string, string>, step = "15s", depth = 0): string {
  if (depth > 8) throw new Error(`recording rules nest deeper than 8 levels: ${expr}`);
  return withoutFallback(expr).replace(RECORDED_NAME, (whole, name: string, matchers: string | undefined, range: string | undefined) => {
    const body = rules.get(name);
    if (body === undefined) return whole;
    if (matchers !== undefined && matchers.replace(/\s/g, "") !== "{}") throw new Error(`cannot inline ${name}${matchers}: label matchers on a recording`);
    const inner = `(${inlineRecordings(body, rules, step, depth + 1).trim()})`;
    return range ? `${inner}${range.slice(0, -1)}:${step}]` : inner;
  });
}

/** Recorded series an expression refers to. */
export function referencedRecordings(expr: string, rules: ReadonlyMap<string, string>): string[] {
  return [...new Set([...expr.matchAll(RECORDED_NAME)].map((m) => m[1]!).filter((n) => rules.has(n)))];
}
