/**
 * The small glob(3) subset `include` needs: `*`, `?`, `[...]` (with `!`/`^` negation
 * and ranges), csh braces `{a,b}`, per path segment over readdir. Like glob(3),
 * wildcards never match a leading '.', and matches come back sorted.
 */
import { posix as path } from 'node:path';
import { fsReaddir, fsStat, type FsTask } from './source.js';

export function hasWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Expands csh-style braces: "a{b,c{d,e}}f" → abf, acdf, acef. Unbalanced braces stay literal. */
export function expandBraces(pattern: string): string[] {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
    } else if (c === '{') {
      if (depth === 0) open = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        if (commas.length === 0) {
          // A group without a comma is not an alternative list: keep it literal.
          open = -1;
          continue;
        }
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const parts: string[] = [];
        let start = open + 1;
        for (const c2 of commas) {
          parts.push(pattern.slice(start, c2));
          start = c2 + 1;
        }
        parts.push(pattern.slice(start, i));
        return parts.flatMap((p) => expandBraces(head + p + tail));
      }
    } else if (c === ',' && depth === 1) {
      commas.push(i);
    }
  }
  return [pattern];
}

/** Does one path segment pattern match a directory entry name? */
export function matchSegment(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return segmentRegExp(pattern).test(name);
}

function segmentRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i] ?? '');
    } else if (c === '*') {
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = true;
        body = body.slice(1);
      }
      re += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(`${re}$`, 's');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
}

/**
 * Matches an absolute pattern against the file system. Returns the absolute paths of
 * existing entries (files or directories; the caller decides what to keep).
 */
export function* glob(absPattern: string): FsTask<string[]> {
  const out = new Set<string>();
  for (const pattern of expandBraces(absPattern)) {
    const segments = path.normalize(pattern).split('/').filter((s) => s !== '');
    let bases = ['/'];
    for (const seg of segments) {
      const next: string[] = [];
      for (const base of bases) {
        if (!hasWildcard(seg)) {
          next.push(path.join(base, seg.replace(/\\(.)/g, '$1')));
          continue;
        }
        const entries = yield* fsReaddir(base);
        if (entries === null) continue;
        for (const e of [...entries].sort()) {
          if (matchSegment(seg, e)) next.push(path.join(base, e));
        }
      }
      bases = next;
    }
    // Like GLOB_BRACE: each alternative's matches sorted, alternatives in written order.
    for (const p of bases.sort()) {
      if ((yield* fsStat(p)) !== null) out.add(p);
    }
  }
  return [...out];
}
