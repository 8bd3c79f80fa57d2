/** How deep and how many values a JSON document may have before it is parsed. */
export interface JsonShapeLimits {
  /** Nesting of arrays and objects. */
  readonly maxDepth: number;
  /** Arrays, objects and elements/members (counted by their separators). */
  readonly maxValues: number;
}

const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Bytes scanned between yields to the event loop, so health checks and scrapes answer during a scan. */
const SLICE = 512 * 1024;

/**
 * Scans JSON bytes for nesting depth and value count without building anything, so a body that
 * would make JSON.parse allocate hundreds of megabytes (6 MB of `[`, millions of tiny elements)
 * is refused for the price of one pass over its bytes. Returns why the document is refused, or
 * undefined when it is within the limits (it may still not be valid JSON; JSON.parse decides).
 * Yields to the event loop every 512 KiB.
 */
export async function jsonShapeProblem(bytes: Uint8Array, limits: JsonShapeLimits): Promise<string | undefined> {
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let start = 0; start < bytes.length; start += SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(bytes.length, start + SLICE);
    for (let i = start; i < end; i++) {
      const b = bytes[i]!;
      if (inString) {
        if (b === BACKSLASH) i++;
        else if (b === QUOTE) inString = false;
        continue;
      }
      if (b === QUOTE) inString = true;
      else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
        if (++depth > limits.maxDepth) return `nesting deeper than ${limits.maxDepth}`;
        if (++values > limits.maxValues) return `more than ${limits.maxValues} values`;
      } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
      else if (b === COMMA && ++values > limits.maxValues) return `more than ${limits.maxValues} values`;
    }
  }
  return undefined;
}

/**
 * JSON.parse whose error names the file and the position, never the text: V8's messages quote
 * the document ("Unexpected token 'r', \"root:x:0:0:...\" is not valid JSON"), and the document
 * may be whatever a path was pointed at.
 */
export function parseJsonNamed(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err: unknown) {
    const position = err instanceof Error ? /at position (\d+)/.exec(err.message)?.[1] : undefined;
    throw new Error(`${what} is not valid JSON${position !== undefined ? ` (at byte ${position})` : ""}`);
  }
}
