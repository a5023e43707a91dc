/**
 * Issue 7: nothing from a packet reaches a command line. A forger on the LAN moves a vipd
 * MASTER with adverts whose fields are as odd as they can be and still be accepted
 * (priority 255 skips the address-list check, so the list carries shell metacharacters
 * as bytes); the notify scripts that run on the transitions get exactly the arguments of
 * the config plus vipd's own instance name, state and priority — never the forger's
 * priority, address or list — and run without a shell in between (their parent is vipd).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostileFrame, Injector } from '../helpers/injector.js';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { readLines, VipdHost, vrrpConf, waitUntil } from '../helpers/vipd.js';

interface Call {
  readonly argv: string[];
  /** The command name of the script's parent process. */
  readonly parent: string;
  readonly env: Record<string, string>;
}

/** Bytes a shell would act on, as IPv4 addresses: "$(id)", "`;|&", "'\"<>", "\n\\*?" … */
const SHELLISH = ['$(id)', '`;|&', '\'"<>', '\n\\*?', '${IF', 'S}$$', '\0\0\0\0'].map((s) =>
  [...Buffer.from(s.padEnd(4, ' '), 'latin1').subarray(0, 4)].join('.'),
);

describe('nothing from a packet reaches a command line', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let h1: VipdHost;
  let inj: Injector;
  let vip: string;
  let log: string;
  const forger = '10.10.1.36'; // 36 is '$'

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-hostile-notify-'));
    vip = lan.addr(100);
    log = join(dir, 'calls.jsonl');
    // A node script, so that its record is exact: argv, its parent's name, its environment.
    const script = join(dir, 'record.js');
    await writeFile(
      script,
      `#!${process.execPath}\n` +
        `const fs = require('fs');\n` +
        `const parent = fs.readFileSync('/proc/' + process.ppid + '/comm', 'utf8').trim();\n` +
        `fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ argv: process.argv.slice(2), parent, env: process.env }) + '\\n');\n`,
    );
    await chmod(script, 0o755);
    const conf = vrrpConf({
      routerId: 'h1',
      instances: [
        {
          name: 'VI_1',
          state: 'MASTER',
          vrid: 51,
          priority: 150,
          authPass: 'notify12',
          vips: [`${vip}/24`],
          extra: [
            `notify_master "${script} master-arg"`,
            `notify_backup "${script} backup-arg"`,
            `notify ${script}`,
          ],
        },
      ],
    });
    h1 = await VipdHost.start(lan, 'h1', dir, conf);
    await h1.waitForState('VI_1', 'MASTER');
    inj = await Injector.start(lan, 'client');
  });

  after(async () => {
    await inj?.stop();
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const calls = async (): Promise<Call[]> => (await readLines(log)).map((l) => JSON.parse(l) as Call);

  test('a forged master with odd fields: the scripts get only our own name, state and priority', async () => {
    const isMasterCall = (c: Call): boolean => c.argv.join(' ') === 'master-arg' || c.argv.join(' ') === 'INSTANCE VI_1 MASTER 150';
    await waitUntil(async () => (await calls()).filter(isMasterCall).length === 2, 'the MASTER notifications at start-up', 10_000);
    const startup = (await calls()).length;
    const frames = Array.from({ length: 8 }, () =>
      hostileFrame({
        src: forger,
        vrrp: { vrid: 51, priority: 255, password: 'notify12', interval: 1, addresses: [...SHELLISH, vip] },
      }),
    );
    await inj.send(frames, 250);
    await h1.waitFor('VI_1', (i) => i.state === 'BACKUP' && i.master?.address === forger && i.master.priority === 255, 'BACKUP of the forger', 5000);
    // Once the forger is silent, h1 takes over again.
    await h1.waitForState('VI_1', 'MASTER', 10_000);
    await waitUntil(async () => (await calls()).length >= startup + 4, 'the BACKUP and MASTER notifications', 10_000);

    const all = (await calls()).slice(startup);
    assert.deepEqual(
      all.map((c) => c.argv).sort(),
      [
        ['INSTANCE', 'VI_1', 'BACKUP', '150'],
        ['INSTANCE', 'VI_1', 'MASTER', '150'],
        ['backup-arg'],
        ['master-arg'],
      ],
      JSON.stringify(all.map((c) => c.argv)),
    );
    for (const c of await calls()) {
      assert.equal(c.parent, 'node', `${JSON.stringify(c.argv)} was started by ${c.parent}, not by vipd directly`);
      for (const [k, v] of Object.entries(c.env)) {
        assert.ok(!v.includes(forger) && !SHELLISH.some((a) => v.includes(a)), `packet data in the environment: ${k}=${v}`);
      }
    }
    // The forged list was seen (a warning), never acted on.
    assert.ok(h1.log.some((l) => l.includes(SHELLISH[0] as string)), 'the odd addresses did arrive');
  });
});
