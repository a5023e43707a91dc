/**
 * `--watch` reloads whatever an editor or a config-management tool has left on disk, maybe
 * in the middle of its work. A file that parses is not always a finished one: an empty
 * file, binary junk without a brace in it, an include whose files are being replaced —
 * keepalived applies each of these on SIGHUP (unknown words are warnings, a missing include
 * is a note), dropping instances and their VIPs. A reload the watcher started by itself
 * refuses them and keeps the running configuration; an explicit reload (SIGHUP, `vipctl
 * reload`) applies them as keepalived does: the operator asked for it.
 */
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { expandBraces, matchSegment } from '../config/glob.js';
import type { Config, Diagnostic } from '../config/index.js';

/** The trigger of the reloads the config watcher starts. */
export const WATCH_TRIGGER = 'config file changed';

/** The config loader's words for an include that matches nothing (src/config/preprocess.ts). */
const INCLUDE_MISSING = /^include (.+): (?:no such file|no file matches)$/;
/** Control characters no keepalived.conf contains (tab, LF, VT, FF, CR and ESC are allowed). */
const BINARY = /[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]/;

/** Why a watcher-triggered reload of `next` must not replace `running`, or null. */
export async function watchReloadRefusal(running: Config, next: Config, diagnostics: readonly Diagnostic[]): Promise<string | null> {
  for (const file of next.files) {
    const junk = await binaryAt(file);
    if (junk !== null) return `${file} is not a text file (byte 0x${junk.byte.toString(16).padStart(2, '0')} at offset ${junk.offset})`;
  }
  // An include that matches nothing now, where files it used to match are gone: the files
  // are being replaced. Only files that pattern matches count (an include that has always
  // been empty says nothing about a file deleted elsewhere).
  const unmatched = diagnostics.flatMap((d) => {
    const m = d.severity === 'warning' ? INCLUDE_MISSING.exec(d.message) : null;
    return m ? [{ text: m[1] as string, abs: resolve(dirname(resolve(d.file)), m[1] as string) }] : [];
  });
  const culprits: string[] = [];
  const gone: string[] = [];
  for (const f of running.files) {
    if (next.files.includes(f) || (await exists(f))) continue;
    const by = unmatched.filter((u) => matchesPattern(u.abs, f));
    if (by.length === 0) continue;
    gone.push(f);
    for (const u of by) if (!culprits.includes(u.text)) culprits.push(u.text);
  }
  if (gone.length > 0) {
    return `include ${culprits.join(', ')} matches nothing now: ${gone.join(', ')} of the running configuration ${gone.length === 1 ? 'is' : 'are'} gone (being replaced?)`;
  }
  if (next.instances.length === 0 && running.instances.length > 0) {
    return `${next.files[0] ?? 'the file'} has no vrrp_instance at all (empty, or not written completely?)`;
  }
  return null;
}

async function binaryAt(file: string): Promise<{ offset: number; byte: number } | null> {
  let text: Buffer;
  try {
    const h = await open(file, 'r');
    try {
      text = await h.readFile();
    } finally {
      await h.close();
    }
  } catch {
    return null; // gone since it was read: the include check speaks for it
  }
  const m = BINARY.exec(text.toString('latin1'));
  return m === null ? null : { offset: m.index, byte: text[m.index] as number };
}

async function exists(file: string): Promise<boolean> {
  try {
    await (await open(file, 'r')).close();
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** Whether absolute `file` is matched by absolute glob `pattern` (segment by segment, braces expanded). */
function matchesPattern(pattern: string, file: string): boolean {
  const names = file.split('/');
  return expandBraces(pattern).some((p) => {
    const segs = p.split('/');
    return segs.length === names.length && segs.every((seg, i) => matchSegment(seg, names[i] as string));
  });
}
