/**
 * Splits logical lines into words and braces. A brace is its own token wherever it
 * stands (`authentication { auth_type PASS`), except inside quotes or an undefined
 * `${NAME}` reference. `"…"` is one word (quotes removed, as keepalived); `'…'` too when
 * it starts a word and is closed on the line, so `script "/bin/sh -c '…'"` and
 * `notify_master /x.sh 'a b'` read as written.
 */
import type { SourceLocation } from './diagnostics.js';
import type { Line } from './preprocess.js';

export interface Token {
  readonly kind: 'word' | 'open' | 'close';
  /** The word without its quotes; "{" or "}" for braces. */
  readonly text: string;
  /** The source text of the token, quotes included. */
  readonly raw: string;
  readonly quoted: boolean;
  readonly loc: SourceLocation;
  /** Index of the logical line: a statement never spans two. */
  readonly line: number;
  /** The logical line's text and this token's [start, end) in it. */
  readonly source: string;
  readonly start: number;
  readonly end: number;
}

export function tokenize(lines: readonly Line[]): Token[] {
  const out: Token[] = [];
  lines.forEach((l, lineIndex) => {
    const t = l.text;
    const at = (i: number): SourceLocation => l.pos[i] ?? l.end;
    let i = 0;
    while (i < t.length) {
      const c = t[i] ?? '';
      if (c === ' ' || c === '\t' || c === '\v' || c === '\f') {
        i++;
        continue;
      }
      if (c === '{' || c === '}') {
        out.push({ kind: c === '{' ? 'open' : 'close', text: c, raw: c, quoted: false, loc: at(i), line: lineIndex, source: t, start: i, end: i + 1 });
        i++;
        continue;
      }
      if (c === '"' || (c === "'" && t.indexOf("'", i + 1) >= 0)) {
        const close = t.indexOf(c, i + 1);
        const end = close < 0 ? t.length : close;
        const next = close < 0 ? end : end + 1;
        out.push({ kind: 'word', text: t.slice(i + 1, end), raw: t.slice(i, next), quoted: true, loc: at(i), line: lineIndex, source: t, start: i, end: next });
        i = next;
        continue;
      }
      const start = i;
      while (i < t.length) {
        const d = t[i] ?? '';
        if (/\s/.test(d) || d === '{' || d === '}' || d === '"') break;
        if (d === '$' && t[i + 1] === '{') {
          // An undefined ${NAME} stays in the text (keepalived leaves it); its braces are not blocks.
          const close = t.indexOf('}', i + 2);
          if (close > 0 && /^[A-Za-z_][A-Za-z0-9_ ]*$/.test(t.slice(i + 2, close))) {
            i = close + 1;
            continue;
          }
        }
        i++;
      }
      if (i === start) {
        // A lone '"' that never closes was consumed above; anything else advances.
        i++;
        continue;
      }
      const word = t.slice(start, i);
      out.push({ kind: 'word', text: word, raw: word, quoted: false, loc: at(start), line: lineIndex, source: t, start, end: i });
    }
  });
  return out;
}
