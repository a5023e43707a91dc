/**
 * Line-level preprocessing, as keepalived's read_line() does it, with every character
 * keeping the file:line:col it came from:
 *   comments (`!`, `#` outside quotes; `\#` `\!` are literal), trailing `\` continuation,
 *   `@ID` / `@^ID` conditional lines, `$NAME=value` (and multi-line `$NAME= \`)
 *   definitions with `$NAME` / `${NAME}` substitution, and `include` (globs, relative to
 *   the including file, recursive, loops refused).
 * The result is a list of logical lines for the lexer.
 */
import { posix as path } from 'node:path';
import { DiagnosticBag, type SourceLocation } from './diagnostics.js';
import { glob, hasWildcard } from './glob.js';
import { fsRead, fsStat, type FsTask } from './source.js';

/** A piece of text whose every character knows where it came from. */
export interface Line {
  readonly text: string;
  readonly pos: readonly SourceLocation[];
  /** Just after the last character (used for "expected ... at end of line"). */
  readonly end: SourceLocation;
}

export interface PreprocessOptions {
  /** Matched against `@ID` lines. */
  readonly configId: string;
  /** How a file's absolute path is shown in diagnostics (default: as is). */
  readonly display?: (absPath: string) => string;
}

export interface PreprocessResult {
  readonly lines: Line[];
  /** Absolute paths of every file read, in reading order. */
  readonly files: string[];
}

interface Definition {
  /** Single-line definitions substitute at the reference; multi-line keep their own lines. */
  readonly lines: Line[] | null;
  readonly value: string;
}

const MAX_INCLUDE_DEPTH = 32;
const MAX_SUBSTITUTIONS = 1000;

function lineOf(text: string, file: string, lineNo: number): Line {
  const pos: SourceLocation[] = [];
  for (let i = 0; i < text.length; i++) pos.push({ file, line: lineNo, col: i + 1 });
  return { text, pos, end: { file, line: lineNo, col: text.length + 1 } };
}

function slice(l: Line, start: number, end = l.text.length): Line {
  const s = Math.max(0, Math.min(start, l.text.length));
  const e = Math.max(s, Math.min(end, l.text.length));
  return { text: l.text.slice(s, e), pos: l.pos.slice(s, e), end: e < l.text.length ? (l.pos[e] ?? l.end) : l.end };
}

function concat(a: Line, b: Line): Line {
  return { text: a.text + b.text, pos: [...a.pos, ...b.pos], end: b.text.length > 0 || a.text.length === 0 ? b.end : a.end };
}

function trim(l: Line): Line {
  const start = l.text.length - l.text.trimStart().length;
  const end = l.text.trimEnd().length;
  return slice(l, start, Math.max(start, end));
}

function startOf(l: Line): SourceLocation {
  return l.pos[0] ?? l.end;
}

/** A `'` opens a quote only at the start of a word and when it is closed later on the line. */
function opensSingleQuote(text: string, i: number): boolean {
  const prev = i === 0 ? ' ' : (text[i - 1] ?? ' ');
  return /[\s{}]/.test(prev) && text.indexOf("'", i + 1) >= 0;
}

interface OpenQuote {
  readonly char: '"' | "'";
  readonly at: SourceLocation;
}

/**
 * Removes comments and surrounding blanks. `cont` is set when the line ends with a
 * backslash outside a comment (the backslash is removed); a quote still open at the
 * end is returned so a continuation line can carry on inside it.
 */
function decomment(l: Line, diags: DiagnosticBag, open: OpenQuote | null = null): { line: Line; cont: boolean; open: OpenQuote | null } {
  const keep: number[] = [];
  let quote: '"' | "'" | null = open?.char ?? null;
  let quoteAt: SourceLocation | null = open?.at ?? null;
  let cont = false;
  const t = l.text;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '\\') {
      if (i === t.length - 1 || t.slice(i + 1).trim() === '') {
        cont = true;
        break;
      }
      const n = t[i + 1];
      if (quote === null && (n === '#' || n === '!')) {
        keep.push(i + 1);
      } else {
        keep.push(i, i + 1);
      }
      i++;
      continue;
    }
    if (quote !== null) {
      if (c === quote) quote = null;
      keep.push(i);
      continue;
    }
    if (c === '"' || (c === "'" && opensSingleQuote(t, i))) {
      quote = c;
      quoteAt = l.pos[i] ?? l.end;
      keep.push(i);
      continue;
    }
    if (c === '#' || c === '!') break;
    keep.push(i);
  }
  if (quote === '"' && !cont) diags.warning(quoteAt ?? l.end, 'unterminated quote: the string runs to the end of the line');
  const text = keep.map((i) => t[i]).join('');
  const pos = keep.map((i) => l.pos[i] ?? l.end);
  return { line: trim({ text, pos, end: l.end }), cont, open: quote !== null && quoteAt !== null ? { char: quote, at: quoteAt } : null };
}

const DEFINITION = /^\$([A-Za-z_][A-Za-z0-9_]*)[ \t]*=/;
const CONDITIONAL = /^@(\^?)(\S*)/;

