/**
 * Notifications on state changes (issue 5), checked against what keepalived 2.2.7 does
 * (verified by hand in namespaces with the same configuration):
 * - notify_master / notify_backup / notify_fault / notify_stop run with their own
 *   arguments; `notify` gets `INSTANCE VI_1 <state> <priority>` appended;
 * - notify_fifo gets `INSTANCE "VI_1" <state> <priority>` lines (read here by `cat`);
 *   vrrp_notify_fifo with a vrrp_notify_fifo_script gets the same lines through the
 *   script, which is handed the FIFO path as its last argument;
 * - SIGTERM runs notify_stop and writes the STOP line before vipd exits.
 * The states are driven by a weight-0 vrrp_script on h1 (a flag file makes it fail).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import { installScript, masterDownMs, readLines, sleep, VipdHost, vrrpConf, waitUntil } from '../helpers/vipd.js';

type Host = 'h1' | 'h2';
type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

describe('notify scripts and notify FIFOs', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let vip: string;
  const vipd = new Map<Host, VipdHost>();
  const fifoReaders = new Map<Host, NsProcess>();
  const file = (host: Host, what: string): string => join(dir, `${host}.${what}`);
  const h = (host: Host): VipdHost => vipd.get(host) as VipdHost;

  /** Every state each host has announced so far, with its priority ("MASTER 150"). */
  const expected: Record<Host, string[]> = { h1: [], h2: [] };
  const announce = (host: Host, state: NotifyState): void => {
    expected[host].push(`${state} ${host === 'h1' ? 150 : 100}`);
  };
  const fifoLine = (s: string): string => `INSTANCE "VI_1" ${s}`;

  /** notify-log.sh lines split by script: `master` (notify_master ...) and `notify INSTANCE VI_1 MASTER 150`. */
  const notified = async (host: Host): Promise<{ specific: string[]; generic: string[] }> => {
    const lines = await readLines(file(host, 'notify'));
    return {
      specific: lines.filter((l) => !l.startsWith('notify ')),
      generic: lines.filter((l) => l.startsWith('notify ')).map((l) => l.slice('notify '.length)),
    };
  };

  /**
   * Waits until every channel of the host shows exactly the expected announcements, then
   * checks that nothing late or doubled follows. `vfifo: false` leaves out the copy made
   * by the vrrp_notify_fifo_script (stopped before the STOP lines, as in keepalived).
   */
  const settled = async (host: Host, opts: { vfifo?: boolean } = {}): Promise<void> => {
    const states = expected[host];
    const wanted = {
      specific: states.map((s) => (s.split(' ')[0] as string).toLowerCase()),
      generic: states.map((s) => `INSTANCE VI_1 ${s}`),
      fifo: states.map(fifoLine),
      ...(opts.vfifo === false ? {} : { vfifo: states.map(fifoLine) }),
    };
    const current = async (): Promise<Record<string, string[]>> => ({
      ...(await notified(host)),
      fifo: [...(fifoReaders.get(host)?.stdout ?? [])],
      ...(opts.vfifo === false ? {} : { vfifo: await readLines(file(host, 'vfifo-lines')) }),
    });
    let last = await current();
    await waitUntil(
      async () => JSON.stringify((last = await current())) === JSON.stringify(wanted),
      `${host}: notifications as expected`,
      10_000,
      () => `wanted ${JSON.stringify(wanted)}\ngot    ${JSON.stringify(last)}\n${vipd.get(host)?.tail() ?? ''}`,
    );
    await sleep(500);
    assert.deepEqual(await current(), wanted, `${host}: a late or doubled notification`);
  };

  const conf = (host: Host, state: 'MASTER' | 'BACKUP', priority: number, scripts: { notifyLog: string; flag: string; reader: string }): string => {
    const log = file(host, 'notify');
    return vrrpConf({
      routerId: host,
      preamble: [
        'vrrp_script chk_flag {',
        `    script "${scripts.flag} ${file(host, 'fail')}"`,
        '    interval 1',
        '    weight 0',
        '    fall 1',
        '    rise 1',
        '}',
        '',
      ],
      instances: [
        {
          name: 'VI_1',
          state,
          vrid: 51,
          priority,
          vips: [`${vip}/24`],
          extra: [
            'track_script {',
            '    chk_flag',
            '}',
            `notify_master "${scripts.notifyLog} ${log} master"`,
            `notify_backup "${scripts.notifyLog} ${log} backup"`,
            `notify_fault "${scripts.notifyLog} ${log} fault"`,
            `notify_stop "${scripts.notifyLog} ${log} stop"`,
            `notify "${scripts.notifyLog} ${log} notify"`,
          ],
        },
      ],
    }).replace(
      `router_id ${host}\n`,
      [
        `router_id ${host}`,
        '    script_user root',
        '    enable_script_security',
        `    notify_fifo ${file(host, 'fifo')}`,
        `    vrrp_notify_fifo ${file(host, 'vfifo')}`,
        `    vrrp_notify_fifo_script "${scripts.reader} ${file(host, 'vfifo-lines')}"`,
        '',
      ].join('\n'),
    );
  };

  const start = async (host: Host, text: string): Promise<VipdHost> => {
    const v = await VipdHost.start(lan, host, dir, text);
    vipd.set(host, v);
    // vipd created the FIFO before "vipd started" and holds it open read-write, as keepalived
    // does, so lines written before this reader came are waiting in the pipe.
    fifoReaders.set(host, lan.spawn(host, ['cat', file(host, 'fifo')]));
    return v;
  };

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-track-notify-'));
    vip = lan.addr(100);
    const scripts = {
      notifyLog: await installScript(dir, 'notify-log.sh'),
      flag: await installScript(dir, 'flag-check.sh'),
      reader: await installScript(dir, 'fifo-reader.sh'),
    };
    const h1 = await start('h1', conf('h1', 'MASTER', 150, scripts));
    await h1.waitForState('VI_1', 'MASTER', masterDownMs(150) + 10_000);
    const h2 = await start('h2', conf('h2', 'BACKUP', 100, scripts));
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('start-up: as in keepalived, state MASTER announces BACKUP first, then MASTER', async () => {
    announce('h1', 'BACKUP');
    announce('h1', 'MASTER');
    announce('h2', 'BACKUP');
    await settled('h1');
    await settled('h2');
  });

  test('a weight-0 script fails on the master: notify_fault there, notify_master on the backup', async () => {
    await writeFile(file('h1', 'fail'), 'x\n');
    await h('h1').waitForState('VI_1', 'FAULT', 10_000);
    await h('h2').waitForState('VI_1', 'MASTER', masterDownMs(100) + 5000);
    announce('h1', 'FAULT');
    announce('h2', 'MASTER');
    await settled('h1');
    await settled('h2');
  });

  test('the script passes again: h1 goes BACKUP, then preempts; h2 goes back to BACKUP', async () => {
    await unlink(file('h1', 'fail'));
    await h('h1').waitForState('VI_1', 'MASTER', masterDownMs(150) + 10_000);
    await h('h2').waitForBackupOf('VI_1', lan.host('h1').ipv4);
    announce('h1', 'BACKUP');
    announce('h1', 'MASTER');
    announce('h2', 'BACKUP');
    await settled('h1');
    await settled('h2');
  });

  test('SIGTERM runs notify_stop and writes the STOP line before vipd exits', async (t) => {
    const exit = await h('h1').stop();
    assert.deepEqual(exit, { code: 0, signal: null }, h('h1').tail());
    // vipd waits (briefly) for notify_stop before exiting; on two busy cores the script may
    // still be finishing, so it gets a few seconds, but it must run.
    const atExit = await notified('h1');
    t.diagnostic(`at exit: notify_stop ${atExit.specific.at(-1) === 'stop' ? 'had run' : 'was still running'}`);
    let n = atExit;
    await waitUntil(async () => (n = await notified('h1')).specific.at(-1) === 'stop', 'notify_stop run', 5000, () => JSON.stringify(n));
    await waitUntil(async () => (n = await notified('h1')).generic.at(-1) === 'INSTANCE VI_1 STOP 150', 'notify run with STOP', 5000, () => JSON.stringify(n));
    // With vipd gone the reader sees the STOP line, then end of file.
    const reader = fifoReaders.get('h1') as NsProcess;
    await reader.exited;
    assert.equal(reader.stdout.at(-1), fifoLine('STOP 150'));
    announce('h1', 'STOP');
    await settled('h1', { vfifo: false });
    // keepalived stops the fifo scripts before writing the STOP lines: their copy may end
    // before STOP, but has everything up to it.
    const copied = await readLines(file('h1', 'vfifo-lines'));
    assert.deepEqual(copied.filter((l) => !l.includes(' STOP ')), expected.h1.slice(0, -1).map(fifoLine));

    await h('h2').waitForState('VI_1', 'MASTER', masterDownMs(100) + 5000);
    announce('h2', 'MASTER');
    await settled('h2');
    assert.deepEqual(await h('h2').stop(), { code: 0, signal: null });
    announce('h2', 'STOP');
    await settled('h2', { vfifo: false });
  });
});
