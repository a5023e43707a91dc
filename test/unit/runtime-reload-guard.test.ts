// watchReloadRefusal: which files a reload started by --watch refuses (binary bytes, an
// include whose files vanished, no vrrp_instance left) and which it applies. The configs
// are real files in a temp dir read by the real loader, so the guard is checked against
// the loader's own words for a missing include and its own list of files read.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { formatDiagnostic, loadConfigAsync, type Config, type Diagnostic } from '../../src/config/index.js';
import { watchReloadRefusal, WATCH_TRIGGER } from '../../src/runtime/reload-guard.js';

const SEEDS = fileURLToPath(new URL('../../../test/fixtures/configs/seeds/', import.meta.url));

const instance = (name: string, vrid: number, priority = 100): string =>
  `vrrp_instance ${name} {
    state BACKUP
    interface eth0
    virtual_router_id ${vrid}
    priority ${priority}
    advert_int 1
    virtual_ipaddress {
        10.0.0.${vrid}/24
    }
}
`;
const GLOBAL = 'global_defs {\n    router_id lb01\n}\n';

interface Loaded {
  readonly config: Config;
  readonly diagnostics: Diagnostic[];
}

async function load(file: string): Promise<Loaded> {
  const r = await loadConfigAsync(file, { configId: 'lb01', hostname: 'lb01' });
  assert.ok(r.config !== null, `${file} should load:\n${r.diagnostics.map(formatDiagnostic).join('\n')}`);
  return { config: r.config, diagnostics: r.diagnostics };
}

/** What the daemon does on a watcher reload: load the file again and ask the guard. */
async function reloadOf(running: Loaded, file: string): Promise<string | null> {
  const next = await load(file);
  return watchReloadRefusal(running.config, next.config, next.diagnostics);
}