class Preprocessor {
  readonly lines: Line[] = [];
  readonly files: string[] = [];
  private readonly defs = new Map<string, Definition>();
  private readonly stack: string[] = [];

  constructor(
    private readonly opts: PreprocessOptions,
    private readonly diags: DiagnosticBag,
  ) {}

  private show(abs: string): string {
    return this.opts.display ? this.opts.display(abs) : abs;
  }

  *file(abs: string, includedAt: SourceLocation | null): FsTask<void> {
    const shown = this.show(abs);
    const res = yield* fsRead(abs);
    if ('error' in res) {
      const where = includedAt ?? { file: shown, line: 1, col: 1 };
      this.diags.error(where, `cannot read config file ${shown}: ${res.error}`);
      return;
    }
    if (!this.files.includes(abs)) this.files.push(abs);
    this.stack.push(abs);
    const physical = res.text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
    for (let i = 0; i < physical.length; i++) {
      const raw = lineOf(physical[i] ?? '', shown, i + 1);
      let { line, cont, open } = decomment(raw, this.diags);
      if (line.text === '' && !cont) continue;

      const cond = this.conditionalPrefix(line);
      if (cond !== null && DEFINITION.test(cond.rest.text) && cont) {
        // Multi-line definition: every following line ending in '\' belongs to it;
        // a blank line or one without '\' ends it (keepalived rules).
        const body: Line[] = [];
        const first = trim(slice(cond.rest, cond.rest.text.indexOf('=') + 1));
        if (first.text !== '') body.push(first);
        while (cont && i + 1 < physical.length) {
          i++;
          const next = decomment(lineOf(physical[i] ?? '', shown, i + 1), this.diags);
          if (next.line.text === '') break;
          body.push(next.line);
          cont = next.cont;
        }
        if (cond.active) {
          const name = DEFINITION.exec(cond.rest.text)?.[1] ?? '';
          this.defs.set(name, { lines: body, value: body.map((b) => b.text).join('\n') });
        }
        continue;
      }
      while (cont && i + 1 < physical.length) {
        // Our extension: a trailing '\' on an ordinary line joins the next line.
        i++;
        const next = decomment(lineOf(physical[i] ?? '', shown, i + 1), this.diags, open);
        const gap: Line = { text: ' ', pos: [line.end], end: line.end };
        line = next.line.text === '' ? line : concat(concat(line, gap), next.line);
        cont = next.cont;
        open = next.open;
        if (next.line.text === '') break;
      }
      yield* this.logical(line);
    }
    this.stack.pop();
  }

  /** `@ID rest` / `@^ID rest`: whether the rest applies to this config id. */
  private conditionalPrefix(line: Line): { active: boolean; rest: Line } | null {
    const m = CONDITIONAL.exec(line.text);
    if (m === null) return { active: true, rest: line };
    const reverse = m[1] === '^';
    const id = m[2] ?? '';
    const restStart = m[0].length;
    if (restStart >= line.text.length) return null; // keepalived drops a bare "@id"
    const matches = id === this.opts.configId;
    return { active: matches !== reverse, rest: trim(slice(line, restStart)) };
  }

  private *logical(first: Line): FsTask<void> {
    const queue: Line[] = [first];
    while (queue.length > 0) {
      let line = queue.shift() as Line;
      let rounds = 0;
      let dropped = false;
      for (;;) {
        const cond = this.conditionalPrefix(line);
        if (cond === null || !cond.active) {
          dropped = true;
          break;
        }
        line = cond.rest;
        const def = DEFINITION.exec(line.text);
        if (def !== null) {
          const value = trim(slice(line, line.text.indexOf('=') + 1));
          this.defs.set(def[1] ?? '', { lines: null, value: value.text });
          dropped = true;
          break;
        }
        if (line.text.startsWith('~')) {
          this.diags.warning(startOf(line), `'${line.text.split(/\s/)[0] ?? '~'}' sequence/list blocks are not supported by vipd; line ignored`);
          dropped = true;
          break;
        }
        const sub = this.substitute(line);
        if (sub === null) break;
        line = sub.line;
        queue.unshift(...sub.extra);
        if (++rounds > MAX_SUBSTITUTIONS) {
          this.diags.error(startOf(line), 'parameter substitution does not end (does a definition refer to itself?)');
          dropped = true;
          break;
        }
        if (!line.text.startsWith('@') && !line.text.includes('$')) break;
      }
      if (dropped || line.text === '') continue;
      const inc = /^include([rmwba])?(?:[ \t]+|$)/.exec(line.text);
      if (inc !== null) {
        yield* this.include(line, inc[1] ?? '', trim(slice(line, inc[0].length)));
        continue;
      }
      this.lines.push(line);
    }
  }

