import type { LlamaModel, Token } from 'node-llama-cpp';

/** UTF-8 needs at most 4 bytes per character; a token run longer than that is emitted even if still invalid. */
const MAX_PENDING = 4;

/**
 * Generated tokens to text, piece by piece. A character split across tokens is
 * held back until complete. Control tokens print nothing, except those in
 * `keep` (the family's call markers and reasoning tags), as llama-server
 * renders only its "preserved" special tokens.
 */
export class TokenDecoder {
  private pending: Token[] = [];
  private context: Token[] = [];

  constructor(
    private readonly model: LlamaModel,
    private readonly keep: ReadonlySet<string>,
  ) {}

  push(token: Token): string {
    this.pending.push(token);
    const plain = this.model.detokenize(this.pending, false, this.context);
    if (plain.endsWith('\uFFFD') && this.pending.length < MAX_PENDING) return '';
    let text = plain;
    if (this.pending.length === 1 && plain === '') {
      const special = this.model.detokenize([token], true);
      if (this.keep.has(special)) text = special;
    }
    this.context = [...this.context, ...this.pending].slice(-8);
    this.pending = [];
    return text;
  }

  /** Continues after `tokens` (which the caller fed the model instead of what was decoded last). */
  reset(tokens: readonly Token[]): void {
    this.pending = [];
    this.context = tokens.slice(-8);
  }
}
