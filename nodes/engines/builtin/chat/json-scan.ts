/**
 * Position-tracking JSON scanning for model output that may still be growing:
 * where a value ends (or that it has not ended yet), and an object's fields with
 * the raw text of their values. Pure; never throws on malformed or cut-off text.
 */

const WS = new Set([' ', '\t', '\n', '\r']);

export function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

/** End (exclusive) of the JSON string starting at `i` (a `"`), or -1 when it is cut off. */
function stringEnd(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return -1;
}

/**
 * End (exclusive) of the JSON value starting at `i`, or -1 when the text stops
 * before it ends, or -2 when what is there is not JSON. Numbers and literals
 * that reach the end of the text count as cut off (more digits may follow).
 */
export function valueEnd(text: string, i: number): number {
  if (i >= text.length) return -1;
  const c = text[i];
  if (c === '"') return stringEnd(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const d = text[j];
      if (d === '"') {
        const e = stringEnd(text, j);
        if (e < 0) return -1;
        j = e - 1;
      } else if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
  if (!m) return /^(?:-|t(?:r(?:ue?)?)?|f(?:a(?:l(?:se?)?)?)?|n(?:u(?:ll?)?)?)$/.test(text.slice(i)) ? -1 : -2;
  return i + m[0].length >= text.length ? -1 : i + m[0].length;
}

export interface Field {
  key: string;
  /** Where the value's text starts. */
  start: number;
  /** Where it ends (exclusive), or -1 while it is cut off. */
  end: number;
}

export interface ObjectScan {
  fields: Field[];
  /** Index just past the closing `}`, or -1 while the object is open. */
  end: number;
  /** The text is not a JSON object (stop reading it). */
  invalid: boolean;
}

/** The fields of the object starting at `i` (a `{`), as far as the text goes. */
export function scanObject(text: string, i: number): ObjectScan {
  const fields: Field[] = [];
  if (text[i] !== '{') return { fields, end: -1, invalid: i < text.length };
  let j = skipWs(text, i + 1);
  if (text[j] === '}') return { fields, end: j + 1, invalid: false };
  for (;;) {
    if (j >= text.length) return { fields, end: -1, invalid: false };
    if (text[j] !== '"') return { fields, end: -1, invalid: true };
    const keyEnd = stringEnd(text, j);
    if (keyEnd < 0) return { fields, end: -1, invalid: false };
    let key: string;
    try {
      key = JSON.parse(text.slice(j, keyEnd)) as string;
    } catch {
      return { fields, end: -1, invalid: true };
    }
    j = skipWs(text, keyEnd);
    if (j >= text.length) return { fields, end: -1, invalid: false };
    if (text[j] !== ':') return { fields, end: -1, invalid: true };
    j = skipWs(text, j + 1);
    if (j >= text.length) return { fields, end: -1, invalid: false };
    const end = valueEnd(text, j);
    if (end === -2) return { fields, end: -1, invalid: true };
    fields.push({ key, start: j, end });
    if (end === -1) return { fields, end: -1, invalid: false };
    j = skipWs(text, end);
    if (j >= text.length) return { fields, end: -1, invalid: false };
    if (text[j] === '}') return { fields, end: j + 1, invalid: false };
    if (text[j] !== ',') return { fields, end: -1, invalid: true };
    j = skipWs(text, j + 1);
  }
}

/** The value of a complete string field, else undefined. */
export function stringField(text: string, f: Field | undefined): string | undefined {
  if (!f || f.end < 0 || text[f.start] !== '"') return undefined;
  try {
    return JSON.parse(text.slice(f.start, f.end)) as string;
  } catch {
    return undefined;
  }
}