  /** Replaces the first defined `$NAME` / `${NAME}`; null when nothing was replaced. */
  private substitute(line: Line): { line: Line; extra: Line[] } | null {
    let total = 0;
    let cur = line;
    let extra: Line[] = [];
    let changed = false;
    for (let i = cur.text.indexOf('$'); i >= 0 && i < cur.text.length; i = cur.text.indexOf('$', i + 1)) {
      const s = cur.text;
      let name: string;
      let refEnd: number;
      if (s[i + 1] === '{') {
        const close = s.indexOf('}', i + 2);
        if (close < 0) continue;
        name = s.slice(i + 2, close);
        refEnd = close + 1;
      } else {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i + 1));
        if (m === null) continue;
        name = m[0];
        refEnd = i + 1 + name.length;
        const after = s[refEnd];
        if (after !== undefined && !/[ \t,)]/.test(after)) continue;
      }
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
      const def = this.lookup(name, line);
      if (def === undefined) continue;
      const at = cur.pos[i] ?? cur.end;
      if (def.lines !== null) {
        if (s.slice(refEnd).trim() !== '') {
          this.diags.warning(at, `multi-line definition $${name} must be the last thing on its line; not substituted`);
          continue;
        }
        const [head, ...rest] = def.lines;
        cur = concat(slice(cur, 0, i), head ?? { text: '', pos: [], end: at });
        extra = [...rest, ...extra];
        changed = true;
        break;
      }
      const value: Line = { text: def.value, pos: Array.from(def.value, () => at), end: at };
      cur = concat(concat(slice(cur, 0, i), value), slice(cur, refEnd));
      changed = true;
      if (++total > MAX_SUBSTITUTIONS) {
        this.diags.error(at, 'parameter substitution does not end (does a definition refer to itself?)');
        return null;
      }
      i -= 1; // rescan the inserted text: substitution is recursive
    }
    return changed ? { line: cur, extra } : null;
  }

  private lookup(name: string, line: Line): Definition | undefined {
    const own = this.defs.get(name);
    if (own !== undefined) return own;
    switch (name) {
      case '_PWD':
        return { lines: null, value: path.dirname(this.stack[this.stack.length - 1] ?? '/') };
      case '_INSTANCE':
        return { lines: null, value: this.opts.configId };
      case '_HASH':
        return { lines: null, value: '#' };
      case '_BANG':
        return { lines: null, value: '!' };
      case '_RANDOM':
        this.diags.warning(startOf(line), '${_RANDOM} is not supported by vipd; left as is');
        return undefined;
      default:
        return undefined;
    }
  }

  private *include(line: Line, variant: string, arg: Line): FsTask<void> {
    const at = startOf(line);
    let pattern = arg.text;
    if (/^".*"$/.test(pattern) || /^'.*'$/.test(pattern)) pattern = pattern.slice(1, -1);
    if (pattern === '') {
      this.diags.error(at, 'include needs a file name or glob');
      return;
    }
    const current = this.stack[this.stack.length - 1] ?? '/';
    const abs = path.isAbsolute(pattern) ? path.normalize(pattern) : path.join(path.dirname(current), pattern);
    const matches = yield* glob(abs);
    // keepalived's includem/includew/includea make a missing match an error.
    const strict = variant === 'm' || variant === 'w' || variant === 'a';
    const report = (msg: string): void => (strict ? this.diags.error(at, msg) : this.diags.warning(at, msg));
    if (matches.length === 0) {
      report(hasWildcard(pattern) ? `include ${pattern}: no file matches` : `include ${pattern}: no such file`);
      return;
    }
    for (const m of matches) {
      const st = yield* fsStat(m);
      if (st === null) continue;
      if (st.kind !== 'file') {
        report(`include ${pattern}: ${this.show(m)} is not a regular file; skipped`);
        continue;
      }
      if (st.executable) {
        // keepalived refuses executable config files.
        report(`include ${pattern}: ${this.show(m)} is executable; keepalived skips executable config files, so vipd does too`);
        continue;
      }
      const loopAt = this.stack.indexOf(m);
      if (loopAt >= 0) {
        const chain = [...this.stack.slice(loopAt), m].map((f) => this.show(f)).join(' -> ');
        this.diags.error(at, `include loop: ${chain}`);
        continue;
      }
      if (this.stack.length >= MAX_INCLUDE_DEPTH) {
        this.diags.error(at, `includes nested deeper than ${MAX_INCLUDE_DEPTH} files`);
        return;
      }
      yield* this.file(m, at);
    }
  }
}

export function* preprocess(absPath: string, opts: PreprocessOptions, diags: DiagnosticBag): FsTask<PreprocessResult> {
  const p = new Preprocessor(opts, diags);
  yield* p.file(absPath, null);
  return { lines: p.lines, files: p.files };
}

/** Preprocesses text that is not on disk (tests, property tests); includes resolve against `/`. */
export function preprocessText(text: string, file: string, opts: PreprocessOptions, diags: DiagnosticBag): PreprocessResult {
  const p = new Preprocessor({ ...opts, display: () => file }, diags);
  const task = p.file('/__text__', null);
  let step = task.next();
  while (!step.done) {
    const req = step.value;
    step = task.next(req.op === 'read' && req.path === '/__text__' ? { text } : { error: 'ENOENT' });
  }
  return { lines: p.lines, files: [] };
}