describe('watchReloadRefusal', () => {
  let root = '';
  let seq = 0;
  /** A fresh directory per test: tests run side by side and must not see each other's files. */
  const fresh = async (): Promise<string> => {
    const d = join(root, `t${++seq}`);
    await mkdir(d);
    return d;
  };
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vipd-reload-guard-'));
  });
  after(async () => {
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  it('is asked only for the reloads the watcher starts', () => {
    // The daemon compares the trigger with this constant: SIGHUP and `vipctl reload` are explicit.
    assert.equal(WATCH_TRIGGER, 'config file changed');
    assert.notEqual(WATCH_TRIGGER, 'SIGHUP');
    assert.notEqual(WATCH_TRIGGER, 'vipctl reload');
  });

  describe('applies finished files', () => {
    it('the same file again', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await writeFile(main, GLOBAL + instance('VI_1', 51));
      const running = await load(main);
      assert.equal(await reloadOf(running, main), null);
    });

    it('a finished edit: another priority, one of two instances removed, a new one added', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await writeFile(main, GLOBAL + instance('VI_1', 51) + instance('VI_2', 52));
      const running = await load(main);
      await writeFile(main, GLOBAL + instance('VI_1', 51, 150));
      assert.equal(await reloadOf(running, main), null);
      await writeFile(main, GLOBAL + instance('VI_1', 51) + instance('VI_3', 53));
      assert.equal(await reloadOf(running, main), null);
    });

    it('every seed config (UTF-8 comments in Chinese, trailing blanks, tabs) reloaded over itself', async () => {
      const files = (await readdir(SEEDS)).filter((f) => f.endsWith('.conf'));
      assert.ok(files.length >= 10, `seed configs in ${SEEDS}`);
      for (const f of files) {
        const running = await load(join(SEEDS, f));
        assert.equal(await reloadOf(running, join(SEEDS, f)), null, f);
      }
    });

    it('text an editor may leave: a UTF-8 BOM, CRLF line ends, tabs, form feed, vertical tab, ESC, Latin-1 and GBK bytes', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      const text = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('! 主备切换配置\r\n! \x1b[1mbold\x1b[0m\f\v\r\n', 'utf8'),
        Buffer.from('! caf\xe9 (Latin-1)\n', 'latin1'),
        Buffer.from([0x21, 0x20, 0xd6, 0xf7, 0xb1, 0xb8, 0x0a]), // "! 主备" in GBK
        Buffer.from((GLOBAL + instance('VI_1', 51)).replace(/\n/g, '\r\n').replace(/ {4}/g, '\t'), 'utf8'),
      ]);
      await writeFile(main, text);
      assert.equal(await reloadOf(running, main), null);
    });

    it('an include that never matched anything (a warning at start-up already)', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await mkdir(join(d, 'conf.d'));
      await writeFile(main, `${GLOBAL}include conf.d/*.conf\n${instance('VI_1', 51)}`);
      const running = await load(main);
      assert.ok(running.diagnostics.some((x) => /no file matches/.test(x.message)), 'the loader warns about it');
      await writeFile(main, `${GLOBAL}include conf.d/*.conf\n${instance('VI_1', 51, 120)}`);
      assert.equal(await reloadOf(running, main), null, 'nothing of the running configuration is gone');
    });

    it('one of two files of a glob include removed: the operator removed an instance', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await mkdir(join(d, 'conf.d'));
      await writeFile(main, `${GLOBAL}include conf.d/*.conf\n`);
      await writeFile(join(d, 'conf.d', 'a.conf'), instance('VI_1', 51));
      await writeFile(join(d, 'conf.d', 'b.conf'), instance('VI_2', 52));
      const running = await load(main);
      assert.equal(running.config.instances.length, 2);
      await unlink(join(d, 'conf.d', 'a.conf'));
      assert.equal(await reloadOf(running, main), null);
    });

    it('one instance file deleted while another include has always matched nothing (an empty conf.d)', async () => {
      // A common layout: `include conf.d/*.conf` kept for later, instances in their own files.
      // The empty conf.d warns at every load; it says nothing about the file the operator deleted.
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await mkdir(join(d, 'conf.d'));
      await mkdir(join(d, 'instances'));
      await writeFile(main, `${GLOBAL}include conf.d/*.conf\ninclude instances/*.conf\n`);
      await writeFile(join(d, 'instances', 'vi1.conf'), instance('VI_1', 51));
      await writeFile(join(d, 'instances', 'vi2.conf'), instance('VI_2', 52));
      const running = await load(main);
      assert.equal(running.config.instances.length, 2);
      await unlink(join(d, 'instances', 'vi2.conf'));
      assert.equal(await reloadOf(running, main), null, 'a finished edit; every watcher reload would refuse it until an explicit reload');
    });

    it('an include and its file both removed: the main file says so', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await writeFile(main, `${GLOBAL}${instance('VI_1', 51)}include vrrp2.conf\n`);
      await writeFile(join(d, 'vrrp2.conf'), instance('VI_2', 52));
      const running = await load(main);
      await writeFile(main, GLOBAL + instance('VI_1', 51));
      await unlink(join(d, 'vrrp2.conf'));
      assert.equal(await reloadOf(running, main), null);
    });

    it('an included file renamed, with the include line changed to match', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await writeFile(main, `${GLOBAL}include old.conf\n`);
      await writeFile(join(d, 'old.conf'), instance('VI_1', 51));
      const running = await load(main);
      await rename(join(d, 'old.conf'), join(d, 'new.conf'));
      await writeFile(main, `${GLOBAL}include new.conf\n`);
      assert.equal(await reloadOf(running, main), null);
    });

    it('no vrrp_instance now, but none before either', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await writeFile(main, GLOBAL);
      const running = await load(main);
      await writeFile(main, '');
      assert.equal(await reloadOf(running, main), null);
    });

    it('a file gone between the load and the check does not throw (the include check speaks for it)', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await writeFile(main, GLOBAL + instance('VI_1', 51));
      const running = await load(main);
      const next: Config = { ...running.config, files: [...running.config.files, join(d, 'gone.conf')] };
      assert.equal(await watchReloadRefusal(running.config, next, []), null);
    });
  });

  describe('refuses unfinished files and keeps the running configuration', () => {
    it('a NUL byte in the main file: names the file, the byte and its offset', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const good = GLOBAL + instance('VI_1', 51);
      const running = await load(await writeAndReturn(main, good));
      await writeFile(main, Buffer.concat([Buffer.from(good), Buffer.alloc(4096)])); // a preallocated, unwritten tail
      assert.equal(await reloadOf(running, main), `${main} is not a text file (byte 0x00 at offset ${Buffer.byteLength(good)})`);
    });

    it('the offset counts bytes, not characters (UTF-8 comments before the junk)', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      const head = `! 主备切换 — 双机热备\n${GLOBAL}${instance('VI_1', 51)}`;
      await writeFile(main, Buffer.concat([Buffer.from(head, 'utf8'), Buffer.from([0x07]), Buffer.from('\n')]));
      assert.equal(await reloadOf(running, main), `${main} is not a text file (byte 0x07 at offset ${Buffer.byteLength(head, 'utf8')})`);
    });

    it('an ELF binary copied over the config', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      await writeFile(main, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00]));
      assert.equal(await reloadOf(running, main), `${main} is not a text file (byte 0x7f at offset 0)`);
    });

    it('binary bytes in an included file: names that file', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const inc = join(d, 'vrrp.conf');
      await writeFile(main, `${GLOBAL}include vrrp.conf\n`);
      await writeFile(inc, instance('VI_1', 51));
      const running = await load(main);
      await writeFile(inc, Buffer.concat([Buffer.from(instance('VI_1', 51)), Buffer.from([0x1a])]));
      assert.equal(await reloadOf(running, main), `${inc} is not a text file (byte 0x1a at offset ${Buffer.byteLength(instance('VI_1', 51))})`);
    });

    it('exactly the control bytes no keepalived.conf contains (all 256 byte values)', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      // Text: printable ASCII, every byte >= 0x80 (UTF-8, Latin-1, GBK), and TAB LF VT FF CR ESC.
      const allowedControls = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b]);
      const wrong: string[] = [];
      for (let b = 0; b < 256; b++) {
        const f = join(d, `byte-${b}.conf`);
        await writeFile(f, Buffer.concat([Buffer.from('! x'), Buffer.from([b]), Buffer.from('\n')]));
        const next: Config = { ...running.config, files: [f] };
        const why = await watchReloadRefusal(running.config, next, []);
        const binary = (b < 0x20 && !allowedControls.has(b)) || b === 0x7f;
        const expected = binary ? `${f} is not a text file (byte 0x${b.toString(16).padStart(2, '0')} at offset 3)` : null;
        if (why !== expected) wrong.push(`0x${b.toString(16)}: ${why}`);
      }
      assert.deepEqual(wrong, []);
    });

    it('binary bytes deep in a large file', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      const filler = '! padding line\n'.repeat(20_000);
      await writeFile(main, Buffer.concat([Buffer.from(GLOBAL + instance('VI_1', 51) + filler), Buffer.from([0x00])]));
      assert.match((await reloadOf(running, main)) ?? '', /is not a text file \(byte 0x00 at offset \d{6}\)/);
    });

    it('an included file that vanished (being replaced): names the include and the file', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const inc = join(d, 'vrrp2.conf');
      await writeFile(main, `${GLOBAL}${instance('VI_1', 51)}include vrrp2.conf\n`);
      await writeFile(inc, instance('VI_2', 52));
      const running = await load(main);
      await unlink(inc);
      assert.equal(
        await reloadOf(running, main),
        `include vrrp2.conf matches nothing now: ${inc} of the running configuration is gone (being replaced?)`,
        'VI_1 is still there, so only the include check can see this',
      );
    });

    it('a glob include whose directory was emptied: every file that is gone, named', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await mkdir(join(d, 'conf.d'));
      await writeFile(main, `${GLOBAL}${instance('VI_0', 50)}include conf.d/*.conf\n`);
      const a = join(d, 'conf.d', 'a.conf');
      const b = join(d, 'conf.d', 'b.conf');
      await writeFile(a, instance('VI_1', 51));
      await writeFile(b, instance('VI_2', 52));
      const running = await load(main);
      await unlink(a);
      await unlink(b);
      assert.equal(
        await reloadOf(running, main),
        `include conf.d/*.conf matches nothing now: ${a}, ${b} of the running configuration are gone (being replaced?)`,
      );
    });

    it('an include whose directory was moved away', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      await mkdir(join(d, 'conf.d'));
      await writeFile(main, `${GLOBAL}${instance('VI_0', 50)}include ${d}/conf.d/*.conf\n`);
      await writeFile(join(d, 'conf.d', 'a.conf'), instance('VI_1', 51));
      const running = await load(main);
      await rename(join(d, 'conf.d'), join(d, 'conf.d.new'));
      assert.match((await reloadOf(running, main)) ?? '', /matches nothing now: .*conf\.d\/a\.conf of the running configuration is gone/);
    });

    it('an empty main file (truncated before the new text is written)', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      await writeFile(main, '');
      assert.equal(await reloadOf(running, main), `${main} has no vrrp_instance at all (empty, or not written completely?)`);
    });

    it('a file written only up to its global_defs', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      await writeFile(main, GLOBAL + 'vrrp_script chk {\n    script "/bin/true"\n}\n');
      assert.equal(await reloadOf(running, main), `${main} has no vrrp_instance at all (empty, or not written completely?)`);
    });

    it('includes that now hold no instance: names the main file', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const inc = join(d, 'vrrp.conf');
      await writeFile(main, `${GLOBAL}include vrrp.conf\n`);
      await writeFile(inc, instance('VI_1', 51));
      const running = await load(main);
      await writeFile(inc, '! being rewritten\n');
      assert.equal(await reloadOf(running, main), `${main} has no vrrp_instance at all (empty, or not written completely?)`);
    });

    it('binary junk in a file with no instance left: the binary bytes are the reason given', async () => {
      const d = await fresh();
      const main = join(d, 'keepalived.conf');
      const running = await load(await writeAndReturn(main, GLOBAL + instance('VI_1', 51)));
      await writeFile(main, Buffer.from([0x00, 0x01, 0x02, 0x03]));
      assert.equal(await reloadOf(running, main), `${main} is not a text file (byte 0x00 at offset 0)`);
    });
  });
});

async function writeAndReturn(file: string, text: string): Promise<string> {
  await writeFile(file, text);
  return file;
}
