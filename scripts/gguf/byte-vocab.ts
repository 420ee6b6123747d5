/**
 * A SentencePiece-style ("llama") vocabulary that can encode any text:
 * <unk>, <s>, </s>, the 256 byte-fallback tokens <0x00>..<0xFF>, then one normal
 * token per printable ASCII character plus "▁" (the SPM space marker).
 *
 * Why the normal tokens: with byte tokens alone a space tokenizes to the three
 * bytes of "▁" and detokenizes as "▁", not " "; single-character pieces make
 * prompts shorter and generated text readable.
 */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const FIRST_BYTE_ID = 3;

export interface Vocab {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Ids of the normal (printable) pieces, which the demo weights favour. */
  printable: number[];
}

export function buildByteVocab(): Vocab {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.byte);
  }
  const printable: number[] = [];
  const pieces = ['\u2581'];
  for (let c = 0x21; c <= 0x7e; c++) pieces.push(String.fromCharCode(c));
  for (const p of pieces) {
    printable.push(tokens.length);
    tokens.push(p);
    types.push(TOKEN_TYPE.normal);
  }
  // SPM merges by score; no multi-character pieces exist, so scores only need to be distinct and stable.
  const scores = tokens.map((_, i) => (types[i] === TOKEN_TYPE.normal ? -i : 0));
  return { tokens, scores, types, printable };
}
